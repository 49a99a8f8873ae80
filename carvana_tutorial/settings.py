"""Quick and full profiles: one set of knobs for CPU CI, one for a GPU.

*quick* trains small models on the synthetic set in minutes on two CPU cores;
*full* uses the real Kaggle data at the article's settings.  The profile is
picked automatically (a GPU or TPU means *full*), and ``CARVANA_PROFILE``
overrides it.  Introduced in chapter 1.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

from .errors import CarvanaError

ENV_PROFILE = "CARVANA_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Every setting a chapter or the command line may take from a profile."""

    name: str
    image_size: tuple[int, int]  # (height, width), as Keras writes sizes
    batch_size: int
    epochs: int
    limit: int | None  # images kept before the split (whole cars); None = all
    simple_filters: int
    unet_filters: int
    learning_rate: float
    synthetic_cars: int  # cars in the synthetic training set
    synthetic_test_cars: int
    synthetic_size: tuple[int, int]

    def to_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, **changes) -> "Profile":
        """A copy with the given fields replaced (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


#: The article's settings: 96x128, batch 32, 1000 images, 64 filters, lr 1e-4.
FULL = Profile(
    name="full",
    image_size=(96, 128),
    batch_size=32,
    epochs=20,
    limit=1000,
    simple_filters=64,
    unet_filters=64,
    learning_rate=1e-4,
    synthetic_cars=64,
    synthetic_test_cars=4,
    synthetic_size=(1280, 1918),
)

#: Small enough for two CPU cores in CI; same code path as FULL.
QUICK = Profile(
    name="quick",
    image_size=(96, 128),
    batch_size=16,
    epochs=12,
    limit=None,
    simple_filters=16,
    unet_filters=16,
    learning_rate=1e-3,
    synthetic_cars=24,
    synthetic_test_cars=2,
    synthetic_size=(1280, 1918),
)

PROFILES = {p.name: p for p in (QUICK, FULL)}


def has_accelerator() -> bool:
    """True when TensorFlow sees a GPU or TPU (imports TensorFlow lazily)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))


def get_profile(name: str | None = None) -> Profile:
    """The profile named, else ``$CARVANA_PROFILE``, else by hardware."""
    name = name or os.environ.get(ENV_PROFILE) or ("full" if has_accelerator() else "quick")
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise CarvanaError(
            f"unknown profile {name!r}: use one of {', '.join(PROFILES)} (set {ENV_PROFILE} or --profile)"
        ) from None
