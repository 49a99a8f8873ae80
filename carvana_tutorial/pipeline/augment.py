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
    """``mode`` if it is ``None`` or a known augmentation, else a
    :class:`~carvana_tutorial.errors.DataError`.  Introduced in chapter 2."""
    if mode is not None and mode not in MODES:
        raise DataError(f"unknown augmentation {mode!r}: use None or one of {', '.join(MODES)}")
    return mode


def _transforms(flips: tf.Tensor, angles: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Per-image projective transforms (output -> input pixel coordinates): a
    rotation about the centre, preceded by a mirror where ``flips`` is true.

    Folding the flip into the rotation means one resampling pass, not two.
    """
    cos, sin = tf.cos(angles), tf.sin(angles)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a0, a1, a2 = cos, -sin, cx - cos * cx + sin * cy
    sign = tf.where(flips, -1.0, 1.0)  # mirrored: x_in = (width - 1) - x_rotated
    a0, a1, a2 = sign * a0, sign * a1, tf.where(flips, (width - 1) - a2, a2)
    zeros = tf.zeros_like(angles)
    return tf.stack([a0, a1, a2, sin, cos, cy - sin * cx - cos * cy, zeros, zeros], axis=1)


def _resample(x: tf.Tensor, transforms: tf.Tensor, interpolation: str) -> tf.Tensor:
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.constant(x.shape[1:3].as_list(), tf.int32),  # static: batches keep their shape
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
    """Augment a batch as read from the cache: uint8 ``[B,H,W,3]`` photos and
    uint8 ``[B,H,W,1]`` masks in {0, 1} -> the float32 pair the model takes.

    Each image gets its own flip, angle and contrast factor, drawn from
    ``seed`` (a shape-[2] integer tensor): the same seed gives the same batch.
    Geometry runs on the uint8 arrays, in one resampling pass, before the
    conversion to float: a quarter of the memory traffic.
    Introduced in chapter 2.
    """
    batch = tf.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    draws = tf.random.stateless_uniform([batch, 3], seed)
    limit = rotation * 2.0 * math.pi
    transforms = _transforms(draws[:, 0] < 0.5, (2.0 * draws[:, 1] - 1.0) * limit, height, width)
    factors = (1.0 - contrast + 2.0 * contrast * draws[:, 2])[:, None, None, None]

    new_images = tf.cast(_resample(images, transforms, "BILINEAR"), tf.float32) / 255.0
    means = tf.reduce_mean(new_images, axis=[1, 2], keepdims=True)
    new_images = tf.clip_by_value(new_images * factors + means * (1.0 - factors), 0.0, 1.0)
    new_masks = _resample(masks, transforms, "NEAREST") if mode == "joint" else masks
    return new_images, tf.cast(new_masks, tf.float32)
