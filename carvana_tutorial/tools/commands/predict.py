"""``predict``, ``segment`` and ``export``: a resumable Kaggle submission, cut-outs of any photo,
ONNX."""

import argparse
import sys
import time
from pathlib import Path

from ._args import positive

KERAS_MODEL = "a .keras model written by 'train'"
TTA = "average with the prediction of the mirrored photo"


def register(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser(
        "predict",
        help="predict a folder of photos and write (or resume) a Kaggle submission CSV",
        description="Stream the photos in IMAGES through MODEL and append one run-length encoded "
        "row per photo to the submission CSV. Rerunning with the same --submission resumes: rows "
        "already written are skipped. Unreadable photos are reported and skipped.",
    )
    predict.add_argument("model", type=Path, metavar="MODEL", help=KERAS_MODEL)
    predict.add_argument(
        "images", type=Path, metavar="IMAGES", help="folder of .jpg photos, or a root with test_hq/"
    )
    predict.add_argument(
        "--submission", type=Path, required=True, metavar="OUT.csv", help="CSV to write or resume"
    )
    predict.add_argument("--tta", action="store_true", help=TTA)
    predict.add_argument(
        "--batch", type=positive, default=16, metavar="B", help="photos per batch (default 16)"
    )
    predict.set_defaults(
        func=run_predict,
        interrupted="the rows written so far are kept in {submission}; "
        "rerun the same command to resume",
    )

    segment = subparsers.add_parser(
        "segment",
        help="cut the car out of photos: a mask PNG and a transparent cut-out PNG per photo",
        description="For every photo (files, or a folder's .jpg/.jpeg/.png files, sorted) "
        "write DIR/<stem>_mask.png (0/255) and DIR/<stem>_cutout.png (RGBA, transparent "
        "background) at the photo's own size. Photos whose PNGs segment wrote all exist are "
        "skipped, so a rerun resumes; a file of such a name that segment did not write is never "
        "replaced (the command refuses). Unreadable photos, and photos over 89 megapixels, are "
        "reported and skipped (exit status 1).",
    )
    segment.add_argument(
        "model",
        type=Path,
        metavar="MODEL",
        help=f"{KERAS_MODEL} (or a .onnx file written by 'export')",
    )
    segment.add_argument(
        "inputs", type=Path, nargs="+", metavar="INPUT", help="photos or folders of photos"
    )
    segment.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the PNGs"
    )
    segment.add_argument("--tta", action="store_true", help=TTA)
    segment.add_argument(
        "--overlay", action="store_true", help="also write the photo with the mask painted on"
    )
    segment.add_argument(
        "--overwrite",
        action="store_true",
        help="write again the PNGs segment wrote before (never a file it did not write)",
    )
    segment.add_argument(
        "--batch", type=positive, default=8, metavar="N", help="photos per batch (default 8)"
    )
    segment.set_defaults(
        func=run_segment,
        interrupted="photos whose PNGs were written are kept; rerun the same "
        "command to segment the rest",
    )

    export = subparsers.add_parser(
        "export",
        help="export a .keras model to ONNX (or a TensorFlow SavedModel)",
        description="Write MODEL with Keras 3's export; ONNX needs the extra: "
        "pip install 'carvana-tutorial[export]'.",
    )
    export.add_argument("model", type=Path, metavar="MODEL", help=KERAS_MODEL)
    export.add_argument(
        "--format",
        choices=("onnx", "tf_saved_model"),
        default="onnx",
        dest="fmt",
        help="onnx (default) or tf_saved_model",
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="PATH",
        help="where to write (default: MODEL with .onnx or _saved_model in place of .keras)",
    )
    export.add_argument(
        "--overwrite",
        action="store_true",
        help="replace PATH if an earlier export wrote it (never anything else)",
    )
    export.set_defaults(func=run_export)


def run_predict(args: argparse.Namespace) -> int:
    from ...inference import load_model
    from ...submission import list_test_photos, write_submission

    paths = list_test_photos(args.images)
    report = write_submission(
        load_model(args.model),
        paths,
        args.submission,
        batch_size=args.batch,
        tta=args.tta,
        progress=args.progress,
    )
    speed = f"; {report.images_per_second:.1f} images/s" if report.written else ""
    print(
        f"{report.written} rows written, {report.already_done} already there, "
        f"{len(report.failed)} unreadable{speed} -> {args.submission}"
    )
    names = [name for name, _ in report.failed]  # each reported with its reason as it was skipped
    return _name_unreadable(names, "has no row" if len(names) == 1 else "have no row")


