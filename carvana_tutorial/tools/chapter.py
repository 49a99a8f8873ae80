"""Every chapter's first code cell, ``ctx = chapter.setup()``; ``chapter.show``; and
``chapter.trained``, the one way a chapter gets a trained model.  Introduced in chapter 1."""

import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import DEFAULT_RECIPE, Profile, TrainConfig, config_for, get_profile
from ..data import Pair, pair_files, split_by_car
from ..hardware import device_kind
from ..runs import TrainResult
from .locate import DataSource, find_data
from .reuse import runs_dir, train_or_reuse


@dataclass(frozen=True)
class Chapter:
    """What a chapter works with; ``train`` and ``val`` never share a car."""

    profile: Profile
    data: DataSource
    pairs: list[Pair]
    train: list[Pair]
    val: list[Pair]
    seed: int
    device: str


@dataclass(frozen=True)
class Source:
    """Package source as Markdown code blocks under their files' names (plain text elsewhere)."""

    parts: list[tuple[str, str]]  # (file relative to the repository, code)

    def _repr_markdown_(self) -> str:
        return "\n\n".join(f"`{path}`:\n\n```python\n{code}\n```" for path, code in self.parts)

    def __repr__(self) -> str:
        return "\n\n".join(f"# {path}\n{code}" for path, code in self.parts)


def show(*objects: object) -> Source:
    """Display the source of ``objects`` (functions, classes), read as the cell runs. Introduced in
    chapter 1."""
    root = Path(__file__).resolve().parents[2]  # the repository
    parts = []
    for obj in objects:
        path = Path(inspect.getsourcefile(obj)).resolve().relative_to(root)
        parts.append((path.as_posix(), inspect.getsource(obj).rstrip()))
    return Source(parts)


def show_figures_inline() -> None:
    """In a notebook, display a returned ``Figure`` as a PNG: :mod:`~carvana_tutorial.tools.viz`
    avoids ``pyplot``, and IPython renders other figures only once told to."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    if (shell := get_ipython()) is not None:
        select_figure_formats(shell, {"png"})


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and Keras, and make TensorFlow's ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def setup(
    seed: int = 42,
    profile: Profile | str | None = None,
    data: DataSource | str | os.PathLike | None = None,
) -> Chapter:
    """Seed, choose the profile, find (or make) the data, split it by car; print one line.  Cheap to
    call again: the data is found, not remade.  Introduced in chapter 1."""
    seed_everything(seed)
    show_figures_inline()
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    source = data if isinstance(data, DataSource) else find_data(data, profile=profile)
    pairs = pair_files(source.root)
    train, val = split_by_car(pairs, seed=seed, max_images=profile.max_images)
    ctx = Chapter(profile, source, pairs, train, val, seed, device_kind())
    print(f"Profile: {profile.name} ({ctx.device}) | data: {source.description}")  # no paths
    return ctx


def trained(
    ctx: Chapter,
    model: str | TrainConfig,
    name: str | None = None,
    *,
    train: Sequence[Pair] | None = None,
    **options,
) -> TrainResult:
    """The run of ``model`` on the chapter's split, read back from ``<runs>/<name>-<profile>``
    when that folder holds this very run, else trained there now: so chapter 5 reuses chapter 4's
    simple network and chapters 8 and 9 chapter 6's U-Net, whichever chapter runs first.

    ``model``: ``"simple"`` or ``"unet"`` at the profile's settings (``name`` defaults to it), or
    a whole :class:`~carvana_tutorial.config.TrainConfig`.  ``train``: the training pairs, if
    not all of ``ctx.train``.  ``options`` go to :func:`~carvana_tutorial.training.train`.
    Introduced in chapter 3."""
    config = (
        model if isinstance(model, TrainConfig) else config_for(ctx.profile, model, seed=ctx.seed)
    )
    out_dir = runs_dir() / f"{name or config.model}-{ctx.profile.name}"
    pairs = ctx.train if train is None else train
    return train_or_reuse(config, pairs, ctx.val, out_dir, **options)


def best_recipe(ctx: Chapter, model: str = "unet") -> TrainConfig:
    """The recipe ``train`` uses by default (chapter 7's), for the chapters after 7. On the quick
    profile at the profile's own input size, so that the book builds in minutes on a CPU: the
    recipe's larger input is what ``train`` and the full profile use. Chapter 8."""
    config = config_for(ctx.profile, model, recipe=DEFAULT_RECIPE, seed=ctx.seed)
    if ctx.profile.name == "quick":
        config = replace(config, image_size=ctx.profile.run.image_size)
    return config
