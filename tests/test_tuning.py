"""Chapter 7's sweep: the plan, the car choice, the cache key and the cache's behaviour."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

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
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("carvana")
    make_synthetic_set(root, cars=4, size=(64, 96), seed=5, test_cars=1, zips=False)
    return root, pair_files(root)


def test_plan_changes_one_thing_per_run():
    runs = tuning.QUICK_PLAN.runs()
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
    assert [r.name for r in TINY.runs() if r.group == "loss"] == ["loss=dice"]


def test_quick_plan_fits_the_quick_synthetic_set():
    from carvana_tutorial.config import QUICK

    assert tuning.QUICK_PLAN.cars_needed() <= QUICK.synthetic_cars
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
        "key_fields": fields,
        "val_dice": val_dice,
        "train_seconds": 1.0 + len(spec.name),
        "params": 10 * spec.config.filters,
        "epochs_run": 1,
    }
    if spec.group == "baseline" or spec.split == "random":
        entry["holdout_dice"] = val_dice - 0.1
    if spec.group == "baseline":
        entry["dice_definitions"] = {
            "batch_global": 0.9,
            "batch_global_hard": 0.85,
            "per_image": 0.8,
            "per_image_min": 0.5,
        }
    return entry


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by a deterministic stub that counts its calls."""
    calls = []

    def fake(spec, cars, out_dir, fields, reuse):
        calls.append(spec.name)
        return _fake_entry(spec, fields, 0.7 + 0.01 * len(calls))

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
    assert (first.trained, first.from_cache) == (5, 0) and len(fake_training) == 5
    stored = json.loads(cache.read_text())
    assert stored["sweep_version"] == tuning.SWEEP_VERSION and len(stored["runs"]) == 5

    again = tuning.run_sweep(pairs, **common, mode="cache")
    assert (again.trained, again.from_cache) == (0, 5) and len(fake_training) == 5
    assert again.entries == first.entries

    changed = replace(TINY, baseline=TINY.baseline.varied("baseline", "baseline", epochs=2))
    with pytest.raises(CarvanaError, match="5 of 5 runs are not in sweep.json"):
        tuning.run_sweep(pairs, **{**common, "plan": changed}, mode="cache")
    assert json.loads(cache.read_text()) == stored  # refusing changes nothing on disk

    forced = tuning.run_sweep(pairs, **common, mode="force")
    assert forced.trained == 5 and len(fake_training) == 10

    with pytest.raises(CarvanaError, match="unknown mode"):
        tuning.run_sweep(pairs, **common, mode="sometimes")


def test_a_damaged_cache_is_reported(dataset, tmp_path):
    root, pairs = dataset
    cache = tmp_path / "sweep.json"
    cache.write_text("{not json")
    with pytest.raises(CarvanaError, match="not a sweep cache"):
        tuning.run_sweep(pairs, root=root, description="d", cache=cache, plan=TINY, progress=None)


def test_effects_table_and_plot_come_from_the_entries(dataset, tmp_path, fake_training):
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
    effects = tuning.mistake_effects(result)
    base, leaky = result.by_name("baseline"), result.by_name("random split")
    assert effects["leak_optimism"] == pytest.approx(
        (leaky["val_dice"] - base["val_dice"]) - (leaky["holdout_dice"] - base["holdout_dice"])
    )
    assert effects["augment_gain"] == pytest.approx(
        base["val_dice"] - result.by_name("image-only augmentation")["val_dice"]
    )
    assert (effects["batch_global_dice"], effects["batch_global_hard_dice"]) == (0.9, 0.85)
    assert (effects["per_image_dice"], effects["per_image_min"]) == (0.8, 0.5)
    values = tuning.glue_values(result)  # TINY has no seed runs: the spread is nil
    assert (values["seed_low"], values["seed_high"], values["seed_spread"]) == (
        base["val_dice"],
        base["val_dice"],
        0,
    )
    seeded = replace(TINY, variations={"seed": (7,)})
    more = tuning.run_sweep(
        pairs,
        root=root,
        description="d",
        cache=tmp_path / "s.json",
        plan=seeded,
        out_dir=tmp_path / "runs",
        progress=None,
    )
    seed_dice = more.by_name("seed=7")["val_dice"]
    seeded_values = tuning.glue_values(more)
    assert (seeded_values["seed_low"], seeded_values["seed_high"]) == (
        min(base["val_dice"], seed_dice),
        max(base["val_dice"], seed_dice),
    )
    table = tuning.results_table(result).splitlines()
    assert len(table) == 2 + len(result.entries)
    assert table[2].startswith("| baseline | baseline |") and "+0.0000" in table[2]
    assert any(
        line.startswith("| loss | loss=dice | 0.7500 | +0.0400 |") for line in table
    )  # fifth run
    fig = viz.sweep_plot(result)
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == len(result.entries)
    assert values["dice_loss_dice"] == 0.75 and values["delta_loss_dice"] == pytest.approx(0.04)
    assert (
        values["base_seconds"] == base["train_seconds"]
        and values["params_baseline"] == base["params"]
    )
    assert (
        values["dice_image_only_augmentation"]
        == result.by_name("image-only augmentation")["val_dice"]
    )
    assert values["best_run"] == "loss=dice" and values["augment_gain"] == effects["augment_gain"]


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


def test_tune_command_fills_then_reuses_the_cache(
    dataset, tmp_path, monkeypatch, fake_training, capsys
):
    from carvana_tutorial.tools import cli

    root, _ = dataset
    monkeypatch.setitem(tuning.PLANS, "quick", TINY)
    cache = tmp_path / "sweep.json"
    argv = ["tune", "--profile", "quick", "--data", str(root), "--cache", str(cache)]
    assert cli.main(argv) == 0
    assert "5 runs trained, 0 read from the cache" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "0 runs trained, 5 read from the cache" in capsys.readouterr().out
    assert cli.main([*argv, "--force"]) == 0 and len(fake_training) == 10
