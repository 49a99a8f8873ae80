"""Every setting in one place: defaults, the run presets, ``CARVANA_*`` variables, profiles.
Introduced in chapter 1.

A run is one :class:`TrainConfig`; :data:`ARTICLE`, :data:`QUICK_RUN` and :data:`TUNED` are named
instances of it.  A profile adds what is not a training choice (how much data, which synthetic set)
to the run preset it starts from: *quick* trains small models on the synthetic set in minutes on
two CPU cores; *full* uses the real data at the article's settings.  A GPU or TPU means *full*,
unless ``CARVANA_PROFILE`` says otherwise."""

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .errors import CarvanaError, ModelError
from .layout import FULL_SIZE

#: The article's input size (height, width): every default in the package.
IMAGE_SIZE = (96, 128)
#: The competition's binarisation threshold for probabilities.
THRESHOLD = 0.5
#: The Kaggle competition's slug.
COMPETITION = "carvana-image-masking-challenge"
#: Each network's down/up blocks when a configuration leaves ``depth`` unsaid.
DEFAULT_DEPTH = {"simple": 3, "unet": 4}
MODEL_NAMES = tuple(DEFAULT_DEPTH)
#: The training losses by name (:data:`carvana_tutorial.training.LOSSES` holds the functions).
LOSS_NAMES = ("dice", "bce_dice")
#: Learning-rate schedules besides the constant rate (None).
SCHEDULE_NAMES = ("cosine",)

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
class TrainConfig:
    """Every choice one training run makes; the defaults are the article's.
    Introduced in chapter 4."""

    model: str = "unet"  # "simple" or "unet"
    image_size: tuple[int, int] = IMAGE_SIZE
    filters: int = 64  # of the first level; doubled at each level down
    depth: int | None = None  # down/up blocks; None: the network's own
    epochs: int = 20
    batch_size: int = 32
    loss: str = "dice"  # or "bce_dice"
    learning_rate: float = 1e-4
    epsilon: float = 1e-6
    patience: int = 2  # epochs without a better val_loss before stopping
    seed: int = 42
    augment: str | None = "joint"  # or "image_only" (the article's bug)
    resize: str = "area"  # or "nearest" (the article's)
    schedule: str | None = None  # or "cosine": down to 0 at the epoch cap
    recipe: str | None = None  # the RECIPES entry these values came from

    def __post_init__(self) -> None:
        check_config(self)  # unknown names and unfit sizes: one-line errors


def check_input_size(image_size: tuple[int, int], depth: int) -> None:
    """Both networks halve the size ``depth`` times; refuse sizes that do not divide."""
    height, width = image_size[:2]
    if depth < 1:
        raise ModelError(f"depth must be at least 1, got {depth}")
    if height % 2**depth or width % 2**depth:
        raise ModelError(
            f"depth {depth} does not fit {height}x{width}: both sides must be divisible by "
            f"2**depth = {2**depth} so the decoder restores the size exactly"
        )


def check_config(config: TrainConfig) -> None:
    """Refuse what would fail later, inside Keras, with a long traceback."""
    named = {"model": MODEL_NAMES, "loss": LOSS_NAMES}
    if config.schedule is not None:
        named["schedule"] = SCHEDULE_NAMES
    if config.recipe is not None:  # the presets below carry none
        named["recipe"] = tuple(RECIPES)
    for field, known in named.items():
        if getattr(config, field) not in known:
            names = ", ".join(known)
            raise CarvanaError(f"unknown {field} {getattr(config, field)!r}: use one of {names}")
    depth = DEFAULT_DEPTH[config.model] if config.depth is None else config.depth
    check_input_size(config.image_size, depth)


#: The article's run: 96x128, batch 32, 64 filters, Adam 1e-4 (epsilon 1e-6), dice loss, patience 2.
ARTICLE = TrainConfig()
#: Small enough for two CPU cores in CI: 16 filters, batch 16, up to 12 epochs at Adam 1e-3.
QUICK_RUN = replace(ARTICLE, filters=16, epochs=12, batch_size=16, learning_rate=1e-3)
#: The recipe chapter 7 and the real photos support, ``train``'s default: BCE+dice, Adam 1e-3
#: lowered along a cosine, 192x256 inputs, up to 40 epochs with patience 8 (for the cosine's tail).
TUNED = replace(
    ARTICLE,
    loss="bce_dice",
    learning_rate=1e-3,
    image_size=(192, 256),
    schedule="cosine",
    patience=8,
    epochs=40,
)
#: What ``bench real`` trains on synthetic cars: the quick U-Net with the first tuned recipe
#: (BCE+dice, patience 5, up to 30 epochs at 96x128), fixed so renderer versions stay comparable.
REALISM_RUN = replace(QUICK_RUN, loss="bce_dice", patience=5, epochs=30)
#: Every named run, for the benchmarks that time them.
PRESETS = {"article": ARTICLE, "quick": QUICK_RUN, "tuned": TUNED, "realism": REALISM_RUN}
#: The recipes ``train --recipe`` takes: each changes a profile's run where it differs from
#: :data:`ARTICLE`.
RECIPES = {name: PRESETS[name] for name in ("article", "tuned")}
#: What ``train`` uses unless told otherwise: the recipe chapter 7 and the real photos support.
DEFAULT_RECIPE = "tuned"


def recipe_changes(name: str) -> dict:
    """The values recipe ``name`` sets on top of a profile's run (``{}`` for the article's)."""
    recipe = RECIPES.get(name, ARTICLE)  # TrainConfig refuses an unknown name
    return {
        f.name: getattr(recipe, f.name)
        for f in fields(recipe)
        if getattr(recipe, f.name) != getattr(ARTICLE, f.name)
    }


@dataclass(frozen=True)
class Profile:
    """What a profile sets besides its run: how much data, which synthetic set."""

    name: str
    run: TrainConfig  # the run preset chapters and ``train`` start from
    max_images: int | None  # images kept before the split (whole cars); None = all
    synthetic_cars: int  # cars in the synthetic training set, and its test cars
    synthetic_test_cars: int
    synthetic_size: tuple[int, int] = FULL_SIZE


#: The article's run on its 1000 images.
FULL = Profile("full", ARTICLE, max_images=1000, synthetic_cars=64, synthetic_test_cars=4)
#: The quick run on every image of a small synthetic set; the same code path as FULL.
QUICK = Profile("quick", QUICK_RUN, max_images=None, synthetic_cars=24, synthetic_test_cars=2)
PROFILES = {p.name: p for p in (QUICK, FULL)}


def config_for(profile: Profile, model: str, recipe: str | None = None, **changes) -> TrainConfig:
    """The profile's run for ``model``, then the ``recipe``'s choices, then ``changes``."""
    chosen = {**recipe_changes(recipe), "recipe": recipe} if recipe else {}
    return replace(profile.run, **{"model": model, **chosen, **changes})


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
