"""Kaggle's second copy of the training masks: ``train_masks.csv``.

The competition ships every training mask twice: as a 1918x1280 GIF and as a
row ``img,rle_mask`` of ``train_masks.csv``, run-length encoded as in a
submission.  A GIF is LZW-compressed, so every one of its 2.5 million pixels
must be unpacked before any can be used; a row is a few thousand integers
from which any pixel can be looked up directly.  The pipeline therefore reads
masks from the table when it has a row for every pair asked for (chapter 2).
Introduced in chapter 2.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
from PIL import Image

from ..errors import DataError
from ..layout import MASKS_CSV, TRAIN_MASKS
from ..rle import rle_decode

HEADER = ("img", "rle_mask")


def masks_csv_of(mask_path: str | os.PathLike) -> Path:
    """Where the table for a mask file would be: ``<root>/train_masks.csv``.

    Introduced in chapter 2.
    """
    folder = Path(mask_path).parent
    root = folder.parent if folder.name == TRAIN_MASKS else folder
    return root / MASKS_CSV


def read_masks_csv(path: str | os.PathLike) -> Mapping[str, str]:
    """The rows of a ``train_masks.csv`` as ``{image file name: RLE string}``.

    Parsed once per version of the file (path, size and modification time key
    an in-memory cache), since every dataset built on the same folder asks
    again.  Raises :class:`~carvana_tutorial.errors.DataError` for a file that
    is not in Kaggle's format.  Introduced in chapter 2.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    return _parse(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _parse(path: str, size: int, mtime_ns: int) -> Mapping[str, str]:
    # Lines are split by hand: an RLE field is one long run of digits and
    # spaces, never quoted, and can exceed the csv module's field limit.
    name = Path(path).name
    try:
        with open(path, encoding="ascii", newline="") as handle:
            header = tuple(handle.readline().strip().split(","))
            if header != HEADER:
                raise DataError(f"{name} does not start with the header img,rle_mask (found {','.join(header)!r})")
            rows = {}
            for number, line in enumerate(handle, start=2):
                line = line.strip()
                if not line:
                    continue
                image, sep, rle = line.partition(",")
                if not sep:
                    raise DataError(f"{name} line {number} has no comma: expected img,rle_mask")
                if image in rows:
                    raise DataError(f"{name} line {number} repeats the row of {image}")
                rows[image] = rle
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {name}: {exc}") from None
    return MappingProxyType(rows)  # shared by every caller, so read-only


def read_gif(path: str | os.PathLike) -> np.ndarray:
    """A GIF mask at full size as uint8 {0, 1}; a :class:`DataError` naming it if unreadable."""
    try:
        with Image.open(path) as gif:
            return (np.asarray(gif.convert("L")) > 127).astype(np.uint8)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read mask {Path(path).name}: {exc}") from None


def row_matches(rle: str, mask: np.ndarray) -> bool:
    """Whether a row decodes to exactly ``mask`` (full size, {0, 1}).

    Raises ``ValueError`` saying why for a malformed row.  Introduced in
    chapter 2.
    """
    return np.array_equal(rle_decode(rle, mask.shape[:2]), mask)


def verify_masks_csv(root: str | os.PathLike) -> int:
    """Compare every row of ``train_masks.csv`` with its GIF; return the row count.

    Raises :class:`DataError` naming the first mask that disagrees (or whose
    row is malformed): a check that our RLE reads Kaggle's file the way
    Kaggle wrote it.  Introduced in chapter 8.
    """
    root = Path(root)
    rows = read_masks_csv(root / MASKS_CSV)
    for image, rle in rows.items():
        gif = root / TRAIN_MASKS / image.replace(".jpg", "_mask.gif")
        try:
            same = row_matches(rle, read_gif(gif))
        except ValueError as exc:
            raise DataError(f"the {MASKS_CSV} row of {image} is malformed: {exc}") from None
        if not same:
            raise DataError(f"{MASKS_CSV} disagrees with {gif.name}")
    return len(rows)
