"""Timing the article's pipeline against ours on the same files.

Both run a first epoch and a second one.  Source files are read once before
any timing so that both start from a warm OS file cache, and both pipelines
run once on two pairs so that neither pays TensorFlow's one-time start-up in
its timed epochs.  Ours starts from an empty decode cache (a fresh temporary
folder), so its first epoch pays for every decode and for writing the cache.
Introduced in chapter 2.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
from PIL import Image

from ..errors import DataError
from .article import article_dataset
from .cache import mask_rles
from .dataset import make_dataset
from .decode import decode_mask, decode_photo, decode_rle_mask


@dataclass
class _Timing:
    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def _stopwatch() -> Iterator[_Timing]:
    """Wall time and this process's CPU time (all threads) of the ``with`` body.

    CPU time is the cost of the work itself; on a busy machine, where wall
    time also counts the wait for a free core, it is the steadier of the two.
    """
    timing, wall, cpu = _Timing(), time.perf_counter(), time.process_time()
    try:
        yield timing
    finally:
        timing.wall, timing.cpu = time.perf_counter() - wall, time.process_time() - cpu


def _drain(ds: tf.data.Dataset) -> None:
    for _ in ds:
        pass


def _epoch(ds: tf.data.Dataset) -> float:
    with _stopwatch() as timing:
        _drain(ds)
    return timing.wall


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks).  Introduced in chapter 2."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _stage_rates(pairs: Sequence, image_size: tuple[int, int], rles: list[str] | None) -> dict:
    """Pairs/s of each decoding step of ours alone (parallel map): photos, GIF masks, RLE masks."""

    def rate(ds: tf.data.Dataset, decode) -> float:
        return _rate(len(pairs), _epoch(ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)))

    photos = tf.data.Dataset.from_tensor_slices([str(p.image) for p in pairs])
    rates = {
        "photo_decode_per_s": rate(photos, lambda p: decode_photo(tf.io.read_file(p), image_size)),
        "gif_decode_per_s": rate(
            tf.data.Dataset.from_tensor_slices([str(p.mask) for p in pairs]), lambda p: decode_mask(p, image_size)
        ),
    }
    if rles is not None:
        shapes = [_source_size(p.image) for p in pairs]
        rates["rle_decode_per_s"] = rate(
            tf.data.Dataset.from_tensor_slices((rles, shapes)), lambda r, s: decode_rle_mask(r, s, image_size)
        )
    rates["mask_decode_per_s"] = rates["gif_decode_per_s" if rles is None else "rle_decode_per_s"]
    return rates


def _source_size(path) -> list[int]:
    with Image.open(path) as image:
        return [image.height, image.width]


def benchmark(
    pairs: Sequence,
    image_size: tuple[int, int] = (96, 128),
    batch_size: int = 32,
    *,
    augment: str | None = None,
    masks: str | None = None,
    stages: bool = False,
) -> dict:
    """Time two epochs of each pipeline; return rates, ratios and what was measured.

    Ours runs shuffled and, by default, without augmentation: the article's
    pipeline does not augment either (its augmentation runs inside the model),
    so both deliver the same batches.  Ours reads masks from ``masks`` (see
    :func:`~carvana_tutorial.pipeline.make_dataset`); the article's always
    decodes the GIFs.  With ``stages=True`` the result also
    holds the decode rates of photos alone and masks alone, which show where a
    cold epoch spends its time, and the rate of a cached epoch with joint
    augmentation, which shows what augmenting costs.
    Introduced in chapter 2.
    """
    if not pairs:
        raise DataError("nothing to benchmark: no image/mask pairs")
    n = len(pairs)
    rles = mask_rles(pairs, masks)
    for pair in pairs:  # warm the OS file cache for both pipelines alike
        Path(pair.image).read_bytes()
        Path(pair.mask).read_bytes()
    with tempfile.TemporaryDirectory(prefix="carvana-warmup-") as scratch:
        _drain(article_dataset(pairs[:2], image_size, batch_size))
        _drain(make_dataset(pairs[:2], image_size, batch_size, augment=augment, masks=masks, cache_root=Path(scratch)))
    seed_ds = article_dataset(pairs, image_size, batch_size)
    with _stopwatch() as seed_first:
        _drain(seed_ds)
    with _stopwatch() as seed_second:
        _drain(seed_ds)

    with tempfile.TemporaryDirectory(prefix="carvana-bench-") as root:
        with _stopwatch() as decode:
            ours = make_dataset(
                pairs, image_size, batch_size, shuffle=True, augment=augment, masks=masks, cache_root=Path(root)
            )
        with _stopwatch() as read:
            _drain(ours)
        with _stopwatch() as ours_second:
            _drain(ours)
        if stages:
            augmented = make_dataset(
                pairs, image_size, batch_size, shuffle=True, augment="joint", masks=masks, cache_root=Path(root)
            )
            _epoch(augmented)
            cached_augmented_s = _epoch(augmented)
    ours_first, ours_first_cpu = decode.wall + read.wall, decode.cpu + read.cpu

    result = {
        "files": n,
        "size": list(image_size),
        "source_size": _source_size(pairs[0].image),
        "mask_source": "gif" if rles is None else "csv",
        "batch_size": batch_size,
        "augment": augment,
        "cores": available_cores(),
        "seed_pairs_per_s": _rate(n, seed_first.wall),
        "seed_second_pairs_per_s": _rate(n, seed_second.wall),
        "ours_pairs_per_s": _rate(n, ours_first),
        "ours_cached_pairs_per_s": _rate(n, ours_second.wall),
        "first_epoch_speedup": seed_first.wall / ours_first,
        "cached_epoch_speedup": seed_second.wall / ours_second.wall,
        "seconds": {
            "seed_first": seed_first.wall,
            "seed_second": seed_second.wall,
            "ours_first": ours_first,
            "ours_first_decode": decode.wall,
            "ours_first_read": read.wall,
            "ours_second": ours_second.wall,
        },
        "cpu_ms_per_pair": {
            "seed_first": 1000 * seed_first.cpu / n,
            "seed_second": 1000 * seed_second.cpu / n,
            "ours_first": 1000 * ours_first_cpu / n,
            "ours_second": 1000 * ours_second.cpu / n,
        },
    }
    if stages:
        result["stages"] = {
            **_stage_rates(pairs, image_size, rles),
            "cached_augmented_per_s": _rate(n, cached_augmented_s),
        }
    return result
