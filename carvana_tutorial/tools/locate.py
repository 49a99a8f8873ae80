"""Find the Carvana data, or make a synthetic stand-in, so every chapter runs.  First match wins:
the folder passed in (``--data``), ``$CARVANA_DATA``, Kaggle's competition input, ``./data``, else a
cached synthetic set in Carvana's layout.  A folder counts when it holds ``train_hq/`` and
``train_masks/`` or their zips.  Introduced in chapter 1."""

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..config import COMPETITION, ENV_DATA, Profile, cache_dir, env, get_profile
from ..data.pairs import EXPECTED_LAYOUT
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
from ..outputs import locked
from .extract import extract_zip, is_extracted, wanted_zips

KAGGLE_INPUT = Path("/kaggle/input") / COMPETITION  # read-only in a Kaggle notebook
KAGGLE_WORKING = Path("/kaggle/working")
LOCAL_DATA = Path("data")
SYNTHETIC_SEED = 0  # fixed, so every chapter sees the same cars


@dataclass(frozen=True)
class DataSource:
    """The Carvana ``root``, its ``origin`` (argument, env, kaggle, local or synthetic), and a
    ``description`` that names no machine path, so a notebook can print it."""

    root: Path
    origin: str
    description: str


def unzip_missing(
    folder: Path, *, extract_to: Path | None = None, with_test: bool = False, progress: bool = False
) -> Path | None:
    """The Carvana root for ``folder``, unpacking its zips if need be; ``None`` if it holds no data.
    Zips unpack into ``extract_to`` (for Kaggle's read-only input), else beside them, else into the
    cache."""
    folder = Path(folder)
    needed = [TRAIN_IMAGES, TRAIN_MASKS] + ([TEST_IMAGES] if with_test else [])
    zips = {z.name.removesuffix(".zip"): z for z in wanted_zips(folder, with_test=with_test)}
    missing = [n for n in needed if not (folder / n).is_dir()]
    in_place = extract_to is None and folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
    if not (in_place or missing):
        return folder  # read-only and nothing to extract: write nothing
    if any(n not in zips for n in (missing if in_place else needed)):
        return None  # no data here, or a read-only mix of folders and zips
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    target = folder if in_place else Path(extract_to or cache_dir() / "extracted" / digest)
    for name in needed:  # in place, only what is missing or ours: a no-op when up to date
        if not in_place or name in missing or (name in zips and is_extracted(folder / name)):
            extract_zip(zips[name], target, progress=progress)
    csv_zip, csv = folder / MASKS_CSV_ZIP, target / MASKS_CSV
    if csv_zip.is_file() and (not csv.exists() or is_extracted(csv)):  # never over the user's csv
        extract_zip(csv_zip, target)
    return target


def source_description(root: Path, label: str) -> str:
    """``label`` plus cars, views and image size, e.g. ``synthetic Carvana, 24 cars x 16 views,
    1280x1918``."""
    from PIL import Image

    photos = sorted((root / TRAIN_IMAGES).iterdir())
    names = [(p, n[0].car) for p in photos if (n := parse_name(p.name)) and not n[1]]
    if not names:
        return f"{label}, no images"
    cars = len({car for _, car in names})
    if len(names) == VIEWS * cars:
        label += f", {cars} cars x {VIEWS} views"
    else:
        label += f", {len(names)} images of {cars} cars"
    try:
        with Image.open(names[0][0]) as first:
            return f"{label}, {first.height}x{first.width}"
    except OSError:
        return label


def find_data(
    path: str | os.PathLike | None = None,
    *,
    profile: Profile | str | None = None,
    synthesize: bool = True,
    with_test: bool = False,
    progress: bool | None = None,
) -> DataSource:
    """Locate the Carvana data (order in the module docstring); ``profile`` sizes a synthetic set.
    An explicit folder or ``$CARVANA_DATA`` without data is an error, not a reason to fall back."""
    progress = sys.stderr.isatty() if progress is None else progress
    opts = {"with_test": with_test, "progress": progress}
    for origin, value, where in (
        ("argument", path, "the folder given"),
        ("env", env(ENV_DATA), f"${ENV_DATA}"),
    ):
        if value is not None:
            if (root := unzip_missing(Path(value).expanduser(), **opts)) is None:
                raise DataError(
                    f"{value} ({where}) holds no Carvana data: {EXPECTED_LAYOUT}, or those two zips"
                )
            return DataSource(root, origin, source_description(root, f"Carvana data from {where}"))
    if KAGGLE_INPUT.is_dir():
        writable = os.access(KAGGLE_WORKING, os.W_OK | os.X_OK)
        work = KAGGLE_WORKING / "carvana" if writable else cache_dir() / "kaggle"
        if (root := unzip_missing(KAGGLE_INPUT, extract_to=work, **opts)) is not None:
            return DataSource(root, "kaggle", source_description(root, "Kaggle's Carvana data"))
    if LOCAL_DATA.is_dir() and (root := unzip_missing(LOCAL_DATA.resolve(), **opts)) is not None:
        return DataSource(root, "local", source_description(root, "Carvana data in ./data"))
    if not synthesize:
        raise DataError(
            "no Carvana data found: run `carvana-tutorial download` (needs a Kaggle account) "
            f"or set {ENV_DATA} to a folder in Kaggle's layout"
        )
    return make_synthetic(profile, progress=progress)


def make_synthetic(profile: Profile | str | None = None, *, progress: bool = False) -> DataSource:
    """The profile's synthetic set, made on first use (by one process at a time) and reused
    afterwards."""
    from ..synthetic import ensure_dataset

    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    height, width = profile.synthetic_size
    cars, test_cars = profile.synthetic_cars, profile.synthetic_test_cars
    key = f"{cars}cars-{test_cars}test-{height}x{width}-seed{SYNTHETIC_SEED}"
    root = cache_dir() / "synthetic" / key
    with locked(root.with_name(root.name + ".lock")):
        ensure_dataset(
            root,
            cars=cars,
            size=profile.synthetic_size,
            seed=SYNTHETIC_SEED,
            test_cars=test_cars,
            progress=progress,
        )
    return DataSource(root, "synthetic", source_description(root, "synthetic Carvana"))
