"""Random flips, small rotations and contrast changes, inside ``tf.data``.  The article's
augmentation layers turned the photo but not its mask.  Here the geometry moves both (``joint``);
``image_only`` keeps the article's bug so that chapter 7 can measure it.  Stateless, seeded per
batch.  Introduced in chapter 2."""

import math

import tensorflow as tf

from .decode import to_input

MODES = ("joint", "image_only")
ROTATION = 0.01  # the article's RandomRotation(0.01): a fraction of a turn, +-3.6 degrees
CONTRAST = 0.2  # the article's RandomContrast(0.2)


def _transforms(flips: tf.Tensor, angles: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Output -> input pixel transforms: a turn about the centre, mirrored where ``flips``."""
    cos, sin = tf.cos(angles), tf.sin(angles)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    sign = tf.where(flips, -1.0, 1.0)  # mirrored: x_in = (width - 1) - x_rotated
    shift = cx - cos * cx + sin * cy
    x0 = tf.where(flips, (width - 1) - shift, shift)
    y0 = cy - sin * cx - cos * cy
    zeros = tf.zeros_like(angles)
    return tf.stack([sign * cos, -sign * sin, x0, sin, cos, y0, zeros, zeros], axis=1)


def _resample(x: tf.Tensor, transforms: tf.Tensor, interpolation: str) -> tf.Tensor:
    size = tf.constant(x.shape[1:3].as_list(), tf.int32)  # static: batches keep their shape
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=size,
        fill_value=tf.constant(0.0),
        interpolation=interpolation,
        fill_mode="REFLECT",
    )


def augment(
    images: tf.Tensor, masks: tf.Tensor, seed: tf.Tensor, mode: str = "joint"
) -> tuple[tf.Tensor, tf.Tensor]:
    """A batch of uint8 photos and masks -> the float32 pair the model takes,
    each sample flipped, turned and contrasted at random.

    The flip and the angle move the photo *and* its mask (``joint``), or the
    photo alone (``image_only``, the article's bug).  The same ``seed`` (a
    shape-[2] integer tensor) gives the same batch.  Geometry runs on uint8,
    in one pass: a quarter of the memory traffic.  Introduced in chapter 2."""
    height, width = images.shape[1], images.shape[2]
    draws = tf.random.stateless_uniform([tf.shape(images)[0], 3], seed)
    flips = draws[:, 0] < 0.5
    angles = (2.0 * draws[:, 1] - 1.0) * (ROTATION * 2.0 * math.pi)
    transforms = _transforms(flips, angles, height, width)
    photos = _resample(images, transforms, "BILINEAR")
    photos = to_input(photos)
    factors = 1.0 - CONTRAST + 2.0 * CONTRAST * draws[:, 2, None, None, None]
    means = tf.reduce_mean(photos, axis=[1, 2], keepdims=True)
    photos = photos * factors + means * (1.0 - factors)
    photos = tf.clip_by_value(photos, 0.0, 1.0)
    if mode == "joint":
        masks = _resample(masks, transforms, "NEAREST")
    return photos, tf.cast(masks, tf.float32)
