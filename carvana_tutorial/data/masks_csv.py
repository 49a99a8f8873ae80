"""Kaggle's second copy of the training masks, ``train_masks.csv``: run-length encoded rows,
far cheaper to read than GIFs, so the pipeline uses them when it can.  Introduced in chapter 2."""

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


def masks_csv_of(mask_path: str | os.PathLike) -> Path:
    """Where the table for a mask file would be.  Introduced in chapter 2."""
    folder = Path(mask_path).parent
    return (folder.parent if folder.name == TRAIN_MASKS else folder) / MASKS_CSV


def read_masks_csv(path: str | os.PathLike) -> Mapping[str, str]:
    """``{image name: RLE}``, parsed once per version of the file.  Introduced in chapter 2."""
    return _parse(*file_version(path))


def file_version(path: str | os.PathLike) -> tuple[str, int, int]:
    """Resolved path, size and mtime, which change with the file; a :class:`DataError` if not."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _parse(path: str, size: int, mtime_ns: int) -> Mapping[str, str]:
    # Split by hand: an RLE field is never quoted and can exceed the csv module's field limit.
    name = Path(path).name
    try:
        with open(path, encoding="ascii", newline="") as handle:
            header = handle.readline().strip()
            if header != "img,rle_mask":
                raise DataError(
                    f"{name} does not start with the header img,rle_mask (found {header!r})"
                )
            rows = {}
            for number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                image, sep, rle = line.strip().partition(",")
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
    """Whether a row decodes to exactly ``mask``; ``ValueError`` if malformed.  Introduced in
    chapter 2."""
    return np.array_equal(rle_decode(rle, mask.shape[:2]), mask)


def verify_masks_csv(root: str | os.PathLike) -> int:
    """Compare every row of ``train_masks.csv`` with its GIF, so that our RLE is known to read
    Kaggle's file as Kaggle wrote it; return the row count.  Introduced in chapter 8."""
    rows = read_masks_csv(Path(root) / MASKS_CSV)
    for image, rle in rows.items():
        gif = Path(root) / TRAIN_MASKS / image.replace(".jpg", "_mask.gif")
        try:
            if not row_matches(rle, read_gif(gif)):
                raise DataError(f"{MASKS_CSV} disagrees with {gif.name}")
        except ValueError as exc:
            raise DataError(f"the {MASKS_CSV} row of {image} is malformed: {exc}") from None
    return len(rows)
