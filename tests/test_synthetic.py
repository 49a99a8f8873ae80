"""The synthetic Carvana set: Kaggle's formats and layout, reproducibility, safe writing."""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carvana_tutorial.errors import CarvanaError, DataError
from carvana_tutorial.layout import FULL_SIZE, parse_name
from carvana_tutorial.rle import rle_decode
from carvana_tutorial.synthetic import (
    SYNTHETIC_MARKER,
    car_ids,
    ensure_dataset,
    make_synthetic_set,
    read_marker,
    writer,
)
from carvana_tutorial.synthetic.render import render_car, render_studio
from carvana_tutorial.synthetic.scene import random_car, random_studio
from carvana_tutorial.tools import cli

SIZE = (128, 192)
ARGS = {"cars": 2, "size": SIZE, "seed": 7, "test_cars": 1}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "set"
    make_synthetic_set(root, **ARGS)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_layout_and_names(tiny: Path) -> None:
    images = sorted(p.name for p in (tiny / "train_hq").iterdir())
    masks = sorted(p.name for p in (tiny / "train_masks").iterdir())
    tests = sorted(p.name for p in (tiny / "test_hq").iterdir())
    assert len(images) == len(masks) == 2 * 16 and len(tests) == 16
    for name in images + tests:
        assert re.fullmatch(r"[0-9a-f]{12}_(0[1-9]|1[0-6])\.jpg", name)
        assert parse_name(name) is not None
    assert masks == sorted(n.replace(".jpg", "_mask.gif") for n in images)
    train_ids, test_ids = car_ids(2, 7, 1)
    assert {n[:12] for n in images} == set(train_ids) and {n[:12] for n in tests} == set(test_ids)
    assert not set(train_ids) & set(test_ids)
    assert not [p for p in tiny.rglob("*.tmp")]


def test_images_are_rgb_jpegs(tiny: Path) -> None:
    for path in list((tiny / "train_hq").iterdir())[:4] + list((tiny / "test_hq").iterdir())[:2]:
        with Image.open(path) as image:
            assert (
                image.format == "JPEG" and image.mode == "RGB" and image.size == (SIZE[1], SIZE[0])
            )


def test_masks_are_carvana_gifs(tiny: Path) -> None:
    for path in (tiny / "train_masks").iterdir():
        assert path.read_bytes()[:6] == b"GIF89a"
        with Image.open(path) as image:
            assert image.mode == "P" and image.size == (SIZE[1], SIZE[0])
            assert image.getpalette()[:6] == [0, 0, 0, 255, 255, 255]
            indices = np.array(image)
            assert set(np.unique(indices)) == {0, 1}
            assert set(np.unique(np.array(image.convert("L")))) == {0, 255}


