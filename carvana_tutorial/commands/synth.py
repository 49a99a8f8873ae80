"""``carvana-tutorial synth OUT``: write a synthetic Carvana set in Kaggle's layout."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..layout import FULL_SIZE
from ._args import parse_size, positive, whole


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="write a synthetic Carvana data set (no Kaggle account needed)",
        description="Render studio photos of synthetic cars, 16 turntable views each, with exact masks, in "
        "Kaggle's layout: train_hq/, train_masks/, test_hq/, the three zips and train_masks.csv. "
        "The same arguments give byte-identical files.")
    parser.add_argument("out", type=Path, metavar="OUT", help="output folder (new, empty, or a synthetic set of ours)")
    parser.add_argument("--cars", type=positive, default=8, help="training cars, 16 views each (default: 8)")
    parser.add_argument("--test-cars", type=whole, default=2, help="test cars, images only (default: 2)")
    parser.add_argument("--size", type=parse_size, default=FULL_SIZE,
                        help=f"HEIGHTxWIDTH of every image (default: Carvana's {FULL_SIZE[0]}x{FULL_SIZE[1]})")
    parser.add_argument("--seed", type=whole, default=0, help="random seed (default: 0)")
    parser.add_argument("--no-zips", action="store_true", help="skip the three zips")
    parser.set_defaults(func=run, interrupted="what was written to {out} is marked partial; "
                        "rerun the command to make the set")


def run(args: argparse.Namespace) -> int:
    from ..synthetic import make_dataset

    summary = make_dataset(args.out, cars=args.cars, test_cars=args.test_cars, size=args.size, seed=args.seed,
                           zips=not args.no_zips, progress=args.progress)
    print(summary.describe())
    print(f"written to {args.out}/")
    return 0
