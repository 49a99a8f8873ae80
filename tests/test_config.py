"""The configuration model: one TrainConfig, named presets, profiles that point at them, and
each default typed in one module only."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from carvana_tutorial import config
from carvana_tutorial.config import (
    ARTICLE,
    DEFAULT_RECIPE,
    FULL,
    QUICK,
    QUICK_RUN,
    RECIPES,
    TUNED,
    TrainConfig,
    config_for,
    recipe_changes,
)
from carvana_tutorial.errors import CarvanaError

PACKAGE = Path(__file__).resolve().parent.parent / "carvana_tutorial"
#: Each default, and the one module that may type it.
DEFAULTS = {
    1e-4: "config.py",  # the article's learning rate
    1e-3: "config.py",  # the quick run's and the tuned recipe's
    1e-6: "config.py",  # Adam's epsilon
    (96, 128): "config.py",  # IMAGE_SIZE
    (1280, 1918): "layout.py",  # FULL_SIZE, a real photo's size
    ".carvana-run": "outputs.py",  # a run folder's files
    "best.keras": "outputs.py",
    "history.csv": "outputs.py",
    "metrics.json": "outputs.py",
}


def literals(source: str) -> set:
    """The floats, strings and tuples of numbers ``source`` types; the values a sweep tries
    (``variations=``) are not defaults, and stay out."""
    found, skip = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "variations":
            skip |= {id(n) for n in ast.walk(node.value)}
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, float | str):
            found.add(node.value)
        elif isinstance(node, ast.Tuple) and all(
            isinstance(e, ast.Constant) and type(e.value) is int for e in node.elts
        ):
            found.add(tuple(e.value for e in node.elts))
    return found


def test_each_default_is_typed_in_one_module():
    # synthetic/ is left out: its numeric guards (1e-6 against a division by zero) are not settings.
    modules = [p for p in PACKAGE.rglob("*.py") if "synthetic" not in p.parts]
    typed = {path: literals(path.read_text()) for path in modules}
    for value, home in DEFAULTS.items():
        where = sorted(
            p.relative_to(PACKAGE).as_posix() for p, found in typed.items() if value in found
        )
        assert where == [home], f"{value!r} is typed in {where}, not only in {home}"


def test_the_literal_finder_sees_numbers_names_and_sizes_but_not_a_sweeps_values():
    source = 'A = 1e-4\nB = (1280, 1918)\nC = "best.keras"\nplan(variations={"epsilon": (1e-6,)})'
    assert {1e-4, (1280, 1918), "best.keras"} <= literals(source)
    assert 1e-6 not in literals(source) and "epsilon" not in literals(source)


def test_profiles_point_at_the_presets_and_the_article_is_the_default():
    assert ARTICLE == TrainConfig() and FULL.run is ARTICLE and QUICK.run is QUICK_RUN
    assert set(RECIPES) == {"article", "tuned"} and RECIPES["tuned"] is TUNED
    assert recipe_changes("article") == {}
    # What chapter 7 and the real photos support: train's default, on top of any profile's run.
    assert recipe_changes("tuned") == {
        "epochs": 40,
        "loss": "bce_dice",
        "learning_rate": TUNED.learning_rate,
        "image_size": (192, 256),
        "schedule": "cosine",
        "patience": 8,
    }
    assert DEFAULT_RECIPE == "tuned"


def test_config_for_layers_profile_recipe_and_changes():
    tuned = config_for(QUICK, "simple", recipe="tuned", patience=9)
    assert tuned == replace(
        QUICK_RUN, model="simple", recipe="tuned", **{**recipe_changes("tuned"), "patience": 9}
    )
    assert (tuned.filters, tuned.batch_size) == (QUICK_RUN.filters, QUICK_RUN.batch_size)
    assert config_for(FULL, "unet") == ARTICLE


def test_every_loss_name_has_a_function():
    from carvana_tutorial.training import LOSSES

    assert tuple(LOSSES) == config.LOSS_NAMES


def test_a_preset_stays_checked():
    with pytest.raises(CarvanaError, match="unknown recipe 'magic': use one of article, tuned"):
        replace(ARTICLE, recipe="magic")
    with pytest.raises(CarvanaError, match="depth 6 does not fit 96x128"):
        config_for(QUICK, "unet", depth=6)
