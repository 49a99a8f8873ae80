"""``tf.data`` pipelines: pairs for training, photos for prediction.

The training pipeline, in order::

    cached entry paths -> shuffle (seeded, new order each epoch)
      -> read uint8 (parallel) -> batch -> augment or convert to float (per batch) -> prefetch

The cache sits before shuffling and augmentation, so both stay random per
epoch while no epoch after the first decodes a JPEG or a GIF.
Introduced in chapter 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from ..errors import DataError
from .augment import augment as augment_pair
from .augment import check_mode
from .cache import ensure_cached, mask_rles, read_entry
from .decode import (
    check_masks,
    check_resize,
    check_size,
    decode_photo,
    pair_decoder,
    to_float,
)

AUTOTUNE = tf.data.AUTOTUNE


def make_dataset(
    pairs: Sequence,
    image_size: tuple[int, int] = (96, 128),
    batch_size: int = 32,
    *,
    shuffle: bool = False,
    augment: str | None = None,
    seed: int = 42,
    cache: bool = True,
    resize: str = "area",
    masks: str | None = None,
    cache_root: Path | None = None,
    progress: bool = False,
) -> tf.data.Dataset:
    """Batches of ``(image float32 [B,H,W,3] in [0,1], mask float32 [B,H,W,1] in {0,1})``.

    ``pairs`` are :class:`~carvana_tutorial.data.Pair` objects (anything with
    ``.image`` and ``.mask`` paths).  With ``cache=True`` every pair not cached
    yet is decoded now (in parallel, ``progress`` shows a bar) and each epoch
    reads the small cached arrays; ``cache=False`` decodes every epoch.
    ``augment`` is ``None``, ``"joint"`` (same geometry for photo and mask) or
    ``"image_only"`` (the article's bug).  ``masks`` picks where masks are
    read from: ``"auto"`` (``train_masks.csv`` when it covers every pair,
    else the GIFs), ``"csv"`` or ``"gif"``; both give the same pixels.
    ``None`` reads ``$CARVANA_MASKS``, and is ``"auto"`` when that is unset.  The
    same ``seed`` gives the same batches, epoch after epoch, in every run.
    Introduced in chapter 2.
    """
    image_size = check_size(image_size)
    resize = check_resize(resize)
    check_masks(masks)
    check_mode(augment)
    if not pairs:
        raise DataError("no pairs to load: the list of image/mask pairs is empty")
    if batch_size < 1:
        raise DataError(f"batch_size must be at least 1, got {batch_size}")

    if cache:
        entries = ensure_cached(pairs, image_size, resize, masks=masks, root=cache_root, progress=progress)
        ds = tf.data.Dataset.from_tensor_slices([str(e) for e in entries])

        def load(entry):
            return read_entry(entry, image_size)

    else:
        rles = mask_rles(pairs, masks)
        sources = [str(p.mask) for p in pairs] if rles is None else rles
        ds = tf.data.Dataset.from_tensor_slices(([str(p.image) for p in pairs], sources))
        load = pair_decoder(image_size, resize, rles is not None)

    if shuffle:
        # Only paths are shuffled, so the buffer can hold the whole list.
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).batch(batch_size)
    if augment is None:
        ds = ds.map(to_float, num_parallel_calls=AUTOTUNE, deterministic=True)
    else:
        # One seed per batch, fresh each epoch, the same in every run.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda pair, s: augment_pair(*pair, s, augment), num_parallel_calls=AUTOTUNE, deterministic=True
        )
    return ds.prefetch(AUTOTUNE)


def load_image(path: str | Path, image_size: tuple[int, int] = (96, 128), resize: str = "area") -> np.ndarray:
    """One photo as the model saw its training photos: float32 ``[H, W, 3]`` in [0, 1].

    Introduced in chapter 2; used for prediction in chapter 8.
    """
    image_size, resize = check_size(image_size), check_resize(resize)
    try:
        image = decode_photo(tf.io.read_file(str(path)), image_size, resize)
    except tf.errors.OpError as exc:
        raise DataError(f"cannot read image {Path(path).name}: {exc.message.splitlines()[0]}") from None
    return image.numpy().astype(np.float32) / 255.0


def image_dataset(
    paths: Sequence[str | Path],
    image_size: tuple[int, int] = (96, 128),
    batch_size: int = 32,
    resize: str = "area",
) -> tf.data.Dataset:
    """Batches of ``(images float32 [B,H,W,3], file names)`` in the order of ``paths``.

    For predicting a folder without masks (the test set); preprocessing is the
    training pipeline's.  Introduced in chapter 8.
    """
    image_size, resize = check_size(image_size), check_resize(resize)
    if not paths:
        raise DataError("no images to load: the list of paths is empty")
    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], [Path(p).name for p in paths]))
    ds = ds.map(
        lambda path, name: (
            tf.cast(decode_photo(tf.io.read_file(path), image_size, resize), tf.float32) / 255.0,
            name,
        ),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return ds.batch(batch_size).prefetch(AUTOTUNE)
