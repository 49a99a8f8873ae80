"""Find the Carvana data, or make a synthetic stand-in, so every chapter runs.

The search order, first match wins:

1. the folder passed in (``find_data(path)``, ``--data``);
2. ``$CARVANA_DATA``;
3. the competition's input on Kaggle (zips, unpacked into the working folder);
4. ``./data`` (where ``carvana-tutorial download`` puts the files);
5. otherwise a synthetic set in Carvana's exact layout, made once and cached.

A folder counts when it holds ``train_hq/`` and ``train_masks/`` or the zips
Kaggle ships them in; ``train_masks.csv.zip``, when there, is unpacked too (the
pipeline reads masks faster from it) but is never required.  Introduced in
chapter 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import COMPETITION, ENV_DATA, Profile, cache_dir, env, get_profile
from ..errors import DataError
from ..layout import (
    MASKS_CSV,
    MASKS_CSV_ZIP,
    TEST_IMAGES,
    TRAIN_IMAGES,
    TRAIN_MASKS,
    VIEWS,
    parse_name,
)
from .extract import MARKER, extract_file, extract_zip, is_extracted, wanted_zips
from .pairs import EXPECTED_LAYOUT

#: Where Kaggle mounts the competition's files (read-only) in a notebook.
KAGGLE_INPUT = Path("/kaggle/input") / COMPETITION
#: Kaggle's writable working folder; the zips are unpacked under it.
KAGGLE_WORKING = Path("/kaggle/working")
#: Relative to the current directory, as the download command's default.
LOCAL_DATA = Path("data")
#: Seed of the synthetic set; fixed so every chapter sees the same cars.
SYNTHETIC_SEED = 0


@dataclass(frozen=True)
class DataSource:
    """Where the data came from: ``root`` (Carvana layout), ``origin``, a sentence.

    ``origin`` is one of ``argument``, ``env``, ``kaggle``, ``local`` and
    ``synthetic``; ``description`` names no machine path, so a notebook can
    print it.
    """

    root: Path
    origin: str
    description: str


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def prepare(
    folder: Path, *, extract_to: Path | None = None, with_test: bool = False, progress: bool = False
) -> Path | None:
    """The Carvana root for ``folder``, unpacking its zips if need be.

    Returns ``None`` when ``folder`` holds neither the training folders nor
    their zips.  Folders already there are used as they are (and re-extracted
    only when we extracted them from a zip that has changed since).  Missing
    folders are unpacked from their zips into ``extract_to`` when given (for
    Kaggle's read-only input), else next to the zips when ``folder`` is
    writable, else into the cache.  ``train_masks.csv.zip`` goes wherever the
    folders would, unless the root already has a ``train_masks.csv`` of its
    own; a read-only folder whose training folders are already there keeps it
    zipped, and the masks are then read from the GIFs (slower, same masks).
    Introduced in chapter 1.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    needed = [TRAIN_IMAGES, TRAIN_MASKS] + ([TEST_IMAGES] if with_test else [])
    zips = {z.name.removesuffix(".zip"): z for z in wanted_zips(folder, with_test=with_test)}
    missing = [n for n in needed if not (folder / n).is_dir()]
    if any(n not in zips for n in missing):
        return None
    if extract_to is None and _writable(folder):
        for name in needed:
            if name in missing or (name in zips and (folder / name / MARKER).is_file()):
                extract_zip(zips[name], folder, progress=progress)  # a no-op when up to date
        _unpack_masks_csv(folder, folder)
        return folder
    if not missing:
        return folder  # read-only and nothing to extract: write nothing
    if any(n not in zips for n in needed):
        return None  # a read-only mix of folders and zips: nothing sensible to build
    target = Path(extract_to) if extract_to is not None else (
        cache_dir() / "extracted" / hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12])
    for name in needed:
        extract_zip(zips[name], target, progress=progress)
    _unpack_masks_csv(folder, target)
    return target


def _unpack_masks_csv(folder: Path, root: Path) -> None:
    """Extract ``folder``'s ``train_masks.csv.zip`` into ``root``, if any, unless ``root`` has its own csv."""
    zip_path = folder / MASKS_CSV_ZIP
    csv = root / MASKS_CSV
    if not zip_path.is_file() or (csv.exists() and not is_extracted(csv)):
        return
    extract_file(zip_path, root)  # a no-op when up to date


