"""Run-length encoding in Kaggle's Carvana format: the mask flattened row-major, as ``start
length`` pairs with ``start`` counted from 1.  Used by the synthetic set (``train_masks.csv``)
and the submission (chapter 8).  Both directions are vectorised: the test set has 100,064 masks
of 1918x1280 pixels, so a Python loop over pixels (or even over runs) would dominate the time of
a submission."""

import numpy as np


def rle_encode(mask: np.ndarray) -> str:
    """Encode a 2-D binary mask (anything > 0 is foreground) as Kaggle RLE;
    an empty mask encodes as the empty string, which Kaggle accepts.
    Introduced in chapter 8."""
    # Padded with background, every run has a change where it starts and
    # one just after it ends; + 1 counts pixels from 1, as Kaggle does.
    flat = np.concatenate(([False], np.asarray(mask).reshape(-1) > 0, [False]))
    runs = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs[1::2] -= runs[0::2]  # (start, end) -> (start, length)
    return " ".join(map(str, runs.tolist()))


def rle_decode(rle: str, shape: tuple[int, int]) -> np.ndarray:
    """Decode Kaggle RLE into a ``uint8`` mask of ``shape`` with values {0,1}; a ``ValueError``
    for any malformed row, which should fail loudly, not silently.  Introduced in chapter 8."""
    size = int(shape[0]) * int(shape[1])
    try:
        tokens = np.array(rle.split(), dtype=np.int64)
    except (ValueError, OverflowError):
        raise ValueError("RLE must be whitespace-separated integers") from None
    if tokens.size % 2:
        raise ValueError("RLE has an odd number of values; expected 'start length' pairs")
    starts, lengths = tokens[0::2] - 1, tokens[1::2]
    ends = starts + lengths
    if starts.size and (starts.min() < 0 or lengths.min() < 1 or ends.max() > size):
        raise ValueError(f"RLE run outside an image of {size} pixels")
    if np.any(starts[1:] < ends[:-1]):
        raise ValueError("RLE runs overlap or are not in increasing order")
    gaps = starts - np.concatenate(([0], ends[:-1]))  # the background before each run
    counts = np.append(np.column_stack((gaps, lengths)).ravel(), size - ends[-1:].sum())
    return np.repeat(np.resize(np.uint8([0, 1]), counts.size), counts).reshape(shape)
