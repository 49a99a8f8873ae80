"""Carvana's file layout and naming, in one place.

Kaggle ships ``train_hq/<id>_<NN>.jpg``, ``train_masks/<id>_<NN>_mask.gif`` and
``test_hq/<id>_<NN>.jpg``, where ``<id>`` is 12 lowercase hex characters naming
one car and ``<NN>`` (01..16) is one of 16 turntable views.  Introduced in
chapter 1 (*Getting the data*).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TRAIN_IMAGES = "train_hq"
TRAIN_MASKS = "train_masks"
TEST_IMAGES = "test_hq"
MASKS_CSV = "train_masks.csv"
#: Kaggle ships the masks' run-length table zipped; the pipeline reads masks from it (chapter 2).
MASKS_CSV_ZIP = f"{MASKS_CSV}.zip"
ZIPS = ("train_hq.zip", "train_masks.zip", "test_hq.zip")
#: Kaggle also ships these low-quality zips; we never extract them (20 GB cap).
SKIPPED_ZIPS = ("train.zip", "test.zip")

VIEWS = 16
#: Height x width of every real Carvana photo (Keras order).
FULL_SIZE = (1280, 1918)

_NAME = re.compile(r"^(?P<car>[0-9a-f]{12})_(?P<view>\d{2})(?P<mask>_mask)?\.(?P<ext>jpg|gif)$")


@dataclass(frozen=True, order=True)
class ViewId:
    """One photo of one car: ``car`` is the 12-hex id, ``view`` is 1..16."""

    car: str
    view: int

    @property
    def stem(self) -> str:
        return f"{self.car}_{self.view:02d}"

    @property
    def image_name(self) -> str:
        return f"{self.stem}.jpg"

    @property
    def mask_name(self) -> str:
        return f"{self.stem}_mask.gif"


def parse_name(name: str) -> tuple[ViewId, bool] | None:
    """Parse a Carvana file name into its view id and whether it is a mask.

    Returns ``None`` for names outside the scheme, so callers decide whether a
    stray file is an error.
    """
    match = _NAME.match(name)
    if match is None:
        return None
    view = int(match["view"])
    if not 1 <= view <= VIEWS:
        return None
    is_mask = match["mask"] is not None
    if is_mask != (match["ext"] == "gif"):
        return None
    return ViewId(match["car"], view), is_mask


def image_path(root: Path, vid: ViewId, folder: str = TRAIN_IMAGES) -> Path:
    return Path(root) / folder / vid.image_name


def mask_path(root: Path, vid: ViewId) -> Path:
    return Path(root) / TRAIN_MASKS / vid.mask_name
