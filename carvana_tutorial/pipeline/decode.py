"""Turning one Carvana file into one small array, the same way everywhere.

Photos are decoded by TensorFlow with DCT-domain downscaling (libjpeg can
return 1/2, 1/4 or 1/8 of the picture almost for free), then resized exactly
with an antialiasing filter.

Masks come from one of two places.  Kaggle's ``train_masks.csv`` holds every
mask run-length encoded; :func:`decode_rle_mask` looks up just the pixels
that nearest-neighbour resizing keeps, in-graph, without ever building the
full-size mask.  Otherwise the GIF is decoded by Pillow, which reads its
palette indices about twice as fast as ``tf.io.decode_gif`` (that one expands
every frame to RGB) and releases the GIL while it works, so a parallel
``map`` really runs in parallel.  Both give the same pixels: the RLE path
samples exactly where Pillow's nearest-neighbour resize does.
Introduced in chapter 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from ..config import ENV_MASKS, env
from ..errors import DataError

#: How photos may be resized: ``area`` averages every source pixel (what we
#: use); ``nearest`` picks one source pixel per output pixel (the article's).
RESIZE_METHODS = ("area", "nearest")
#: Scale factors libjpeg can apply while decoding.
DCT_RATIOS = (1, 2, 4, 8)
#: Where masks are read from: ``auto`` (the csv when it has a row for every
#: pair, else the GIFs), ``csv`` (``train_masks.csv``, required) or ``gif``.
MASK_SOURCES = ("auto", "csv", "gif")
#: Sets the mask source wherever a caller leaves it unsaid (training, tuning
#: and the chapters do), e.g. ``CARVANA_MASKS=gif`` if a table cannot be trusted.


def check_resize(resize: str) -> str:
    """``resize`` if it names a method we support, else a
    :class:`~carvana_tutorial.errors.DataError`.  Introduced in chapter 2."""
    if resize not in RESIZE_METHODS:
        raise DataError(f"unknown resize method {resize!r}: use one of {', '.join(RESIZE_METHODS)}")
    return resize


def check_masks(masks: str | None) -> str:
    """The mask source to use: ``masks``, else ``$CARVANA_MASKS``, else ``auto``.

    Anything but one of :data:`MASK_SOURCES` is a
    :class:`~carvana_tutorial.errors.DataError`.  Introduced in chapter 2.
    """
    if masks is None:
        masks = env(ENV_MASKS) or "auto"
        where = f" (from ${ENV_MASKS})"
    else:
        where = ""
    if masks not in MASK_SOURCES:
        raise DataError(f"unknown mask source {masks!r}{where}: use one of {', '.join(MASK_SOURCES)}")
    return masks


def check_size(image_size) -> tuple[int, int]:
    """``image_size`` as a ``(height, width)`` pair of positive ints, else a
    :class:`~carvana_tutorial.errors.DataError`.

    Introduced in chapter 2.
    """
    try:
        height, width = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise DataError(f"image_size must be (height, width), got {image_size!r}") from None
    if height < 1 or width < 1:
        raise DataError(f"image_size must be positive, got {image_size!r}")
    return height, width


def dct_ratio(source_size: tuple[int, int], target_size: tuple[int, int]) -> int:
    """The largest libjpeg ratio whose decoded picture still covers the target.

    Decoding at 1/8 of 1918x1280 gives 240x160, still larger than 128x96, so
    the exact resize that follows only ever shrinks.  Introduced in chapter 2.
    """
    (sh, sw), (th, tw) = source_size, target_size
    best = 1
    for ratio in DCT_RATIOS:
        if -(-sh // ratio) >= th and -(-sw // ratio) >= tw:
            best = ratio
    return best


def _decode_jpeg_scaled(data: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Decode with the best DCT ratio for this file (chosen in-graph from its header)."""
    shape = tf.image.extract_jpeg_shape(data)
    branches = []
    for ratio in DCT_RATIOS:
        branches.append(lambda r=ratio: tf.io.decode_jpeg(data, channels=3, ratio=r))
    fits = [
        tf.logical_and((shape[0] + r - 1) // r >= height, (shape[1] + r - 1) // r >= width)
        for r in DCT_RATIOS[1:]
    ]
    # Ratios that fit form a prefix (2, then 4, then 8), so their count is the branch.
    index = tf.reduce_sum(tf.cast(tf.stack(fits), tf.int32))
    return tf.switch_case(index, branches)


def decode_photo(data: tf.Tensor, image_size: tuple[int, int], resize: str = "area") -> tf.Tensor:
    """JPEG bytes -> uint8 ``[H, W, 3]`` at ``image_size``.

    ``area`` decodes with DCT downscaling then averages; ``nearest`` decodes at
    full size and samples one pixel in ~200, as the article does (it aliases).
    Rounding to uint8 makes the cached and uncached paths bit-identical.
    Introduced in chapter 2.
    """
    height, width = image_size
    if resize == "nearest":
        image = tf.io.decode_jpeg(data, channels=3)
        image = tf.image.resize(image, (height, width), method="nearest")
        return tf.ensure_shape(tf.cast(image, tf.uint8), (height, width, 3))
    image = _decode_jpeg_scaled(data, height, width)
    image = tf.image.resize(image, (height, width), method="area")
    image = tf.cast(tf.round(tf.clip_by_value(image, 0.0, 255.0)), tf.uint8)
    return tf.ensure_shape(image, (height, width, 3))


def read_mask(path: str | Path, image_size: tuple[int, int]) -> np.ndarray:
    """A mask file -> uint8 ``[H, W, 1]`` in {0, 1}, resized nearest-neighbour.

    Carvana's GIFs hold palette indices {0, 1} whose colours are black and
    white; converting through luminance and thresholding also accepts masks
    saved as 0/255 greyscale or RGB.  Introduced in chapter 2.
    """
    height, width = image_size
    try:
        with Image.open(path) as im:
            small = im.resize((width, height), Image.Resampling.NEAREST)
            values = np.asarray(small.convert("L"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read mask {Path(path).name}: {exc}") from None
    return (values > 127).astype(np.uint8)[..., None]


def decode_mask(path: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """In-graph wrapper of ``read_mask``.

    Declared stateless: with op determinism on (``chapter.setup``), TensorFlow
    runs a map holding a *stateful* Python function sequentially.
    Introduced in chapter 2.
    """
    height, width = image_size

    def read(p: bytes) -> np.ndarray:
        return read_mask(p.decode(), (height, width))

    mask = tf.numpy_function(read, [path], tf.uint8, stateful=False)
    return tf.ensure_shape(mask, (height, width, 1))


def nearest_indices(source: tf.Tensor, target: int) -> tf.Tensor:
    """Which of ``source`` rows (or columns) a nearest-neighbour shrink to ``target`` keeps.

    The centre of output pixel ``i`` falls at ``(i + 0.5) * source / target``
    in the source.  Pillow steps there by adding ``source / target`` once per
    pixel in double precision rather than multiplying; we add in the same
    order (``cumsum`` in float64), so even the exact ties round as Pillow's
    do and both mask sources agree bit for bit.  Introduced in chapter 2.
    """
    step = tf.cast(source, tf.float64) / float(target)
    centres = tf.math.cumsum(tf.concat([[step * 0.5], tf.fill([target - 1], step)], axis=0))
    return tf.minimum(tf.cast(tf.floor(centres), tf.int64), tf.cast(source, tf.int64) - 1)


def decode_rle_mask(rle: tf.Tensor, source_size: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """One ``train_masks.csv`` row -> uint8 ``[H, W, 1]`` in {0, 1}, resized nearest-neighbour.

    ``source_size`` is the full mask's ``(height, width)`` (the photo's).  A
    run ``start length`` covers the row-major pixels ``start - 1`` up to
    ``start + length - 2``; for each kept pixel a binary search finds the last
    run starting at or before it, and the pixel is foreground if that run
    reaches it.  Only the ``H*W`` kept pixels are visited, never the 2.5
    million of the full mask.  Malformed rows fail the ``InvalidArgument``
    checks below.  Introduced in chapter 2.
    """
    height, width = image_size
    source_h, source_w = tf.cast(source_size[0], tf.int64), tf.cast(source_size[1], tf.int64)
    tokens = tf.strings.to_number(tf.strings.split(rle), tf.int64)
    starts, lengths = tokens[0::2] - 1, tokens[1::2]
    ends = starts + lengths
    # One combined check (``rle.rle_decode`` says which rule failed); a row
    # of separate asserts would triple the time it takes to build a dataset.
    valid = tf.reduce_all([
        tf.equal(tf.size(tokens) % 2, 0),
        tf.reduce_all(starts >= 0),
        tf.reduce_all(lengths >= 1),
        tf.reduce_all(ends <= source_h * source_w),
        tf.reduce_all(ends[:-1] <= starts[1:]),
    ])
    tf.debugging.Assert(valid, ["malformed RLE: runs must be increasing 'start length' pairs inside the image"])
    # A sentinel run that ends before pixel 0 makes every search land on a run.
    starts = tf.concat([[tf.constant(-1, tf.int64)], starts], axis=0)
    ends = tf.concat([[tf.constant(-1, tf.int64)], ends], axis=0)
    pixels = nearest_indices(source_h, height)[:, None] * source_w + nearest_indices(source_w, width)[None, :]
    pixels = tf.reshape(pixels, [-1])
    run = tf.searchsorted(starts, pixels, side="right", out_type=tf.int64) - 1
    inside = pixels < tf.gather(ends, run)
    return tf.reshape(tf.cast(inside, tf.uint8), (height, width, 1))


def decode_pair(image_path: tf.Tensor, mask: tf.Tensor, image_size, resize: str, *, rle: bool = False):
    """Photo path and mask -> ``(uint8 image [H,W,3], uint8 mask [H,W,1] in {0,1})``.

    ``mask`` is the GIF's path, or with ``rle=True`` the photo's row of
    ``train_masks.csv``.  Introduced in chapter 2.
    """
    data = tf.io.read_file(image_path)
    image = decode_photo(data, image_size, resize)
    if rle:
        return image, decode_rle_mask(mask, tf.image.extract_jpeg_shape(data)[:2], image_size)
    return image, decode_mask(mask, image_size)


@functools.cache
def pair_decoder(image_size: tuple[int, int], resize: str, rle: bool) -> Callable[[tf.Tensor, tf.Tensor], tuple]:
    """:func:`decode_pair` for these settings as a ``tf.function``, traced once per process.

    ``Dataset.map`` traces a plain Python function anew for every dataset it
    builds, which for this graph costs a quarter of a second; a
    ``tf.function`` keeps its trace, so the chapters' many small datasets pay
    for it once.  Introduced in chapter 2.
    """
    spec = tf.TensorSpec([], tf.string)

    @tf.function(input_signature=[spec, spec])
    def decode(image_path: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return decode_pair(image_path, mask, image_size, resize, rle=rle)

    return decode


def to_float(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """uint8 pair -> float32 image in [0, 1] and float32 mask in {0, 1}.  Introduced in chapter 2."""
    return tf.cast(image, tf.float32) / 255.0, tf.cast(mask, tf.float32)
