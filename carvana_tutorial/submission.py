"""Predicting the test set and streaming Kaggle's submission CSV: the 100,064 full-size test masks
would take 245 GB, so each batch is predicted, upsampled, run-length encoded and flushed; a rerun
skips the rows already written.  Introduced in chapter 8."""

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import outputs
from .data.masks_csv import read_gif
from .data.pairs import list_folder
from .errors import CarvanaError, DataError
from .inference import iter_masks, model_image_size
from .layout import MASKS_CSV, TEST_IMAGES
from .metrics import np_per_image_dice
from .rle import rle_encode

#: The first line of every Carvana submission.
HEADER = "img,rle_mask"


@dataclass
class SubmissionReport:
    """What :func:`write_submission` did; ``failed``: ``(name, reason)`` of photos without a row."""

    written: int = 0
    already_done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else float("nan")


def list_test_photos(folder: str | os.PathLike) -> list[Path]:
    """The ``.jpg`` photos in ``folder`` (or its ``test_hq/``), sorted. Introduced in chapter 8."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    held = list_folder(folder)  # first: an unlistable folder's entries cannot be looked at either
    if (folder / TEST_IMAGES) in held and (folder / TEST_IMAGES).is_dir():
        folder, held = folder / TEST_IMAGES, list_folder(folder / TEST_IMAGES)
    paths = [p for p in held if p.suffix.lower() in (".jpg", ".jpeg") and p.is_file()]
    if not paths:
        raise DataError(f"no .jpg photos in {folder}")
    return paths


def read_done(path: Path, names: set[str]) -> tuple[set[str], int]:
    """Names already in the submission at ``path`` and how many of its bytes to keep (not a line cut
    off by a crash).  Refused: a file without the header or with a row for another photo."""
    text = path.read_bytes().decode("ascii", errors="replace")  # one character per byte
    keep = text.rfind("\n") + 1
    if text and text.splitlines()[0].strip() != HEADER:
        raise CarvanaError(
            f"{path} exists but is not a submission (its first line is not {HEADER!r}); "
            "pick another --submission path"
        )
    done = {line.split(",", 1)[0] for line in text[:keep].splitlines()[1:] if line}
    why = f"it has a row for {min(done - names)}" if done - names else ""
    if path.name == MASKS_CSV:
        why = f"the data's {MASKS_CSV}"
    if why:
        raise CarvanaError(
            f"{path} is not a submission of these photos ({why}); pick another --submission path"
        )
    return done, keep


def write_submission(
    model,
    images: str | os.PathLike | Sequence[Path],
    out: str | os.PathLike,
    *,
    batch_size: int = 16,
    tta: bool = False,
    resize: str = "area",
    progress: bool = True,
) -> SubmissionReport:
    """Append a row to the CSV ``out`` for each photo of ``images`` (a folder or a list) not in it
    yet; unreadable photos go to ``report.failed`` and stderr.  Introduced in chapter 8."""
    paths = list_test_photos(images) if isinstance(images, (str, os.PathLike)) else list(images)
    if odd := [p for p in paths if not p.name.isascii() or any(c in p.name for c in ',"\r\n')]:
        raise DataError(
            f"{str(odd[0])!r}: a submission row cannot hold a photo name with a comma, quote, line "
            f"break or non-ASCII letter ({len(odd)} such photo{'s' * (len(odd) > 1)}): rename them"
        )
    model_image_size(model)  # an unusable model is refused before ``out`` is touched
    out = Path(out)
    if out.exists() and not out.is_file():
        raise CarvanaError(
            f"{out} is not a file a submission can be written to; pick another --submission path"
        )
    with outputs.locked(out, wait=False) as handle:
        if handle is None:
            raise outputs.in_use("--submission", out)
        done, keep = read_done(out, {p.name for p in paths})
        todo = [p for p in paths if p.name not in done]
        report = SubmissionReport(already_done=len(paths) - len(todo))
        if not todo:
            return report
        os.truncate(out, keep)  # a row cut off by a crash; appending writes after what is kept
        if keep == 0:
            handle.write(HEADER + "\n")
            handle.flush()
        start = time.perf_counter()
        with tqdm(total=len(todo), desc="predict", unit="img", disable=not progress) as bar:

            def on_error(path: Path, reason: str) -> None:
                report.failed.append((path.name, reason))
                tqdm.write(f"skipped {path.name}: {reason}", file=sys.stderr)
                bar.update(1)

            for batch in iter_masks(
                model, todo, batch_size=batch_size, tta=tta, resize=resize, on_error=on_error
            ):
                handle.write("".join(f"{path.name},{rle_encode(mask)}\n" for path, mask in batch))
                handle.flush()
                report.written += len(batch)
                bar.update(len(batch))
        report.seconds = time.perf_counter() - start
    return report


def full_size_dice(
    model, pairs: Sequence, *, batch_size: int = 16, tta: bool = False, resize: str = "area"
) -> np.ndarray:
    """Per-image dice, in order, of the submission's masks against the full-size truth. Introduced
    in chapter 8."""

    def fail(path: Path, reason: str) -> None:
        raise DataError(f"cannot read {path.name}: {reason}")

    paths = [pair.image for pair in pairs]
    mask_of = {pair.image: pair.mask for pair in pairs}
    batches = iter_masks(model, paths, batch_size=batch_size, tta=tta, resize=resize, on_error=fail)
    scores = [
        np_per_image_dice(read_gif(mask_of[path])[None], predicted[None])[0]
        for batch in batches
        for path, predicted in batch
    ]
    return np.asarray(scores)
