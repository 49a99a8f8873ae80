"""How much a downscaled photo depends on where the camera stood: nearest-neighbour keeps one
source pixel in ~200, so a one-pixel shift makes edges flicker (aliasing); an averaging resize
barely moves.  Introduced in chapter 2."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import IMAGE_SIZE
from .decode import check_settings


def shift_change(
    path: str | Path, image_size: tuple[int, int] = IMAGE_SIZE, resize: str = "area", shift: int = 1
) -> float:
    """Mean absolute change, in 0-255 grey levels, of a resized photo when the
    full-size photo moves ``shift`` pixels sideways.  Introduced in chapter 2."""
    image_size, resize = check_settings(image_size, resize)
    full = tf.cast(tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3), tf.float32)
    small = [
        tf.image.resize(x, image_size, method=resize).numpy()
        for x in (full[:, shift:], full[:, :-shift])
    ]
    return float(np.abs(small[0] - small[1]).mean())
