"""Chapter 7's sweep: the plan, the car choice, the cache key and the cache's behaviour."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from carvana_tutorial import submission
from carvana_tutorial.config import QUICK_RUN
from carvana_tutorial.data import pair_files
from carvana_tutorial.errors import CarvanaError, DataError
from carvana_tutorial.synthetic import SYNTHETIC_MARKER, make_synthetic_set
from carvana_tutorial.tools import tuning, viz

TINY = tuning.SweepPlan(
    profile="tiny",
    baseline=tuning.RunSpec(
        replace(
            QUICK_RUN,
            filters=4,
            depth=4,
            image_size=(32, 48),
            loss="bce_dice",
            epochs=1,
            batch_size=8,
        ),
        train_cars=2,
    ),
    val_cars=1,
    holdout_cars=1,
    variations={"loss": ("dice", "bce_dice")},
    seeds=(0, 1),
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("carvana")
    make_synthetic_set(root, cars=4, size=(64, 96), seed=5, test_cars=1, zips=False)
    return root, pair_files(root)


@pytest.mark.parametrize("plan", list(tuning.PLANS.values()), ids=list(tuning.PLANS))
def test_every_setting_is_run_from_the_same_seeds(plan):
    runs, settings = plan.runs(), plan.settings()
    assert len(plan.seeds) >= 3 and len(runs) == len(plan.seeds) * len(settings)
    for seed in plan.seeds:  # paired: each seed trains every setting, and nothing else changes
        seeded = [r for r in runs if r.config.seed == seed]
        assert [r.name for r in seeded] == [s.name for s in settings]
        for run, setting in zip(seeded, settings, strict=True):
            assert run.settings() == {**setting.settings(), "seed": seed}
    # An interrupted sweep has whole seeds: the first seed's runs come first.
    assert {r.config.seed for r in runs[: len(settings)]} == {plan.seeds[0]}
    # Early stopping, with a cap the runs are not meant to reach.
    assert plan.baseline.config.epochs >= 8 * plan.baseline.config.patience


def test_plan_changes_one_thing_per_run():
    runs = tuning.QUICK_PLAN.settings()
    base = runs[0]
    assert base.name == "baseline"
    assert len({r.name for r in runs}) == len(runs)
    settings = base.settings()
    for run in runs[1:]:
        changed = {k for k, v in run.settings().items() if v != settings[k]}
        assert len(changed) == 1, (run.name, changed)
        if run.group != "mistake":
            assert changed == {run.group}
    depths = {r.config.depth for r in runs if r.group == "depth"}
    assert depths - {base.config.depth}  # the issue asks for depth to vary
    assert {r.name for r in runs if r.group == "mistake"} == {
        "image-only augmentation",
        "random split",
        "nearest resize",
    }
    # A variation equal to the baseline's value is not run twice.
    assert [r.name for r in TINY.settings() if r.group == "loss"] == ["loss=dice"]


def test_quick_plan_fits_the_quick_synthetic_set_and_the_real_plan_18_cars():
    from carvana_tutorial.config import QUICK

    assert tuning.QUICK_PLAN.cars_needed() <= QUICK.synthetic_cars
    assert tuning.REAL_PLAN.cars_needed() <= 18
    # The same study: the real plan's baseline is the quick plan's network and recipe.
    assert tuning.REAL_PLAN.baseline.config == tuning.QUICK_PLAN.baseline.config
    for run in tuning.QUICK_PLAN.runs():
        height, width = run.config.image_size
        assert height % 2**run.config.depth == 0 and width % 2**run.config.depth == 0


def test_cars_are_disjoint_and_seeded(dataset):
    _, pairs = dataset
    cars = tuning.choose_cars(pairs, TINY)
    groups = [
        {p.car for p in cars.holdout},
        {p.car for p in cars.val},
        {p.car for p in cars.train(2)},
    ]
    assert [len(g) for g in groups] == [1, 1, 2]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert tuning.choose_cars(pairs, TINY) == cars
    other = tuning.choose_cars(pairs, TINY, seed=7)
    assert [p.car for p in other.holdout + other.val] != [
        p.car for p in cars.holdout + cars.val
    ] or [c[0].car for c in other.pool] != [c[0].car for c in cars.pool]
    with pytest.raises(DataError, match="needs 5 cars"):
        tuning.choose_cars(pairs, replace(TINY, holdout_cars=2))


def test_key_depends_on_settings_data_versions_and_sweep_version(monkeypatch):
    spec, versions = TINY.baseline, {"keras": "3.15", "tensorflow": "2.21"}
    key, fields = tuning.run_key(spec, "data", versions)
    assert fields["run"] == spec.settings() and fields["data"] == "data"
    assert tuning.run_key(replace(spec, name="renamed"), "data", versions)[0] == key
    for change in ({"epsilon": 1e-4}, {"patience": 3}, {"train_cars": 3}, {"split": "random"}):
        assert (
            tuning.run_key(spec.varied("baseline", "baseline", **change), "data", versions)[0]
            != key
        )
    assert tuning.run_key(spec, "other data", versions)[0] != key
    assert tuning.run_key(spec, "data", {**versions, "keras": "3.16"})[0] != key
    monkeypatch.setattr(tuning, "SWEEP_VERSION", tuning.SWEEP_VERSION + 1)
    assert tuning.run_key(spec, "data", versions)[0] != key


def test_fingerprint_follows_the_data_not_its_bytes(dataset, tmp_path):
    root, pairs = dataset
    first = tuning.data_fingerprint(root, pairs, "synthetic")
    assert first == tuning.data_fingerprint(root, pairs, "synthetic")
    assert first != tuning.data_fingerprint(root, pairs, "real")
    assert first != tuning.data_fingerprint(root, pairs[:-1], "synthetic")
    copy = tmp_path / "copy"
    copy.mkdir()
    marker = json.loads((root / SYNTHETIC_MARKER).read_text())
    (copy / SYNTHETIC_MARKER).write_text(
        json.dumps({**marker, "foreground": 0.5})
    )  # a measured float: ignored
    assert tuning.data_fingerprint(copy, pairs, "synthetic") == first
    (copy / SYNTHETIC_MARKER).write_text(json.dumps({**marker, "version": marker["version"] + 1}))
    assert tuning.data_fingerprint(copy, pairs, "synthetic") != first


def test_the_leaky_split_reuses_the_baselines_images(dataset):
    _, pairs = dataset
    cars = tuning.choose_cars(pairs, TINY)
    base_train, base_val = tuning.split_for(TINY.baseline, cars)
    leaky_train, leaky_val = tuning.split_for(replace(TINY.baseline, split="random"), cars)
    assert {p.car for p in base_train}.isdisjoint({p.car for p in base_val})
    assert sorted(p.vid for p in base_train + base_val) == sorted(
        p.vid for p in leaky_train + leaky_val
    )
    assert (len(leaky_train), len(leaky_val)) == (len(base_train), len(base_val))
    assert {p.car for p in leaky_train} & {p.car for p in leaky_val}  # the leak itself


def _fake_entry(spec, fields, val_dice):
    entry = {
        "name": spec.name,
        "group": spec.group,
        "seed": spec.config.seed,
        "key_fields": fields,
        "val_dice": val_dice,
        "full_dice": val_dice - 0.01,
        "train_seconds": 1.0 + len(spec.name),
        "params": 10 * spec.config.filters,
        "epochs_run": 3 + spec.config.seed,
    }
    if spec.group == "baseline" or spec.split == "random":
        entry["holdout_dice"] = val_dice - 0.1
    if spec.group == "baseline":
        entry["dice_definitions"] = {
            "batch_global": 0.9,
            "batch_global_hard": 0.85,
            "per_image": val_dice,
            "per_image_min": 0.5,
        }
    return entry


#: What the stub scores each setting, per seed: dice alone is 0.060 and 0.061 better (shown, even
#: from two seeds), the image-only augmentation's changes have both signs.
FAKE = {
    "baseline": (0.80, 0.82),
    "image-only augmentation": (0.81, 0.80),
    "random split": (0.85, 0.86),
    "nearest resize": (0.79, 0.82),
    "loss=dice": (0.86, 0.881),
    "filters=2": (0.70, 0.71),
}


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by a deterministic stub that counts its calls."""
    calls = []

    def fake(spec, cars, out_dir, fields, reuse):
        calls.append(spec.name)
        return _fake_entry(spec, fields, FAKE[spec.name][TINY.seeds.index(spec.config.seed)])

    monkeypatch.setattr(tuning, "_train_run", fake)
    return calls


