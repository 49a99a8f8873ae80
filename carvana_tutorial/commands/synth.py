"""``carvana-tutorial synth OUT``: write a synthetic Carvana set in Kaggle's layout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..layout import FULL_SIZE
from ._args import parse_size, user_value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="write a synthetic Carvana data set (no Kaggle account needed)",
        description="Render studio photos of synthetic cars, 16 turntable views each, with exact masks, in "
        "Kaggle's layout: train_hq/, train_masks/, test_hq/, the three zips and train_masks.csv. "
        "The same arguments give byte-identical files.")
    parser.add_argument("out", type=Path, metavar="OUT", help="output folder (new, empty, or a synthetic set of ours)")
    parser.add_argument("--cars", default="8", help="training cars, 16 views each (default: 8)")
    parser.add_argument("--test-cars", default="2", help="test cars, images only (default: 2)")
    parser.add_argument("--size", default=f"{FULL_SIZE[0]}x{FULL_SIZE[1]}",
                        help="HEIGHTxWIDTH of every image (default: Carvana's %(default)s)")
    parser.add_argument("--seed", default="0", help="random seed (default: 0)")
    parser.add_argument("--no-zips", action="store_true", help="skip the three zips")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..synthetic import make_dataset

    whole = "a whole number"
    summary = make_dataset(
        args.out, cars=user_value("--cars", int, args.cars, whole),
        test_cars=user_value("--test-cars", int, args.test_cars, whole),
        size=user_value("--size", parse_size, args.size, "HEIGHTxWIDTH, e.g. 1280x1918"),
        seed=user_value("--seed", int, args.seed, whole), zips=not args.no_zips, progress=sys.stderr.isatty())
    print(summary.describe())
    print(f"written to {args.out}/")
    return 0
