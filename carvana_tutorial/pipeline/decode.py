"""Turning one Carvana file into one small array, the same way everywhere.  Masks come from the
GIF, read by Pillow (palette indices: twice as fast as ``tf.io.decode_gif``, and without the
GIL), or from the photo's ``train_masks.csv`` row: the same pixels.  Introduced in chapter 2."""

import errno
import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from ..config import IMAGE_SIZE
from ..errors import DataError, reason

# area averages every source pixel; nearest (the article's) keeps one
RESIZE_METHODS = ("area", "nearest")
DCT_RATIOS = (1, 2, 4, 8)  # the scale factors libjpeg can apply while decoding


def check_settings(image_size, resize: str) -> tuple[tuple[int, int], str]:
    """``((height, width), resize)`` checked, else a one-line :class:`DataError`."""
    try:
        height, width = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise DataError(f"image_size must be (height, width), got {image_size!r}") from None
    if height < 1 or width < 1:
        raise DataError(f"image_size must be positive, got {image_size!r}")
    if resize not in RESIZE_METHODS:
        raise DataError(f"unknown resize method {resize!r}: use one of {', '.join(RESIZE_METHODS)}")
    return (height, width), resize


def _fitting(source_size, target_size) -> list:
    """Whether each ratio 2, 4, 8 still covers the target (Python or tensor booleans): a prefix."""
    (sh, sw), (th, tw) = source_size, target_size
    return [((sh + r - 1) // r >= th) & ((sw + r - 1) // r >= tw) for r in DCT_RATIOS[1:]]


def dct_ratio(source_size: tuple[int, int], target_size: tuple[int, int]) -> int:
    """The largest libjpeg ratio whose decoded picture still covers the target (1918x1280 at 1/8
    is 240x160, still over 128x96), so the resize that follows only shrinks.  Introduced in
    chapter 2."""
    return DCT_RATIOS[sum(_fitting(source_size, target_size))]


def _decode_scaled(data: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Decode at the best DCT ratio for this file, chosen in-graph from its header."""
    shape = tf.image.extract_jpeg_shape(data)
    fits = tf.stack(_fitting((shape[0], shape[1]), (height, width)))
    index = tf.reduce_sum(tf.cast(fits, tf.int32))
    branches = [lambda r=r: tf.io.decode_jpeg(data, channels=3, ratio=r) for r in DCT_RATIOS]
    return tf.switch_case(index, branches)


def to_input(photos: tf.Tensor) -> tf.Tensor:
    """uint8 photos (one or a batch) -> the float32 in [0, 1] every model here takes: the one
    scaling of training, evaluation, the submission and segmentation."""
    return tf.cast(photos, tf.float32) / 255.0


def resize_photo(
    photo: tf.Tensor,
    image_size: tuple[int, int],
    resize: str = "area",
) -> tf.Tensor:
    """A uint8 photo ``[H, W, 3]`` of any size -> uint8 at ``image_size``.

    ``area`` averages every pixel of each block: no detail is dropped,
    so none aliases.  ``nearest`` (the article's) keeps one pixel in
    ~200.  Rounding to uint8 makes cached and uncached photos
    bit-identical.  Introduced in chapter 2."""
    image = tf.image.resize(photo, image_size, method=resize)
    if resize == "area":
        image = tf.round(tf.clip_by_value(image, 0.0, 255.0))
    image = tf.cast(image, tf.uint8)
    return tf.ensure_shape(image, (*image_size, 3))


def decode_photo(
    data: tf.Tensor,
    image_size: tuple[int, int],
    resize: str = "area",
) -> tf.Tensor:
    """JPEG bytes -> uint8 ``[H, W, 3]`` photo at ``image_size``.

    ``area`` lets libjpeg shrink by 2, 4 or 8 while decoding, and
    :func:`resize_photo` averages what is left; ``nearest`` (the
    article's) decodes at full size.  Introduced in chapter 2."""
    if resize == "nearest":
        photo = tf.io.decode_jpeg(data, channels=3)
    else:
        photo = _decode_scaled(data, *image_size)
    return resize_photo(photo, image_size, resize)


def read_mask(path: str | Path, image_size: tuple[int, int]) -> np.ndarray:
    """A GIF mask -> uint8 ``[H, W, 1]`` in {0, 1} at the model's size.

    Nearest-neighbour, because a mask has no in-between: averaging would
    invent grey edges.  Carvana's GIFs hold palette indices {0, 1} coloured
    black and white; going through luminance also accepts 0/255 greyscale.
    Introduced in chapter 2."""
    height, width = image_size
    try:
        with Image.open(path) as gif:
            small = gif.resize((width, height), Image.Resampling.NEAREST)
            values = np.asarray(small.convert("L"))
    except (OSError, ValueError, SyntaxError) as exc:
        raise unreadable(path, "mask", exc) from None
    return (values > 127).astype(np.uint8)[..., None]


def decode_mask(path: tf.Tensor, image_size: tuple[int, int]) -> tf.Tensor:
    """:func:`read_mask` in-graph; stateless, or op determinism would run its ``map`` serially."""
    mask = tf.numpy_function(
        lambda p: read_mask(p.decode(), image_size), [path], tf.uint8, stateful=False
    )
    return tf.ensure_shape(mask, (*image_size, 1))


def _nearest_indices(source: tf.Tensor, target: int) -> tf.Tensor:
    """Rows (or columns) Pillow's nearest resize keeps; ``cumsum`` adds in its order: ties agree."""
    step = tf.cast(source, tf.float64) / float(target)
    centres = tf.math.cumsum(tf.concat([[step * 0.5], tf.fill([target - 1], step)], axis=0))
    return tf.minimum(tf.cast(tf.floor(centres), tf.int64), tf.cast(source, tf.int64) - 1)


def decode_rle_mask(
    rle: tf.Tensor, source_size: tf.Tensor, image_size: tuple[int, int]
) -> tf.Tensor:
    """A ``train_masks.csv`` row -> uint8 ``[H, W, 1]`` in {0, 1}, resized nearest-neighbour from
    ``source_size`` (the photo's): a binary search per kept pixel, never the full mask.  Introduced
    in chapter 2."""
    height, width = image_size
    rows, cols = tf.cast(source_size[0], tf.int64), tf.cast(source_size[1], tf.int64)
    tokens = tf.strings.to_number(tf.strings.split(rle), tf.int64)
    starts, ends = tokens[0::2] - 1, tokens[0::2] - 1 + tokens[1::2]
    # One combined check; ``rle.rle_decode`` says which rule failed.
    valid = [
        tf.size(tokens) % 2 == 0,
        tf.reduce_all(starts >= 0),
        tf.reduce_all(ends > starts),
        tf.reduce_all(ends <= rows * cols),
        tf.reduce_all(ends[:-1] <= starts[1:]),
    ]
    tf.debugging.Assert(
        tf.reduce_all(valid), ["malformed RLE: expected increasing 'start length' runs"]
    )
    # A sentinel run ending before pixel 0: every search lands on a run.
    starts, ends = (tf.pad(t, [[1, 0]], constant_values=-1) for t in (starts, ends))
    kept = _nearest_indices(rows, height)[:, None] * cols + _nearest_indices(cols, width)[None, :]
    pixels = tf.reshape(kept, [-1])
    run = tf.searchsorted(starts, pixels, side="right", out_type=tf.int64) - 1
    inside = pixels < tf.gather(ends, run)
    return tf.reshape(tf.cast(inside, tf.uint8), (height, width, 1))


@functools.cache
def pair_decoder(image_size: tuple[int, int], resize: str, rle: bool) -> Callable:
    """``(photo path, GIF path or csv row) -> (uint8 photo, uint8 mask)``, traced once."""
    spec = tf.TensorSpec([], tf.string)

    @tf.function(input_signature=[spec, spec])
    def decode(image_path: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        data = tf.io.read_file(image_path)
        if rle:
            mask = decode_rle_mask(mask, tf.image.extract_jpeg_shape(data)[:2], image_size)
        else:
            mask = decode_mask(mask, image_size)
        return decode_photo(data, image_size, resize), mask

    return decode


def load_image(
    path: str | Path, image_size: tuple[int, int] = IMAGE_SIZE, resize: str = "area"
) -> np.ndarray:
    """One photo as the model saw its training photos: float32 ``[H, W, 3]`` in [0, 1].  Introduced
    in chapter 2."""
    image_size, resize = check_settings(image_size, resize)
    try:
        image = decode_photo(tf.io.read_file(str(path)), image_size, resize)
    except tf.errors.OpError as exc:
        raise unreadable(path, "image", exc) from None
    return to_input(image).numpy()


def unreadable(path: str | Path, what: str, exc: BaseException) -> DataError:
    """The one line for a file that cannot be decoded: its full path, why in Pillow's plain words
    (never TensorFlow's internals), and what to do about it."""
    path, empty = Path(path), False
    try:
        with open(path, "rb") as handle:
            empty = not handle.read(1)
        with Image.open(path) as image:
            image.load()
        why = "the file is empty" if empty else reason(exc)
    except OSError as error:
        why = {
            errno.EACCES: "permission denied",
            errno.ENOENT: "it does not exist",
        }.get(error.errno, "the file is empty" if empty else reason(error))
    except Exception as error:  # Pillow raises SyntaxError, ValueError...
        why = reason(error)
    return DataError(
        f"cannot read {what} {path}: {why.replace(str(path), path.name)}: replace it (or remove "
        "it and its partner); `carvana-tutorial inspect DATA` lists every such file"
    )
