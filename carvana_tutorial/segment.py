"""Cut the car out of any photo: the mask at the photo's own size, and PNGs of it.  A photo of any
size and
format is shrunk as training shrank its photos, predicted, and the probabilities are enlarged back
before the
threshold, as chapter 8 does for the submission.  Introduced in chapter 9."""

import contextlib
import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, PngImagePlugin

from .errors import DataError
from .outputs import MARK, write_atomic
from .submission import predict_probabilities, upsample_mask
from .training import model_image_size

#: File endings ``segment`` reads when given a folder.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
#: What each output file of one photo is called: ``<stem>_<kind>.png``.
KINDS = ("mask", "cutout", "overlay")
#: The largest photo read: Pillow's guard against decompression bombs (e.g. 9459x9459).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """Any photo PIL reads as uint8 RGB ``[H, W, 3]`` (RGBA, grey: converted); one of more than
    :data:`MAX_PIXELS` is refused, naming its size.  Introduced in chapter 9."""
    with warnings.catch_warnings():  # Pillow's warning names no file: refused below instead
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError:  # over twice the limit
            image = None
    with contextlib.nullcontext() if image is None else image:
        if image is not None and image.width * image.height <= MAX_PIXELS:
            return np.asarray(image.convert("RGB"))
        size = "" if image is None else f"{image.width}x{image.height}, "
    raise DataError(
        f"{size}over the limit of {MAX_PIXELS:,} pixels for a photo: "
        "shrink it first (the mask is made at the model's small size anyway)"
    )


def shrink(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A uint8 photo at the model's input ``size``, as training saw photos:
    the area average (every pixel counts), rounded to whole levels like the
    training pipeline, then scaled to [0, 1].  Introduced in chapter 9."""
    small = tf.image.resize(photo, size, method="area")
    small = tf.round(tf.clip_by_value(small, 0.0, 255.0))
    return (small / 255.0).numpy().astype(np.float32)


def probabilities(
    model,
    photos: Sequence[np.ndarray],
    tta: bool = False,
) -> np.ndarray:
    """Probabilities ``[B, h, w, 1]`` at the model's size for uint8 photos.
    Introduced in chapter 9."""
    size = model_image_size(model)
    batch = np.stack([shrink(photo, size) for photo in photos])
    return predict_probabilities(model, batch, tta=tta)


def segment_photos(
    model,
    photos: Sequence[np.ndarray],
    tta: bool = False,
) -> list[np.ndarray]:
    """Boolean masks, each at its photo's own size: the probabilities are
    enlarged (bilinear), then cut at the threshold. Introduced in chapter 9."""
    probs = probabilities(model, photos, tta=tta)
    pairs = zip(probs, photos, strict=True)
    return [upsample_mask(p, photo.shape[:2]) for p, photo in pairs]


def segment(model, photo, tta: bool = False) -> np.ndarray:
    """The full-size boolean mask ``[H, W]`` of one photo (path or array).
    Introduced in chapter 9."""
    if not isinstance(photo, np.ndarray):
        photo = read_photo(photo)
    return segment_photos(model, [photo], tta=tta)[0]


def cutout(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The car alone: RGBA with alpha 255 on the car, 0 elsewhere.
    Introduced in chapter 9."""
    return np.dstack([photo, np.where(mask, 255, 0).astype(np.uint8)])


def overlay(
    photo: np.ndarray, mask: np.ndarray, colour=(255, 64, 0), opacity: float = 0.5
) -> np.ndarray:
    """The photo with the mask painted over it in ``colour``.  Introduced in chapter 9."""
    tinted = photo.astype(np.float32)
    tinted[mask] = (1 - opacity) * tinted[mask] + opacity * np.array(colour)
    return tinted.round().astype(np.uint8)


def on_background(cut: np.ndarray, background=None) -> np.ndarray:
    """An RGBA cut-out laid on a colour, a photo or (default) the grey
    checkerboard image editors draw behind transparency.
    Introduced in chapter 9."""
    if background is None:  # squares of 48 pixels in two greys
        squares = np.indices(cut.shape[:2]) // 48
        background = np.where(squares.sum(axis=0) % 2, 153, 204)[..., None]
    alpha = cut[..., 3:] / 255.0
    blended = alpha * cut[..., :3] + (1 - alpha) * np.asarray(background)
    return blended.round().astype(np.uint8)


def save_png(array: np.ndarray, path: str | os.PathLike) -> None:
    """Write ``array`` as a PNG, all at once (never half a PNG), signed as ours so that only this
    PNG, never a user's of the same name, counts as done or is replaced."""
    png, info = io.BytesIO(), PngImagePlugin.PngInfo()
    info.add_text("Software", MARK)
    Image.fromarray(array).save(png, format="PNG", pnginfo=info)
    write_atomic(path, png.getvalue())


def is_ours(path: Path) -> bool:
    """Whether :func:`save_png` wrote ``path``: a PNG signed with our mark."""
    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == MARK
    except Exception:  # noqa: BLE001 -- not an image Pillow reads: not ours
        return False


def output_paths(
    out_dir: str | os.PathLike, stem: str, with_overlay: bool = False
) -> dict[str, Path]:
    """``{kind: path}`` of the PNGs one photo gets in ``out_dir``."""
    return {
        kind: Path(out_dir) / f"{stem}_{kind}.png"
        for kind in (KINDS if with_overlay else KINDS[:2])
    }


def write_outputs(photo: np.ndarray, mask: np.ndarray, paths: dict[str, Path]) -> None:
    """Write the PNGs named in ``paths`` (from :func:`output_paths`), the cut-out last: once it
    exists, the
    photo is done.  Introduced in chapter 9."""
    images = {
        "mask": lambda: np.where(mask, 255, 0).astype(np.uint8),  # in the order written
        "overlay": lambda: overlay(photo, mask),
        "cutout": lambda: cutout(photo, mask),
    }
    for kind in (k for k in images if k in paths):
        save_png(images[kind](), paths[kind])
