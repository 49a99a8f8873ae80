"""``segment``: full-size masks and cut-outs of mixed photos, resuming, bad files, collisions."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
from PIL import Image

from carvana_tutorial import inference, segment
from carvana_tutorial.tools.cli import main

INPUT = (16, 24)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """Probability = sigmoid(20 * (mean colour - 0.5)): bright pixels are 'car'."""
    inputs = keras.Input((*INPUT, 3), name="image")
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid", name="head")(inputs)
    model = keras.Model(inputs, outputs, name="brightness")
    model.get_layer("head").set_weights(
        [np.full((1, 1, 3, 1), 20 / 3, np.float32), np.array([-10.0], np.float32)]
    )
    path = tmp_path_factory.mktemp("model") / "bright.keras"
    model.save(path)
    return path


def _half(height: int, width: int) -> np.ndarray:
    """The left half white, the right half black: the model's car is the left half."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = 255
    return image


@pytest.fixture
def photos(tmp_path):
    """Full-size JPEG, small JPEG, PNG, RGBA PNG, grey PNG, and a corrupt JPEG."""
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(_half(1280, 1918)).save(folder / "full.jpg", quality=95)
    Image.fromarray(_half(60, 90)).save(folder / "small.jpeg", quality=95)
    Image.fromarray(_half(50, 70)).save(folder / "plain.png")
    rgba = np.dstack([_half(40, 64), np.full((40, 64), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    Image.fromarray(_half(30, 44)[..., 0], "L").save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole JPEG")
    (folder / "notes.txt").write_text("not a photo, not picked from a folder")
    return folder


SIZES = {
    "full": (1280, 1918),
    "small": (60, 90),
    "plain": (50, 70),
    "alpha": (40, 64),
    "grey": (30, 44),
}


def _check_outputs(out, stem, size):
    height, width = size
    mask = np.asarray(Image.open(out / f"{stem}_mask.png"))
    cut = Image.open(out / f"{stem}_cutout.png")
    assert mask.shape == (height, width) and set(np.unique(mask)) <= {0, 255}
    assert cut.mode == "RGBA" and cut.size == (width, height)
    cut = np.asarray(cut)
    np.testing.assert_array_equal(cut[..., 3], mask)  # alpha is the mask
    # The car is the left half; bilinear enlargement blurs only the columns next to the edge.
    edge = np.abs(np.arange(width) - width // 2) <= width // INPUT[1] + 1
    expected = np.zeros((height, width), bool)
    expected[:, : width // 2] = True
    np.testing.assert_array_equal(mask[:, ~edge] > 0, expected[:, ~edge])
    assert (cut[..., :3][mask > 0] > 200).all()  # the car's own pixels


def test_segment_a_folder_of_mixed_photos(model_path, photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["segment", str(model_path), str(photos), "--out", str(out), "--batch", "2"]) == 1
    captured = capsys.readouterr()
    bad = [line for line in captured.err.splitlines() if "broken.jpg" in line]
    assert bad and "carvana-tutorial:" in captured.err.splitlines()[-1]
    assert "broken.jpg" in captured.err.splitlines()[-1]
    for stem, size in SIZES.items():
        _check_outputs(out, stem, size)
    assert (
        not list(out.glob("broken*"))
        and not list(out.glob("notes*"))
        and not list(out.glob("*.part"))
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{s}_{k}.png" for s in SIZES for k in ("mask", "cutout")
    )

    # A rerun skips what is done, byte for byte, and still names the bad photo.
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["segment", str(model_path), str(photos), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "5 of 6 photos already have their PNGs" in captured.out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # --overwrite writes them again; --overlay adds the overlays.
    (photos / "broken.jpg").unlink()
    assert (
        main(
            ["segment", str(model_path), str(photos), "--out", str(out), "--overwrite", "--overlay"]
        )
        == 0
    )
    assert all(p.stat().st_mtime_ns != stamps[p.name] for p in out.glob("*_mask.png"))
    assert {p.name: p.read_bytes() for p in out.glob("*_mask.png")} == {
        k: v for k, v in before.items() if k.endswith("_mask.png")
    }
    overlay = Image.open(out / "full_overlay.png")
    assert overlay.mode == "RGB" and overlay.size == (1918, 1280)


def test_segment_files_and_stem_collisions(model_path, photos, tmp_path, capsys):
    out = tmp_path / "out"
    Image.fromarray(_half(20, 30)).save(photos / "small.png")  # small.jpeg and small.png
    assert (
        main(
            [
                "segment",
                str(model_path),
                str(photos / "small.jpeg"),
                str(photos / "plain.png"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    _check_outputs(out, "small", SIZES["small"])
    capsys.readouterr()
    assert (
        main(
            [
                "segment",
                str(model_path),
                str(photos / "small.jpeg"),
                str(photos / "small.png"),
                "--out",
                str(tmp_path / "other"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "small.jpeg" in err and "small.png" in err
    assert not (tmp_path / "other").exists()


def test_segment_function_returns_the_full_size_mask(model_path, photos):
    model = keras.models.load_model(model_path)
    mask = inference.segment(model, photos / "alpha.png")
    assert mask.shape == (40, 64) and mask.dtype == bool
    assert mask[:, :20].all() and not mask[:, 44:].any()
    same = inference.segment(model, segment.read_photo(photos / "alpha.png"), tta=True)
    assert same.shape == (40, 64)
    cut = segment.cutout(segment.read_photo(photos / "alpha.png"), mask)
    assert cut.shape == (40, 64, 4) and set(np.unique(cut[..., 3])) == {0, 255}


def test_save_png_leaves_no_partial_file(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    (tmp_path / "a.png").write_bytes(b"the earlier PNG")
    for target, name in (
        (Image.Image, "save"),
        (os, "replace"),
    ):  # while encoding, and once written
        with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
            patch.setattr(target, name, crash)
            segment.save_png(np.zeros((4, 4), np.uint8), tmp_path / "a.png")
        assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
        assert (tmp_path / "a.png").read_bytes() == b"the earlier PNG"


def test_missing_input_is_one_line(model_path, tmp_path, capsys):
    assert (
        main(["segment", str(model_path), str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.jpg" in err


def test_outputs_in_the_photo_folder_are_not_photos(model_path, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(_half(30, 40)).save(folder / "car.png")
    assert main(["segment", str(model_path), str(folder), "--out", str(folder)]) == 0
    assert main(["segment", str(model_path), str(folder), "--out", str(folder)]) == 0
    assert "1 of 1 photos already have their PNGs" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["car.png", "car_cutout.png", "car_mask.png"]