def describe(root: Path, label: str) -> str:
    """``label`` plus the number of cars, views and the image size, e.g.
    ``synthetic Carvana, 24 cars x 16 views, 1280x1918``.  Cheap: it lists the
    folder and reads one image header.  Introduced in chapter 1.
    """
    from PIL import Image

    images = sorted(p for p in (root / TRAIN_IMAGES).iterdir() if (parsed := parse_name(p.name)) and not parsed[1])
    cars = {parse_name(p.name)[0].car for p in images}
    if not images:
        return f"{label}, no images"
    counts = f"{len(cars)} cars x {VIEWS} views" if len(images) == VIEWS * len(cars) else (
        f"{len(images)} images of {len(cars)} cars")
    try:
        with Image.open(images[0]) as first:
            width, height = first.size
    except OSError:
        return f"{label}, {counts}"
    return f"{label}, {counts}, {height}x{width}"


def synthetic_root(profile: Profile) -> Path:
    """Where the profile's synthetic set lives in the cache, one folder per settings.

    Introduced in chapter 1.
    """
    height, width = profile.synthetic_size
    key = f"{profile.synthetic_cars}cars-{profile.synthetic_test_cars}test-{height}x{width}-seed{SYNTHETIC_SEED}"
    return cache_dir() / "synthetic" / key


def _from_folder(folder: Path, origin: str, label: str, **kwargs) -> DataSource | None:
    root = prepare(folder, **kwargs)
    return None if root is None else DataSource(root, origin, describe(root, label))


def find_data(
    path: str | os.PathLike | None = None,
    *,
    profile: Profile | str | None = None,
    synthesize: bool = True,
    with_test: bool = False,
    progress: bool | None = None,
) -> DataSource:
    """Locate the Carvana data (see the module docstring for the order).

    ``profile`` (a :class:`~carvana_tutorial.settings.Profile` or its name)
    sizes the synthetic set and is only resolved when one is needed.  An
    explicit folder or ``$CARVANA_DATA`` that holds no Carvana data is an
    error, not a reason to fall back.  ``with_test`` also unpacks
    ``test_hq.zip`` (for a submission).  Progress bars go to stderr, by
    default only on a terminal so that notebooks stay reproducible.
    Introduced in chapter 1.
    """
    progress = sys.stderr.isatty() if progress is None else progress
    opts = {"with_test": with_test, "progress": progress}
    for origin, value, label in (
        ("argument", path, "Carvana data from the folder given"),
        ("env", env(ENV_DATA), f"Carvana data from ${ENV_DATA}"),
    ):
        if value is None:
            continue
        found = _from_folder(Path(value).expanduser(), origin, label, **opts)
        if found is None:
            where = "the folder given" if origin == "argument" else f"${ENV_DATA}"
            raise DataError(f"{value} ({where}) holds no Carvana data: {EXPECTED_LAYOUT}, or those two zips")
        return found
    if KAGGLE_INPUT.is_dir():
        target = KAGGLE_WORKING / "carvana" if _writable(KAGGLE_WORKING) else cache_dir() / "kaggle"
        found = _from_folder(KAGGLE_INPUT, "kaggle", "Kaggle's Carvana data", extract_to=target, **opts)
        if found is not None:
            return found
    if LOCAL_DATA.is_dir():
        found = _from_folder(LOCAL_DATA.resolve(), "local", "Carvana data in ./data", **opts)
        if found is not None:
            return found
    if not synthesize:
        raise DataError(
            "no Carvana data found: run `carvana-tutorial download` (needs a Kaggle account) or set "
            f"{ENV_DATA} to a folder in Kaggle's layout"
        )
    return make_synthetic(profile, progress=progress)


def make_synthetic(profile: Profile | str | None = None, *, progress: bool = False) -> DataSource:
    """The profile's synthetic set, made on first use and reused afterwards.

    Introduced in chapter 1.
    """
    from ..synthetic import ensure_dataset

    if not isinstance(profile, Profile):
        profile = get_profile(profile)
    root = synthetic_root(profile)
    with _exclusive(root.with_name(root.name + ".lock")):  # two chapters at once make it once
        ensure_dataset(
            root,
            cars=profile.synthetic_cars,
            size=profile.synthetic_size,
            seed=SYNTHETIC_SEED,
            test_cars=profile.synthetic_test_cars,
            progress=progress,
        )
    return DataSource(root, "synthetic", describe(root, "synthetic Carvana"))


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock`` (POSIX; elsewhere no lock is taken)."""
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is the user's job
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
