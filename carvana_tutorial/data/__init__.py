"""The Carvana data as the book teaches it: pair photos with masks, split by car, read the masks'
table.
Finding, downloading, extracting and checking a folder are tools
(:mod:`carvana_tutorial.tools.locate`).
Introduced in chapter 1."""

from .masks_csv import masks_csv_of, read_masks_csv, verify_masks_csv
from .pairs import (
    Pair,
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

__all__ = [
    "Pair",
    "count_misaligned",
    "group_by_car",
    "leaked_cars",
    "masks_csv_of",
    "pair_by_sorting",
    "pair_files",
    "random_split",
    "read_masks_csv",
    "scan",
    "split_by_car",
    "split_summary",
    "verify_masks_csv",
]
