"""Any photo read in, and the car cut out of it given its mask at the photo's own size
(:func:`carvana_tutorial.inference.segment`): the cut-out, the overlay, a new background, and the
PNGs ``segment`` writes.  Introduced in chapter 9."""

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from .errors import DataError
from .outputs import MARK, write_atomic

#: File endings ``segment`` reads when given a folder.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
#: What each output file of one photo is called: ``<stem>_<kind>.png``.
OUTPUT_KINDS = ("mask", "cutout", "overlay")
#: The largest photo read: Pillow's guard against decompression bombs (e.g. 9459x9459).
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """Any photo PIL reads as uint8 RGB ``[H, W, 3]`` (RGBA, grey: converted); one of more than
    :data:`MAX_PIXELS` is refused, naming its size.  Introduced in chapter 9."""
    with warnings.catch_warnings():  # Pillow's warning names no file: refused below instead
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.width * image.height <= MAX_PIXELS:
                    return np.asarray(image.convert("RGB"))
                size = f"{image.width}x{image.height}, "
        except Image.DecompressionBombError:  # over twice the limit
            size = ""
    raise DataError(
        f"{size}over the limit of {MAX_PIXELS:,} pixels for a photo: "
        "shrink it first (the mask is made at the model's small size anyway)"
    )


def cutout(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The car alone: RGBA with alpha 255 on the car, 0 elsewhere.
    Introduced in chapter 9."""
    return np.dstack([photo, np.where(mask, 255, 0).astype(np.uint8)])


def overlay_image(
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
    except Exception:  # not an image Pillow reads: not ours
        return False


def output_paths(
    out_dir: str | os.PathLike, stem: str, with_overlay: bool = False
) -> dict[str, Path]:
    """``{kind: path}`` of the PNGs one photo gets in ``out_dir``."""
    kinds = OUTPUT_KINDS if with_overlay else OUTPUT_KINDS[:2]
    return {kind: Path(out_dir) / f"{stem}_{kind}.png" for kind in kinds}


def write_outputs(photo: np.ndarray, mask: np.ndarray, paths: dict[str, Path]) -> None:
    """Write the PNGs named in ``paths`` (from :func:`output_paths`), the cut-out last: once it
    exists, the photo is done.  Introduced in chapter 9."""
    images = {
        "mask": lambda: np.where(mask, 255, 0).astype(np.uint8),  # in the order written
        "overlay": lambda: overlay_image(photo, mask),
        "cutout": lambda: cutout(photo, mask),
    }
    for kind in (k for k in images if k in paths):
        save_png(images[kind](), paths[kind])
