"""An on-disk cache of decoded, resized pairs, so that only the first epoch decodes.

Decoding a full-size GIF costs more than a training step of the small models
and gives the same answer every epoch.  So each pair is decoded once per size
into a raw file (``H*W*3`` photo bytes, then ``H*W`` mask bytes) under
``$CARVANA_CACHE/pipeline``, named by a hash of all its content depends on
(the photo's and GIF's path, size and mtime, or the csv row's text; the size,
resize method and :data:`CODE_VERSION`): an edited file misses the cache, any
split reuses it.  Introduced in chapter 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from ..config import ENV_MASKS, cache_dir, env
from ..data.masks_csv import masks_csv_of, read_gif, read_masks_csv, row_matches
from ..errors import DataError
from ..layout import MASKS_CSV
from ..rle import rle_decode
from .decode import check_settings, pair_decoder, read_mask

#: Where masks are read from: ``auto`` (the csv when it has a row for every
#: pair, else the GIFs), ``csv`` (``train_masks.csv``, required) or ``gif``.
MASK_SOURCES = ("auto", "csv", "gif")
#: How many rows per fill are compared with their GIFs, so that a table out of
#: step with the GIFs is refused instead of silently trained on.
SPOT_CHECKS = 2
#: How an error about the table tells the user to do without it.
READ_GIFS = f"pass masks='gif' (or set {ENV_MASKS}=gif) to read the GIF masks"
#: Bump whenever decoding changes what lands in an entry.
CODE_VERSION = 1


def cache_root() -> Path:
    """``$CARVANA_CACHE/pipeline``, or ``~/.cache/carvana-tutorial/pipeline``."""
    return cache_dir() / "pipeline"


def mask_rles(pairs: Sequence, masks: str | None = None) -> list[str] | None:
    """Each pair's row of ``train_masks.csv``, or ``None`` to read the GIFs.

    ``auto`` uses the table (next to ``train_masks/``) only when it has a row
    for every pair, so two sources are never mixed; ``csv`` insists on it;
    ``gif`` never reads it; ``None`` means ``$CARVANA_MASKS``, else ``auto``.
    """
    where = f" (from ${ENV_MASKS})" if masks is None else ""
    masks = (env(ENV_MASKS) or "auto") if masks is None else masks
    if masks not in MASK_SOURCES:
        raise DataError(f"unknown mask source {masks!r}{where}: use one of {', '.join(MASK_SOURCES)}")
    if masks == "gif":
        return None
    tables: dict[Path, dict | None] = {}
    rles = []
    for pair in pairs:
        path, name = masks_csv_of(pair.mask), Path(pair.image).name
        if path not in tables:
            try:
                tables[path] = read_masks_csv(path) if path.is_file() else None
            except DataError as exc:
                raise DataError(f"{exc}; {READ_GIFS} instead") from None
        rle = None if tables[path] is None else tables[path].get(name)
        if rle is None and masks == "csv":
            raise DataError(f"no {MASKS_CSV} next to {path.parent.name}/" if tables[path] is None
                            else f"{MASKS_CSV} has no row for {name}")
        if rle is None:
            return None
        rles.append(rle)
    return rles


def _fingerprint(path: Path) -> list:
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _entry(pair, image_size: tuple[int, int], resize: str, root: Path, rle: str | None) -> Path:
    """Where the arrays of ``pair`` at this size and method are cached."""
    mask = _fingerprint(Path(pair.mask)) if rle is None else ["rle", hashlib.sha256(rle.encode()).hexdigest()]
    key = json.dumps([CODE_VERSION, _fingerprint(Path(pair.image)), mask, *image_size, resize])
    height, width = image_size
    return root / f"{height}x{width}-{resize}" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.bin"


def _write(path: Path, *arrays) -> None:
    """Write under a temporary name, then rename: no half-written entry, ever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            for array in arrays:
                handle.write(array.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_row(pair, rle: str) -> None:
    """Refuse a row that is malformed or disagrees with the pair's GIF (if there is one)."""
    name = Path(pair.image).name
    try:
        if not Path(pair.mask).is_file() or row_matches(rle, read_gif(pair.mask)):
            return
    except ValueError as exc:
        raise DataError(f"the {MASKS_CSV} row of {name} is malformed: {exc}") from None
    raise DataError(f"{MASKS_CSV} disagrees with {Path(pair.mask).name}: fix or delete one of them, or {READ_GIFS}")


def _why_unreadable(pair, image_size: tuple[int, int], rle: str | None) -> str:
    """Name the file (or csv row) of ``pair`` that failed to decode, and why."""
    name = Path(pair.image).name
    try:
        data = tf.io.read_file(str(pair.image))
        source_size = tf.image.extract_jpeg_shape(data)[:2].numpy()
        tf.io.decode_jpeg(data)
    except tf.errors.OpError as exc:
        return f"cannot read image {name}: {exc.message.splitlines()[0]}"
    if rle is None:
        try:
            read_mask(pair.mask, image_size)
        except DataError as exc:
            return str(exc)
        return f"cannot decode the pair {name} / {Path(pair.mask).name}"
    try:
        rle_decode(rle, source_size)
    except ValueError as exc:
        return f"the {MASKS_CSV} row of {name} is malformed: {exc}"
    return f"cannot decode the {MASKS_CSV} row of {name}"


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

    ``masks`` says where masks are read from (see :func:`mask_rles`); the first
    :data:`SPOT_CHECKS` rows to decode are compared with their GIFs first.
    Raises :class:`DataError` naming the first file that is missing or cannot
    be decoded; entries written before it are kept.  Introduced in chapter 2.
    """
    image_size, resize = check_settings(image_size, resize)
    rles = mask_rles(pairs, masks)
    rows = rles or [None] * len(pairs)
    entries = [_entry(p, image_size, resize, root or cache_root(), row) for p, row in zip(pairs, rows)]
    todo = [i for i, entry in enumerate(entries) if not entry.exists()]
    if not todo:
        return entries
    for i in todo[:SPOT_CHECKS] if rles is not None else []:
        _check_row(pairs[i], rows[i])
    masks_in = [str(pairs[i].mask) if rles is None else rows[i] for i in todo]
    sources = ([str(pairs[i].image) for i in todo], masks_in)
    decode = pair_decoder(image_size, resize, rles is not None)
    decoded = tf.data.Dataset.from_tensor_slices(sources).map(decode, num_parallel_calls=tf.data.AUTOTUNE,
                                                              deterministic=True)
    iterator = iter(decoded.prefetch(tf.data.AUTOTUNE))
    for i in tqdm(todo, desc="decoding", unit="pair", disable=not progress):
        try:
            image, mask = next(iterator)
        except tf.errors.OpError:  # the order is deterministic: pair ``i`` failed
            raise DataError(_why_unreadable(pairs[i], image_size, rows[i])) from None
        _write(entries[i], image.numpy(), mask.numpy())
    return entries


def read_entry(path: tf.Tensor, image_size: tuple[int, int]) -> tuple[tf.Tensor, tf.Tensor]:
    """In-graph: a cache entry -> ``(uint8 photo [H,W,3], uint8 mask [H,W,1])``."""
    height, width = image_size
    raw = tf.io.decode_raw(tf.io.read_file(path), tf.uint8)
    image = tf.reshape(raw[: height * width * 3], (height, width, 3))
    return image, tf.reshape(raw[height * width * 3:], (height, width, 1))
