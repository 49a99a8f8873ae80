"""An on-disk cache of decoded, resized pairs, so that only the first epoch decodes.

Decoding a full-size GIF mask costs more than a whole training step of the
small models, and it gives the same answer every epoch.  So each pair is
decoded once per target size into a small raw file (``H*W*3`` image bytes then
``H*W`` mask bytes) under ``$CARVANA_CACHE/pipeline``; later epochs, later runs
and other chapters read those instead.

An entry's name hashes everything its content depends on: the photo's path,
size and modification time; the mask's (for a GIF) or the text of its
``train_masks.csv`` row (for RLE); the target size, the resize method and
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
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from ..config import ENV_MASKS, cache_dir
from ..data.masks_csv import masks_csv_of, read_masks_csv
from ..errors import DataError
from ..layout import MASKS_CSV
from ..rle import rle_decode
from .decode import (
    check_masks,
    check_resize,
    check_size,
    decode_photo,
    pair_decoder,
    read_mask,
)

#: How many pairs per fill of the cache are decoded from both mask sources
#: and compared, so that a ``train_masks.csv`` out of step with the GIFs is
#: caught instead of silently trained on.
SPOT_CHECKS = 2
#: How an error about the table tells the user to do without it.
READ_GIFS = f"pass masks='gif' (or set {ENV_MASKS}=gif) to read the GIF masks"

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


def mask_rles(pairs: Sequence, masks: str | None = None) -> list[str] | None:
    """Each pair's row of ``train_masks.csv``, or ``None`` when masks come from the GIFs.

    ``auto`` uses the table (next to ``train_masks/``) only when it has a
    row for every pair, so a partial table never mixes two sources; ``csv``
    insists on it; ``gif`` never reads it; ``None`` means ``$CARVANA_MASKS``
    or ``auto``.  Introduced in chapter 2.
    """
    masks = check_masks(masks)
    if masks == "gif":
        return None
    tables: dict[Path, Mapping[str, str] | None] = {}
    rles = []
    for pair in pairs:
        path = masks_csv_of(pair.mask)
        if path not in tables:
            try:
                tables[path] = read_masks_csv(path) if path.is_file() else None
            except DataError as exc:
                raise DataError(f"{exc}; {READ_GIFS} instead") from None
        table, name = tables[path], Path(pair.image).name
        rle = None if table is None else table.get(name)
        if rle is None:
            if masks == "csv":
                raise DataError(f"no {MASKS_CSV} next to {path.parent.name}/" if table is None
                                else f"{MASKS_CSV} has no row for {name}")
            return None
        rles.append(rle)
    return rles


def entry_path(
    pair, image_size: tuple[int, int], resize: str, root: Path | None = None, rle: str | None = None
) -> Path:
    """Where the cached arrays of ``pair`` at this size and method live.

    ``rle`` is the pair's ``train_masks.csv`` row when the mask is read from
    there, ``None`` for the GIF.  Introduced in chapter 2.
    """
    height, width = image_size
    mask_key = _fingerprint(Path(pair.mask)) if rle is None else ["rle", hashlib.sha256(rle.encode()).hexdigest()]
    key = json.dumps([CODE_VERSION, _fingerprint(Path(pair.image)), mask_key, height, width, resize])
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


def _unreadable(pair, image_size: tuple[int, int], resize: str, rle: str | None) -> str:
    """Name the file (or csv row) of ``pair`` that fails to decode, and why."""
    name = Path(pair.image).name
    try:
        data = tf.io.read_file(str(pair.image))
        decode_photo(data, image_size, resize)
        source_size = tuple(int(v) for v in tf.image.extract_jpeg_shape(data)[:2])
    except tf.errors.OpError as exc:
        return f"cannot read image {name}: {exc.message.splitlines()[0]}"
    if rle is not None:
        try:
            rle_decode(rle, source_size)
        except ValueError as exc:
            return f"the {MASKS_CSV} row of {name} is malformed: {exc}"
        return f"cannot decode the {MASKS_CSV} row of {name}"
    try:
        read_mask(pair.mask, image_size)
    except DataError as exc:
        return str(exc)
    return f"cannot decode the pair {name} / {Path(pair.mask).name}"


def _spot_check(pair, mask: np.ndarray, image_size: tuple[int, int]) -> None:
    """Compare a mask decoded from ``train_masks.csv`` with the pair's GIF, if there is one."""
    if Path(pair.mask).is_file() and not np.array_equal(read_mask(pair.mask, image_size), mask):
        raise DataError(
            f"{MASKS_CSV} disagrees with {Path(pair.mask).name}: fix or delete one of them, "
            f"or {READ_GIFS}"
        )


def ensure_cached(
    pairs: Sequence,
    image_size: tuple[int, int],
    resize: str = "area",
    *,
    masks: str | None = None,
    root: Path | None = None,
    progress: bool = False,
) -> list[Path]:
    """Decode every pair not cached yet (in parallel) and return all entry paths.

    ``masks`` says where masks are read from (see :func:`mask_rles`); the
    first :data:`SPOT_CHECKS` masks decoded from ``train_masks.csv`` are
    compared with their GIFs.  Raises
    :class:`~carvana_tutorial.errors.DataError` naming the first file that is
    missing or cannot be decoded; entries written before it are kept.
    Introduced in chapter 2.
    """
    image_size, resize = check_size(image_size), check_resize(resize)
    rles = mask_rles(pairs, masks)
    entries = [
        entry_path(p, image_size, resize, root, None if rles is None else rles[i]) for i, p in enumerate(pairs)
    ]
    todo = [i for i, entry in enumerate(entries) if not entry.exists()]
    if not todo:
        return entries
    images = [str(pairs[i].image) for i in todo]
    sources = [str(pairs[i].mask) for i in todo] if rles is None else [rles[i] for i in todo]
    decoded = tf.data.Dataset.from_tensor_slices((images, sources)).map(
        pair_decoder(image_size, resize, rles is not None), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    ).prefetch(tf.data.AUTOTUNE)
    iterator = iter(decoded)
    for n, i in enumerate(tqdm(todo, desc="decoding", unit="pair", disable=not progress)):
        try:
            image, mask = next(iterator)
        except tf.errors.OpError:
            # Order is deterministic, so the failure belongs to pair ``i``.
            raise DataError(_unreadable(pairs[i], image_size, resize, None if rles is None else rles[i])) from None
        if rles is not None and n < SPOT_CHECKS:
            _spot_check(pairs[i], mask.numpy(), image_size)
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
