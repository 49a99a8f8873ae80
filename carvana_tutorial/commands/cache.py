"""``carvana-tutorial cache [list|clear]``: see and reclaim the space the cache folder takes."""

from __future__ import annotations

import argparse
import json

from ..errors import CarvanaError
from ._args import parse_size

SCOPES = "--pipeline, --size HxW, --older-than DAYS or --all"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="show what the cache folder holds, or clear parts of it",
        description="The package keeps decoded pairs, synthetic sets, trained runs and unpacked zips in one "
        "cache folder ($CARVANA_CACHE, else ~/.cache/carvana-tutorial) and never prunes it. "
        "`cache` (or `cache list`) prints its size by kind; `cache clear` removes what you name.",
    )
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="files and MiB per pipeline size, synthetic set, run, then extracted and other (the default)",
        description="Print the cache folder, then files and MiB per pipeline size, synthetic set and run, "
        "for extracted zips and anything else, and a total; the last line is JSON.",
    )
    listing.set_defaults(func=run_list)
    clear = actions.add_parser(
        "clear",
        help="remove decoded pairs (by size or age) or the whole cache",
        description=f"Remove what one of {SCOPES} names, never anything outside the cache folder; "
        "a synthetic set another process is making is skipped. Prints what went and the space freed; "
        "the last line is JSON.",
    )
    clear.add_argument("--pipeline", action="store_true", help="every decoded pair, all sizes")
    clear.add_argument("--size", type=parse_size, action="append", default=[], metavar="HxW",
                       help="the decoded pairs of this HEIGHTxWIDTH, every resize method (repeatable)")
    clear.add_argument("--older-than", type=_days, default=None, metavar="DAYS",
                       help="decoded pairs neither read nor written for DAYS days")
    clear.add_argument("--all", action="store_true", help="the whole cache folder (lock files stay)")
    clear.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    clear.set_defaults(func=run_clear)


def _days(text: str) -> float:
    """``"30"`` -> ``30.0``: a number of days, zero or more."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days such as 30, got {text!r}") from None
    if not days >= 0:
        raise argparse.ArgumentTypeError(f"days must be zero or more, got {text!r}")
    return days


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _files(count: int) -> str:
    return f"{count} file{'' if count == 1 else 's'}"


def _row(label: str, width: int, files: int, size: int) -> str:
    """One aligned line of the listing: label, files, MiB."""
    return f"{label:<{width}}  {files:>9} {'file' if files == 1 else 'files':<5}  {_mib(size):>12}"


def run_list(args: argparse.Namespace) -> int:
    from ..cache_usage import MIB, checked_root, usage

    root = checked_root()
    groups = usage(root)
    print(f"cache: {root}")
    width = max([len(g.label) for g in groups] + [len("total")])
    for group in groups:
        print(_row(group.label, width, group.files, group.size))
    if not groups:
        print("nothing cached yet")
    files, size = sum(g.files for g in groups), sum(g.size for g in groups)
    print(_row("total", width, files, size))
    print(json.dumps({"groups": [g.as_dict() for g in groups], "files": files, "bytes": size,
                      "mib": round(size / MIB, 2)}, sort_keys=True))
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from ..cache_usage import MIB, checked_root, clear, select

    if not (args.pipeline or args.size or args.older_than is not None or args.all):
        raise CarvanaError(f"say what to clear: {SCOPES} (add --dry-run to see it first)")
    root = checked_root()
    groups = select(root, pipeline=args.pipeline, sizes=args.size, older_than_days=args.older_than,
                    everything=args.all)
    result = clear(groups, root, dry_run=args.dry_run)
    print(f"cache: {root}")
    verb = "would remove" if result.dry_run else "removed"
    for group in result.removed:
        print(f"{verb} {group.label}: {_files(group.files)}, {_mib(group.size)}")
    for group, reason in result.skipped:
        print(f"skipped {group.label}: {reason}")
    if result.removed:
        print(f"{'would free' if result.dry_run else 'freed'} {_mib(result.size)} in {_files(result.files)}")
    else:
        print("nothing to remove")
    print(json.dumps({
        "dry_run": result.dry_run,
        "removed": [g.as_dict() for g in result.removed],
        "skipped": [{"kind": g.kind, "name": g.name, "reason": reason} for g, reason in result.skipped],
        "files": result.files, "bytes": result.size, "mib": round(result.size / MIB, 2),
    }, sort_keys=True))
    return 0