def _name_unreadable(names: list[str], outcome: str) -> int:
    """The last line of ``predict`` and ``segment`` on stderr when photos could not be read; the
    exit status."""
    if names:
        print(
            f"carvana-tutorial: {len(names)} unreadable photo{'s' * (len(names) != 1)} {outcome}: "
            f"{', '.join(names)}",
            file=sys.stderr,
        )
    return 1 if names else 0


def find_photos(inputs: list[Path], out: Path) -> list[Path]:
    """The photos named: files as given, folders as their photo files sorted by name (in a folder
    that is also ``out``, not the PNGs this command wrote).  Two photos of one stem would write the
    same PNGs: refused."""
    from ...errors import DataError
    from ...segment import PHOTO_SUFFIXES, is_ours

    def is_photo(path: Path) -> bool:
        ours = path.parent.resolve() == out.resolve() and is_ours(path)
        return path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not ours

    photos: dict[str, Path] = {}
    for item in inputs:
        if not (item.is_dir() or item.is_file()):
            raise DataError(f"no photo or folder at {item}")
        found = sorted(p for p in item.iterdir() if is_photo(p)) if item.is_dir() else [item]
        if not found:
            raise DataError(f"no .jpg, .jpeg or .png photos in {item}")
        for photo in found:
            if (first := photos.setdefault(photo.stem, photo)).resolve() != photo.resolve():
                raise DataError(
                    f"{first} and {photo} would both write {photo.stem}_mask.png: "
                    "segment them into different --out folders"
                )
    return list(photos.values())


def run_segment(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ...errors import reason
    from ...export import OnnxModel
    from ...inference import load_model, segment_photos
    from ...outputs import replaceable
    from ...segment import is_ours, output_paths, read_photo, write_outputs

    photos = find_photos(args.inputs, args.out)
    missing = {  # a user's file of an output's name is refused: only ours count as done
        photo: {
            kind: path
            for kind, path in output_paths(args.out, photo.stem, args.overlay).items()
            if not replaceable(path, "--out", is_ours) or args.overwrite
        }
        for photo in photos
    }
    todo = {photo: paths for photo, paths in missing.items() if paths}
    done_before = len(photos) - len(todo)
    if done_before:
        print(
            f"{done_before} of {len(photos)} photos already have their PNGs in {args.out}: skipped "
            "(--overwrite writes them again)",
            flush=True,
        )
    if not todo:
        return 0
    onnx = args.model.suffix.lower() == ".onnx"
    model = OnnxModel(args.model) if onnx else load_model(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    bad: list[str] = []
    start, queue = time.perf_counter(), list(todo)
    with tqdm(
        total=len(todo), desc="segment", unit="photo", file=sys.stderr, disable=not args.progress
    ) as bar:
        for chunk in (queue[i : i + args.batch] for i in range(0, len(queue), args.batch)):
            batch = []
            for path in chunk:
                try:
                    batch.append((path, read_photo(path)))
                except Exception as exc:  # PIL raises OSError, SyntaxError, ...
                    why = reason(exc).replace(str(path), path.name)
                    tqdm.write(f"skipped {path}: {why}", file=sys.stderr)
                    bad.append(str(path))
            read = [photo for _, photo in batch]
            masks = segment_photos(model, read, tta=args.tta) if batch else []
            for (path, photo), mask in zip(batch, masks, strict=True):
                write_outputs(photo, mask, todo[path])
            bar.update(len(chunk))
    written = len(todo) - len(bad)
    print(
        f"{written} photos segmented ({written / (time.perf_counter() - start):.1f} photos/s), "
        f"{done_before} already done, {len(bad)} unreadable -> {args.out}"
    )
    return _name_unreadable(bad, "skipped")


def run_export(args: argparse.Namespace) -> int:
    from ...export import FORMATS, export_model
    from ...inference import load_model

    out = args.out or args.model.with_name(args.model.stem + FORMATS[args.fmt])
    export_model(load_model(args.model), out, args.fmt, overwrite=args.overwrite)
    print(f"{args.model} -> {out} ({args.fmt})")
    return 0
