"""``carvana-tutorial segment MODEL INPUT... --out DIR``: cut the car out of photos."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._args import positive


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="cut the car out of photos: a mask PNG and a transparent cut-out PNG per photo",
        description=(
            "For every photo (files, or the .jpg/.jpeg/.png files of a folder, sorted) write DIR/<stem>_mask.png "
            "(0/255), DIR/<stem>_cutout.png (RGBA, transparent background) and with --overlay DIR/<stem>_overlay.png, "
            "all at the photo's own size. Photos whose outputs all exist are skipped, so a rerun resumes; "
            "--overwrite writes them again. Unreadable photos are reported and skipped; the exit status is then 1."
        ),
    )
    parser.add_argument("model", type=Path, metavar="MODEL",
                        help="a .keras model written by 'train' (or a .onnx file written by 'export')")
    parser.add_argument("inputs", type=Path, nargs="+", metavar="INPUT", help="photos or folders of photos")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the PNGs")
    parser.add_argument("--tta", action="store_true", help="average with the prediction of the mirrored photo")
    parser.add_argument("--overlay", action="store_true", help="also write the photo with the mask painted on")
    parser.add_argument("--overwrite", action="store_true", help="write outputs that already exist again")
    parser.add_argument("--batch", type=positive, default=8, metavar="N", help="photos per batch (default 8)")
    parser.set_defaults(func=run, interrupted="photos whose PNGs were written are kept; rerun the same "
                        "command to segment the rest")


def find_photos(inputs: list[Path], out: Path | None = None) -> list[Path]:
    """The photos named: files as given, folders as their photo files sorted by name.

    In a folder that is also ``out``, this command's own PNGs are not photos.
    """
    from ..errors import DataError
    from ..segment import KINDS, PHOTO_SUFFIXES

    def is_photo(path: Path) -> bool:
        if not path.is_file() or path.suffix.lower() not in PHOTO_SUFFIXES:
            return False
        ours = out is not None and path.parent.resolve() == out.resolve()
        return not (ours and path.stem.endswith(tuple(f"_{kind}" for kind in KINDS)))

    photos = []
    for item in inputs:
        if not (item.is_dir() or item.is_file()):
            raise DataError(f"no photo or folder at {item}")
        found = sorted(p for p in item.iterdir() if is_photo(p)) if item.is_dir() else [item]
        if not found:
            raise DataError(f"no .jpg, .jpeg or .png photos in {item}")
        photos += found
    seen: dict[str, Path] = {}
    for photo in photos:
        if photo.stem in seen and seen[photo.stem].resolve() != photo.resolve():
            raise DataError(f"{seen[photo.stem]} and {photo} would both write {photo.stem}_mask.png: "
                            "segment them into different --out folders")
        seen[photo.stem] = photo
    return list(seen.values())


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..errors import CarvanaError
    from ..export import OnnxModel
    from ..segment import output_paths, read_photo, segment_photos, write_outputs

    photos = find_photos(args.inputs, args.out)
    if args.out.exists() and not args.out.is_dir():
        raise CarvanaError(f"--out {args.out} is a file, not a folder")
    missing = {photo: {kind: path for kind, path in output_paths(args.out, photo.stem, args.overlay).items()
                       if args.overwrite or not path.exists()} for photo in photos}
    todo = {photo: paths for photo, paths in missing.items() if paths}
    done_before = len(photos) - len(todo)
    if done_before:
        print(f"{done_before} of {len(photos)} photos already have their PNGs in {args.out}: skipped "
              "(--overwrite writes them again)", flush=True)
    if not todo:
        return 0
    if args.model.suffix.lower() == ".onnx":
        model = OnnxModel(args.model)
    else:
        from ..training import load_model

        model = load_model(args.model)
    args.out.mkdir(parents=True, exist_ok=True)
    bad: list[str] = []
    bar = tqdm(total=len(todo), desc="segment", unit="photo", file=sys.stderr, disable=not args.progress)
    start = time.perf_counter()
    queue = list(todo)
    for chunk in (queue[i:i + args.batch] for i in range(0, len(queue), args.batch)):
        batch = []
        for path in chunk:
            try:
                batch.append((path, read_photo(path)))
            except Exception as exc:  # noqa: BLE001 -- PIL raises OSError, SyntaxError, DecompressionBombError...
                reason = f"{type(exc).__name__}: {str(exc).replace(str(path), path.name)}".splitlines()[0]
                tqdm.write(f"skipped {path}: {reason}", file=sys.stderr)
                bad.append(str(path))
        if batch:
            masks = segment_photos(model, [photo for _, photo in batch], tta=args.tta)
            for (path, photo), mask in zip(batch, masks):
                write_outputs(photo, mask, todo[path])
        bar.update(len(chunk))
    bar.close()
    written = len(todo) - len(bad)
    rate = written / (time.perf_counter() - start)
    print(f"{written} photos segmented ({rate:.1f} photos/s), {done_before} already done, "
          f"{len(bad)} unreadable -> {args.out}")
    if bad:
        print(f"carvana-tutorial: {len(bad)} unreadable photos skipped: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0
