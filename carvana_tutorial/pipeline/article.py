"""The article's input pipeline, reproduced as written, to measure against.

It decodes every photo at full size, converts it to float, resizes it
nearest-neighbour, decodes every GIF mask with ``decode_image`` (RGB, so three
identical channels, reduced with ``reduce_max``), in sequential ``map`` calls
and with no cache.  Nothing in the book trains on it: the benchmark times it
and chapter 2 uses it to show what it returns.  Introduced in chapter 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from ..config import IMAGE_SIZE


def article_image(path: tf.Tensor, image_size: tuple[int, int] = IMAGE_SIZE) -> tf.Tensor:
    """The article's ``preprocess_image``: full decode, float, nearest resize.  Introduced in chapter 2."""
    image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
    image = tf.image.convert_image_dtype(image, tf.float32)
    return tf.image.resize(image, image_size, method="nearest")


def article_mask(path: tf.Tensor, image_size: tuple[int, int] = IMAGE_SIZE) -> tf.Tensor:
    """The article's ``preprocess_target``: RGB decode, ``reduce_max``, nearest resize.  Introduced in chapter 2."""
    mask = tf.image.decode_image(tf.io.read_file(path), expand_animations=False, dtype=tf.float32)
    mask = tf.math.reduce_max(mask, axis=-1, keepdims=True)
    return tf.image.resize(mask, image_size, method="nearest")


def article_dataset(pairs: Sequence, image_size: tuple[int, int] = IMAGE_SIZE,
                    batch_size: int = 32) -> tf.data.Dataset:
    """Two sequentially mapped datasets zipped, batched and prefetched, as in the article.

    (The article zips two separately sorted lists; here the pairs are already
    matched, so only its speed is reproduced, not its pairing risk.)  Introduced in chapter 2.
    """
    images = tf.data.Dataset.from_tensor_slices([str(p.image) for p in pairs])
    masks = tf.data.Dataset.from_tensor_slices([str(p.mask) for p in pairs])
    images = images.map(lambda p: article_image(p, image_size))
    masks = masks.map(lambda p: article_mask(p, image_size))
    return tf.data.Dataset.zip(images, masks).batch(batch_size).prefetch(tf.data.AUTOTUNE)
