"""Random flips, small rotations and contrast changes, inside ``tf.data``.

The article put Keras augmentation layers in front of its model, so the photo
was flipped and rotated while the mask it was scored against was not: on every
flipped sample the network was taught to paint the car where it is not.  Here
the geometry (flip, rotation) is drawn once per sample and applied to both,
bilinear for the photo and nearest-neighbour for the mask (which stays {0, 1});
contrast touches the photo only.  ``image_only`` keeps the article's behaviour
so the tuning chapter can measure its cost.

Randomness is stateless: each batch gets a seed from a
``tf.data.Dataset.random`` stream, so the same seed gives the same batches in
every run, and each epoch still draws new transforms.  Introduced in chapter 2.
"""

from __future__ import annotations

import math

import tensorflow as tf

from ..errors import DataError

MODES = ("joint", "image_only")
#: The article's settings: ``RandomRotation(0.01)`` (a fraction of a full
#: turn, i.e. +-3.6 degrees) and ``RandomContrast(0.2)``.
ROTATION_FACTOR = 0.01
CONTRAST_FACTOR = 0.2


def check_mode(mode: str | None) -> str | None:
    """``mode`` if it is ``None`` or a known augmentation, else a :class:`DataError`.  Introduced in chapter 2."""
    if mode is not None and mode not in MODES:
        raise DataError(f"unknown augmentation {mode!r}: use None or one of {', '.join(MODES)}")
    return mode


def _rotations(angles: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Projective transforms (output -> input coordinates) rotating each image about its centre."""
    cos, sin = tf.cos(angles), tf.sin(angles)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    zeros = tf.zeros_like(angles)
    return tf.stack(
        [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, zeros, zeros], axis=1
    )


def _transform(x: tf.Tensor, transforms: tf.Tensor, interpolation: str) -> tf.Tensor:
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.shape(x)[1:3],
        fill_value=tf.constant(0.0),
        interpolation=interpolation,
        fill_mode="REFLECT",
    )


def augment(
    images: tf.Tensor,
    masks: tf.Tensor,
    seed: tf.Tensor,
    mode: str = "joint",
    *,
    rotation: float = ROTATION_FACTOR,
    contrast: float = CONTRAST_FACTOR,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Augment a batch of float pairs ``([B,H,W,3] in [0,1], [B,H,W,1] in {0,1})``.

    Each image gets its own flip, angle and contrast factor, drawn from
    ``seed`` (a shape-[2] integer tensor): the same seed gives the same
    batch.  Working on whole batches keeps the per-sample overhead of
    ``tf.data`` out of the epoch time.  Introduced in chapter 2.
    """
    batch = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    draws = tf.random.stateless_uniform([batch, 3], seed)
    flips = (draws[:, 0] < 0.5)[:, None, None, None]
    limit = rotation * 2.0 * math.pi
    transforms = _rotations((2.0 * draws[:, 1] - 1.0) * limit, height, width)
    factors = (1.0 - contrast + 2.0 * contrast * draws[:, 2])[:, None, None, None]

    def geometry(x: tf.Tensor, interpolation: str) -> tf.Tensor:
        return _transform(tf.where(flips, tf.reverse(x, axis=[2]), x), transforms, interpolation)

    new_images = geometry(images, "BILINEAR")
    means = tf.reduce_mean(new_images, axis=[1, 2], keepdims=True)
    new_images = tf.clip_by_value((new_images - means) * factors + means, 0.0, 1.0)
    new_masks = geometry(masks, "NEAREST") if mode == "joint" else masks
    return new_images, new_masks
