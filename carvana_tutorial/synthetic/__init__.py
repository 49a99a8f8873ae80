"""A synthetic Carvana set: studio photos of rendered cars, in Kaggle's exact layout.

Kaggle is not reachable everywhere (CI, a laptop without an account), so the
book's default data is drawn here: 16 turntable views per car on a studio
background like Carvana's (near-white wall, lettering, pale floor and
turntable), with exact masks, written as ``train_hq/``,
``train_masks/``, ``test_hq/``, the three zips and ``train_masks.csv``.  Every
chapter runs unchanged on it.  The cars are smoothed polygon meshes of six body
styles, with a near-black contact shadow under them that, as in Carvana's own
masks, is never car.  The set is still no substitute for real photos: a U-Net
trained on it alone scores about 0.95 mean dice on real Carvana photos, against
about 0.96 for the same network trained on real cars (``carvana-tutorial bench
real`` and the README's Benchmarks).
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
