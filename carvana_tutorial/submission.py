"""Predicting the test set and streaming Kaggle's submission CSV: the 100,064 full-size test masks
would take
245 GB, so each batch is predicted, upsampled, run-length encoded and flushed; a rerun skips the
rows already
written.  Introduced in chapter 8."""

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from . import outputs
from .config import THRESHOLD
from .data.pairs import list_folder
from .errors import CarvanaError, DataError
from .layout import MASKS_CSV, TEST_IMAGES
from .rle import rle_encode

#: The first line of every Carvana submission.
HEADER = "img,rle_mask"


@dataclass
class SubmissionReport:
    """What one call of :func:`write_submission` did; ``failed`` holds ``(name, reason)`` of photos
    without a row."""

    written: int = 0
    already_done: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else float("nan")


def test_images(folder: str | os.PathLike) -> list[Path]:
    """The ``.jpg`` photos in ``folder`` (or its ``test_hq/``), sorted by name. Introduced in
    chapter 8."""
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
    """Names already in the submission at ``path``, and how many of its bytes to keep (not a last
    line cut off
    by a crash).  Refuses a file without the header, or with a row for a photo not in ``names``."""
    text = path.read_bytes().decode("ascii", errors="replace")  # one character per byte
    keep = text.rfind("\n") + 1
    if text and text.splitlines()[0].strip() != HEADER:
        raise CarvanaError(
            f"{path} exists but is not a submission (its first line is not {HEADER!r}); "
            "pick another --submission path"
        )
    done = {line.split(",", 1)[0] for line in text[:keep].splitlines()[1:] if line}
    if path.name == MASKS_CSV or done - names:
        why = (
            f"the data's {MASKS_CSV}"
            if path.name == MASKS_CSV
            else f"it has a row for {min(done - names)}"
        )
        raise CarvanaError(
            f"{path} is not a submission of these photos ({why}); pick another --submission path"
        )
    return done, keep


def predict_probabilities(model, images, tta: bool = False) -> np.ndarray:
    """Probabilities ``[B,H,W,1]``; with ``tta``, averaged with the mirrored photos'. Introduced in
    chapter 8."""
    probs = np.asarray(model.predict_on_batch(images))
    if tta:
        flipped = np.asarray(
            model.predict_on_batch(np.ascontiguousarray(np.asarray(images)[:, :, ::-1]))
        )
        probs = (probs + flipped[:, :, ::-1]) / 2.0
    return probs


def upsample_mask(probs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Enlarge one ``[h, w, 1]`` probability map to ``size``, then threshold.

    Enlarging the probabilities (bilinear), not the 0/1 mask, keeps the
    outline smooth at 1918x1280 instead of blocky. Returns a boolean
    ``[H, W]`` mask. Introduced in chapter 8."""
    import tensorflow as tf

    full = tf.image.resize(probs, size, method="bilinear")
    return (full[..., 0] >= THRESHOLD).numpy()


def _load_dataset(paths: Sequence[Path], image_size: tuple[int, int], batch_size: int, resize: str):
    """Batches of ``(index, image, original size)``, decoded as in training; a gap in the indices is
    a bad file."""
    import tensorflow as tf

    from .pipeline.decode import decode_photo

    def load(index, path):
        data = tf.io.read_file(path)
        # Refuse a file without JPEG's start-of-image marker before libjpeg sees it (and prints to
        # stderr).
        is_jpeg = tf.debugging.assert_equal(
            tf.strings.substr(data, 0, 2), b"\xff\xd8", message="not a JPEG"
        )
        with tf.control_dependencies([is_jpeg]):
            data = tf.identity(data)
        image = tf.cast(decode_photo(data, image_size, resize), tf.float32) / 255.0
        return index, image, tf.image.extract_jpeg_shape(data)[:2]

    names = tf.data.Dataset.from_tensor_slices([str(p) for p in paths]).enumerate()
    loaded = names.map(
        load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    ).ignore_errors()
    return loaded.batch(batch_size).prefetch(2)


def iter_masks(
    model,
    paths: Sequence[Path],
    *,
    batch_size: int = 16,
    tta: bool = False,
    resize: str = "area",
    on_error: Callable[[Path, str], None] | None = None,
) -> Iterator[list[tuple[Path, np.ndarray]]]:
    """Yield per batch ``(path, boolean mask at the photo's size)``; unreadable photos go to
    ``on_error``.
    Introduced in chapter 8."""
    from .training import model_image_size

    def skip(photos: Sequence[Path]) -> None:  # those tf.data dropped, with PIL's reason
        for path in photos if on_error else ():
            try:
                with Image.open(path) as image:
                    image.load()
                    reason = (
                        f"not a JPEG ({image.format})"
                        if image.format != "JPEG"
                        else "TensorFlow cannot decode it"
                    )
            except Exception as exc:  # any reason PIL gives is the message we want
                reason = f"{type(exc).__name__}: {str(exc).replace(str(path), path.name)}"
            on_error(path, reason)

    done = 0  # every photo before this one was yielded or skipped
    for indices, images, sizes in _load_dataset(paths, model_image_size(model), batch_size, resize):
        indices = indices.numpy().tolist()
        skip([paths[i] for i in range(done, indices[-1]) if i not in indices])
        done = indices[-1] + 1
        probs = predict_probabilities(model, images.numpy(), tta=tta)
        yield [
            (paths[i], upsample_mask(p, tuple(map(int, s))))
            for i, p, s in zip(indices, probs, sizes.numpy())
        ]
    skip(paths[done:])


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
    yet;
    unreadable photos go to ``report.failed`` and stderr.  Introduced in chapter 8."""
    from .training import model_image_size

    paths = test_images(images) if isinstance(images, (str, os.PathLike)) else list(images)
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
    out.parent.mkdir(parents=True, exist_ok=True)
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
    from .data.masks_csv import read_gif
    from .metrics import np_per_image_dice

    def fail(path: Path, reason: str) -> None:
        raise DataError(f"cannot read {path.name}: {reason}")

    mask_of = {pair.image: pair.mask for pair in pairs}
    batches = iter_masks(
        model,
        [p.image for p in pairs],
        batch_size=batch_size,
        tta=tta,
        resize=resize,
        on_error=fail,
    )
    return np.asarray(
        [
            np_per_image_dice(read_gif(mask_of[path])[None], predicted[None])[0]
            for batch in batches
            for path, predicted in batch
        ]
    )
