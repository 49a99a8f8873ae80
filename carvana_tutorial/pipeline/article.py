"""The article's input pipeline, reproduced as written, to measure against.

Full-size decodes, float, nearest-neighbour resize, GIFs decoded as RGB and
reduced with ``reduce_max``, sequential ``map`` calls, no cache.  The
benchmark times it; chapter 2 shows what it returns.  Introduced in chapter 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from ..config import IMAGE_SIZE


def article_dataset(pairs: Sequence, image_size: tuple[int, int] = IMAGE_SIZE,
                    batch_size: int = 32) -> tf.data.Dataset:
    """Two sequentially mapped datasets zipped, batched and prefetched, as in the
    article (whose pairing risk is not reproduced: ``pairs`` are already matched).
    Introduced in chapter 2."""

    def preprocess_image(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        image = tf.image.convert_image_dtype(image, tf.float32)
        return tf.image.resize(image, image_size, method="nearest")

    def preprocess_target(path: tf.Tensor) -> tf.Tensor:
        mask = tf.image.decode_image(tf.io.read_file(path), expand_animations=False, dtype=tf.float32)
        mask = tf.math.reduce_max(mask, axis=-1, keepdims=True)
        return tf.image.resize(mask, image_size, method="nearest")

    images = tf.data.Dataset.from_tensor_slices([str(p.image) for p in pairs]).map(preprocess_image)
    masks = tf.data.Dataset.from_tensor_slices([str(p.mask) for p in pairs]).map(preprocess_target)
    return tf.data.Dataset.zip(images, masks).batch(batch_size).prefetch(tf.data.AUTOTUNE)
