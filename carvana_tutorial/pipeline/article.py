"""The article's input pipeline as written, to measure against: full-size decodes, float, nearest-neighbour resize,
RGB GIFs reduced with ``reduce_max``, sequential ``map``, no cache.  Introduced in chapter 2."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from ..config import IMAGE_SIZE


def article_dataset(pairs: Sequence, image_size: tuple[int, int] = IMAGE_SIZE,
                    batch_size: int = 32) -> tf.data.Dataset:
    """Two sequentially mapped datasets zipped, batched and prefetched; ``pairs`` are already
    matched, so the article's pairing risk is not reproduced.  Introduced in chapter 2."""

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
