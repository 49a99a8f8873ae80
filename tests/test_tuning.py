"""Chapter 7's sweep: the plan, the car choice, the cache key and the cache's behaviour."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from carvana_tutorial import tuning
from carvana_tutorial.data import pair_files
from carvana_tutorial.errors import CarvanaError, DataError
from carvana_tutorial.synthetic import make_dataset

TINY = tuning.SweepPlan(
    profile="tiny",
    baseline=tuning.RunSpec(
        name="baseline", group="baseline", filters=4, depth=4, image_size=(32, 48), train_cars=2,
        loss="bce_dice", epsilon=1e-6, epochs=1, batch_size=8, learning_rate=1e-3,
    ),
    val_cars=1,
    holdout_cars=1,
    variations={"loss": ("dice", "bce_dice")},
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("carvana")
    make_dataset(root, cars=4, size=(64, 96), seed=5, test_cars=1, zips=False)
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
    assert {r.name for r in runs if r.group == "mistake"} == {
        "image-only augmentation", "random split", "nearest resize"}
    # A variation equal to the baseline's value is not run twice.
    assert [r.name for r in TINY.runs() if r.group == "loss"] == ["loss=dice"]


def test_quick_plan_fits_the_quick_synthetic_set():
    from carvana_tutorial.settings import QUICK

    assert tuning.QUICK_PLAN.cars_needed() <= QUICK.synthetic_cars
    for run in tuning.QUICK_PLAN.runs():
        height, width = run.image_size
        assert height % 2**run.depth == 0 and width % 2**run.depth == 0


def test_cars_are_disjoint_and_seeded(dataset):
    _, pairs = dataset
    cars = tuning.choose_cars(pairs, TINY)
    groups = [{p.car for p in cars.holdout}, {p.car for p in cars.val}, {p.car for p in cars.train(2)}]
    assert [len(g) for g in groups] == [1, 1, 2]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert tuning.choose_cars(pairs, TINY) == cars
    other = tuning.choose_cars(pairs, TINY, seed=7)
    assert [p.car for p in other.holdout + other.val] != [p.car for p in cars.holdout + cars.val] or \
        [c[0].car for c in other.pool] != [c[0].car for c in cars.pool]
    with pytest.raises(DataError, match="needs 5 cars"):
        tuning.choose_cars(pairs, replace(TINY, holdout_cars=2))


def test_key_depends_on_settings_data_versions_and_sweep_version(monkeypatch):
    spec, versions = TINY.baseline, {"keras": "3.15", "tensorflow": "2.21"}
    key, fields = tuning.run_key(spec, "data", versions)
    assert fields["run"] == spec.settings() and fields["data"] == "data"
    assert tuning.run_key(replace(spec, name="renamed"), "data", versions)[0] == key
    assert tuning.run_key(replace(spec, epsilon=1e-4), "data", versions)[0] != key
    assert tuning.run_key(spec, "other data", versions)[0] != key
    assert tuning.run_key(spec, "data", {**versions, "keras": "3.16"})[0] != key
    monkeypatch.setattr(tuning, "SWEEP_VERSION", tuning.SWEEP_VERSION + 1)
    assert tuning.run_key(spec, "data", versions)[0] != key


def test_fingerprint_follows_the_masks(dataset, tmp_path):
    root, pairs = dataset
    first = tuning.data_fingerprint(root, pairs, "synthetic")
    assert first == tuning.data_fingerprint(root, pairs, "synthetic")
    assert first != tuning.data_fingerprint(root, pairs, "real")
    assert first != tuning.data_fingerprint(root, pairs[:-1], "synthetic")
    copy = tmp_path / "copy"
    copy.mkdir()
    lines = (root / "train_masks.csv").read_text().splitlines()
    name, rle = lines[1].split(",")
    lines[1] = f"{name},{rle} {int(rle.split()[-2]) + int(rle.split()[-1]) + 5} 1"
    (copy / "train_masks.csv").write_text("\n".join(lines) + "\n")
    assert tuning.data_fingerprint(copy, pairs, "synthetic") != first


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by a deterministic stub that counts its calls."""
    calls = []

    def fake(spec, cars, out_dir, fields, reuse):
        calls.append(spec.name)
        return {"name": spec.name, "group": spec.group, "key_fields": fields, "val_dice": 0.5,
                "train_seconds": 1.0, "params": 10, "epochs_run": 1}

    monkeypatch.setattr(tuning, "_train_run", fake)
    return calls


def test_cache_is_reused_refused_or_refreshed(dataset, tmp_path, fake_training):
    root, pairs = dataset
    cache = tmp_path / "sweep.json"
    common = dict(root=root, description="synthetic", cache=cache, plan=TINY, out_dir=tmp_path / "runs",
                  progress=None)
    first = tuning.run_sweep(pairs, **common)
    assert (first.trained, first.from_cache) == (5, 0) and len(fake_training) == 5
    stored = json.loads(cache.read_text())
    assert stored["sweep_version"] == tuning.SWEEP_VERSION and len(stored["runs"]) == 5

    again = tuning.run_sweep(pairs, **common, mode="cache")
    assert (again.trained, again.from_cache) == (0, 5) and len(fake_training) == 5
    assert again.entries == first.entries

    changed = replace(TINY, baseline=replace(TINY.baseline, epochs=2))
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


@pytest.fixture(scope="module")
def real_sweep(dataset, tmp_path_factory):
    """The tiny plan trained for real (one epoch each), so the numbers have meaning."""
    root, pairs = dataset
    out = tmp_path_factory.mktemp("sweep")
    plan = replace(TINY, variations={})
    return tuning.run_sweep(pairs, root=root, description="synthetic", cache=out / "sweep.json", plan=plan,
                            out_dir=out / "runs", progress=None)


def test_a_real_sweep_reports_every_effect(real_sweep):
    assert [e["name"] for e in real_sweep.entries] == [
        "baseline", "image-only augmentation", "random split", "nearest resize"]
    effects = tuning.mistake_effects(real_sweep)
    assert all(np.isfinite(v) for v in effects.values())
    assert all(0 <= effects[k] <= 1 for k in ("baseline_dice", "leaky_val_dice", "per_image_dice",
                                                "batch_global_dice", "per_image_min"))
    assert effects["per_image_min"] <= effects["per_image_dice"]
    assert effects["leak_optimism"] == pytest.approx(effects["leaky_val_dice"] - effects["leaky_holdout_dice"])
    base = real_sweep.by_name("baseline")
    random_run = real_sweep.by_name("random split")
    assert random_run["train_images"] == base["train_images"] and random_run["val_images"] == base["val_images"]


def test_table_and_plot_show_every_run(real_sweep):
    table = tuning.results_table(real_sweep).splitlines()
    assert len(table) == 2 + len(real_sweep.entries)
    assert "| baseline | baseline |" in table[2] and "+0.0000" in table[2]
    fig = tuning.plot_sweep(real_sweep)
    points = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert points == len(real_sweep.entries)
