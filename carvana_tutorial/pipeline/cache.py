"""An on-disk cache of decoded, resized pairs, so that only the first epoch decodes.  Each entry
(photo bytes, then mask bytes) is named by a hash of all it depends on: an edited file misses the
cache, any split reuses it. Introduced in chapter 2."""

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from ..config import ENV_MASKS, cache_dir, env
from ..data.masks_csv import file_version, masks_csv_of, read_gif, read_masks_csv, row_matches
from ..errors import DataError
from ..layout import MASKS_CSV
from ..outputs import write_atomic
from ..rle import rle_decode
from .decode import check_settings, load_image, pair_decoder, read_mask

MASK_SOURCES = ("auto", "csv", "gif")
SPOT_CHECKS = 2  # rows per fill compared with their GIFs, so that a table out of step is refused
READ_GIFS = f"pass masks='gif' (or set {ENV_MASKS}=gif) to read the GIF masks"
CODE_VERSION = 1  # bump whenever decoding changes what lands in an entry


def cache_root() -> Path:
    """``$CARVANA_CACHE/pipeline``, or ``~/.cache/carvana-tutorial/pipeline``."""
    return cache_dir() / "pipeline"


def mask_rles(pairs: Sequence, masks: str | None = None) -> list[str] | None:
    """Each pair's row of ``train_masks.csv``, or ``None`` to read the GIFs.
    ``auto`` uses the table only if it has a row for every pair, never a mix."""
    where = f" (from ${ENV_MASKS})" if masks is None else ""
    masks = (env(ENV_MASKS) or "auto") if masks is None else masks
    if masks not in MASK_SOURCES:
        known = ", ".join(MASK_SOURCES)
        raise DataError(f"unknown mask source {masks!r}{where}: use one of {known}")
    if masks == "gif":
        return None
    rles = []
    for pair in pairs:
        path, name = masks_csv_of(pair.mask), Path(pair.image).name
        try:  # parsed once per version of the file: read_masks_csv caches it
            rle = read_masks_csv(path).get(name) if path.is_file() else None
        except DataError as exc:
            raise DataError(f"{exc}; {READ_GIFS} instead") from None
        if rle is None and masks == "csv" and path.is_file():
            raise DataError(f"{MASKS_CSV} has no row for {name}")
        if rle is None and masks == "csv":
            raise DataError(f"no {MASKS_CSV} next to {path.parent.name}/")
        if rle is None:
            return None
        rles.append(rle)
    return rles


def _entry(pair, image_size: tuple[int, int], resize: str, root: Path, rle: str | None) -> Path:
    if rle is None:
        mask = file_version(pair.mask)
    else:
        mask = ["rle", hashlib.sha256(rle.encode()).hexdigest()]
    key = json.dumps([CODE_VERSION, file_version(pair.image), mask, *image_size, resize])
    height, width = image_size
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return root / f"{height}x{width}-{resize}" / f"{name}.bin"


def _check_row(pair, rle: str, source_size=None) -> None:
    """Refuse a malformed row or, without ``source_size``, one that disagrees with the GIF."""
    try:
        if source_size is not None:
            rle_decode(rle, source_size)
        elif Path(pair.mask).is_file() and not row_matches(rle, read_gif(pair.mask)):
            raise DataError(
                f"{MASKS_CSV} disagrees with {Path(pair.mask).name}: fix or delete one of them, "
                f"or {READ_GIFS}"
            )
    except ValueError as exc:
        raise DataError(
            f"the {MASKS_CSV} row of {Path(pair.image).name} is malformed: {exc}"
        ) from None


def _check_sizes(pair) -> None:
    """Refuse a photo and GIF mask of different sizes, read from their headers (a tenth of a
    millisecond): resized to one size, they would train on misaligned labels."""
    try:
        with Image.open(pair.image) as photo, Image.open(pair.mask) as mask:
            (pw, ph), (mw, mh) = photo.size, mask.size
    except (OSError, ValueError, SyntaxError):
        return  # missing or unreadable: decoding names the file and why
    if (pw, ph) != (mw, mh):
        raise DataError(
            f"{Path(pair.image).name} is {ph}x{pw} but its mask {Path(pair.mask).name} "
            f"is {mh}x{mw}: a photo and its mask must have the same size; replace the wrong one"
        )


def _why_unreadable(pair, image_size: tuple[int, int], resize: str, rle: str | None) -> str:
    """Name the file (or csv row) of ``pair`` that failed to decode, and why."""
    try:
        load_image(pair.image, image_size, resize)
        if rle is None:
            read_mask(pair.mask, image_size)
        else:
            _check_row(
                pair, rle, tf.image.extract_jpeg_shape(tf.io.read_file(str(pair.image)))[:2].numpy()
            )
    except DataError as exc:
        return str(exc)
    return f"cannot decode the pair {Path(pair.image).name} / {Path(pair.mask).name}"


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
    A :class:`DataError` names the first file that cannot be decoded.  Introduced in chapter 2."""
    image_size, resize = check_settings(image_size, resize)
    rles = mask_rles(pairs, masks)
    rows = rles or [None] * len(pairs)
    entries = [
        _entry(p, image_size, resize, root or cache_root(), row)
        for p, row in zip(pairs, rows, strict=True)
    ]
    todo = [i for i, entry in enumerate(entries) if not entry.exists()]
    if not todo:
        return entries
    for i in todo:
        _check_sizes(pairs[i])
    for i in todo[:SPOT_CHECKS] if rles is not None else []:
        _check_row(pairs[i], rows[i])
    sources = (
        [str(pairs[i].image) for i in todo],
        [str(pairs[i].mask) if rles is None else rows[i] for i in todo],
    )
    decoder = pair_decoder(image_size, resize, rles is not None)
    decoded = tf.data.Dataset.from_tensor_slices(sources).map(
        decoder, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    iterator = iter(decoded.prefetch(tf.data.AUTOTUNE))
    for i in tqdm(todo, desc="decoding", unit="pair", disable=not progress):
        try:
            image, mask = next(iterator)
        except tf.errors.OpError:  # the order is deterministic: pair ``i`` failed
            raise DataError(_why_unreadable(pairs[i], image_size, resize, rows[i])) from None
        write_atomic(entries[i], image.numpy().tobytes() + mask.numpy().tobytes())
    return entries


def read_entry(path: tf.Tensor, image_size: tuple[int, int]) -> tuple[tf.Tensor, tf.Tensor]:
    """In-graph: a cache entry -> ``(uint8 photo [H,W,3], uint8 mask [H,W,1])``."""
    height, width = image_size
    raw = tf.io.decode_raw(tf.io.read_file(path), tf.uint8)
    image = tf.reshape(raw[: height * width * 3], (height, width, 3))
    return image, tf.reshape(raw[height * width * 3 :], (height, width, 1))
