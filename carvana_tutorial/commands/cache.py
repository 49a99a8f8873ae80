"""``carvana-tutorial cache [list|clear]``: see and reclaim the space the cache folder takes."""

from __future__ import annotations

import argparse
import json

from ._args import parse_size


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache", help="show what the cache folder holds, or clear parts of it",
        description="Decoded pairs, synthetic sets, runs and unpacked zips share one cache folder ($CARVANA_CACHE) "
        "that nothing prunes: `cache` lists it by kind, `cache clear` removes what you name. The last line is JSON.")
    parser.set_defaults(func=run)  # for both actions, and for none (a listing)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="size per pipeline size, synthetic set and run (the default)")
    clear = actions.add_parser("clear", help="remove decoded pairs (by size or age) or the whole cache",
                               description="Remove what one of --pipeline, --size, --older-than or --all names, "
                               "never anything outside the cache folder; a synthetic set being made is skipped.")
    clear.add_argument("--pipeline", action="store_true", help="every decoded pair, all sizes")
    clear.add_argument("--size", type=parse_size, action="append", default=[], metavar="HxW",
                       help="the decoded pairs of this HEIGHTxWIDTH, every resize method (repeatable)")
    clear.add_argument("--older-than", type=float, metavar="DAYS", help="decoded pairs unused for DAYS days")
    clear.add_argument("--all", action="store_true", help="the whole cache folder (lock files stay)")
    clear.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")


def _label(group: dict) -> str:
    return f"{group['kind']} {group['name']}".strip()


def run(args: argparse.Namespace) -> int:
    from ..cache_usage import amount, checked_root, clear, summary, usage

    root = checked_root()
    if args.action == "clear":
        removed, skipped = clear(root, pipeline=args.pipeline, sizes=args.size, older_than_days=args.older_than,
                                 everything=args.all, dry_run=args.dry_run)
        report = {"dry_run": args.dry_run, "removed": removed, "skipped": skipped, **amount(removed)}
        verb, freed = ("would remove", "would free") if args.dry_run else ("removed", "freed")
        lines = [f"{verb} {_label(g)}: {g['files']} files, {g['mib']:.1f} MiB" for g in removed]
        lines += [f"skipped {_label(g)}: {g['reason']}" for g in skipped]
        lines.append(f"{freed} {report['mib']:.1f} MiB in {report['files']} files" if removed else "nothing to remove")
    else:
        groups = [summary(kind, name, paths) for (kind, name), paths in usage(root).items()]
        report = {"groups": groups, **amount(groups)}
        rows = [(_label(g), g) for g in groups] + [("total", report)]
        width = max(len(label) for label, _ in rows)
        lines = [] if groups else ["nothing cached yet"]
        lines += [f"{label:<{width}}  {n['files']:>9} {'file' if n['files'] == 1 else 'files':<5}  {n['mib']:>8.1f} MiB"
                  for label, n in rows]
    print("\n".join([f"cache: {root}", *lines, json.dumps(report, sort_keys=True)]))
    return 0
