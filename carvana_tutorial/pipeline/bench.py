"""Timing the article's pipeline against ours on the same files.

Both run a first epoch and a second one.  Source files are read once before
any timing so that both start from a warm OS file cache; ours starts from an
empty decode cache (a fresh temporary folder), so its first epoch pays for
every decode and for writing the cache.  Introduced in chapter 2.
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
from .dataset import make_dataset
from .decode import decode_mask, decode_photo


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


def _stage_rates(pairs: Sequence, image_size: tuple[int, int]) -> dict:
    """Pairs/s of our photo decode alone and our mask decode alone (parallel map)."""
    photos = tf.data.Dataset.from_tensor_slices([str(p.image) for p in pairs]).map(
        lambda p: decode_photo(tf.io.read_file(p), image_size), num_parallel_calls=tf.data.AUTOTUNE
    )
    masks = tf.data.Dataset.from_tensor_slices([str(p.mask) for p in pairs]).map(
        lambda p: decode_mask(p, image_size), num_parallel_calls=tf.data.AUTOTUNE
    )
    return {
        "photo_decode_per_s": _rate(len(pairs), _epoch(photos)),
        "mask_decode_per_s": _rate(len(pairs), _epoch(masks)),
    }


def benchmark(
    pairs: Sequence,
    image_size: tuple[int, int] = (96, 128),
    batch_size: int = 32,
    *,
    augment: str | None = None,
    stages: bool = False,
) -> dict:
    """Time two epochs of each pipeline; return rates, ratios and what was measured.

    Ours runs shuffled and, by default, without augmentation: the article's
    pipeline does not augment either (its augmentation runs inside the model),
    so both deliver the same batches.  With ``stages=True`` the result also
    holds the decode rates of photos alone and masks alone, which show where a
    cold epoch spends its time, and the rate of a cached epoch with joint
    augmentation, which shows what augmenting costs.
    Introduced in chapter 2.
    """
    if not pairs:
        raise DataError("nothing to benchmark: no image/mask pairs")
    n = len(pairs)
    for pair in pairs:  # warm the OS file cache for both pipelines alike
        Path(pair.image).read_bytes()
        Path(pair.mask).read_bytes()
    seed_ds = article_dataset(pairs, image_size, batch_size)
    with _stopwatch() as seed_first:
        _drain(seed_ds)
    with _stopwatch() as seed_second:
        _drain(seed_ds)

    with tempfile.TemporaryDirectory(prefix="carvana-bench-") as root:
        with _stopwatch() as decode:
            ours = make_dataset(
                pairs, image_size, batch_size, shuffle=True, augment=augment, cache_root=Path(root)
            )
        with _stopwatch() as read:
            _drain(ours)
        with _stopwatch() as ours_second:
            _drain(ours)
        if stages:
            augmented = make_dataset(
                pairs, image_size, batch_size, shuffle=True, augment="joint", cache_root=Path(root)
            )
            _epoch(augmented)
            cached_augmented_s = _epoch(augmented)
    ours_first, ours_first_cpu = decode.wall + read.wall, decode.cpu + read.cpu

    with Image.open(pairs[0].image) as first:
        source_size = [first.height, first.width]
    result = {
        "files": n,
        "size": list(image_size),
        "source_size": source_size,
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
            **_stage_rates(pairs, image_size),
            "cached_augmented_per_s": _rate(n, cached_augmented_s),
        }
    return result
