"""``carvana-tutorial download`` and ``carvana-tutorial inspect``: get and check the data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    download = subparsers.add_parser(
        "download", help="download Carvana's zips from Kaggle and extract them",
        description="Download train_hq.zip, train_masks.zip and train_masks.csv.zip (and test_hq.zip with "
        "--with-test) with your Kaggle API token, then extract them. Needs the competition rules accepted.")
    download.add_argument("--dest", type=Path, default=Path("data"), help="folder for the zips (default: ./data)")
    download.add_argument("--with-test", action="store_true", help="also fetch test_hq.zip (for a submission)")
    download.add_argument("--no-extract", action="store_true", help="keep the zips, do not extract them")
    download.set_defaults(func=run_download, interrupted="complete zips in {dest} are kept; rerun the command "
                          "to fetch the others and extract them")
    inspect = subparsers.add_parser(
        "inspect", help="check a data folder: decode every image and mask, print counts",
        description="Read every training image and mask of a folder in Kaggle's layout (read-only) and print "
        "counts, sizes and the foreground fraction; the last line is JSON. Exits non-zero if anything is wrong.")
    inspect.add_argument("data", type=Path, metavar="DATA", help="folder holding train_hq/ and train_masks/")
    inspect.set_defaults(func=run_inspect)


def run_download(args: argparse.Namespace) -> int:
    from ..data.download import download
    from ..data.extract import extract_all

    zips = download(args.dest, with_test=args.with_test, progress=args.progress)
    for path in zips:
        print(f"{path.name}: {path.stat().st_size / 2**20:.0f} MiB")
    for path in [] if args.no_extract else extract_all(zips, args.dest, progress=args.progress):
        print(f"extracted {path.name}{'/' if path.is_dir() else ''}")
    print(f"Carvana data is in {args.dest}/: check it with `carvana-tutorial inspect {args.dest}`")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from ..data.check import inspect_folder
    from ..errors import DataError

    report = inspect_folder(args.data, progress=args.progress)
    print("\n".join(report.lines()))
    if not report.ok:
        sys.stdout.flush()
        raise DataError(f"{args.data}: {report.problem()} (listed above)")
    return 0
