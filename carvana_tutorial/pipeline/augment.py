"""Random flips, small rotations and contrast changes, inside ``tf.data``.

The article put Keras augmentation layers in front of its model, so the photo
was flipped and rotated while the mask it was scored against was not: on every
flipped sample the network was taught to paint the car where it is not.  Here
the geometry (flip, rotation) is drawn once per sample and applied to both,
bilinear for the photo and nearest-neighbour for the mask (which stays {0, 1});
contrast touches the photo only.  ``image_only`` keeps the article's behaviour
so the tuning chapter can measure its cost.

Randomness is stateless: each sample gets a seed from a
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


def _rotation(angle: tf.Tensor, height: int, width: int) -> tf.Tensor:
    """Projective transform (output -> input coordinates) rotating about the centre."""
    cos, sin = tf.cos(angle), tf.sin(angle)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    return tf.stack(
        [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0]
    )[None, :]


def _transform(x: tf.Tensor, transform: tf.Tensor, interpolation: str) -> tf.Tensor:
    height, width = x.shape[0], x.shape[1]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=x[None],
        transforms=transform,
        output_shape=tf.constant([height, width], tf.int32),
        fill_value=tf.constant(0.0),
        interpolation=interpolation,
        fill_mode="REFLECT",
    )
    return out[0]


def augment(
    image: tf.Tensor,
    mask: tf.Tensor,
    seed: tf.Tensor,
    mode: str = "joint",
    *,
    rotation: float = ROTATION_FACTOR,
    contrast: float = CONTRAST_FACTOR,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Augment one float pair ``([H,W,3] in [0,1], [H,W,1] in {0,1})``.

    ``seed`` is a shape-[2] integer tensor; the same seed gives the same
    transform.  Introduced in chapter 2.
    """
    flip_seed, angle_seed, contrast_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    flip = tf.random.stateless_uniform([], flip_seed) < 0.5
    limit = rotation * 2.0 * math.pi
    angle = tf.random.stateless_uniform([], angle_seed, -limit, limit)
    factor = tf.random.stateless_uniform([], contrast_seed, 1.0 - contrast, 1.0 + contrast)
    transform = _rotation(angle, image.shape[0], image.shape[1])

    def geometry(x: tf.Tensor, interpolation: str) -> tf.Tensor:
        x = tf.cond(flip, lambda: tf.reverse(x, axis=[1]), lambda: x)
        return _transform(x, transform, interpolation)

    new_image = geometry(image, "BILINEAR")
    new_image = tf.clip_by_value(tf.image.adjust_contrast(new_image, factor), 0.0, 1.0)
    new_mask = geometry(mask, "NEAREST") if mode == "joint" else mask
    return new_image, new_mask