def test_masks_decode_in_tensorflow_as_real_ones_do(tiny: Path) -> None:
    import tensorflow as tf

    path = sorted((tiny / "train_masks").iterdir())[0]
    decoded = tf.io.decode_gif(tf.io.read_file(str(path))).numpy()
    assert decoded.shape == (1, SIZE[0], SIZE[1], 3)
    assert set(np.unique(decoded)) == {0, 255}
    with Image.open(path) as image:
        np.testing.assert_array_equal(decoded[0, ..., 0] // 255, np.array(image))


def test_zips_hold_kaggles_entry_names_and_the_same_bytes(tiny: Path) -> None:
    for folder in ("train_hq", "train_masks", "test_hq"):
        with zipfile.ZipFile(tiny / f"{folder}.zip") as archive:
            names = archive.namelist()
            assert names == sorted(f"{folder}/{p.name}" for p in (tiny / folder).iterdir())
            for name in names[:3]:
                assert archive.read(name) == (tiny / name).read_bytes()


def test_csv_round_trips_every_mask(tiny: Path) -> None:
    with open(tiny / "train_masks.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["img", "rle_mask"]
    assert sorted(r[0] for r in rows[1:]) == sorted(p.name for p in (tiny / "train_hq").iterdir())
    for name, rle in rows[1:]:
        with Image.open(tiny / "train_masks" / name.replace(".jpg", "_mask.gif")) as image:
            np.testing.assert_array_equal(rle_decode(rle, SIZE), np.array(image))


def test_the_car_covers_about_a_fifth_of_the_frame(tmp_path: Path) -> None:
    summary = make_synthetic_set(
        tmp_path / "many", cars=10, size=(64, 96), seed=3, test_cars=0, zips=False
    )
    fractions = []
    for path in (tmp_path / "many" / "train_masks").iterdir():
        with Image.open(path) as image:
            fractions.append(np.array(image).mean())
    # Real masks cover 11-37% of a frame, 22% on average; ten cars drawn with many SUVs and vans
    # (as seed 3's are) cover more.
    assert 0.15 <= np.mean(fractions) <= 0.29
    assert 0.04 <= min(fractions) and max(fractions) <= 0.45
    assert summary.foreground == pytest.approx(np.mean(fractions))


def test_same_arguments_give_byte_identical_files(tiny: Path, tmp_path: Path) -> None:
    make_synthetic_set(tmp_path / "again", **ARGS)
    assert _files(tmp_path / "again") == _files(tiny)


def test_one_process_writes_what_a_pool_writes(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "_workers", lambda tasks: 1)
    make_synthetic_set(tmp_path / "serial", **ARGS)
    assert _files(tmp_path / "serial") == _files(tiny)


def test_cars_do_not_depend_on_how_many_are_made(tiny: Path, tmp_path: Path) -> None:
    make_synthetic_set(tmp_path / "more", **{**ARGS, "cars": 3, "zips": False})
    first = car_ids(2, 7, 1)[0][0]
    for folder in ("train_hq", "train_masks"):
        for path in (tiny / folder).glob(f"{first}_*"):
            assert (tmp_path / "more" / folder / path.name).read_bytes() == path.read_bytes()


def test_different_seeds_differ(tiny: Path, tmp_path: Path) -> None:
    other = make_synthetic_set(tmp_path / "other", **{**ARGS, "seed": 8, "zips": False})
    assert not set(other.train_cars) & set(car_ids(2, 7, 1)[0])
    mine = sorted((tiny / "train_hq").iterdir())[0].read_bytes()
    theirs = sorted((tmp_path / "other" / "train_hq").iterdir())[0].read_bytes()
    assert mine != theirs


def test_views_go_round_the_car(tiny: Path) -> None:
    car = car_ids(2, 7, 1)[0][0]
    masks = {}
    for view in (1, 5, 9):
        with Image.open(tiny / "train_masks" / f"{car}_{view:02d}_mask.gif") as image:
            masks[view] = np.array(image)
    # A profile (05) is much wider than the front (01) or the rear (09).
    width = {v: np.ptp(np.flatnonzero(m.any(axis=0))) for v, m in masks.items()}
    assert width[5] > 1.4 * width[1] and width[5] > 1.4 * width[9]
    assert not np.array_equal(masks[1], masks[9])


def test_shadow_darkens_the_floor_but_is_not_in_the_mask() -> None:
    size = (256, 384)
    rng = np.random.default_rng([11, 0, 0])
    car, studio = random_car(rng), random_studio(rng)
    empty = render_studio(studio, size).astype(float).mean(axis=2)
    ((_, photo, mask),) = render_car(car, studio, size, [3], [11, 0, 0])
    darker = empty - np.asarray(photo, dtype=float).mean(axis=2) > 20
    rows = np.flatnonzero(mask.any(axis=1))
    below = np.zeros_like(mask, dtype=bool)
    below[rows[-1] + 3 :] = True  # under the tyres: floor only, no car
    assert (darker & below).sum() > 100
    assert not mask[below].any()


def test_default_size_is_carvanas() -> None:
    rng = np.random.default_rng([0, 0, 0])
    car, studio = random_car(rng), random_studio(rng)
    ((_, photo, mask),) = render_car(car, studio, FULL_SIZE, [5], [0, 0, 0])
    assert photo.size == (1918, 1280) and mask.shape == (1280, 1918)
    assert 0.1 < mask.mean() < 0.4
    gif = writer._gif_bytes(mask)
    assert gif[:6] == b"GIF89a"
    np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(gif))), mask)


