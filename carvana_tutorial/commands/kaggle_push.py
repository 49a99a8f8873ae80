"""``carvana-tutorial kaggle-push CHAPTER``: run a chapter on Kaggle with the data and a GPU."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "kaggle-push", help="push a chapter to Kaggle as a private GPU notebook with the competition attached",
        description="Write the chapter and its kernel-metadata.json into a folder, then push it with the kaggle "
        "client. The competition's data is attached, the GPU and internet are on.")
    parser.add_argument("chapter", metavar="CHAPTER", help="chapter number (6), stem (06_unet) or .ipynb path")
    parser.add_argument("--dry-run", action="store_true", help="only write the folder; push nothing")
    parser.add_argument("--out", type=Path, help="folder to write (default: _build/kaggle/<chapter>)")
    parser.add_argument("--id", dest="kernel_id", metavar="USER/SLUG",
                        help="the notebook's Kaggle id (default: your user and carvana-tutorial-<chapter>)")
    parser.add_argument("--book", type=Path, help="the book's folder (default: this repository's book/)")
    parser.set_defaults(func=run, interrupted="the folder it writes may be incomplete; rerun the command to write "
                        "(and push) it again")


def run(args: argparse.Namespace) -> int:
    from .. import kaggle_kernel as kk
    from ..data.download import kaggle_api

    notebook = kk.find_chapter(args.chapter, args.book)
    # Credentials are needed to push, and to learn the user name when no --id is given.
    api = None if args.dry_run and args.kernel_id else kaggle_api()
    kernel_id = args.kernel_id or kk.default_kernel_id(notebook, api)
    folder = kk.write_kernel(notebook, args.out or Path("_build") / "kaggle" / notebook.stem, kernel_id)
    print(f"wrote {folder / notebook.name} and {folder / kk.METADATA_FILE} ({kernel_id})")
    if args.dry_run:
        print(f"dry run: push it with `kaggle kernels push -p {folder}`")
        return 0
    url = kk.push_kernel(folder, api)
    print(f"pushed {kernel_id}; Kaggle runs it now: {url or 'see your notebooks on kaggle.com'}")
    return 0
