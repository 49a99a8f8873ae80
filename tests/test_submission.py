"""The submission writer: rows, sizes, TTA, streaming, resuming, and bad photos."""

from __future__ import annotations

import csv
import tracemalloc

import keras
import numpy as np
import pytest
from PIL import Image

from carvana_tutorial import inference, submission
from carvana_tutorial.errors import CarvanaError
from carvana_tutorial.rle import rle_decode
from carvana_tutorial.tools import cli

INPUT = (16, 24)


def _photo(height: int, width: int, bright_left: bool = True) -> np.ndarray:
    """A photo whose left (or right) half is white: the brightness model segments that half."""
    image = np.zeros((height, width, 3), np.uint8)
    half = slice(0, width // 2) if bright_left else slice(width // 2, width)
    image[:, half] = 255
    return image


def _write_photos(folder, count: int, size=(64, 96), start: int = 0) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"{i:012x}_{i % 16 + 1:02d}.jpg"
        Image.fromarray(_photo(*size, bright_left=i % 2 == 0)).save(path, quality=95)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def brightness_model():
    """Probability = sigmoid(20 * (mean colour - 0.5)): bright pixels are 'car'."""
    inputs = keras.Input((*INPUT, 3), name="image")
    outputs = keras.layers.Conv2D(1, 1, activation="sigmoid", name="head")(inputs)
    model = keras.Model(inputs, outputs, name="brightness")
    model.get_layer("head").set_weights(
        [np.full((1, 1, 3, 1), 20 / 3, np.float32), np.array([-10.0], np.float32)]
    )
    return model


@pytest.fixture(scope="module")
def lopsided_model():
    """A model that is not mirror-symmetric: its 1x3 kernel looks only to the right."""
    inputs = keras.Input((*INPUT, 3), name="image")
    outputs = keras.layers.Conv2D(1, (1, 3), padding="same", activation="sigmoid", name="head")(
        inputs
    )
    model = keras.Model(inputs, outputs, name="lopsided")
    kernel = np.zeros((1, 3, 3, 1), np.float32)
    kernel[0, 2] = 2.0
    model.get_layer("head").set_weights([kernel, np.array([-1.0], np.float32)])
    return model


class Counting:
    """Wraps a model; counts predictions, can fail after ``fail_after`` of them, and can inspect the
    CSV."""

    def __init__(self, model, fail_after: int | None = None, on_predict=None):
        self.model, self.fail_after, self.on_predict, self.calls = model, fail_after, on_predict, 0
        self.inputs, self.outputs = model.inputs, model.outputs

    def predict_on_batch(self, images):
        if self.on_predict is not None:
            self.on_predict(self.calls)
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated crash")
        self.calls += 1
        return self.model.predict_on_batch(images)


def _rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_match_the_photos_at_their_own_size(tmp_path, brightness_model):
    folder = tmp_path / "test_hq"
    paths = _write_photos(folder, 5, size=(64, 96)) + _write_photos(
        folder, 2, size=(40, 50), start=5
    )
    out = tmp_path / "sub.csv"
    report = submission.write_submission(
        brightness_model, tmp_path, out, batch_size=3, progress=False
    )
    assert (report.written, report.already_done, report.failed) == (7, 0, [])
    assert out.read_text().splitlines()[0] == "img,rle_mask"
    rows = _rows(out)
    assert [r["img"] for r in rows] == sorted(p.name for p in paths)
    sizes = {p.name: Image.open(p).size[::-1] for p in paths}
    for row in rows:
        height, width = sizes[row["img"]]
        mask = rle_decode(row["rle_mask"], (height, width))
        bright_left = int(row["img"][:12], 16) % 2 == 0
        expected = _photo(height, width, bright_left)[..., 0] > 0
        # Bilinear upsampling blurs only the columns next to the edge between the halves.
        edge = np.abs(np.arange(width) - width // 2) <= width // INPUT[1] + 1
        np.testing.assert_array_equal(mask[:, ~edge], expected[:, ~edge])


def test_tta_makes_predictions_mirror_symmetric(lopsided_model):
    rng = np.random.default_rng(0)
    images = rng.random((2, *INPUT, 3), dtype=np.float32)
    mirrored = np.ascontiguousarray(images[:, :, ::-1])

    def flip_gap(tta):
        plain = inference.predict_probabilities(lopsided_model, images, tta=tta)
        flipped = inference.predict_probabilities(lopsided_model, mirrored, tta=tta)
        return np.abs(plain[:, :, ::-1] - flipped).max()

    assert flip_gap(tta=False) > 0.05
    assert flip_gap(tta=True) < 1e-5


def test_upsampling_is_bilinear_on_probabilities():
    probs = np.zeros((2, 2, 1), np.float32)
    probs[:, 0] = 1.0  # left column certain, right column not
    mask = inference.upsample_probabilities(probs, (4, 8))
    assert mask.shape == (4, 8) and mask.dtype == bool
    # Nearest-neighbour upsampling of a thresholded mask would give the same split; bilinear of
    # a weak probability decides by the interpolated value instead.
    np.testing.assert_array_equal(mask[0], [True] * 4 + [False] * 4)
    weak = np.full((2, 2, 1), 0.45, np.float32)
    weak[0, 0] = 0.9
    assert 0 < inference.upsample_probabilities(weak, (4, 4)).sum() < 16


def test_each_batch_is_on_disk_before_the_next_is_predicted(tmp_path, brightness_model):
    _write_photos(tmp_path / "imgs", 12)
    out = tmp_path / "sub.csv"
    seen = []
    model = Counting(
        brightness_model,
        on_predict=lambda calls: seen.append(
            (calls, len(out.read_text().splitlines()) if out.exists() else 0)
        ),
    )
    submission.write_submission(model, tmp_path / "imgs", out, batch_size=4, progress=False)
    assert seen == [(0, 1), (1, 5), (2, 9)]  # header, then 4 more rows per finished batch


def test_memory_stays_flat_over_many_photos(tmp_path, brightness_model):
    """Holding every mask (300 x 256x384 bytes = 29 MB) would blow the bound; streaming does not."""
    _write_photos(tmp_path / "imgs", 300, size=(256, 384))
    submission.write_submission(
        brightness_model,
        _write_photos(tmp_path / "warm", 2, size=(256, 384)),
        tmp_path / "warm.csv",
        batch_size=4,
        progress=False,
    )
    tracemalloc.start()
    try:
        submission.write_submission(
            brightness_model, tmp_path / "imgs", tmp_path / "sub.csv", batch_size=4, progress=False
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(_rows(tmp_path / "sub.csv")) == 300
    assert peak < 12e6


def test_an_interrupted_run_resumes_without_duplicates(tmp_path, brightness_model):
    paths = _write_photos(tmp_path / "imgs", 10)
    out = tmp_path / "sub.csv"
    with pytest.raises(KeyboardInterrupt):
        submission.write_submission(
            Counting(brightness_model, fail_after=2), paths, out, batch_size=3, progress=False
        )
    assert len(_rows(out)) == 6
    with open(out, "a") as handle:  # a crash in the middle of a row leaves it unfinished
        handle.write(f"{paths[6].name},1 5 9")
    model = Counting(brightness_model)
    report = submission.write_submission(model, paths, out, batch_size=3, progress=False)
    assert (report.already_done, report.written, model.calls) == (6, 4, 2)
    names = [row["img"] for row in _rows(out)]
    assert names == [p.name for p in paths]
    assert all(row["rle_mask"] for row in _rows(out))
    # A third run has nothing left to do and predicts nothing.
    again = Counting(brightness_model)
    assert submission.write_submission(again, paths, out, progress=False).already_done == 10
    assert again.calls == 0 and len(_rows(out)) == 10


def test_unreadable_photos_are_reported_and_skipped(tmp_path, brightness_model, capsys):
    folder = tmp_path / "imgs"
    good = _write_photos(folder, 6)
    (folder / "aaaaaaaaaaaa_01.jpg").write_bytes(b"this is not a photo")
    (folder / "bbbbbbbbbbbb_01.jpg").write_bytes(b"")
    whole = good[0].read_bytes()
    (folder / "ffffffffffff_16.jpg").write_bytes(whole[: len(whole) // 3])  # cut off mid-file
    (folder / "000000000002_05.jpg").write_bytes(b"GIF89a")  # sorts between good photos, mid-batch
    report = submission.write_submission(
        brightness_model, folder, tmp_path / "sub.csv", batch_size=4, progress=False
    )
    bad = [
        "000000000002_05.jpg",
        "aaaaaaaaaaaa_01.jpg",
        "bbbbbbbbbbbb_01.jpg",
        "ffffffffffff_16.jpg",
    ]
    assert sorted(name for name, _ in report.failed) == bad
    assert [row["img"] for row in _rows(tmp_path / "sub.csv")] == [p.name for p in good]
    err = capsys.readouterr().err
    assert all(name in err for name in bad)


def test_a_file_that_is_not_a_submission_is_left_alone(tmp_path, brightness_model):
    paths = _write_photos(tmp_path / "imgs", 2)
    out = tmp_path / "notes.csv"
    out.write_text("my,own,data\n1,2,3\n")
    with pytest.raises(CarvanaError, match="not a submission"):
        submission.write_submission(brightness_model, paths, out, progress=False)
    assert out.read_text() == "my,own,data\n1,2,3\n"


def test_predict_command_writes_a_submission(tmp_path, brightness_model, capsys):
    _write_photos(tmp_path / "data" / "test_hq", 3)
    model_path = tmp_path / "model.keras"
    brightness_model.save(model_path)
    out = tmp_path / "sub.csv"
    argv = [
        "predict",
        str(model_path),
        str(tmp_path / "data"),
        "--submission",
        str(out),
        "--tta",
        "--batch",
        "2",
    ]
    assert cli.main(argv) == 0
    assert len(_rows(out)) == 3
    assert cli.main(argv) == 0  # rerun: nothing to add
    assert len(_rows(out)) == 3
    assert "3 already there" in capsys.readouterr().out


def test_predict_command_names_the_photos_without_a_row_and_exits_1(
    tmp_path, brightness_model, capsys
):
    _write_photos(tmp_path / "data" / "test_hq", 2)
    (tmp_path / "data" / "test_hq" / "aaaaaaaaaaaa_01.jpg").write_bytes(b"not a photo")
    model_path = tmp_path / "model.keras"
    brightness_model.save(model_path)
    out = tmp_path / "sub.csv"
    assert (
        cli.main(["predict", str(model_path), str(tmp_path / "data"), "--submission", str(out)])
        == 1
    )
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("skipped aaaaaaaaaaaa_01.jpg: ") for line in err)
    assert err[-1] == "carvana-tutorial: 1 unreadable photo has no row: aaaaaaaaaaaa_01.jpg"
    assert len(_rows(out)) == 2


@pytest.mark.parametrize(
    "model, images, message",
    [("missing.keras", "data", "no model file"), ("model.keras", "nowhere", "does not exist")],
)
def test_predict_command_explains_bad_input_in_one_line(tmp_path, capsys, model, images, message):
    (tmp_path / "model.keras").write_bytes(b"garbage")
    _write_photos(tmp_path / "data", 1)
    code = cli.main(
        [
            "predict",
            str(tmp_path / model),
            str(tmp_path / images),
            "--submission",
            str(tmp_path / "s.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()


def test_predict_command_rejects_a_batch_below_one(tmp_path, capsys):
    assert (
        cli.main(
            [
                "predict",
                "m.keras",
                str(tmp_path),
                "--submission",
                str(tmp_path / "s.csv"),
                "--batch",
                "0",
            ]
        )
        == 2
    )
    assert "--batch" in capsys.readouterr().err


def test_a_corrupt_model_file_is_a_model_error(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"garbage")
    _write_photos(tmp_path / "data", 1)
    code = cli.main(
        [
            "predict",
            str(tmp_path / "model.keras"),
            str(tmp_path / "data"),
            "--submission",
            str(tmp_path / "s.csv"),
        ]
    )
    assert code == 2 and "cannot load model.keras" in capsys.readouterr().err


def _pairs_with_masks(folder, count: int, flip_truth: bool = False) -> list:
    """Photos with half-bright frames and GIF masks of the bright (or, flipped, the dark) half."""
    from carvana_tutorial.data import Pair
    from carvana_tutorial.layout import parse_name

    pairs = []
    for path in _write_photos(folder, count, size=(64, 96)):
        truth = (
            _photo(64, 96, bright_left=(int(path.name[:12], 16) % 2 == 0) != flip_truth)[..., 0] > 0
        )
        gif = Image.fromarray(truth.astype(np.uint8), mode="P")
        gif.putpalette([0, 0, 0, 255, 255, 255])
        mask = path.with_name(path.stem + "_mask.gif")
        gif.save(mask)
        pairs.append(Pair(parse_name(path.name)[0], path, mask))
    return pairs


def test_full_size_dice_scores_the_upsampled_masks(tmp_path, brightness_model):
    right = submission.full_size_dice(
        brightness_model, _pairs_with_masks(tmp_path / "a", 4), batch_size=3
    )
    wrong = submission.full_size_dice(
        brightness_model, _pairs_with_masks(tmp_path / "b", 4, flip_truth=True)
    )
    assert right.shape == (4,) and right.min() > 0.95
    assert wrong.max() < 0.1
    with_tta = submission.full_size_dice(
        brightness_model, _pairs_with_masks(tmp_path / "c", 4), tta=True
    )
    assert with_tta.min() > 0.95
