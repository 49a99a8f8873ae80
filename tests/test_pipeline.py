"""The input pipeline: shapes, values, alignment under augmentation, seeds, cache, errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from carvana_tutorial.data import pair_files
from carvana_tutorial.errors import DataError
from carvana_tutorial.pipeline import (
    dct_ratio,
    load_image,
    make_dataset,
    read_mask,
)
from carvana_tutorial.pipeline import decode as decode_module
from carvana_tutorial.pipeline.aliasing import shift_change
from carvana_tutorial.pipeline.dataset import article_dataset

SOURCE = (128, 192)  # height, width of the tiny test photos
SIZE = (32, 48)  # a quarter: decoded with DCT ratio 4
CARS = ("0123456789ab", "abcdef012345", "fedcba987654")
VIEWS = (1, 2)


def _mask(rng: np.random.Generator) -> np.ndarray:
    """An asymmetric blob (so a horizontal flip moves it), indices {0, 1}.

    Its edges fall on multiples of the 4x shrink, so the resized photo is
    exactly 0 or 1 and any disagreement with the mask comes from augmentation.
    """
    h, w = SOURCE
    mask = np.zeros(SOURCE, np.uint8)
    top, left = 4 * rng.integers(2, 8), 4 * rng.integers(1, 6)
    mask[top : top + h // 2, left : left + w // 3] = 1
    mask[top + h // 4 : top + h // 2, left : left + w // 2] = 1
    return mask


def write_carvana(root: Path, seed: int = 0) -> Path:
    """Carvana's exact formats: RGB JPEG photos whose content *is* the mask, and
    palette GIF masks (palette black/white, indices {0, 1})."""
    rng = np.random.default_rng(seed)
    (root / "train_hq").mkdir(parents=True)
    (root / "train_masks").mkdir()
    for car in CARS:
        for view in VIEWS:
            mask = _mask(rng)
            photo = np.repeat(mask[..., None] * 255, 3, axis=-1).astype(np.uint8)
            Image.fromarray(photo).save(root / "train_hq" / f"{car}_{view:02d}.jpg", quality=95)
            gif = Image.fromarray(mask, mode="P")
            gif.putpalette([0, 0, 0, 255, 255, 255])
            gif.save(root / "train_masks" / f"{car}_{view:02d}_mask.gif")
    return root


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return write_carvana(tmp_path_factory.mktemp("carvana"))


@pytest.fixture(scope="module")
def pairs(data_root):
    return pair_files(data_root)


@pytest.fixture()
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def batches(ds) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x.numpy(), y.numpy()) for x, y in ds]


def stacked(ds) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*batches(ds), strict=True)
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("augment", [None, "joint"])
def test_batches_have_the_promised_shapes_types_and_values(pairs, cache, augment):
    ds = make_dataset(pairs, SIZE, batch_size=4, augment=augment, cache_root=cache)
    image_spec, mask_spec = ds.element_spec
    assert image_spec.shape.as_list() == [None, *SIZE, 3] and mask_spec.shape.as_list() == [
        None,
        *SIZE,
        1,
    ]
    got = batches(ds)
    assert [x.shape[0] for x, _ in got] == [4, 2]
    for x, y in got:
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape[1:] == (*SIZE, 3) and y.shape[1:] == (*SIZE, 1)
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert set(np.unique(y)) == {0.0, 1.0}


def test_masks_are_the_nearest_neighbour_resize_of_the_gif(pairs, cache):
    _, masks = stacked(make_dataset(pairs, SIZE, cache_root=cache))
    for pair, mask in zip(pairs, masks, strict=True):
        source = np.asarray(Image.open(pair.mask))
        rows = ((np.arange(SIZE[0]) + 0.5) * SOURCE[0] / SIZE[0]).astype(int)
        cols = ((np.arange(SIZE[1]) + 0.5) * SOURCE[1] / SIZE[1]).astype(int)
        np.testing.assert_array_equal(mask[..., 0], source[np.ix_(rows, cols)])


def test_photos_are_area_averaged_like_a_reference_resize(pairs, cache):
    images, _ = stacked(make_dataset(pairs, SIZE, cache_root=cache))
    for pair, image in zip(pairs, images, strict=True):
        reference = Image.open(pair.image).convert("RGB").resize(SIZE[::-1], Image.Resampling.BOX)
        diff = np.abs(image * 255 - np.asarray(reference, np.float32))
        assert diff.mean() < 4.0


@pytest.mark.parametrize(
    ("source", "target", "ratio"),
    [
        ((1280, 1918), (96, 128), 8),
        ((1280, 1918), (256, 256), 4),
        ((1280, 1918), (640, 959), 2),
        ((1280, 1918), (641, 100), 1),
        ((1280, 1918), (1280, 1918), 1),
        ((100, 100), (400, 400), 1),
    ],
)
def test_dct_ratio_is_the_largest_that_still_covers_the_target(source, target, ratio):
    assert dct_ratio(source, target) == ratio


def test_cached_and_uncached_pipelines_agree_bit_for_bit(pairs, cache):
    cached = stacked(make_dataset(pairs, SIZE, cache_root=cache))
    direct = stacked(make_dataset(pairs, SIZE, cache=False))
    np.testing.assert_array_equal(cached[0], direct[0])
    np.testing.assert_array_equal(cached[1], direct[1])


def test_load_image_preprocesses_like_training(pairs, cache):
    images, _ = stacked(make_dataset(pairs, SIZE, cache_root=cache))
    np.testing.assert_array_equal(load_image(pairs[3].image, SIZE), images[3])


def test_nearest_shrink_changes_more_than_area_under_a_one_pixel_shift(tmp_path):
    """Aliasing: fine detail makes nearest-neighbour flicker, averaging barely moves."""
    detail = np.random.default_rng(0).integers(0, 256, (*SOURCE, 3), dtype=np.uint8)
    Image.fromarray(detail).save(tmp_path / "detail.jpg", quality=95)
    nearest = shift_change(tmp_path / "detail.jpg", SIZE, "nearest")
    area = shift_change(tmp_path / "detail.jpg", SIZE, "area")
    assert nearest > 3 * area > 0
    flat = np.full((*SOURCE, 3), 128, np.uint8)
    Image.fromarray(flat).save(tmp_path / "flat.jpg", quality=95)
    assert shift_change(tmp_path / "flat.jpg", SIZE, "nearest") < 1  # nothing to alias


def _agreement(image: np.ndarray, mask: np.ndarray) -> float:
    """IoU between the photo's bright pixels and the mask (the photo *is* its mask)."""
    a, b = image.mean(-1) > 0.5, mask[..., 0] > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def _centroid_gap(image: np.ndarray, mask: np.ndarray) -> float:
    """Distance in pixels between the centres of the photo's bright pixels and of the mask."""
    centres = [np.argwhere(a).mean(axis=0) for a in (image.mean(-1) > 0.5, mask[..., 0] > 0.5)]
    return float(np.linalg.norm(centres[0] - centres[1]))