def test_ensure_reuses_a_complete_set(tiny: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*")}
    summary = ensure_dataset(tiny, **ARGS)
    assert summary.reused and summary.train_cars == tuple(car_ids(2, 7, 1)[0])
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*")} == before


def test_ensure_remakes_a_set_made_with_other_arguments(tmp_path: Path) -> None:
    root = tmp_path / "set"
    make_synthetic_set(root, **{**ARGS, "cars": 1, "test_cars": 0, "zips": False})
    summary = ensure_dataset(root, **{**ARGS, "zips": False})
    assert not summary.reused and len(summary.train_cars) == 2
    assert read_marker(root)["cars"] == 2
    assert len(list((root / "train_hq").iterdir())) == 32


def test_ensure_remakes_an_interrupted_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "set"
    args = {**ARGS, "cars": 1, "test_cars": 0, "zips": False}

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "_render_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_set(root, **args)
    assert read_marker(root) is None  # no marker: nothing looks complete
    monkeypatch.undo()
    summary = ensure_dataset(root, **args)
    assert not summary.reused and read_marker(root)["cars"] == 1


def test_ensure_remakes_a_set_with_a_missing_file(tmp_path: Path) -> None:
    root = tmp_path / "set"
    args = {**ARGS, "cars": 1, "test_cars": 0, "zips": False}
    make_synthetic_set(root, **args)
    victim = sorted((root / "train_masks").iterdir())[3]
    victim.unlink()
    assert not ensure_dataset(root, **args).reused
    assert victim.is_file()


def test_refuses_a_folder_that_is_not_ours(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    precious = tmp_path / "photos" / "holiday.jpg"
    precious.write_bytes(b"not ours")
    for make in (make_synthetic_set, ensure_dataset):
        with pytest.raises(DataError, match="refusing"):
            make(tmp_path / "photos", **ARGS)
    assert precious.read_bytes() == b"not ours"
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["holiday.jpg"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        make_synthetic_set(tmp_path / "file", **ARGS)
    with pytest.raises(DataError, match="cannot write"):
        make_synthetic_set(tmp_path / "file" / "set", **ARGS)
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize(
    "bad",
    [
        {"cars": 0},
        {"cars": 2.5},
        {"test_cars": -1},
        {"seed": -3},
        {"size": (20, 30)},
        {"size": "big"},
        {"size": (128,)},
    ],
)
def test_bad_arguments_are_one_clear_error(tmp_path: Path, bad: dict) -> None:
    with pytest.raises(CarvanaError):
        make_synthetic_set(tmp_path / "set", **{**ARGS, **bad})
    assert not (tmp_path / "set").exists()


def test_cli_writes_a_set_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cli"
    assert (
        cli.main(
            ["synth", str(out), "--cars", "1", "--test-cars", "0", "--size", "64x96", "--seed", "5"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "1 cars x 16 views" in printed and "64x96" in printed
    assert read_marker(out)["size"] == [64, 96]
    assert len(list((out / "train_hq").iterdir())) == 16 and (out / "train_hq.zip").is_file()


@pytest.mark.parametrize(
    "argv", [["--size", "12x"], ["--size", "axb"], ["--cars", "two"], ["--size", "8x8"]]
)
def test_cli_bad_arguments_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str]
) -> None:
    assert cli.main(["synth", str(tmp_path / "out"), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("carvana-tutorial: error:")
    assert not (tmp_path / "out").exists()


def test_progress_bar_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    make_synthetic_set(
        tmp_path / "set", **{**ARGS, "cars": 1, "test_cars": 0, "zips": False}, progress=True
    )
    captured = capsys.readouterr()
    assert "synthetic Carvana" in captured.err and "16/16" in captured.err
    assert os.listdir(tmp_path / "set")
    assert (tmp_path / "set" / SYNTHETIC_MARKER).is_file()


def test_studio_and_framing_look_like_carvanas(tiny: Path) -> None:
    """Near-white wall above the car, the car low and covering about a fifth of the frame, as in
    real photos
    (real Carvana masks cover 11-37% of a frame, 22% on average; their bottom edge lies at 67-85% of
    the height)."""
    shares, bottoms = [], []
    for path in sorted((tiny / "train_masks").iterdir()):
        mask = np.array(Image.open(path)).astype(bool)
        shares.append(mask.mean())
        bottoms.append(np.flatnonzero(mask.any(axis=1))[-1] / mask.shape[0])
    # (Two cars only: two SUVs or vans cover up to a third.)
    assert 0.15 < np.mean(shares) < 0.34 and 0.65 < np.median(bottoms) < 0.88
    with Image.open(next((tiny / "train_hq").iterdir())) as photo:
        top = np.asarray(photo.convert("L"), dtype=float)[: SIZE[0] // 10]
    assert np.median(top) > 200


def test_contact_shadow_is_near_black_under_the_sills_and_never_in_the_mask() -> None:
    """Real photos have a dark band of floor right under the car that Carvana's masks leave out."""
    size = (320, 480)
    rng = np.random.default_rng([3, 0, 0])
    car, studio = random_car(rng), random_studio(rng)
    ((_, photo, mask),) = render_car(car, studio, size, [5], [3, 0, 0])
    photo = np.asarray(photo, dtype=float).mean(axis=2)
    cols = np.flatnonzero(mask.any(axis=0))
    middle = (cols[0] + cols[-1]) // 2  # between the wheels of a profile view
    bottom = np.flatnonzero(mask[:, middle])[-1]
    floor = slice(bottom + 1, bottom + 4)
    assert not mask[floor, middle].any()
    # The same rows of floor at the frame's edge, far from the car, are more than twice as bright.
    assert photo[floor, middle].max() < 0.5 * photo[floor, :8].mean()


@pytest.mark.parametrize("style", ["sedan", "suv", "hatch", "pickup", "van", "coupe"])
def test_every_body_style_renders_one_solid_car(style: str) -> None:
    from carvana_tutorial.synthetic import scene

    index = next(
        i for i in range(500) if random_car(np.random.default_rng([5, 0, i])).style == style
    )
    rng = np.random.default_rng([5, 0, index])
    car, studio = random_car(rng), random_studio(rng)
    assert car.style in scene.BODY_STYLES and car.paint_name in {
        name for name, _, _ in scene.PAINTS
    }
    for _, _, mask in render_car(car, studio, (128, 192), [1, 5], [5, 0, index]):
        rows = np.flatnonzero(mask.any(axis=1))
        assert 0.08 < mask.mean() < 0.45 and mask[rows[0] : rows[-1] + 1].any(axis=1).all()


def test_light_and_dark_paints_are_most_cars() -> None:
    """White, black, grey and silver cars are about 70% of real car parks, and the hardest on a
    white studio."""
    from carvana_tutorial.synthetic import scene

    names = [random_car(np.random.default_rng([9, 0, i])).paint_name for i in range(400)]
    neutral = np.mean([n in {"white", "pearl", "black", "gray", "silver"} for n in names])
    assert 0.6 < neutral < 0.8 and set(scene.BODY_STYLES) == {
        "sedan",
        "suv",
        "hatch",
        "pickup",
        "van",
        "coupe",
    }