def test_cache_is_reused_refused_or_refreshed(dataset, tmp_path, fake_training):
    root, pairs = dataset
    cache = tmp_path / "sweep.json"
    common = dict(
        root=root,
        description="synthetic",
        cache=cache,
        plan=TINY,
        out_dir=tmp_path / "runs",
        progress=None,
    )
    first = tuning.run_sweep(pairs, **common)
    assert (first.trained, first.from_cache) == (10, 0) and len(fake_training) == 10
    stored = json.loads(cache.read_text())
    assert stored["sweep_version"] == tuning.SWEEP_VERSION and len(stored["runs"]) == 10
    cars = tuning.choose_cars(pairs, TINY)
    assert stored["cars"]["val"] == sorted({p.car for p in cars.val})  # ids, never pixels

    again = tuning.run_sweep(pairs, **common, mode="cache")
    assert (again.trained, again.from_cache) == (0, 10) and len(fake_training) == 10
    assert again.entries == first.entries
    assert tuning.read_sweep(cache, TINY).entries == first.entries  # without the data

    changed = replace(TINY, baseline=TINY.baseline.varied("baseline", "baseline", epochs=2))
    with pytest.raises(CarvanaError, match="10 of 10 runs are not in sweep.json"):
        tuning.run_sweep(pairs, **{**common, "plan": changed}, mode="cache")
    with pytest.raises(CarvanaError, match="no run 'baseline' \\(seed 0\\)"):
        tuning.read_sweep(cache, changed)
    assert json.loads(cache.read_text()) == stored  # refusing changes nothing on disk

    forced = tuning.run_sweep(pairs, **common, mode="force")
    assert forced.trained == 10 and len(fake_training) == 20

    with pytest.raises(CarvanaError, match="unknown mode"):
        tuning.run_sweep(pairs, **common, mode="sometimes")


