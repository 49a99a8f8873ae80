"""Pairing by id and splitting by car (carvana_tutorial.data.pairs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carvana_tutorial.data import (
    count_misaligned,
    group_by_car,
    leaked_cars,
    pair_by_sorting,
    pair_files,
    random_split,
    scan,
    split_by_car,
    split_summary,
)
from carvana_tutorial.errors import DataError
from carvana_tutorial.layout import TRAIN_IMAGES, TRAIN_MASKS, VIEWS


def car_ids(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return sorted({f"{rng.integers(2**48):012x}" for _ in range(n)})


def touch_set(root: Path, cars: list[str], views: int = VIEWS) -> Path:
    """Empty files named like Carvana's: pairing only looks at names."""
    (root / TRAIN_IMAGES).mkdir(parents=True)
    (root / TRAIN_MASKS).mkdir()
    for car in cars:
        for view in range(1, views + 1):
            (root / TRAIN_IMAGES / f"{car}_{view:02d}.jpg").write_bytes(b"")
            (root / TRAIN_MASKS / f"{car}_{view:02d}_mask.gif").write_bytes(b"")
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return touch_set(tmp_path / "carvana", car_ids(3))


def test_pairs_match_by_id_and_are_sorted(folder: Path) -> None:
    pairs = pair_files(folder)
    assert len(pairs) == 3 * VIEWS
    assert [p.vid for p in pairs] == sorted(p.vid for p in pairs)
    for pair in pairs:
        assert pair.image.name == f"{pair.car}_{pair.view:02d}.jpg"
        assert pair.mask.name == f"{pair.car}_{pair.view:02d}_mask.gif"


def test_hidden_files_are_ignored(folder: Path) -> None:
    (folder / TRAIN_IMAGES / ".DS_Store").write_bytes(b"")
    (folder / TRAIN_MASKS / ".extracted.json").write_text("{}")
    assert len(pair_files(folder)) == 3 * VIEWS


def test_missing_mask_is_named(folder: Path) -> None:
    victim = sorted((folder / TRAIN_MASKS).iterdir())[5]
    victim.unlink()
    image_name = victim.name.replace("_mask.gif", ".jpg")
    with pytest.raises(DataError, match=f"1 image without a mask: {TRAIN_IMAGES}/{image_name}"):
        pair_files(folder)
    assert len(list((folder / TRAIN_IMAGES).iterdir())) == 3 * VIEWS  # nothing deleted


def test_extra_mask_is_named(folder: Path) -> None:
    (folder / TRAIN_MASKS / "0123456789ab_07_mask.gif").write_bytes(b"")
    with pytest.raises(
        DataError, match=f"1 mask without an image: {TRAIN_MASKS}/0123456789ab_07_mask.gif"
    ):
        pair_files(folder)


def test_many_problems_are_listed_with_a_count(folder: Path) -> None:
    masks = sorted((folder / TRAIN_MASKS).iterdir())[:8]
    for mask in masks:
        mask.unlink()
    with pytest.raises(DataError, match="8 images without a mask: .* and 3 more"):
        pair_files(folder)


@pytest.mark.parametrize(
    "name", ["notes.txt", "0123456789ab_17.jpg", "0123456789ab_01_mask.gif", "ABCDEF012345_01.jpg"]
)
def test_unreadable_names_in_images_are_errors(folder: Path, name: str) -> None:
    (folder / TRAIN_IMAGES / name).write_bytes(b"")
    with pytest.raises(DataError, match=f"not named .*{TRAIN_IMAGES}/{name}"):
        pair_files(folder)


def test_scan_collects_every_problem_without_raising(folder: Path) -> None:
    masks = sorted((folder / TRAIN_MASKS).iterdir())
    masks[0].unlink()
    (folder / TRAIN_MASKS / "0123456789ab_07_mask.gif").write_bytes(b"")
    (folder / TRAIN_MASKS / "x.gif").write_bytes(b"")
    found = scan(folder)
    assert not found.ok
    assert len(found.pairs) == 3 * VIEWS - 1
    assert found.images_without_mask == [
        f"{TRAIN_IMAGES}/{masks[0].name.replace('_mask.gif', '.jpg')}"
    ]
    assert found.masks_without_image == [f"{TRAIN_MASKS}/0123456789ab_07_mask.gif"]
    assert found.bad_names == [f"{TRAIN_MASKS}/x.gif"]
    assert len(found.problems()) == 3


def test_empty_folder_explains_the_layout(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match="has no train_hq/ or train_masks/ folder: expected Carvana's layout"
    ):
        pair_files(tmp_path)


