"""``synth``, ``download``, ``inspect``, ``cache`` and ``kaggle-push``: make, get and check the
data, reclaim the cache, and run a chapter on Kaggle where the real data is."""

import argparse
import json
from pathlib import Path

from ...layout import FULL_SIZE
from ._args import non_negative_int, parse_size, positive


def register(subparsers: argparse._SubParsersAction) -> None:
    synth = subparsers.add_parser(
        "synth",
        help="write a synthetic Carvana data set (no Kaggle account needed)",
        description="Render studio photos of synthetic cars with exact masks in Kaggle's layout "
        "(train_hq/, train_masks/, test_hq/, the three zips, train_masks.csv). The same arguments "
        "give byte-identical files.",
    )
    synth.add_argument(
        "out",
        type=Path,
        metavar="OUT",
        help="output folder (new, empty, or a synthetic set of ours)",
    )
    synth.add_argument(
        "--cars", type=positive, default=8, help="training cars, 16 views each (default: 8)"
    )
    synth.add_argument(
        "--test-cars", type=non_negative_int, default=2, help="test cars, images only (default: 2)"
    )
    synth.add_argument(
        "--size",
        type=parse_size,
        default=FULL_SIZE,
        help=f"HEIGHTxWIDTH of every image (default: Carvana's {FULL_SIZE[0]}x{FULL_SIZE[1]})",
    )
    synth.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default: 0)")
    synth.add_argument("--no-zips", action="store_true", help="skip the three zips")
    synth.set_defaults(
        func=run_synth,
        interrupted="what was written to {out} is marked partial; "
        "rerun the command to make the set",
    )

    download = subparsers.add_parser(
        "download",
        help="download Carvana's zips from Kaggle and extract them",
        description="Download train_hq.zip, train_masks.zip and train_masks.csv.zip (and "
        "test_hq.zip with --with-test) with your Kaggle API token, then extract them. Needs the "
        "competition rules accepted.",
    )
    download.add_argument(
        "--dest", type=Path, default=Path("data"), help="folder for the zips (default: ./data)"
    )
    download.add_argument(
        "--with-test", action="store_true", help="also fetch test_hq.zip (for a submission)"
    )
    download.add_argument(
        "--no-extract", action="store_true", help="keep the zips, do not extract them"
    )
    download.set_defaults(
        func=run_download,
        interrupted="complete zips in {dest} are kept; rerun the command "
        "to fetch the others and extract them",
    )

    inspect = subparsers.add_parser(
        "inspect",
        help="check a data folder: decode every image and mask, print counts",
        description="Read every training image and mask of a folder in Kaggle's layout "
        "(read-only) and print counts, sizes and the foreground fraction; the last line is JSON. "
        "Exits non-zero if anything is wrong.",
    )
    inspect.add_argument(
        "data", type=Path, metavar="DATA", help="folder holding train_hq/ and train_masks/"
    )
    inspect.set_defaults(func=run_inspect)

    cache = subparsers.add_parser(
        "cache",
        help="show what the cache folder holds, or clear parts of it",
        description="Decoded pairs, synthetic sets, runs and unpacked zips share one cache "
        "folder ($CARVANA_CACHE) that nothing prunes: `cache` lists it by kind, `cache clear` "
        "removes what you name. The last line is JSON.",
    )
    cache.set_defaults(func=run_cache)  # for both actions, and for none (a listing)
    actions = cache.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="size per pipeline size, synthetic set and run (the default)")
    clear = actions.add_parser(
        "clear",
        help="remove decoded pairs (by size or age) or the whole cache",
        description="Remove what one of --pipeline, --size, --older-than or --all names, "
        "never anything outside the cache folder; a synthetic set being made is skipped.",
    )
    clear.add_argument("--pipeline", action="store_true", help="every decoded pair, all sizes")
    clear.add_argument(
        "--size",
        type=parse_size,
        action="append",
        default=[],
        metavar="HxW",
        help="the decoded pairs of this HEIGHTxWIDTH, every resize method (repeatable)",
    )
    clear.add_argument(
        "--older-than", type=float, metavar="DAYS", help="decoded pairs unused for DAYS days"
    )
    clear.add_argument(
        "--all", action="store_true", help="the whole cache folder (lock files stay)"
    )
    clear.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")

    push = subparsers.add_parser(
        "kaggle-push",
        help="push a chapter to Kaggle as a private GPU notebook with the competition attached",
        description="Write the chapter and its kernel-metadata.json into a folder, then push it "
        "with the kaggle client. The competition's data is attached, the GPU and internet are on.",
    )
    push.add_argument(
        "chapter", metavar="CHAPTER", help="chapter number (6), stem (06_unet) or .ipynb path"
    )
    push.add_argument("--dry-run", action="store_true", help="only write the folder; push nothing")
    push.add_argument("--out", type=Path, help="folder to write (default: _build/kaggle/<chapter>)")
    push.add_argument(
        "--id",
        dest="kernel_id",
        metavar="USER/SLUG",
        help="the notebook's Kaggle id (default: your user and carvana-tutorial-<chapter>)",
    )
    push.add_argument(
        "--book", type=Path, help="the book's folder (default: this repository's book/)"
    )
    push.set_defaults(
        func=run_kaggle_push,
        interrupted="the folder it writes may be incomplete; rerun the command "
        "to write (and push) it again",
    )