def test_a_damaged_cache_is_reported(dataset, tmp_path):
    root, pairs = dataset
    cache = tmp_path / "sweep.json"
    cache.write_text("{not json")
    with pytest.raises(CarvanaError, match="not a sweep cache"):
        tuning.run_sweep(pairs, root=root, description="d", cache=cache, plan=TINY, progress=None)
    with pytest.raises(CarvanaError, match="not a sweep cache"):
        tuning.read_sweep(cache, TINY)


def test_effects_table_and_plot_come_from_the_paired_seeds(dataset, tmp_path, fake_training):
    root, pairs = dataset
    result = tuning.run_sweep(
        pairs,
        root=root,
        description="d",
        cache=tmp_path / "s.json",
        plan=TINY,
        out_dir=tmp_path / "runs",
        progress=None,
    )
    assert result.scores("loss=dice", "val_dice") == list(FAKE["loss=dice"])
    found = tuning.effects(result)
    assert found["loss=dice"].differences == pytest.approx((0.06, 0.061))
    assert found["loss=dice"].verdict == "shown: higher"
    assert found["image-only augmentation"].verdict == "not shown"
    # The leak: the random split's validation gain minus its gain on held-out cars, per seed.
    assert found["random split"].differences == pytest.approx((0.0, 0.0))
    assert found["batch dice"].differences == pytest.approx((0.1, 0.08))

    values = tuning.glue_values(result)
    assert values["delta_loss_dice"] == pytest.approx(0.0605)
    assert values["verdict_loss_dice"] == "shown: higher"
    assert values["verdict_image_only_augmentation"] == "not shown"
    assert values["full_baseline"] == pytest.approx(0.80)  # 0.79 and 0.81
    assert values["epochs_baseline"] == 3.5 and values["max_epochs_baseline"] == 4
    assert values["seeds"] == 2 and values["per_image"] == pytest.approx(0.81)
    assert tuning.glue_values(result, prefix="real_")["real_delta_loss_dice"] == pytest.approx(
        0.0605
    )

    table = tuning.results_table(result).splitlines()
    assert len(table) == 2 + len(result.names()) + 1  # and the batch dice's row
    assert table[2].startswith("| baseline | 0.8100 | 0.8000 |  |  | 3.5 |")
    assert table[-2].startswith("| loss=dice | 0.8705 | 0.8605 | +0.0605 [")
    assert table[-2].endswith("| shown: higher | 3.5 | 10 |")
    assert table[-1].startswith("| batch dice (a score) |  |  | +0.0900 [")

    # Side by side with a study that ran fewer knobs, and one that ran a knob of its own.
    fewer = tuning.read_sweep(tmp_path / "s.json", replace(TINY, variations={}))
    rows = tuning.comparison_table(result, fewer).splitlines()
    assert rows[2] == "| baseline |  |  | 0.8000 |  |  |"
    assert rows[-2].startswith("| loss=dice | +0.0605 [") and rows[-2].endswith("| not run |  |  |")
    other = replace(TINY, variations={"filters": (2,)})
    common = dict(root=root, description="d", out_dir=tmp_path / "runs", progress=None)
    extra = tuning.run_sweep(pairs, cache=tmp_path / "o.json", plan=other, **common)
    rows = tuning.comparison_table(result, extra).splitlines()
    assert rows[-2].startswith("| filters=2 | not run |  | 0.6950 | -0.1050 [")
    assert rows[-1].startswith("| batch dice (a score) | +0.0900 [")

    fig = viz.sweep_plot(result)
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == len(result.names())
    assert len(fig.axes[0].lines) == len(result.names())  # one bar per setting, lowest to highest


