"""``carvana-tutorial cache [list|clear]``: see and reclaim the space the cache folder takes."""

from __future__ import annotations

import argparse
import json

from ..errors import CarvanaError
from ._args import parse_size

SCOPES = "--pipeline, --size HxW, --older-than DAYS or --all"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache", help="show what the cache folder holds, or clear parts of it",
        description="Decoded pairs, synthetic sets, trained runs and unpacked zips live in one cache folder "
        "($CARVANA_CACHE, else ~/.cache/carvana-tutorial) that is never pruned. `cache` (or `cache list`) "
        "prints its size by kind; `cache clear` removes what you name. The last line is JSON.")
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="size per pipeline size, synthetic set and run (the default)"
                       ).set_defaults(func=run_list)
    clear = actions.add_parser("clear", help="remove decoded pairs (by size or age) or the whole cache",
                               description=f"Remove what one of {SCOPES} names, never anything outside the "
                               "cache folder; a synthetic set another process is making is skipped.")
    clear.add_argument("--pipeline", action="store_true", help="every decoded pair, all sizes")
    clear.add_argument("--size", type=parse_size, action="append", default=[], metavar="HxW",
                       help="the decoded pairs of this HEIGHTxWIDTH, every resize method (repeatable)")
    clear.add_argument("--older-than", type=float, metavar="DAYS",
                       help="decoded pairs neither read nor written for DAYS days")
    clear.add_argument("--all", action="store_true", help="the whole cache folder (lock files stay)")
    clear.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    clear.set_defaults(func=run_clear)


def _total(groups: list) -> dict:
    files, size = sum(g.files for g in groups), sum(g.size for g in groups)
    return {"files": files, "bytes": size, "mib": round(size / 2**20, 2)}


def run_list(args: argparse.Namespace) -> int:
    from ..cache_usage import checked_root, usage

    root = checked_root()
    groups = usage(root)
    rows = [(g.label, g.as_dict()) for g in groups] + [("total", total := _total(groups))]
    width = max(len(label) for label, _ in rows)
    print(f"cache: {root}")
    if not groups:
        print("nothing cached yet")
    for label, amount in rows:
        print(f"{label:<{width}}  {amount['files']:>9} {'file' if amount['files'] == 1 else 'files':<5}  "
              f"{amount['mib']:>8.1f} MiB")
    print(json.dumps({"groups": [g.as_dict() for g in groups], **total}, sort_keys=True))
    return 0


def run_clear(args: argparse.Namespace) -> int:
    from ..cache_usage import checked_root, clear

    if not (args.pipeline or args.size or args.older_than is not None or args.all):
        raise CarvanaError(f"say what to clear: {SCOPES} (add --dry-run to see it first)")
    root = checked_root()
    removed, skipped = clear(root, pipeline=args.pipeline, sizes=args.size, older_than_days=args.older_than,
                             everything=args.all, dry_run=args.dry_run)
    total = _total(removed)
    verb, freed = ("would remove", "would free") if args.dry_run else ("removed", "freed")
    print(f"cache: {root}")
    for group in removed:
        print(f"{verb} {group.label}: {group.files} files, {group.size / 2**20:.1f} MiB")
    for group, reason in skipped:
        print(f"skipped {group.label}: {reason}")
    print(f"{freed} {total['mib']:.1f} MiB in {total['files']} files" if removed else "nothing to remove")
    print(json.dumps({"dry_run": args.dry_run, "removed": [g.as_dict() for g in removed],
                      "skipped": [{"kind": g.kind, "name": g.name, "reason": why} for g, why in skipped],
                      **total}, sort_keys=True))
    return 0
