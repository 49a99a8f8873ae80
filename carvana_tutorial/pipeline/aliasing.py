"""How much a downscaled photo depends on where the camera happened to stand.

Shrinking 1918x1280 to 128x96 turns 15x13 source pixels into one.
Nearest-neighbour keeps one of them, so moving the photo by a single source
pixel can swap which one survives: thin edges, spokes and lettering flicker.
That is aliasing.  An averaging resize changes by about 1/15 of a pixel's
worth.  ``shift_change`` puts a number on it.  Introduced in chapter 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from ..config import IMAGE_SIZE
from .decode import check_settings


def shift_change(path: str | Path, image_size: tuple[int, int] = IMAGE_SIZE, resize: str = "area",
                 shift: int = 1) -> float:
    """Mean absolute change, in 0-255 grey levels, of a resized photo when the
    full-size photo moves ``shift`` pixels sideways.  Introduced in chapter 2."""
    image_size, resize = check_settings(image_size, resize)
    full = tf.cast(tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3), tf.float32)
    small = [tf.image.resize(x, image_size, method=resize).numpy() for x in (full[:, shift:], full[:, :-shift])]
    return float(np.abs(small[0] - small[1]).mean())
