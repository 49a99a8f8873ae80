"""The ``tf.data`` pipeline that feeds training: cached entry paths -> shuffle (seeded, new order
each epoch) -> read uint8 (parallel) -> batch -> augment or convert to float -> prefetch; and the
article's, to measure against.  Introduced in chapter 2."""

from collections.abc import Callable, Sequence
from pathlib import Path

import tensorflow as tf

from ..config import IMAGE_SIZE
from ..errors import DataError
from .augment import MODES
from .augment import augment as augment_batch
from .cache import ensure_cached, mask_rles, read_entry
from .decode import check_settings, pair_decoder, to_input

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(
    pairs: Sequence,
    image_size: tuple[int, int] = IMAGE_SIZE,
    batch_size: int = 32,
    *,
    shuffle: bool = False,
    augment: str | None = None,
    seed: int = 42,
    **reading,
) -> tf.data.Dataset:
    """Batches of ``(photos [B,H,W,3] in [0,1], masks [B,H,W,1] in {0,1})``.

    Every pair is decoded once, into the cache; shuffling and augmentation
    come after it, so both stay random per epoch while no later epoch
    decodes.  ``augment`` is ``None``, ``"joint"`` or ``"image_only"`` (the
    article's bug).  The same ``seed`` gives the same batches in every run.
    ``reading``: see :func:`pair_reader`.  Introduced in chapter 2."""
    _check(pairs, batch_size, augment)
    paths, read = pair_reader(pairs, image_size, **reading)
    ds = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle:  # only paths are shuffled: the buffer holds them all
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(read, num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size)
    if augment is None:
        ds = ds.map(to_float, num_parallel_calls=AUTOTUNE, deterministic=True)
    else:  # one seed per batch: new each epoch, the same in every run
        seeds = tf.data.Dataset.random(seed, rerandomize_each_iteration=True)
        ds = tf.data.Dataset.zip(ds, seeds.batch(2)).map(
            lambda batch, s: augment_batch(*batch, s, augment),
            num_parallel_calls=AUTOTUNE,
            deterministic=True,
        )
    return ds.prefetch(AUTOTUNE)


def _check(pairs: Sequence, batch_size: int, augment: str | None) -> None:
    if not pairs:
        raise DataError("no pairs to load: the list of image/mask pairs is empty")
    if batch_size < 1:
        raise DataError(f"batch_size must be at least 1, got {batch_size}")
    if augment is not None and augment not in MODES:
        raise DataError(f"unknown augmentation {augment!r}: use None or one of {', '.join(MODES)}")


def pair_reader(
    pairs: Sequence,
    image_size: tuple[int, int],
    *,
    cache: bool = True,
    resize: str = "area",
    masks: str | None = None,
    cache_root: Path | None = None,
    progress: bool = False,
) -> tuple[list, Callable]:
    """What to put in the dataset, and the function that turns it into a uint8 pair.
    ``cache=False`` decodes every epoch; ``masks``: see :func:`~.cache.mask_rles`."""
    size, resize = check_settings(image_size, resize)
    if cache:
        entries = ensure_cached(
            pairs, size, resize, masks=masks, root=cache_root, progress=progress
        )
        return [str(e) for e in entries], lambda entry: read_entry(entry, size)
    rles = mask_rles(pairs, masks)
    sources = [str(p.mask) for p in pairs] if rles is None else rles
    return ([str(p.image) for p in pairs], sources), pair_decoder(size, resize, rles is not None)


def to_float(image: tf.Tensor, mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """uint8 pair -> float32 photo in [0, 1] and float32 mask in {0, 1}."""
    return to_input(image), tf.cast(mask, tf.float32)


def article_dataset(
    pairs: Sequence, image_size: tuple[int, int] = IMAGE_SIZE, batch_size: int = 32
) -> tf.data.Dataset:
    """The article's input pipeline as written, to measure against: full-size decodes, float,
    nearest-neighbour resize, RGB GIFs reduced with ``reduce_max``, two sequential maps zipped,
    no cache.  ``pairs`` are already matched, so the article's pairing risk is not reproduced.
    Introduced in chapter 2."""

    def preprocess_image(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        image = tf.image.convert_image_dtype(image, tf.float32)
        return tf.image.resize(image, image_size, method="nearest")

    def preprocess_target(path: tf.Tensor) -> tf.Tensor:
        mask = tf.image.decode_image(
            tf.io.read_file(path), expand_animations=False, dtype=tf.float32
        )
        mask = tf.math.reduce_max(mask, axis=-1, keepdims=True)
        return tf.image.resize(mask, image_size, method="nearest")

    images = tf.data.Dataset.from_tensor_slices([str(p.image) for p in pairs]).map(preprocess_image)
    masks = tf.data.Dataset.from_tensor_slices([str(p.mask) for p in pairs]).map(preprocess_target)
    return tf.data.Dataset.zip(images, masks).batch(batch_size).prefetch(tf.data.AUTOTUNE)
