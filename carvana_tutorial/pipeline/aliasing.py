"""How much a downscaled photo depends on where the camera happened to stand.

Shrinking 1918x1280 to 128x96 turns 15x13 source pixels into one.
Nearest-neighbour keeps one of them and throws the rest away, so moving the
photo by a single source pixel (1/15 of an output pixel) can swap which one
survives: thin edges, wheel spokes and lettering flicker and break into
staircases.  That is aliasing.  An averaging resize changes by about 1/15 of
a pixel's worth.  ``shift_change`` puts a number on it.
Introduced in chapter 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .decode import check_resize, check_size


def shift_change(path: str | Path, image_size: tuple[int, int] = (96, 128), resize: str = "area",
                 shift: int = 1) -> float:
    """Mean absolute change, in 0-255 grey levels, of a resized photo when the
    full-size photo moves ``shift`` pixels sideways.  Introduced in chapter 2."""
    image_size, resize = check_size(image_size), check_resize(resize)
    full = tf.cast(tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3), tf.float32)
    left, right = full[:, shift:], full[:, :-shift]
    small = [tf.image.resize(x, image_size, method=resize).numpy() for x in (left, right)]
    return float(np.abs(small[0] - small[1]).mean())
