"""Kaggle's run-length encoding: round trips, edge cases, the convention, and the synthetic CSV."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from carvana_tutorial.layout import FULL_SIZE
from carvana_tutorial.rle import rle_decode, rle_encode

masks = st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
    lambda shape: arrays(np.bool_, shape)
)


@settings(max_examples=300, deadline=None)
@given(masks)
def test_decode_inverts_encode(mask):
    decoded = rle_decode(rle_encode(mask), mask.shape)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, mask.astype(np.uint8))


@settings(max_examples=200, deadline=None)
@given(masks)
def test_encoding_is_canonical(mask):
    """Starts increase, runs never touch (else they would be one run), all inside the image."""
    tokens = [int(t) for t in rle_encode(mask).split()]
    starts, lengths = tokens[0::2], tokens[1::2]
    assert all(length >= 1 for length in lengths)
    assert all(s >= 1 for s in starts)
    ends = [s + n for s, n in zip(starts, lengths, strict=True)]
    assert all(nxt > end for end, nxt in zip(ends, starts[1:], strict=False))
    assert not ends or ends[-1] - 1 <= mask.size
    assert sum(lengths) == int(mask.sum())


def test_empty_and_full_masks():
    assert rle_encode(np.zeros(FULL_SIZE, np.uint8)) == ""
    assert rle_encode(np.ones(FULL_SIZE, np.uint8)) == f"1 {FULL_SIZE[0] * FULL_SIZE[1]}"
    assert rle_decode("", (3, 5)).sum() == 0
    assert rle_decode("1 15", (3, 5)).all()


def test_counting_is_one_indexed_and_row_major():
    mask = np.zeros((3, 4), np.uint8)
    mask[1, 0] = 1  # second row, first column: the 5th pixel counting from 1
    assert rle_encode(mask) == "5 1"
    mask[0, 3] = 1  # the end of row 0 and the start of row 1 are neighbours in row-major order
    assert rle_encode(mask) == "4 2"
    column = np.zeros((3, 4), np.uint8)
    column[:, 2] = 1
    assert rle_encode(column) == "3 1 7 1 11 1"


def test_first_pixel_of_a_full_size_mask_lands_where_kaggle_counts_it():
    # NOTES: the first run of the real 00087a6bd4dc_01 starts at pixel 879386, which in a
    # 1918-wide row-major image is row 458, column 941 (counting from 0).
    mask = np.zeros(FULL_SIZE, np.uint8)
    mask[458, 941:1000] = 1
    mask[600:700, 300:1600] = 1
    assert rle_encode(mask).split()[:2] == ["879386", "59"]


def test_anything_positive_is_foreground():
    assert rle_encode(np.array([[0, 255, 0.5, -1]])) == "2 2"


@pytest.mark.parametrize(
    "rle, message",
    [
        ("1", "odd"),
        ("1 2 x 3", "integers"),
        ("99999999999999999999 1", "integers"),
        ("0 3", "outside"),
        ("14 3", "outside"),
        ("3 0", "outside"),
        ("5 3 6 2", "overlap"),
        ("9 2 1 2", "overlap"),
    ],
)
def test_malformed_rle_is_refused(rle, message):
    with pytest.raises(ValueError, match=message):
        rle_decode(rle, (3, 5))


def test_agrees_with_the_synthetic_train_masks_csv(tmp_path):
    from PIL import Image

    from carvana_tutorial.synthetic import make_synthetic_set

    root = tmp_path / "carvana"
    make_synthetic_set(root, cars=2, size=(64, 96), seed=3, test_cars=1, zips=False)
    with open(root / "train_masks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    masks_dir = root / "train_masks"
    assert len(rows) == len(list(masks_dir.glob("*_mask.gif"))) > 0
    for row in rows:
        gif = np.array(Image.open(masks_dir / row["img"].replace(".jpg", "_mask.gif")))
        assert set(np.unique(gif)) <= {0, 1}
        np.testing.assert_array_equal(rle_decode(row["rle_mask"], gif.shape), gif)
        assert rle_encode(gif) == row["rle_mask"]