def run_synth(args: argparse.Namespace) -> int:
    from ...synthetic import make_synthetic_set

    summary = make_synthetic_set(
        args.out,
        cars=args.cars,
        test_cars=args.test_cars,
        size=args.size,
        seed=args.seed,
        zips=not args.no_zips,
        progress=args.progress,
    )
    print(f"{summary.one_line()}\nwritten to {args.out}/")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ..download import download
    from ..extract import extract_all

    zips = download(args.dest, with_test=args.with_test, progress=args.progress)
    for path in zips:
        print(f"{path.name}: {path.stat().st_size / 2**20:.0f} MiB")
    for path in [] if args.no_extract else extract_all(zips, args.dest, progress=args.progress):
        print(f"extracted {path.name}{'/' if path.is_dir() else ''}")
    print(f"Carvana data is in {args.dest}/: check it with `carvana-tutorial inspect {args.dest}`")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from ...errors import DataError
    from ..check import inspect_folder

    report = inspect_folder(args.data, progress=args.progress)
    print("\n".join(report.lines()), flush=True)  # before the error line on stderr
    if not report.ok:
        raise DataError(f"{args.data}: {report.problem()} (listed above)")
    return 0


def _label(group: dict) -> str:
    return f"{group['kind']} {group['name']}".strip()


def run_cache(args: argparse.Namespace) -> int:
    from ..cache_usage import amount, checked_root, clear, summary, usage

    root = checked_root()
    if args.action == "clear":
        removed, skipped = clear(
            root,
            pipeline=args.pipeline,
            sizes=args.size,
            older_than_days=args.older_than,
            everything=args.all,
            dry_run=args.dry_run,
        )
        report = dict(dry_run=args.dry_run, removed=removed, skipped=skipped, **amount(removed))
        verb, freed = ("would remove", "would free") if args.dry_run else ("removed", "freed")
        lines = [f"{verb} {_label(g)}: {g['files']} files, {g['mib']:.1f} MiB" for g in removed]
        lines += [f"skipped {_label(g)}: {g['reason']}" for g in skipped]
        total = f"{freed} {report['mib']:.1f} MiB in {report['files']} files"
        lines.append(total if removed else "nothing to remove")
    else:
        groups = [summary(kind, name, paths) for (kind, name), paths in usage(root).items()]
        report = {"groups": groups, **amount(groups)}
        rows = [(_label(g), g) for g in groups] + [("total", report)]
        width = max(len(label) for label, _ in rows)
        lines = [] if groups else ["nothing cached yet"]
        for label, n in rows:
            files = "file" if n["files"] == 1 else "files"
            lines.append(f"{label:<{width}}  {n['files']:>9} {files:<5}  {n['mib']:>8.1f} MiB")
    print("\n".join([f"cache: {root}", *lines, json.dumps(report, sort_keys=True)]))
    return 0


def run_kaggle_push(args: argparse.Namespace) -> int:
    from .. import kaggle_kernel as kk
    from ..download import kaggle_api

    notebook = kk.find_chapter(args.chapter, args.book)
    # Credentials are needed to push, and to learn the user name when no --id is given.
    api = None if args.dry_run and args.kernel_id else kaggle_api()
    kernel_id = args.kernel_id or kk.default_kernel_id(notebook, api)
    folder = kk.write_kernel(
        notebook, args.out or Path("_build") / "kaggle" / notebook.stem, kernel_id
    )
    print(f"wrote {folder / notebook.name} and {folder / kk.METADATA_FILE} ({kernel_id})")
    if args.dry_run:
        print(f"dry run: push it with `kaggle kernels push -p {folder}`")
        return 0
    url = kk.push_kernel(folder, api)
    print(f"pushed {kernel_id}; Kaggle runs it now: {url or 'see your notebooks on kaggle.com'}")
    return 0