def test_one_real_run_scores_its_checkpoint_consistently(dataset, tmp_path):
    """The baseline trained for real (one epoch, at a depth other than the U-Net's default of 4):
    its dice
    definitions use the same predictions, and the depth reaches the saved network."""
    import keras

    _, pairs = dataset
    cars = tuning.choose_cars(pairs, TINY)
    spec = TINY.baseline.varied("baseline", "baseline", depth=2)
    _, fields = tuning.run_key(spec, "d", {})
    entry = tuning._train_run(spec, cars, tmp_path / "run", fields, reuse=False)
    model = keras.models.load_model(tmp_path / "run" / "best.keras")
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 2
    assert entry["train_images"] == 32 and entry["val_images"] == 16
    assert 0 <= entry["val_dice"] <= 1 and 0 <= entry["holdout_dice"] <= 1
    definitions = entry["dice_definitions"]
    assert definitions["per_image"] == pytest.approx(entry["val_dice"], abs=1e-6)
    assert definitions["per_image_min"] <= definitions["per_image"]
    assert 0 <= definitions["batch_global"] <= 1 and 0 <= definitions["batch_global_hard"] <= 1
    assert (tmp_path / "run" / "best.keras").is_file()
    # Scored where users are: the enlarged probabilities against the mask at its own size.
    full = submission.full_size_dice(model, cars.val, batch_size=spec.config.batch_size)
    assert entry["full_dice"] == pytest.approx(float(full.mean()))
    assert entry["seed"] == spec.config.seed


def test_tune_command_fills_then_reuses_the_cache(
    dataset, tmp_path, monkeypatch, fake_training, capsys
):
    from carvana_tutorial.tools import cli

    root, _ = dataset
    monkeypatch.setitem(tuning.PLANS, "quick", TINY)
    cache = tmp_path / "sweep.json"
    argv = ["tune", "--profile", "quick", "--data", str(root), "--cache", str(cache)]
    assert cli.main(argv) == 0
    assert "10 runs trained, 0 read from the cache" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "0 runs trained, 10 read from the cache" in capsys.readouterr().out
    assert cli.main([*argv, "--force"]) == 0 and len(fake_training) == 20


def test_tune_runs_the_real_plan_on_data_that_is_not_the_synthetic_set(
    dataset, tmp_path, monkeypatch, fake_training, capsys
):
    import shutil

    from carvana_tutorial.tools import cli

    root, _ = dataset
    real = tmp_path / "real"
    shutil.copytree(root, real, ignore=shutil.ignore_patterns(SYNTHETIC_MARKER))
    monkeypatch.setitem(tuning.PLANS, "real", replace(TINY, profile="real"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["tune", "--profile", "quick", "--data", str(real)]) == 0
    out = capsys.readouterr().out
    assert "plan real on" in out and "10 runs trained" in out
    stored = json.loads((tmp_path / "book" / "results" / "sweep-real.json").read_text())
    assert stored["plan"] == "real" and len(stored["runs"]) == 10
