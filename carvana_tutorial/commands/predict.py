"""``carvana-tutorial predict MODEL IMAGES --submission OUT.csv``: a resumable Kaggle submission."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._args import positive


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict a folder of photos and write (or resume) a Kaggle submission CSV",
        description=("Stream the photos in IMAGES through MODEL and append one run-length encoded row per photo to "
                     "the submission CSV. Rerunning with the same --submission resumes: rows already written are "
                     "skipped. Unreadable photos are reported and skipped."),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="a .keras model written by 'train'")
    parser.add_argument("images", type=Path, metavar="IMAGES", help="folder of .jpg photos, or a root with test_hq/")
    parser.add_argument("--submission", type=Path, required=True, metavar="OUT.csv", help="CSV to write or resume")
    parser.add_argument("--tta", action="store_true", help="average with the prediction of the mirrored photo")
    parser.add_argument("--batch", type=positive, default=16, metavar="B", help="photos per batch (default 16)")
    parser.set_defaults(func=run, interrupted="the rows written so far are kept in {submission}; "
                        "rerun the same command to resume")


def run(args: argparse.Namespace) -> int:
    from ..submission import test_images, write_submission
    from ..training import load_model

    paths = test_images(args.images)
    report = write_submission(load_model(args.model), paths, args.submission, batch_size=args.batch, tta=args.tta,
                              progress=args.progress)
    print(f"{report.written} rows written, {report.already_done} already there, "
          f"{len(report.failed)} unreadable; {report.images_per_second:.1f} images/s -> {args.submission}")
    if report.failed:
        print(f"{len(report.failed)} photos were skipped and have no row:", file=sys.stderr)
        for name, reason in report.failed:
            print(f"  {name}: {reason}", file=sys.stderr)
        return 1
    return 0