def test_empty_training_folders(tmp_path: Path) -> None:
    touch_set(tmp_path, [])
    with pytest.raises(DataError, match="train_hq is empty"):
        pair_files(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data folder"):
        pair_files(tmp_path / "nowhere")


def test_sorting_two_lists_breaks_where_pairing_by_id_does_not(folder: Path) -> None:
    """The article's pairing: one missing mask shifts every later pair."""
    (folder / TRAIN_IMAGES / ".extracted.json").write_text("{}")  # our marker is not a photo
    assert count_misaligned(pair_by_sorting(folder)) == 0
    victim = sorted((folder / TRAIN_MASKS).iterdir())[3]
    victim.unlink()
    by_sorting = pair_by_sorting(folder)
    assert len(by_sorting) == 3 * VIEWS - 1
    assert count_misaligned(by_sorting) == 3 * VIEWS - 1 - 3  # every pair after the gap
    assert count_misaligned([(p.image, p.mask) for p in scan(folder).pairs]) == 0


# --- splits ---------------------------------------------------------------


@pytest.fixture(scope="module")
def many_pairs(tmp_path_factory: pytest.TempPathFactory) -> list:
    return pair_files(touch_set(tmp_path_factory.mktemp("split"), car_ids(40, seed=1)))


def test_split_by_car_keeps_cars_whole(many_pairs: list) -> None:
    train, val = split_by_car(many_pairs)
    assert leaked_cars(train, val) == []
    assert sorted(train + val, key=lambda p: p.vid) == many_pairs
    assert len({p.car for p in val}) == 8  # 20% of 40 cars
    assert all(len([p for p in val if p.car == car]) == VIEWS for car in {p.car for p in val})


def test_group_by_car_holds_every_view_of_each_car_in_order(many_pairs: list) -> None:
    cars = group_by_car(list(reversed(many_pairs)))
    assert list(cars) == sorted({p.car for p in many_pairs}) and len(cars) == 40
    assert all(
        [p.view for p in views] == list(range(1, VIEWS + 1)) and {p.car for p in views} == {car}
        for car, views in cars.items()
    )


def test_split_by_car_is_seeded(many_pairs: list) -> None:
    assert split_by_car(many_pairs, seed=42) == split_by_car(list(reversed(many_pairs)), seed=42)
    assert split_by_car(many_pairs, seed=42)[1] != split_by_car(many_pairs, seed=7)[1]


@pytest.mark.parametrize("limit", [32, 100, 250, 1000])
def test_max_images_keeps_whole_cars(many_pairs: list, limit: int) -> None:
    train, val = split_by_car(many_pairs, max_images=limit)
    kept = train + val
    assert len(kept) <= limit
    assert len(kept) % VIEWS == 0
    assert len(kept) > min(limit, len(many_pairs)) - VIEWS  # as many whole cars as fit
    assert leaked_cars(train, val) == []


def test_max_images_below_two_cars_is_an_error(many_pairs: list) -> None:
    with pytest.raises(
        DataError, match="at least 2 cars, but only 1 is available within max_images=20"
    ):
        split_by_car(many_pairs, max_images=20)


def test_max_images_draws_cars_in_a_seeded_order(many_pairs: list) -> None:
    small = {p.car for part in split_by_car(many_pairs, max_images=160) for p in part}
    larger = {p.car for part in split_by_car(many_pairs, max_images=320) for p in part}
    first_cars = {p.car for p in many_pairs[:160]}
    assert small < larger
    assert small != first_cars  # not just the first cars by name


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_bad_fraction(many_pairs: list, fraction: float) -> None:
    with pytest.raises(DataError, match="val_fraction"):
        split_by_car(many_pairs, val_fraction=fraction)


def test_one_car_cannot_be_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least 2 cars"):
        split_by_car(pair_files(touch_set(tmp_path, car_ids(1))))


def test_no_pairs_cannot_be_split() -> None:
    with pytest.raises(DataError, match="at least 2 cars, but only 0 are available"):
        split_by_car([])
    with pytest.raises(DataError, match="a random split needs at least 2 images"):
        random_split([])


def test_random_split_is_the_articles_and_leaks(many_pairs: list) -> None:
    from sklearn.model_selection import train_test_split

    train, val = random_split(many_pairs, max_images=200)
    first = many_pairs[:200]
    x_train, x_val, y_train, y_val = train_test_split(
        [p.image for p in first], [p.mask for p in first], test_size=0.2, random_state=42
    )
    assert {p.image for p in train} == set(x_train) and {p.mask for p in val} == set(y_val)
    assert len(val) == 40
    assert len(leaked_cars(train, val)) > 0


def test_split_summary_counts_cars_on_both_sides(many_pairs: list) -> None:
    clean = split_summary(*split_by_car(many_pairs))
    assert clean == {
        "train_images": 512,
        "train_cars": 32,
        "val_images": 128,
        "val_cars": 8,
        "leaked_cars": 0,
        "val_images_of_seen_cars": 0,
    }
    train, val = random_split(many_pairs)
    leaky = split_summary(train, val)
    assert leaky["leaked_cars"] == len(leaked_cars(train, val)) > 0
    assert leaky["val_images_of_seen_cars"] == sum(p.car in {t.car for t in train} for p in val)
