"""``carvana-tutorial synth OUT``: write a synthetic Carvana set in Kaggle's layout."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ..errors import CarvanaError
from ..layout import FULL_SIZE

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic Carvana data set (no Kaggle account needed)",
        description="Render studio photos of synthetic cars, 16 turntable views each, with exact masks, in "
        "Kaggle's layout: train_hq/, train_masks/, test_hq/, the three zips and train_masks.csv. "
        "The same arguments give byte-identical files.",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="output folder (new, empty, or a synthetic set of ours)")
    parser.add_argument("--cars", default="8", help="training cars, 16 views each (default: 8)")
    parser.add_argument("--test-cars", default="2", help="test cars, images only (default: 2)")
    parser.add_argument(
        "--size",
        default=f"{FULL_SIZE[0]}x{FULL_SIZE[1]}",
        help="HEIGHTxWIDTH of every image (default: Carvana's %(default)s)",
    )
    parser.add_argument("--seed", default="0", help="random seed (default: 0)")
    parser.add_argument("--no-zips", action="store_true", help="skip the three zips")
    parser.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    """``'1280x1918'`` -> ``(1280, 1918)``, as (height, width). Introduced in chapter 1."""
    match = _SIZE.match(text)
    if match is None:
        raise CarvanaError(f"--size {text!r} is not HEIGHTxWIDTH, e.g. 1280x1918")
    return int(match[1]), int(match[2])


def _whole(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CarvanaError(f"--{name} {text!r} is not a whole number") from None


def run(args: argparse.Namespace) -> int:
    from ..synthetic import make_dataset

    summary = make_dataset(
        args.out,
        cars=_whole("cars", args.cars),
        size=parse_size(args.size),
        seed=_whole("seed", args.seed),
        test_cars=_whole("test-cars", args.test_cars),
        zips=not args.no_zips,
        progress=sys.stderr.isatty(),
    )
    print(summary.describe())
    print(f"written to {args.out}/")
    return 0