def _augmented(pairs, cache, mode, epochs=3):
    ds = make_dataset(
        pairs, SIZE, batch_size=3, shuffle=True, augment=mode, seed=7, cache_root=cache
    )
    return [
        (x, y) for _ in range(epochs) for xb, yb in batches(ds) for x, y in zip(xb, yb, strict=True)
    ]


def test_joint_augmentation_moves_photo_and_mask_together(pairs, cache):
    samples = _augmented(pairs, cache, "joint")
    plain = stacked(make_dataset(pairs, SIZE, cache_root=cache))[0]
    # Something did change (flips and rotations happened) ...
    assert sum(not any(np.allclose(x, p) for p in plain) for x, _ in samples) > len(samples) // 2
    # ... yet every photo still lies on its mask (rotations blur only the outline),
    # and the mask is still binary.
    assert min(_agreement(x, y) for x, y in samples) > 0.97
    assert max(_centroid_gap(x, y) for x, y in samples) < 0.25
    assert all(set(np.unique(y)) <= {0.0, 1.0} for _, y in samples)


def test_image_only_augmentation_reproduces_the_articles_misalignment(pairs, cache):
    samples = _augmented(pairs, cache, "image_only")
    assert min(_agreement(x, y) for x, y in samples) < 0.5
    assert max(_centroid_gap(x, y) for x, y in samples) > 5


