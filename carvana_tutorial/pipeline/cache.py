"""An on-disk cache of decoded, resized pairs, so that only the first epoch decodes.

Decoding a full-size GIF mask costs more than a whole training step of the
small models, and it gives the same answer every epoch.  So each pair is
decoded once per target size into a small raw file (``H*W*3`` image bytes then
``H*W`` mask bytes) under ``$CARVANA_CACHE/pipeline``; later epochs, later runs
and other chapters read those instead.

An entry's name hashes everything its content depends on: both source paths,
their sizes and modification times, the target size, the resize method and
``CODE_VERSION``.  Editing a photo, re-extracting the zips or asking for
another size therefore misses the cache instead of returning stale pixels; a
cache per pair (not per file list) lets any split or subset reuse it.  Entries
are written to a temporary name and renamed, so an interrupted run leaves no
half-written file.  Introduced in chapter 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from ..data.locate import cache_dir
from ..errors import DataError
from .decode import decode_pair, decode_photo, read_mask

#: Bump whenever decoding changes what lands in an entry.
CODE_VERSION = 1


def cache_root() -> Path:
    """``$CARVANA_CACHE/pipeline``, or ``~/.cache/carvana-tutorial/pipeline``.  Introduced in chapter 2."""
    return cache_dir() / "pipeline"


def _fingerprint(path: Path) -> list:
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def entry_path(pair, image_size: tuple[int, int], resize: str, root: Path | None = None) -> Path:
    """Where the cached arrays of ``pair`` at this size and method live.  Introduced in chapter 2."""
    height, width = image_size
    key = json.dumps(
        [CODE_VERSION, _fingerprint(Path(pair.image)), _fingerprint(Path(pair.mask)), height, width, resize]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return (root or cache_root()) / f"{height}x{width}-{resize}" / f"{digest}.bin"


def _write_atomic(path: Path, image: np.ndarray, mask: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(image.tobytes())
            handle.write(mask.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unreadable(pair, image_size: tuple[int, int], resize: str) -> str:
    """Name the file of ``pair`` that fails to decode, and why."""
    try:
        read_mask(pair.mask, image_size)
    except DataError as exc:
        return str(exc)
    try:
        decode_photo(tf.io.read_file(str(pair.image)), image_size, resize)
    except tf.errors.OpError as exc:
        return f"cannot read image {Path(pair.image).name}: {exc.message.splitlines()[0]}"
    return f"cannot decode the pair {Path(pair.image).name} / {Path(pair.mask).name}"


def ensure_cached(
    pairs: Sequence,
    image_size: tuple[int, int],
    resize: str = "area",
    *,
    root: Path | None = None,
    progress: bool = False,
) -> list[Path]:
    """Decode every pair not cached yet (in parallel) and return all entry paths.

    Raises :class:`~carvana_tutorial.errors.DataError` naming the first file
    that is missing or cannot be decoded; entries written before it are kept.  Introduced in chapter 2.
    """
    entries = [entry_path(p, image_size, resize, root) for p in pairs]
    todo = [i for i, entry in enumerate(entries) if not entry.exists()]
    if not todo:
        return entries
    sources = tf.data.Dataset.from_tensor_slices(
        ([str(pairs[i].image) for i in todo], [str(pairs[i].mask) for i in todo])
    )
    decoded = sources.map(
        lambda image, mask: decode_pair(image, mask, image_size, resize),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).prefetch(tf.data.AUTOTUNE)
    iterator = iter(decoded)
    for i in tqdm(todo, desc="decoding", unit="pair", disable=not progress):
        try:
            image, mask = next(iterator)
        except tf.errors.OpError:
            # Order is deterministic, so the failure belongs to pair ``i``.
            raise DataError(_unreadable(pairs[i], image_size, resize)) from None
        _write_atomic(entries[i], image.numpy(), mask.numpy())
    return entries


def read_entry(path: tf.Tensor, image_size: tuple[int, int]) -> tuple[tf.Tensor, tf.Tensor]:
    """In-graph: a cache entry -> ``(uint8 image [H,W,3], uint8 mask [H,W,1])``.  Introduced in chapter 2."""
    height, width = image_size
    raw = tf.io.decode_raw(tf.io.read_file(path), tf.uint8)
    split = height * width * 3
    image = tf.reshape(raw[:split], (height, width, 3))
    mask = tf.reshape(raw[split:], (height, width, 1))
    return image, mask


def clear_cache(root: Path | None = None) -> None:
    """Delete every cached entry (all sizes).  Introduced in chapter 2."""
    shutil.rmtree(root or cache_root(), ignore_errors=True)
