"""The Carvana data layer: find, download, extract, pair, split, check, and read the masks' table.
:func:`find_data` (which :func:`carvana_tutorial.chapter.setup` calls) gives a folder in Kaggle's layout:
the real data when it is available, else a synthetic set made on the spot.  Introduced in chapter 1."""

from .locate import DataSource, find_data
from .masks_csv import masks_csv_of, read_masks_csv, verify_masks_csv
from .pairs import (Pair, count_misaligned, group_by_car, leaked_cars, pair_by_sorting, pair_files, random_split,
                    scan, split_by_car, split_summary)

__all__ = ["DataSource", "Pair", "count_misaligned", "find_data", "group_by_car", "leaked_cars", "masks_csv_of",
           "pair_by_sorting", "pair_files", "random_split", "read_masks_csv", "scan", "split_by_car",
           "split_summary", "verify_masks_csv"]
