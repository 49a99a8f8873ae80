"""``carvana-tutorial train`` and ``evaluate`` end to end on a tiny set, and their one-line
errors."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from test_training import write_tiny_carvana

from carvana_tutorial.tools.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARVANA_CACHE", str(root / "cache"))
        yield write_tiny_carvana(root / "data", cars=3, views=3)


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "RUN"
    argv = [
        "train",
        str(data),
        "--model",
        "simple",
        "--profile",
        "quick",
        "--filters",
        "2",
        "--size",
        "64x96",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--seed",
        "5",
        "--depth",
        "2",
        "--out",
        str(out),
    ]
    return out, argv


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_writes_the_run_and_prints_its_metrics(run, capsys):
    out, argv = run
    assert main(argv) == 0
    printed = last_json(capsys.readouterr().out)
    saved = json.loads((out / "metrics.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == [
        ".carvana-run",
        "best.keras",
        "history.csv",
        "metrics.json",
    ]
    assert printed == saved["metrics"]
    config = saved["config"]
    assert (config["model"], config["filters"], config["batch_size"]) == ("simple", 2, 4)
    assert config["image_size"] == [64, 96]
    # The default recipe (tuned) sets the loss; the seed is the one given.
    assert config["loss"] == "bce_dice" and config["augment"] == "joint" and config["seed"] == 5
    assert config["depth"] == printed["depth"] == 2
    model = keras.models.load_model(out / "best.keras")
    assert sum(isinstance(layer, keras.layers.Conv2DTranspose) for layer in model.layers) == 2 * 2


def test_train_refuses_to_overwrite_a_finished_run(run, capsys):
    out, argv = run
    stamp = (out / "best.keras").stat().st_mtime_ns
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--overwrite" in err
    assert (out / "best.keras").stat().st_mtime_ns == stamp


def test_evaluate_scores_every_pair(run, data, capsys):
    from carvana_tutorial.data import pair_files
    from carvana_tutorial.inference import evaluate

    out, _ = run
    assert main(["evaluate", str(out / "best.keras"), str(data), "--worst", "2"]) == 0
    text = capsys.readouterr().out
    summary = last_json(text)
    dice = evaluate(out / "best.keras", pair_files(data))
    assert summary == {
        "images": 9,
        "dice_mean": round(float(dice.mean()), 6),
        "dice_min": round(float(dice.min()), 6),
    }
    assert "per-image dice: mean" in text
    worst = text.split("worst images:\n")[1].splitlines()[:2]
    assert worst[0].split()[-1] == f"{np.sort(dice)[0]:.4f}"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_evaluate_wrong_model_file(data, tmp_path, capsys):
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    assert main(["evaluate", str(junk), str(data)]) == 2
    assert "cannot load junk.keras" in one_line_error(capsys)
    assert main(["evaluate", str(tmp_path / "none.keras"), str(data)]) == 2
    assert "no model file" in one_line_error(capsys)


def test_evaluate_size_mismatch(run, data, capsys):
    out, _ = run
    assert main(["evaluate", str(out / "best.keras"), str(data), "--size", "96x128"]) == 2
    assert "trained at 64x96, not 96x128" in one_line_error(capsys)


def test_empty_folder(run, tmp_path, capsys):
    out, _ = run
    (tmp_path / "train_hq").mkdir()
    (tmp_path / "train_masks").mkdir()
    assert main(["evaluate", str(out / "best.keras"), str(tmp_path)]) == 2
    assert "is empty" in one_line_error(capsys)
    assert main(["train", str(tmp_path), "--model", "unet", "--out", str(tmp_path / "run")]) == 2
    assert "is empty" in one_line_error(capsys)
    assert not (tmp_path / "run").exists()


def test_bad_size_is_an_argument_error(data, tmp_path, capsys):
    assert (
        main(["train", str(data), "--model", "unet", "--size", "96by128", "--out", str(tmp_path)])
        == 2
    )
    assert "expected HxW" in capsys.readouterr().err


def test_depth_that_does_not_fit_the_size_is_a_one_line_error(data, tmp_path, capsys):
    argv = [
        "train",
        str(data),
        "--model",
        "unet",
        "--size",
        "64x96",
        "--depth",
        "6",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2
    assert "depth 6 does not fit 64x96" in one_line_error(capsys)
    assert not (tmp_path / "r").exists()


def test_recipe_tuned_records_its_values_and_patience_reaches_early_stopping(
    data, tmp_path, capsys, early_stopping_calls
):
    from carvana_tutorial.config import recipe_changes

    seen = early_stopping_calls
    out = tmp_path / "tuned"
    argv = [
        "train",
        str(data),
        "--model",
        "simple",
        "--profile",
        "quick",
        "--filters",
        "2",
        "--size",
        "64x96",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--depth",
        "2",
        "--recipe",
        "tuned",
        "--patience",
        "7",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "recipe tuned" in capsys.readouterr().out
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["recipe"] == "tuned"
    assert config["recipe_values"] == json.loads(json.dumps(recipe_changes("tuned")))
    # The recipe's choices, except where an option said otherwise (--epochs, --patience).
    assert (config["loss"], config["learning_rate"], config["augment"]) == (
        "bce_dice",
        1e-3,
        "joint",
    )
    assert (config["epochs"], config["patience"]) == (2, 7)
    assert seen == [{"patience": 7, "restore_best_weights": True}]


def test_train_defaults_to_the_tuned_recipe_and_pairs_seeds_on_one_split(data, tmp_path, capsys):
    from carvana_tutorial.config import DEFAULT_RECIPE, TUNED

    assert DEFAULT_RECIPE == "tuned"
    small = ["--filters", "2", "--size", "64x96", "--epochs", "1", "--batch", "4", "--depth", "2"]
    saved = {}
    for name, seeds in {"a": [], "b": ["--seed", "7"], "c": ["--split-seed", "1"]}.items():
        argv = ["train", str(data), "--model", "simple", "--profile", "quick", *small, *seeds]
        assert main([*argv, "--out", str(tmp_path / name)]) == 0
        saved[name] = json.loads((tmp_path / name / "metrics.json").read_text())["config"]
    assert "recipe tuned" in capsys.readouterr().out
    assert saved["a"]["recipe"] == "tuned"
    assert (saved["a"]["loss"], saved["a"]["patience"]) == (TUNED.loss, TUNED.patience)
    # --seed changes the weights and the shuffling, not which cars validate.
    assert saved["b"]["seed"] == 7 and saved["b"]["val_split"] == saved["a"]["val_split"]
    assert saved["c"]["seed"] == saved["a"]["seed"]
    assert saved["c"]["val_split"] != saved["a"]["val_split"]


def test_article_recipe_is_the_old_default(data):
    from dataclasses import replace

    from carvana_tutorial.config import FULL, QUICK, config_for

    for profile in (QUICK, FULL):
        for model in ("simple", "unet"):
            recipe = config_for(profile, model, recipe="article")
            assert recipe == replace(config_for(profile, model), recipe="article")
    plain = config_for(QUICK, "unet")
    assert (plain.loss, plain.patience, plain.recipe) == ("dice", 2, None)


def test_configs_without_a_recipe_save_as_before(data):
    from carvana_tutorial.config import TrainConfig
    from carvana_tutorial.data import pair_files
    from carvana_tutorial.runs import run_config

    pairs = pair_files(data)
    saved = run_config(TrainConfig("unet", (64, 96), filters=2), pairs[:2], pairs[2:])
    assert not {"recipe", "recipe_values"} & set(saved)


def test_unknown_names_are_one_line_errors():
    from carvana_tutorial.config import QUICK, TrainConfig, config_for
    from carvana_tutorial.errors import CarvanaError

    with pytest.raises(CarvanaError, match="unknown recipe 'magic': use one of article, tuned"):
        config_for(QUICK, "unet", recipe="magic")
    with pytest.raises(CarvanaError, match="unknown recipe"):
        TrainConfig(recipe="magic")


@pytest.mark.parametrize(
    ("variable", "device", "chosen"),
    [
        ("quick", "GPU", "quick"),
        ("full", "CPU", "full"),
        (None, "GPU", "full"),
        (None, "CPU", "quick"),
    ],
)
def test_train_picks_its_profile_like_the_chapters(
    data, tmp_path, monkeypatch, capsys, variable, device, chosen
):
    from carvana_tutorial import hardware

    if variable is None:
        monkeypatch.delenv("CARVANA_PROFILE", raising=False)
    else:
        monkeypatch.setenv("CARVANA_PROFILE", variable)
    monkeypatch.setattr(hardware, "device_kind", lambda: device)
    (tmp_path / "file").write_text("")
    # Refused after the profile is chosen and announced: --out is a file, so nothing trains.
    assert main(["train", str(data), "--model", "simple", "--out", str(tmp_path / "file")]) == 2
    assert f", profile {chosen}, recipe tuned:" in capsys.readouterr().out
