"""ONNX export: Keras 3's own export, run back in ONNX Runtime, never overwriting."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from carvana_tutorial import export, inference
from carvana_tutorial.tools.cli import main

pytest.importorskip("tf2onnx", reason="the 'export' extra is not installed")
pytest.importorskip("onnxruntime", reason="the 'export' extra is not installed")

INPUT = (32, 48)


@pytest.fixture(scope="module")
def small_unet(tmp_path_factory):
    """A two-level U-Net-like model with random weights, saved as .keras."""
    from carvana_tutorial.models import build_model

    keras.utils.set_random_seed(3)
    model = build_model("unet", INPUT, 4, 2)
    path = tmp_path_factory.mktemp("model") / "best.keras"
    model.save(path)
    return path


def test_onnx_export_matches_keras(small_unet, tmp_path):
    model = keras.models.load_model(small_unet)
    out = export.export_model(model, tmp_path / "m.onnx")
    assert out.is_file() and not (tmp_path / "m.onnx.part").exists()
    onnx_model = export.OnnxModel(out)
    assert onnx_model.image_size == INPUT
    images = np.random.default_rng(0).random((3, *INPUT, 3), dtype=np.float32)
    expected = np.asarray(model.predict_on_batch(images))
    got = onnx_model.predict_on_batch(images)
    assert got.shape == expected.shape == (3, *INPUT, 1)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    # The same cut-out from either model, at the photo's own size.
    photo = (np.random.default_rng(1).random((100, 150, 3)) * 255).astype(np.uint8)
    keras_probs = inference.probabilities(model, [photo])
    onnx_probs = inference.probabilities(onnx_model, [photo])
    assert np.abs(keras_probs - onnx_probs).max() < 1e-5


def test_export_command_writes_once_and_refuses_to_overwrite(small_unet, capsys):
    out = small_unet.with_suffix(".onnx")
    assert main(["export", str(small_unet)]) == 0
    assert out.is_file()
    stamp = out.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["export", str(small_unet), "--format", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--overwrite" in err and str(out) in err
    assert out.stat().st_mtime_ns == stamp
    assert main(["export", str(small_unet), "--overwrite"]) == 0
    assert out.stat().st_mtime_ns != stamp


def test_export_without_the_extra_names_it(small_unet, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import tf2onnx now raises ImportError
    assert main(["export", str(small_unet), "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[export]" in err
    assert not (tmp_path / "x.onnx").exists()


def test_saved_model_export(small_unet, tmp_path):
    out = tmp_path / "saved"
    assert main(["export", str(small_unet), "--format", "tf_saved_model", "--out", str(out)]) == 0
    assert (out / "saved_model.pb").is_file()


def test_segment_command_takes_an_onnx_file(small_unet, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(2)
    Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(folder / "car.png")
    onnx_path = export.export_model(keras.models.load_model(small_unet), tmp_path / "m.onnx")
    assert main(["segment", str(small_unet), str(folder), "--out", str(tmp_path / "k")]) == 0
    assert main(["segment", str(onnx_path), str(folder), "--out", str(tmp_path / "o")]) == 0
    from_keras = np.asarray(Image.open(tmp_path / "k" / "car_mask.png"))
    from_onnx = np.asarray(Image.open(tmp_path / "o" / "car_mask.png"))
    assert from_keras.shape == (90, 120)
    assert (from_keras != from_onnx).mean() < 1e-3  # a pixel may sit on the threshold
