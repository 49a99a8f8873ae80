"""Training on a tiny Carvana-shaped set: files written, the best checkpoint scored, strategies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

from carvana_tutorial import hardware, inference, training
from carvana_tutorial.config import QUICK, TrainConfig, config_for
from carvana_tutorial.data import pair_files, split_by_car
from carvana_tutorial.errors import CarvanaError, ModelError
from carvana_tutorial.tools import reuse

SIZE = (64, 96)  # divisible by 16: both networks fit
CONFIG = TrainConfig(
    model="simple", image_size=SIZE, filters=4, epochs=3, batch_size=4, learning_rate=3e-3, seed=1
)


def write_tiny_carvana(
    root: Path, cars: int = 3, views: int = 4, size=(128, 192), seed: int = 0
) -> Path:
    """A Carvana-layout folder: noisy studio photos with one ellipse 'car' each, GIF masks {0,1}."""
    rng = np.random.default_rng(seed)
    (root / "train_hq").mkdir(parents=True)
    (root / "train_masks").mkdir()
    h, w = size
    for c in range(cars):
        car = f"{c:04x}cafe{c:04x}"
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        for v in range(1, views + 1):
            box = [
                int(w * rng.uniform(0.1, 0.3)),
                int(h * rng.uniform(0.3, 0.45)),
                int(w * rng.uniform(0.7, 0.9)),
                int(h * rng.uniform(0.7, 0.85)),
            ]
            photo = Image.fromarray(rng.integers(150, 230, (h, w, 3), dtype=np.uint8))
            ImageDraw.Draw(photo).ellipse(box, fill=colour)
            photo.save(root / "train_hq" / f"{car}_{v:02d}.jpg", quality=90)
            mask = Image.new("P", (w, h), 0)
            mask.putpalette([0, 0, 0, 255, 255, 255])
            ImageDraw.Draw(mask).ellipse(box, fill=1)
            mask.save(root / "train_masks" / f"{car}_{v:02d}_mask.gif")
    return root


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("carvana")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "CARVANA_CACHE", str(root / "cache")
        )  # the pipeline caches decoded pairs there
        yield write_tiny_carvana(root / "data")


@pytest.fixture(scope="module")
def split(data):
    return split_by_car(pair_files(data), seed=0)


@pytest.fixture(scope="module")
def run(split, tmp_path_factory):
    train, val = split
    out = tmp_path_factory.mktemp("run")
    return training.train(CONFIG, train, val, out, verbose=0)


def test_run_writes_its_three_files(run):
    assert sorted(p.name for p in run.out_dir.iterdir()) == [
        "best.keras",
        "history.csv",
        "metrics.json",
    ]
    saved = json.loads((run.out_dir / "metrics.json").read_text())
    assert saved["metrics"] == run.metrics
    assert saved["config"]["model"] == "simple" and saved["config"]["image_size"] == list(SIZE)
    assert len(run.history["val_loss"]) == run.metrics["epochs_run"] <= 3
    assert {"loss", "val_loss", "dice_coef", "val_mean_dice"} <= set(run.history)


def test_val_dice_is_the_reloaded_best_checkpoint_scored_per_image(run, split):
    _, val = split
    dice = inference.evaluate(run.best_path, val, batch_size=3)
    assert dice.shape == (len(val),)
    assert run.metrics["val_dice"] == pytest.approx(float(dice.mean()), abs=1e-6)
    assert run.metrics["val_dice_min"] == pytest.approx(float(dice.min()), abs=1e-6)


def test_checkpoint_holds_the_best_epoch(run, split):
    from carvana_tutorial.pipeline import make_dataset

    _, val = split
    val_loss = run.history["val_loss"]
    assert run.metrics["best_epoch"] == int(np.argmin(val_loss)) + 1
    model = keras.models.load_model(run.best_path)
    loss = model.evaluate(make_dataset(val, SIZE, batch_size=4), verbose=0, return_dict=True)[
        "loss"
    ]
    assert loss == pytest.approx(min(val_loss), rel=1e-4)


def test_early_stopping_restores_best_weights(split, tmp_path, early_stopping_calls):
    seen = early_stopping_calls
    train, val = split
    training.train(
        TrainConfig("simple", SIZE, filters=2, epochs=1, batch_size=4),
        train[:4],
        val[:2],
        tmp_path,
        verbose=0,
    )
    assert seen == [dict(patience=2, restore_best_weights=True)]
    assert keras.callbacks.EarlyStopping().monitor == "val_loss"  # what the default watches


def test_reuse_reads_a_finished_run_back(run, split):
    train, val = split
    stamp = run.best_path.stat().st_mtime_ns
    again = reuse.train_or_reuse(CONFIG, train, val, run.out_dir, verbose=0)
    assert again.metrics == run.metrics and again.history == run.history
    assert run.best_path.stat().st_mtime_ns == stamp


def test_reuse_trains_again_when_the_configuration_or_the_files_differ(
    run, split, tmp_path, monkeypatch
):
    train, val = split
    calls = []
    monkeypatch.setattr(reuse, "train", lambda *args, **kwargs: calls.append(args))
    reuse.train_or_reuse(CONFIG, train, val, run.out_dir)
    assert calls == []
    reuse.train_or_reuse(TrainConfig(**{**CONFIG.__dict__, "epochs": 4}), train, val, run.out_dir)
    reuse.train_or_reuse(CONFIG, train[1:], val, run.out_dir)  # another split
    reuse.train_or_reuse(CONFIG, train, val, tmp_path / "empty")
    assert len(calls) == 3


def test_reuse_reads_back_a_run_of_a_recipe(split, tmp_path, monkeypatch):
    """A recipe's values hold tuples (its input size), which metrics.json stores as lists: the
    run must still be recognised, or every chapter after 7 trains its model again."""
    train, val = split
    config = config_for(QUICK, "simple", recipe="tuned", image_size=SIZE, filters=2, epochs=1)
    first = reuse.train_or_reuse(config, train[:4], val, tmp_path / "tuned", verbose=0)
    monkeypatch.setattr(reuse, "train", lambda *args, **kwargs: pytest.fail("trained again"))
    again = reuse.train_or_reuse(config, train[:4], val, tmp_path / "tuned")
    assert again.metrics == first.metrics and again.config["recipe"] == "tuned"


def test_config_from_a_profile_takes_its_run_and_the_changes():
    config = config_for(QUICK, "unet", seed=7, loss="bce_dice")
    assert config == replace(QUICK.run, model="unet", seed=7, loss="bce_dice")
    assert config_for(QUICK, "simple") == replace(QUICK.run, model="simple")


def test_unet_trains_with_bce_dice_and_same_seed_gives_same_run(split, tmp_path):
    train, val = split
    config = TrainConfig("unet", SIZE, filters=2, epochs=1, batch_size=4, loss="bce_dice", seed=3)
    a = training.train(config, train[:4], val, tmp_path / "a", verbose=0)
    b = training.train(config, train[:4], val, tmp_path / "b", verbose=0)
    assert a.config["train_images"] == 4
    assert 0 <= a.val_dice <= 1
    assert a.history == b.history


def test_cosine_schedule_lowers_the_rate_to_zero_at_the_cap(split, tmp_path):
    config = TrainConfig("simple", SIZE, filters=2, epochs=4, batch_size=4, learning_rate=1e-2)
    schedule = training.cosine_schedule(config).schedule
    rates = [schedule(epoch) for epoch in range(5)]
    assert rates[0] == pytest.approx(1e-2) and rates[2] == pytest.approx(5e-3)
    assert rates[4] == pytest.approx(0, abs=1e-12) and rates == sorted(rates, reverse=True)
    # Training with it: the optimizer's rate follows the schedule, epoch by epoch.
    train, val = split
    cosine = replace(config, schedule="cosine", epochs=2, patience=5)
    result = training.train(cosine, train[:4], val, tmp_path / "cosine", verbose=0)
    assert result.config["schedule"] == "cosine"
    assert result.history["learning_rate"] == pytest.approx([1e-2, 5e-3])
    with pytest.raises(CarvanaError, match="unknown schedule 'steps'"):
        replace(config, schedule="steps")


def count_layers(model: keras.Model, kind: type) -> int:
    return sum(isinstance(layer, kind) for layer in model.layers)


def test_depth_reaches_the_saved_model(run, split, tmp_path):
    train, val = split
    shallow = training.train(
        TrainConfig("unet", SIZE, filters=2, depth=2, epochs=1, batch_size=4),
        train[:4],
        val,
        tmp_path,
        verbose=0,
    )
    model = shallow.model()
    assert count_layers(model, keras.layers.MaxPooling2D) == 2
    assert count_layers(model, keras.layers.Conv2DTranspose) == 2
    assert shallow.config["depth"] == shallow.metrics["depth"] == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["depth"] == 2
    # No depth: the network's own default, recorded in the metrics but not in the configuration,
    # so runs trained before the option existed are still reused.
    assert "depth" not in run.config and run.metrics["depth"] == 3
    assert count_layers(run.model(), keras.layers.Conv2DTranspose) == 2 * 3


def test_bad_arguments_are_one_line_errors(split, tmp_path):
    train, val = split
    with pytest.raises(CarvanaError, match="unknown model"):
        TrainConfig("resnet")
    with pytest.raises(CarvanaError, match="unknown loss"):
        TrainConfig(loss="mse")
    with pytest.raises(CarvanaError, match="depth 6 does not fit 64x96"):
        TrainConfig(image_size=SIZE, depth=6)
    with pytest.raises(CarvanaError, match="at least 1"):
        TrainConfig(image_size=SIZE, depth=0)
    with pytest.raises(CarvanaError, match="both sides"):
        training.train(TrainConfig(), train, [], tmp_path / "run")
    assert not any(tmp_path.iterdir())  # nothing written


def test_load_model_refuses_what_is_not_a_keras_model(tmp_path):
    with pytest.raises(ModelError, match="no model file"):
        inference.load_model(tmp_path / "missing.keras")
    (tmp_path / "model.h5").write_bytes(b"x")
    with pytest.raises(ModelError, match="not a .keras file"):
        inference.load_model(tmp_path / "model.h5")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="cannot load junk.keras"):
        inference.load_model(tmp_path / "junk.keras")


def test_cpu_uses_float32_and_the_default_strategy(monkeypatch):
    import tensorflow as tf

    assert hardware.precision_policy() == "float32"
    assert hardware.choose_strategy().num_replicas_in_sync == 1
    assert not isinstance(hardware.choose_strategy(), tf.distribute.MirroredStrategy)
    before = keras.config.dtype_policy().name
    monkeypatch.setattr(hardware, "precision_policy", lambda: "mixed_float16")
    with hardware.scope():
        from carvana_tutorial.models import simple_unet

        model = simple_unet((16, 16, 3), filters=2, depth=1)
    assert keras.config.dtype_policy().name == before
    assert model.get_layer("down1_strided").compute_dtype == "float16"
    assert model.get_layer("mask").compute_dtype == "float32"  # sigmoid stays float32


def test_mirrored_strategy_over_two_logical_cpus(data, tmp_path):
    # Logical devices must be configured before TensorFlow initialises them: a fresh interpreter.
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        two = [tf.config.LogicalDeviceConfiguration()] * 2
        tf.config.set_logical_device_configuration(cpu, two)
        from carvana_tutorial import hardware, training
        from carvana_tutorial.config import TrainConfig
        from carvana_tutorial.data import pair_files, split_by_car
        strategy = hardware.choose_strategy("CPU")
        assert isinstance(strategy, tf.distribute.MirroredStrategy), type(strategy)
        hardware.choose_strategy = lambda device_type="GPU": strategy
        train, val = split_by_car(pair_files({str(data)!r}), seed=0)
        config = TrainConfig("simple", {SIZE}, filters=2, epochs=1, batch_size=4)
        result = training.train(config, train[:4], val[:2], {str(tmp_path)!r}, verbose=0)
        print(json.dumps(result.metrics))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    assert metrics["replicas"] == 2
    assert 0 <= metrics["val_dice"] <= 1
    assert (tmp_path / "best.keras").is_file()