def test_same_seed_gives_same_batches_and_epochs_differ(pairs, cache):
    def run(seed):
        ds = make_dataset(
            pairs, SIZE, batch_size=4, shuffle=True, augment="joint", seed=seed, cache_root=cache
        )
        return [stacked(ds) for _ in range(2)]

    first, again, other = run(3), run(3), run(4)
    for (xa, ya), (xb, yb) in zip(first, again, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(first[0][0], first[1][0])  # a new draw every epoch
    assert not np.array_equal(first[0][0], other[0][0])


def test_unshuffled_order_follows_the_pairs(pairs, cache):
    images, _ = stacked(make_dataset(pairs, SIZE, cache_root=cache))
    for pair, image in zip(pairs, images, strict=True):
        np.testing.assert_array_equal(load_image(pair.image, SIZE), image)


def test_the_cache_means_no_decoding_after_the_first_pass(data_root, tmp_path, monkeypatch):
    root = shutil.copytree(data_root, tmp_path / "data")
    pairs = pair_files(root)
    calls = []
    real = decode_module.read_mask
    monkeypatch.setattr(decode_module, "read_mask", lambda *a: calls.append(a) or real(*a))

    ds = make_dataset(pairs, SIZE, cache_root=tmp_path / "cache")
    first = stacked(ds)
    assert len(calls) == len(pairs)
    second = stacked(ds)  # a second epoch
    again = stacked(make_dataset(pairs, SIZE, cache_root=tmp_path / "cache"))  # a later run
    assert len(calls) == len(pairs)
    for got in (second, again):
        np.testing.assert_array_equal(first[0], got[0])
        np.testing.assert_array_equal(first[1], got[1])

    # An epoch of a built dataset reads only the cache: the sources may vanish.
    moved = shutil.move(root, tmp_path / "gone")
    np.testing.assert_array_equal(stacked(ds)[1], first[1])
    shutil.move(moved, root)

    # Another size is another entry: decoded again.
    stacked(make_dataset(pairs, (16, 24), cache_root=tmp_path / "cache"))
    assert len(calls) == 2 * len(pairs)


def test_a_changed_file_invalidates_its_entry(data_root, tmp_path):
    root = shutil.copytree(data_root, tmp_path / "data")
    pairs = pair_files(root)
    masks = stacked(make_dataset(pairs, SIZE, cache_root=tmp_path / "cache"))[1]
    target = pairs[0].mask
    inverted = Image.fromarray(1 - np.asarray(Image.open(target)), mode="P")
    inverted.putpalette([0, 0, 0, 255, 255, 255])
    inverted.save(target)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    new = stacked(make_dataset(pairs, SIZE, cache_root=tmp_path / "cache"))[1]
    np.testing.assert_array_equal(new[0], 1 - masks[0])
    np.testing.assert_array_equal(new[1:], masks[1:])


@pytest.mark.parametrize("which", ["image", "mask"])
def test_an_unreadable_file_is_named_in_a_data_error(data_root, tmp_path, which):
    root = shutil.copytree(data_root, tmp_path / "data")
    pairs = pair_files(root)
    broken = getattr(pairs[2], which)
    broken.write_bytes(b"this is not a picture")
    with pytest.raises(DataError, match=broken.name):
        make_dataset(pairs, SIZE, cache_root=tmp_path / "cache")
    # Pairs decoded before the broken one were cached, not lost.
    assert len(list((tmp_path / "cache").rglob("*.bin"))) == 2


def test_a_missing_file_is_named_in_a_data_error(data_root, tmp_path):
    root = shutil.copytree(data_root, tmp_path / "data")
    pairs = pair_files(root)
    pairs[1].image.unlink()
    with pytest.raises(DataError, match=pairs[1].image.name):
        make_dataset(pairs, SIZE, cache_root=tmp_path / "cache")
    with pytest.raises(DataError, match=pairs[1].image.name):
        load_image(pairs[1].image, SIZE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resize": "bicubic"},
        {"augment": "both"},
        {"image_size": (0, 10)},
        {"image_size": "big"},
        {"batch_size": 0},
    ],
)
def test_bad_arguments_are_data_errors(pairs, cache, kwargs):
    with pytest.raises(DataError):
        make_dataset(pairs, **{"image_size": SIZE, **kwargs}, cache_root=cache)


def test_no_pairs_is_a_data_error(cache):
    with pytest.raises(DataError, match="empty"):
        make_dataset([], SIZE, cache_root=cache)


def test_read_mask_accepts_greyscale_masks(tmp_path):
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 3:12] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    got = read_mask(tmp_path / "m.png", (20, 30))
    assert got.shape == (20, 30, 1) and got.dtype == np.uint8
    np.testing.assert_array_equal(got[..., 0], mask // 255)


def test_the_articles_pipeline_returns_what_the_article_says(pairs):
    x, y = next(iter(article_dataset(pairs, SIZE, batch_size=6)))
    assert x.shape == (6, *SIZE, 3) and y.shape == (6, *SIZE, 1)
    assert x.dtype == tf.float32 and set(np.unique(y.numpy())) == {0.0, 1.0}
    # Its full-size GIF decode is RGB 0/255: three channels, not one.
    raw = tf.io.decode_gif(tf.io.read_file(str(pairs[0].mask)))
    assert raw.shape[-1] == 3 and set(np.unique(raw.numpy())) == {0, 255}
