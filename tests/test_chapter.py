"""chapter.setup(): seeds, profile, data, split by car, one printed line."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from carvana_tutorial import config
from carvana_tutorial.config import QUICK
from carvana_tutorial.data import leaked_cars
from carvana_tutorial.synthetic import make_synthetic_set
from carvana_tutorial.tools import chapter, locate

TINY = replace(QUICK, synthetic_cars=3, synthetic_test_cars=1, synthetic_size=(64, 96))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "carvana"
    make_synthetic_set(root, cars=3, size=(64, 96), test_cars=1)
    return root


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real data to be found: the chapter must make the synthetic set."""
    for var in (config.ENV_DATA, "CARVANA_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(config.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(locate, "KAGGLE_INPUT", tmp_path / "no-kaggle")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_setup_prints_one_line_without_paths(tiny: Path, capsys: pytest.CaptureFixture) -> None:
    ctx = chapter.setup(profile=TINY, data=tiny)
    out = capsys.readouterr().out
    assert ctx.device in {"CPU", "GPU", "TPU"}
    data = "Carvana data from the folder given, 3 cars x 16 views, 64x96"
    assert out == f"Profile: quick ({ctx.device}) | data: {data}\n"


def test_setup_splits_by_car(tiny: Path) -> None:
    ctx = chapter.setup(profile=TINY, data=tiny)
    assert len(ctx.pairs) == 48
    assert sorted(ctx.train + ctx.val, key=lambda p: p.vid) == ctx.pairs
    assert leaked_cars(ctx.train, ctx.val) == []
    assert (len({p.car for p in ctx.train}), len({p.car for p in ctx.val})) == (2, 1)
    assert ctx.seed == 42 and ctx.profile is TINY and ctx.data.origin == "argument"


def test_setup_applies_the_profile_limit(tiny: Path) -> None:
    ctx = chapter.setup(profile=replace(TINY, max_images=40), data=tiny)
    assert len(ctx.train + ctx.val) == 32  # two whole cars fit in 40 images


def test_setup_seeds_numpy_and_keras(tiny: Path) -> None:
    import keras

    chapter.setup(seed=3, profile=TINY, data=tiny)
    first = (np.random.rand(), float(keras.random.uniform((), seed=None)))
    chapter.setup(seed=3, profile=TINY, data=tiny)
    again = (np.random.rand(), float(keras.random.uniform((), seed=None)))
    chapter.setup(seed=4, profile=TINY, data=tiny)
    other = np.random.rand()
    assert first == again
    assert other != first[0]


def test_profile_from_the_environment(tiny: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("CARVANA_PROFILE", "full")
    ctx = chapter.setup(data=tiny)
    assert ctx.profile.name == "full"
    assert capsys.readouterr().out.startswith(f"Profile: full ({ctx.device}) | ")


def test_setup_makes_the_synthetic_set_once(nowhere: Path, capsys: pytest.CaptureFixture) -> None:
    ctx = chapter.setup(profile=TINY)
    assert ctx.data.origin == "synthetic"
    assert ctx.data.root.is_relative_to(nowhere / "cache")
    expected = (
        f"Profile: quick ({ctx.device}) | data: synthetic Carvana, 3 cars x 16 views, 64x96\n"
    )
    assert capsys.readouterr().out == expected
    stamps = {p: p.stat().st_mtime_ns for p in ctx.data.root.rglob("*")}
    again = chapter.setup(profile=TINY)
    assert again.data == ctx.data and again.pairs == ctx.pairs
    assert {p: p.stat().st_mtime_ns for p in ctx.data.root.rglob("*")} == stamps


def test_figures_display_as_png_in_a_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    shell = InteractiveShell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    figure = Figure()
    figure.subplots().plot([0, 1])
    assert "image/png" not in shell.display_formatter.format(figure)[0]
    chapter.show_figures_inline()
    png = shell.display_formatter.format(figure)[0]["image/png"]
    assert (
        base64.b64decode(png).startswith(b"\x89PNG")
        if isinstance(png, str)
        else png.startswith(b"\x89PNG")
    )


def test_no_notebook_no_change(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    chapter.show_figures_inline()  # must not raise outside IPython


def test_the_device_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind: ["x"] if kind == "GPU" else []
    )
    assert chapter.device_kind() == "GPU"
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [])
    assert chapter.device_kind() == "CPU"


def test_show_displays_the_packages_source_under_its_file() -> None:
    import inspect

    from carvana_tutorial.metrics import dice_loss
    from carvana_tutorial.rle import rle_encode

    shown = chapter.show(rle_encode, dice_loss)
    markdown = shown._repr_markdown_()
    assert markdown.startswith("`carvana_tutorial/rle.py`:\n\n```python\ndef rle_encode(")
    assert inspect.getsource(rle_encode).rstrip() + "\n```" in markdown
    assert "`carvana_tutorial/metrics.py`:\n\n```python\n@serializable\ndef dice_loss(" in markdown
    assert repr(shown).startswith("# carvana_tutorial/rle.py\ndef rle_encode(")


def test_trained_finds_a_chapters_model_by_model_and_profile(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from carvana_tutorial.config import config_for
    from carvana_tutorial.tools import reuse

    monkeypatch.setenv(config.ENV_CACHE, str(tmp_path / "cache"))
    calls = []

    def train(config, train_pairs, val_pairs, out_dir, **options):  # a finished run is not needed
        calls.append((config, list(train_pairs), list(val_pairs), Path(out_dir), options))
        return len(calls)

    monkeypatch.setattr(reuse, "train", train)
    ctx = chapter.setup(profile=TINY, data=tiny)
    assert chapter.trained(ctx, "unet") == 1
    runs = tmp_path / "cache" / "runs"
    assert calls[0] == (
        config_for(TINY, "unet", seed=42),
        ctx.train,
        ctx.val,
        runs / "unet-quick",
        {},
    )
    first = config_for(TINY, "simple", filters=2)
    chapter.trained(ctx, first, "chapter03", train=ctx.train[:4], verbose=0)
    assert calls[1] == (first, ctx.train[:4], ctx.val, runs / "chapter03-quick", {"verbose": 0})
