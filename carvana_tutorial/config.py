"""Every setting in one place: defaults, ``CARVANA_*`` variables, profiles. Introduced in chapter 1.

*quick* trains small models on the synthetic set in minutes on two CPU cores; *full* uses the real
data at
the article's settings.  A GPU or TPU means *full*, unless ``CARVANA_PROFILE`` says otherwise."""

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import CarvanaError

#: The article's input size (height, width): every default in the package.
IMAGE_SIZE = (96, 128)
#: The competition's binarisation threshold for probabilities.
THRESHOLD = 0.5
#: The Kaggle competition's slug.
COMPETITION = "carvana-image-masking-challenge"

ENV_PROFILE = "CARVANA_PROFILE"  # quick | full
ENV_DATA = "CARVANA_DATA"  # a folder in Kaggle's layout
ENV_CACHE = "CARVANA_CACHE"  # where decoded pairs, runs and synthetic sets go
ENV_MASKS = "CARVANA_MASKS"  # auto | csv | gif


def env(name: str) -> str | None:
    """The value of one of the ``CARVANA_*`` variables, ``None`` when unset or blank."""
    return os.environ.get(name, "").strip() or None


def cache_dir() -> Path:
    """The folder the package writes to: ``$CARVANA_CACHE`` or ``~/.cache/carvana-tutorial``."""
    return Path(env(ENV_CACHE) or Path.home() / ".cache" / "carvana-tutorial").expanduser()


@dataclass(frozen=True)
class Profile:
    """Every setting a chapter or the command line may take from a profile."""

    name: str
    image_size: tuple[int, int]  # (height, width), as Keras writes sizes
    batch_size: int
    epochs: int
    max_images: int | None  # images kept before the split (whole cars); None = all
    simple_filters: int
    unet_filters: int
    learning_rate: float
    synthetic_cars: int  # cars in the synthetic training set, and its test cars
    synthetic_test_cars: int
    synthetic_size: tuple[int, int] = (1280, 1918)


#: The article's settings: 96x128, batch 32, 1000 images, 64 filters, lr 1e-4.
FULL = Profile(
    "full",
    IMAGE_SIZE,
    batch_size=32,
    epochs=20,
    max_images=1000,
    simple_filters=64,
    unet_filters=64,
    learning_rate=1e-4,
    synthetic_cars=64,
    synthetic_test_cars=4,
)
#: Small enough for two CPU cores in CI; the same code path as FULL.
QUICK = Profile(
    "quick",
    IMAGE_SIZE,
    batch_size=16,
    epochs=12,
    max_images=None,
    simple_filters=16,
    unet_filters=16,
    learning_rate=1e-3,
    synthetic_cars=24,
    synthetic_test_cars=2,
)
PROFILES = {p.name: p for p in (QUICK, FULL)}


def get_profile(name: str | None = None) -> Profile:
    """The profile named, else ``$CARVANA_PROFILE``, else *full* on a GPU or TPU and *quick*
    elsewhere."""
    if not (name := name or env(ENV_PROFILE)):
        from .hardware import device_kind

        name = "quick" if device_kind() == "CPU" else "full"
    if (key := name.strip().lower()) not in PROFILES:
        raise CarvanaError(
            f"unknown profile {name!r}: use one of {', '.join(PROFILES)} "
            f"(set {ENV_PROFILE} or --profile)"
        )
    return PROFILES[key]
