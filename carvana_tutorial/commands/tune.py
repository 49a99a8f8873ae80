"""``carvana-tutorial tune``: run chapter 7's sweep and mistake pairs, filling the result cache."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", help="run the tuning sweep and the article's mistake pairs (chapter 7), caching the results",
        description="Train every run of the profile's sweep that the cache file (which the chapter reads) "
        "lacks, or all of them with --force, and write the results there.")
    parser.add_argument("--profile", choices=("quick", "full"), help="sweep size (default: by hardware)")
    parser.add_argument("--data", type=Path, help="Carvana folder (default: the book's search, else synthetic)")
    parser.add_argument("--cache", type=Path, metavar="FILE.json",
                        help="result cache (default: book/results/sweep-<profile>.json)")
    parser.add_argument("--force", action="store_true", help="retrain every run, ignoring cached results")
    parser.set_defaults(func=run, interrupted="the runs finished so far are kept in the result cache; "
                        "rerun without --force to train only the others")


def run(args: argparse.Namespace) -> int:
    from ..config import get_profile
    from ..data import find_data, pair_files
    from ..tuning import PLANS, run_sweep

    profile = get_profile(args.profile)
    source = find_data(args.data, profile=profile, progress=args.progress)
    cache = args.cache or Path("book") / "results" / f"sweep-{profile.name}.json"
    result = run_sweep(pair_files(source.root), root=source.root, description=source.description, cache=cache,
                       plan=PLANS[profile.name], mode="force" if args.force else "auto")
    print(f"{result.trained} runs trained, {result.from_cache} read from the cache -> {cache}")
    return 0
