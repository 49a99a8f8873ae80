"""A synthetic Carvana set: studio photos of rendered cars, in Kaggle's exact layout.

Kaggle is not reachable everywhere (CI, a laptop without an account), so the
book's default data is drawn here: 16 turntable views per car on a studio
background like Carvana's (near-white wall, lettering, pale floor and
turntable), with exact masks, written as ``train_hq/``,
``train_masks/``, ``test_hq/``, the three zips and ``train_masks.csv``.  Every
chapter runs unchanged on it.  The cars are low-polygon meshes, so the set is
no substitute for real photos: a U-Net trained on it alone scores about 0.9
mean dice on real Carvana photos (``carvana-tutorial bench real``).
Introduced in chapter 1 (*Getting the data*).
"""

from .writer import (
    SYNTHETIC_MARKER,
    SyntheticSummary,
    car_ids,
    ensure_dataset,
    make_synthetic_set,
    read_marker,
)

__all__ = [
    "SYNTHETIC_MARKER",
    "SyntheticSummary",
    "car_ids",
    "ensure_dataset",
    "make_synthetic_set",
    "read_marker",
]
