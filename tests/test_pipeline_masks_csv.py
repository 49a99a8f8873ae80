"""Masks read from ``train_masks.csv``: the same pixels as the GIFs, fewer decodes, clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import GifImagePlugin, Image
from test_pipeline import SIZE, write_carvana

from carvana_tutorial.data import (
    masks_csv_of,
    pair_files,
    read_masks_csv,
    verify_masks_csv,
)
from carvana_tutorial.errors import DataError
from carvana_tutorial.pipeline import cache as cache_module
from carvana_tutorial.pipeline import (
    decode_rle_mask,
    ensure_cached,
    make_dataset,
    mask_rles,
    read_mask,
)
from carvana_tutorial.rle import rle_encode


def write_csv(root: Path, rows: dict[str, str] | None = None) -> Path:
    """``train_masks.csv`` as Kaggle writes it, encoded from the GIFs (or ``rows``)."""
    if rows is None:
        rows = {
            gif.name.replace("_mask.gif", ".jpg"): rle_encode(np.asarray(Image.open(gif)))
            for gif in sorted((root / "train_masks").glob("*.gif"))
        }
    path = root / "train_masks.csv"
    path.write_text("img,rle_mask\n" + "".join(f"{name},{rle}\n" for name, rle in rows.items()))
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = write_carvana(tmp_path_factory.mktemp("carvana"))
    write_csv(root)
    return root


@pytest.fixture()
def root(source, tmp_path) -> Path:
    """A private copy, free to damage."""
    return Path(shutil.copytree(source, tmp_path / "data"))


def masks_of(ds) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in ds])


def count_gif_reads(monkeypatch) -> list:
    """Every GIF Pillow decodes (photos are decoded by TensorFlow); reading a size from a header is
    no decode."""
    calls = []
    real = GifImagePlugin.GifImageFile.load

    def counting(self):
        if self.tile:  # pixels not read yet
            calls.append(self.filename)
        return real(self)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "load", counting)
    return calls


@pytest.mark.parametrize("size", [SIZE, (37, 53), (128, 192), (200, 250)])
def test_csv_and_gif_masks_agree_bit_for_bit(source, tmp_path, size):
    pairs = pair_files(source)
    from_csv = masks_of(make_dataset(pairs, size, masks="csv", cache_root=tmp_path / "a"))
    from_gif = masks_of(make_dataset(pairs, size, masks="gif", cache_root=tmp_path / "b"))
    assert from_csv.sum() > 0
    np.testing.assert_array_equal(from_csv, from_gif)


def test_uncached_csv_pipeline_matches_the_cached_one(source, tmp_path):
    pairs = pair_files(source)
    cached = make_dataset(pairs, SIZE, masks="csv", cache_root=tmp_path)
    np.testing.assert_array_equal(
        masks_of(cached), masks_of(make_dataset(pairs, SIZE, masks="csv", cache=False))
    )


@settings(max_examples=60, deadline=None)
@given(
    mask=st.integers(0, 2**32 - 1).flatmap(
        lambda seed: st.tuples(st.integers(1, 40), st.integers(1, 60)).map(
            lambda hw: (np.random.default_rng(seed).uniform(size=hw) > 0.6).astype(np.uint8)
        )
    ),
    target=st.tuples(st.integers(1, 70), st.integers(1, 90)),
)
def test_rle_decoding_samples_where_pillows_nearest_resize_does(mask, target):
    """Any mask, any size (shrinking or growing, exact ties included)."""
    expected = np.asarray(Image.fromarray(mask).resize(target[::-1], Image.Resampling.NEAREST))
    got = decode_rle_mask(tf.constant(rle_encode(mask)), tf.constant(mask.shape), target).numpy()
    np.testing.assert_array_equal(got[..., 0], expected)


def test_full_size_shrink_matches_pillow_on_a_car_sized_mask():
    rows, cols = np.ogrid[:1280, :1918]
    mask = (((rows - 700) / 320) ** 2 + ((cols - 960) / 690) ** 2 < 1).astype(np.uint8)
    for target in [(96, 128), (128, 192), (256, 384), (1280, 1918)]:
        expected = np.asarray(Image.fromarray(mask).resize(target[::-1], Image.Resampling.NEAREST))
        got = decode_rle_mask(
            tf.constant(rle_encode(mask)), tf.constant([1280, 1918]), target
        ).numpy()
        np.testing.assert_array_equal(got[..., 0], expected)


def test_empty_and_full_rows_decode(source):
    empty = decode_rle_mask(tf.constant(""), tf.constant([8, 10]), (4, 5)).numpy()
    full = decode_rle_mask(tf.constant("1 80"), tf.constant([8, 10]), (4, 5)).numpy()
    assert empty.shape == full.shape == (4, 5, 1) and empty.dtype == np.uint8
    assert not empty.any() and full.all()


def test_auto_reads_the_csv_and_decodes_only_the_spot_checked_gifs(root, tmp_path, monkeypatch):
    pairs = pair_files(root)
    calls = count_gif_reads(monkeypatch)
    make_dataset(pairs, SIZE, cache_root=tmp_path / "cache")
    assert len(calls) == cache_module.SPOT_CHECKS < len(pairs)
    make_dataset(pairs, SIZE, masks="gif", cache_root=tmp_path / "cache")
    assert len(calls) == cache_module.SPOT_CHECKS + len(pairs)


def test_auto_falls_back_to_the_gifs_when_a_row_is_missing(root, tmp_path, monkeypatch):
    pairs = pair_files(root)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    del rows[pairs[3].image.name]
    write_csv(root, rows)
    assert mask_rles(pairs) is None and mask_rles(pairs[:3]) is not None
    calls = count_gif_reads(monkeypatch)
    make_dataset(pairs, SIZE, cache_root=tmp_path / "cache")
    assert len(calls) == len(pairs)  # one source for all, never a mix
    with pytest.raises(DataError, match=f"no row for {pairs[3].image.name}"):
        make_dataset(pairs, SIZE, masks="csv", cache_root=tmp_path / "cache")


def test_no_csv_means_gifs_for_auto_and_an_error_for_csv(root, tmp_path):
    (root / "train_masks.csv").unlink()
    pairs = pair_files(root)
    assert mask_rles(pairs) is None
    with pytest.raises(DataError, match="no train_masks.csv"):
        make_dataset(pairs, SIZE, masks="csv", cache_root=tmp_path)


def test_a_csv_that_disagrees_with_the_gifs_is_refused(root, tmp_path):
    pairs = pair_files(root)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    rows[pairs[0].image.name] = "1 10"
    write_csv(root, rows)
    way_out = r"masks='gif' \(or set CARVANA_MASKS=gif\)"
    with pytest.raises(DataError, match=rf"disagrees with {pairs[0].mask.name}.*{way_out}"):
        make_dataset(pairs, SIZE, cache_root=tmp_path)
    make_dataset(pairs, SIZE, masks="gif", cache_root=tmp_path)  # the way out the message names


@pytest.mark.parametrize(
    "rle", ["1 2 3", "0 5", "5 0", "1 999999", "20 5 10 5", "1 x", "99999999999999999999 1"]
)
def test_a_malformed_row_names_its_image_and_keeps_earlier_entries(root, tmp_path, rle):
    pairs = pair_files(root)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    rows[pairs[3].image.name] = rle
    write_csv(root, rows)
    with pytest.raises(DataError, match=f"row of {pairs[3].image.name}"):
        make_dataset(pairs, SIZE, cache_root=tmp_path)
    assert len(list(tmp_path.rglob("*.bin"))) == 3


def test_a_changed_row_invalidates_only_its_entry(root, tmp_path):
    pairs = pair_files(root)
    before = masks_of(make_dataset(pairs, SIZE, cache_root=tmp_path))
    old_entries = set(tmp_path.rglob("*.bin"))
    # Invert the fourth mask in both sources, as a re-download of fixed data would.
    inverted = 1 - np.asarray(Image.open(pairs[3].mask))
    gif = Image.fromarray(inverted, mode="P")
    gif.putpalette([0, 0, 0, 255, 255, 255])
    gif.save(pairs[3].mask)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    rows[pairs[3].image.name] = rle_encode(inverted)
    write_csv(root, rows)
    after = masks_of(make_dataset(pairs, SIZE, cache_root=tmp_path))
    assert len(set(tmp_path.rglob("*.bin")) - old_entries) == 1
    np.testing.assert_array_equal(after[3], 1 - before[3])
    np.testing.assert_array_equal(np.delete(after, 3, axis=0), np.delete(before, 3, axis=0))


def test_gif_and_csv_entries_are_kept_apart(source, tmp_path):
    pairs = pair_files(source)
    csv_entries = ensure_cached(pairs, SIZE, masks="csv", root=tmp_path)
    gif_entries = ensure_cached(pairs, SIZE, masks="gif", root=tmp_path)
    assert not set(csv_entries) & set(gif_entries)
    for a, b in zip(csv_entries, gif_entries, strict=True):
        assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("image,mask\na.jpg,1 2\n", "header"),
        ("img,rle_mask\na.jpg 1 2\n", "line 2 has no comma"),
        ("img,rle_mask\na.jpg,1 2\nb.jpg,3 4\na.jpg,5 6\n", "line 4 repeats the row of a.jpg"),
    ],
)
def test_a_csv_not_in_kaggles_format_is_a_clear_error(root, tmp_path, text, match):
    (root / "train_masks.csv").write_text(text)
    with pytest.raises(DataError, match=match):
        read_masks_csv(root / "train_masks.csv")
    with pytest.raises(DataError, match="masks='gif'"):
        make_dataset(pair_files(root), SIZE, cache_root=tmp_path)


def test_the_table_is_found_next_to_the_mask_folder(source):
    pair = pair_files(source)[0]
    assert masks_csv_of(pair.mask) == source / "train_masks.csv"
    assert read_masks_csv(masks_csv_of(pair.mask))[pair.image.name] == rle_encode(
        np.asarray(Image.open(pair.mask))
    )


def test_an_unknown_mask_source_is_a_data_error(source, tmp_path):
    with pytest.raises(DataError, match="mask source"):
        make_dataset(pair_files(source), SIZE, masks="png", cache_root=tmp_path)


def test_read_mask_and_rle_agree_on_the_first_pair(source):
    pair = pair_files(source)[0]
    rle = read_masks_csv(source / "train_masks.csv")[pair.image.name]
    with Image.open(pair.mask) as gif:
        shape = [gif.height, gif.width]
    np.testing.assert_array_equal(
        decode_rle_mask(tf.constant(rle), tf.constant(shape), SIZE).numpy(),
        read_mask(pair.mask, SIZE),
    )


def test_carvana_masks_sets_the_source_where_callers_leave_it_unsaid(root, tmp_path, monkeypatch):
    pairs = pair_files(root)
    calls = count_gif_reads(monkeypatch)
    monkeypatch.setenv("CARVANA_MASKS", "gif")
    assert mask_rles(pairs) is None and mask_rles(pairs, "csv") is not None  # an argument wins
    make_dataset(pairs, SIZE, cache_root=tmp_path)
    assert len(calls) == len(pairs)
    monkeypatch.setenv("CARVANA_MASKS", "png")
    with pytest.raises(DataError, match=r"'png' \(from \$CARVANA_MASKS\)"):
        make_dataset(pairs, SIZE, cache_root=tmp_path)


def test_verify_masks_csv_counts_the_rows_and_names_the_first_disagreeing_mask(root):
    assert verify_masks_csv(root) == 6
    pairs = pair_files(root)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    rows[pairs[2].image.name] = rle_encode(1 - np.asarray(Image.open(pairs[2].mask)))
    write_csv(root, rows)
    with pytest.raises(DataError, match=f"train_masks.csv disagrees with {pairs[2].mask.name}$"):
        verify_masks_csv(root)
    rows[pairs[2].image.name] = "1 2 3"
    write_csv(root, rows)
    with pytest.raises(DataError, match=f"row of {pairs[2].image.name} is malformed"):
        verify_masks_csv(root)


def test_an_empty_row_is_an_empty_mask_not_a_missing_one(root, tmp_path):
    pairs = pair_files(root)
    empty = Image.fromarray(np.zeros_like(np.asarray(Image.open(pairs[0].mask))), mode="P")
    empty.putpalette([0, 0, 0, 255, 255, 255])
    empty.save(pairs[0].mask)
    rows = dict(read_masks_csv(root / "train_masks.csv"))
    rows[pairs[0].image.name] = ""
    write_csv(root, rows)
    for cache in (True, False):
        masks = masks_of(make_dataset(pairs, SIZE, masks="csv", cache=cache, cache_root=tmp_path))
        assert not masks[0].any() and masks[1:].any()
