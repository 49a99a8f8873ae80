"""Chapter 7's one-factor-at-a-time sweep and the article's mistakes, each run against the baseline
on the same seeded cars; results cached under a key of :data:`SWEEP_VERSION`, the run's settings,
the data and the library versions. Introduced in chapter 7."""

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..config import ARTICLE, IMAGE_SIZE, QUICK_RUN, TUNED, TrainConfig
from ..data import Pair, group_by_car, random_split
from ..errors import CarvanaError, DataError
from ..inference import evaluate, load_model, predict
from ..metrics import dice_definitions
from ..outputs import write_atomic
from ..synthetic import read_marker
from ..training import train
from .reuse import runs_dir, train_or_reuse

#: Bump when training, pipeline or model code changes in a way that changes results, or when what
#: a key hashes changes shape (2: a run's whole TrainConfig, model and patience included).
SWEEP_VERSION = 2
#: The knobs that are the sweep's own data choices; every other knob is a TrainConfig field.
DATA_KNOBS = ("train_cars", "split")
#: The article's mistakes, each run as a change to the baseline.
MISTAKES = {
    "image-only augmentation": {"augment": "image_only"},
    "random split": {"split": "random"},
    "nearest resize": {"resize": "nearest"},
}


@dataclass(frozen=True)
class RunSpec:
    """One run of the sweep: its configuration and the data it trains on; a baseline by default."""

    config: TrainConfig
    train_cars: int
    split: str = "car"  # "car" (ours) or "random" (the article's leaky split)
    name: str = "baseline"
    group: str = "baseline"

    def varied(self, name: str, group: str, **changes) -> "RunSpec":
        """This run under another name, with ``changes`` to its data or its configuration."""
        data = {k: changes.pop(k) for k in DATA_KNOBS if k in changes}
        config = replace(self.config, **changes)
        return replace(self, name=name, group=group, config=config, **data)

    def settings(self) -> dict:
        """What changes results (the display name and group do not)."""
        config = {**asdict(self.config), "image_size": list(self.config.image_size)}
        return {**config, "train_cars": self.train_cars, "split": self.split}


def _label(knob: str, value) -> str:
    """A run's name (``size=32x48``, ``epsilon=1e-07``); chapter 7's glue keys derive from it."""
    short = {"image_size": "size", "train_cars": "cars"}.get(knob, knob)
    if isinstance(value, tuple):
        value = "x".join(map(str, value))
    elif isinstance(value, float):
        value = f"{value:g}"
    return f"{short}={value}"


@dataclass(frozen=True)
class SweepPlan:
    """A baseline, the values to try for each knob, and the held-back cars."""

    profile: str
    baseline: RunSpec
    val_cars: int
    holdout_cars: int
    variations: dict[str, tuple] = field(default_factory=dict)

    def runs(self) -> list[RunSpec]:
        """Baseline, mistakes, then variations cheapest first: an interrupted sweep did the most."""
        base = self.baseline
        mistakes = [base.varied(name, "mistake", **change) for name, change in MISTAKES.items()]
        variations = [
            base.varied(_label(knob, value), knob, **{knob: value})
            for knob, values in self.variations.items()
            for value in values
            if value != getattr(base if knob in DATA_KNOBS else base.config, knob)
        ]
        return [base, *mistakes, *sorted(variations, key=_cost)]

    def cars_needed(self) -> int:
        most = max((self.baseline.train_cars, *self.variations.get("train_cars", ())))
        return most + self.val_cars + self.holdout_cars


def _cost(spec: RunSpec) -> int:
    """Roughly what a run costs: filters times pixels times cars."""
    height, width = spec.config.image_size
    return spec.config.filters * height * width * spec.train_cars


#: Small enough for two CPU cores: each run trains for a few minutes at most. The quick run's Adam
#: and batch, with a smaller U-Net, thumbnails, BCE+dice and 6 epochs.
QUICK_PLAN = SweepPlan(
    profile="quick",
    baseline=RunSpec(
        replace(QUICK_RUN, filters=8, depth=4, image_size=(64, 96), epochs=6, loss="bce_dice"),
        train_cars=8,
    ),
    val_cars=3,
    holdout_cars=4,
    # depth: 64x96 halves cleanly at most 5 times; 4 is the baseline (and the article's U-Net).
    # seed: not a knob, the baseline again from other seeds, to show how far chance alone moves it.
    variations={
        "filters": (4, 16),
        "depth": (2, 3),
        "image_size": ((32, 48), IMAGE_SIZE),
        "train_cars": (4, 16),
        # Both plans try dice alone, and Adam's epsilon around the article's 1e-6.
        "loss": ("dice",),
        "epsilon": (1e-7, 1e-4, 1e-1),
        "seed": (43, 44),
    },
)

#: The same study at the article's scale, for a GPU and the real data: the article's run with the
#: tuned loss and learning rate.
FULL_PLAN = SweepPlan(
    profile="full",
    baseline=RunSpec(
        replace(
            ARTICLE,
            filters=32,
            depth=4,
            image_size=(128, 192),
            loss=TUNED.loss,
            learning_rate=TUNED.learning_rate,
        ),
        train_cars=48,
    ),
    val_cars=16,
    holdout_cars=16,
    variations={
        "filters": (16, 64),
        "depth": (3, 5),
        "image_size": (IMAGE_SIZE, (256, 384)),
        "train_cars": (24, 96),
        "loss": ("dice",),
        "epsilon": (1e-7, 1e-4, 1e-1),
    },
)

PLANS = {plan.profile: plan for plan in (QUICK_PLAN, FULL_PLAN)}


@dataclass(frozen=True)
class Cars:
    """The fixed, seeded choice of cars every run draws from."""

    holdout: list[Pair]
    val: list[Pair]
    pool: list[list[Pair]]  # training cars in order; a run takes the first ``train_cars``

    def train(self, count: int) -> list[Pair]:
        return [pair for car in self.pool[:count] for pair in car]


def choose_cars(pairs: Sequence[Pair], plan: SweepPlan, seed: int = 42) -> Cars:
    """Shuffle the cars once with ``seed``: holdout, then validation, then training. Chapter 7."""
    by_car = group_by_car(pairs)
    if len(by_car) < plan.cars_needed():
        raise DataError(
            f"the {plan.profile} sweep needs {plan.cars_needed()} cars, the data has {len(by_car)}"
        )
    order = [str(c) for c in np.random.default_rng(seed).permutation(sorted(by_car))]
    held, val_end = plan.holdout_cars, plan.holdout_cars + plan.val_cars
    holdout, val = (
        [p for car in sorted(cars) for p in by_car[car]]
        for cars in (order[:held], order[held:val_end])
    )
    return Cars(holdout=holdout, val=val, pool=[by_car[car] for car in order[val_end:]])


def data_fingerprint(root: str | os.PathLike, pairs: Sequence[Pair], description: str) -> str:
    """A hash of the description, the view ids and the synthetic generator's settings; not of
    pixels, whose last bits can differ between CPUs. Introduced in chapter 7."""
    digest = hashlib.sha256(description.encode())
    digest.update("\n".join(sorted(p.vid.image_name for p in pairs)).encode())
    marker = read_marker(root) or {}
    settings = ("generator", "version", "cars", "test_cars", "size", "seed")
    generator = {k: marker.get(k) for k in settings}
    digest.update(json.dumps(generator, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def run_key(spec: RunSpec, data: str, versions: dict[str, str]) -> tuple[str, dict]:
    """The cache key of one run and the fields it hashes. Introduced in chapter 7."""
    fields = {
        "sweep_version": SWEEP_VERSION,
        "run": spec.settings(),
        "data": data,
        "versions": versions,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16], fields


def split_for(spec: RunSpec, cars: Cars) -> tuple[list[Pair], list[Pair]]:
    """A run's (train, val): car-wise, or the article's random split of the same images."""
    if spec.split == "random":
        pool = cars.train(spec.train_cars) + cars.val
        return random_split(pool, val_fraction=len(cars.val) / len(pool), seed=spec.config.seed)
    return cars.train(spec.train_cars), cars.val


def _train_run(spec: RunSpec, cars: Cars, out_dir: Path, fields: dict, reuse: bool) -> dict:
    """Train one run and score it (on the holdout cars too, for the split pair)."""
    train_pairs, val_pairs = split_for(spec, cars)
    config = spec.config
    result = (train_or_reuse if reuse else train)(
        config, train_pairs, val_pairs, out_dir, verbose=0
    )
    kept = ("val_dice", "val_dice_min", "train_seconds", "params", "epochs_run", "best_epoch")
    entry = {
        "name": spec.name,
        "group": spec.group,
        "key_fields": fields,
        **{k: result.metrics[k] for k in kept},
        "train_images": len(train_pairs),
        "val_images": len(val_pairs),
    }
    if spec.group != "baseline" and spec.split != "random":
        return entry
    model = load_model(result.best_path)
    entry["holdout_dice"] = float(evaluate(model, cars.holdout, config.batch_size).mean())
    if spec.group == "baseline":
        batches = predict(model, val_pairs, config.batch_size, resize=config.resize)
        entry["dice_definitions"] = dice_definitions((masks, probs) for _, masks, probs in batches)
    return entry


@dataclass
class SweepResult:
    """The runs of a plan, in plan order, and how many came from the cache."""

    plan: SweepPlan
    entries: list[dict]
    from_cache: int
    trained: int

    def by_name(self, name: str) -> dict:
        return next(e for e in self.entries if e["name"] == name)


def run_sweep(
    pairs: Sequence[Pair],
    *,
    root: str | os.PathLike,
    description: str,
    cache: str | os.PathLike,
    plan: SweepPlan = QUICK_PLAN,
    mode: str = "auto",
    out_dir: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = print,
) -> SweepResult:
    """Run (or read back) every run of ``plan``, rewriting the cache (of these keys only) after
    each. ``mode``: ``"auto"`` trains the missing runs, ``"cache"`` refuses to, ``"force"``
    retrains all. Introduced in chapter 7."""
    if mode not in ("auto", "cache", "force"):
        raise CarvanaError(f"unknown mode {mode!r}: use auto, cache or force")
    cars, cache = choose_cars(pairs, plan), Path(cache)
    data = data_fingerprint(root, pairs, description)
    # Keras's and TensorFlow's major.minor: patch releases do not change numerics we rely on.
    versions = {lib.__name__: ".".join(lib.__version__.split(".")[:2]) for lib in (keras, tf)}
    keyed = [(spec, *run_key(spec, data, versions)) for spec in plan.runs()]
    try:
        cached = (
            json.loads(cache.read_text())["runs"] if mode != "force" and cache.is_file() else {}
        )
    except (ValueError, KeyError) as exc:
        raise CarvanaError(
            f"{cache.name} is not a sweep cache ({exc}); delete it or use --force"
        ) from None
    missing = [(spec, key, fields) for spec, key, fields in keyed if key not in cached]
    if mode == "cache" and missing:
        raise CarvanaError(
            f"{len(missing)} of {len(keyed)} runs are not in {cache.name} for this code, data "
            f"and libraries ({', '.join(spec.name for spec, _, _ in missing)}); "
            "run 'carvana-tutorial tune' to compute them"
        )
    out_dir = Path(out_dir) if out_dir else runs_dir() / f"sweep-{plan.profile}"
    entries: dict[str, dict] = {key: cached[key] for _, key, _ in keyed if key in cached}
    for done, (spec, key, fields) in enumerate(missing):
        if progress is not None:
            progress(f"training {spec.name} ({done + 1}/{len(missing)})")
        start = time.perf_counter()
        # A finished run folder of the same settings is read back, except under "force".
        entries[key] = _train_run(
            spec, cars, out_dir / f"{spec.group}-{key}", fields, reuse=mode != "force"
        )
        entries[key]["wall_seconds"] = round(time.perf_counter() - start, 1)
        # Rewritten after each run: an interrupted sweep keeps the rest.
        stored = {"sweep_version": SWEEP_VERSION, "profile": plan.profile, "runs": entries}
        write_atomic(cache, json.dumps(stored, indent=1, sort_keys=True) + "\n")
    runs = [entries[key] for _, key, _ in keyed]
    return SweepResult(plan, runs, from_cache=len(keyed) - len(missing), trained=len(missing))


def mistake_effects(result: SweepResult) -> dict[str, float]:
    """The numbers chapter 7 states, each a difference on the same data and seed. Chapter 7."""
    base, leaky = result.by_name("baseline"), result.by_name("random split")
    image_only = result.by_name("image-only augmentation")["val_dice"]
    nearest = result.by_name("nearest resize")["val_dice"]
    definitions = base["dice_definitions"]
    val_gap = leaky["val_dice"] - base["val_dice"]
    holdout_gap = leaky["holdout_dice"] - base["holdout_dice"]
    return {
        "baseline_dice": base["val_dice"],
        "image_only_dice": image_only,
        "augment_gain": base["val_dice"] - image_only,
        "leaky_val_dice": leaky["val_dice"],
        "leaky_holdout_dice": leaky["holdout_dice"],
        "carwise_val_dice": base["val_dice"],
        "carwise_holdout_dice": base["holdout_dice"],
        # What validation says the random split gains, what held-out cars say, and the difference:
        # the part of the leaky score that only the leak explains.
        "leak_val_gap": val_gap,
        "leak_holdout_gap": holdout_gap,
        "leak_optimism": val_gap - holdout_gap,
        "carwise_gap": base["holdout_dice"] - base["val_dice"],
        "nearest_dice": nearest,
        "resize_gain": base["val_dice"] - nearest,
        "batch_global_dice": definitions["batch_global"],
        "batch_global_hard_dice": definitions["batch_global_hard"],
        "per_image_dice": definitions["per_image"],
        "per_image_min": definitions["per_image_min"],
    }


def glue_values(result: SweepResult) -> dict[str, float | str]:
    """Every number chapter 7's prose quotes, by its name there (``dice_size_32x48``). Chapter 7."""
    base = result.by_name("baseline")
    values: dict[str, float | str] = {"base_seconds": base["train_seconds"]}
    for entry in result.entries:
        key = re.sub(r"[^0-9A-Za-z]", "_", entry["name"])
        values |= {
            f"dice_{key}": entry["val_dice"],
            f"delta_{key}": entry["val_dice"] - base["val_dice"],
            f"seconds_{key}": entry["train_seconds"],
            f"params_{key}": entry["params"],
        }
    seeds = [e["val_dice"] for e in result.entries if e["group"] in ("baseline", "seed")]
    values.update(seed_low=min(seeds), seed_high=max(seeds), seed_spread=max(seeds) - min(seeds))
    changes = [e for e in result.entries if e["group"] not in ("mistake", "seed")]
    best = max(changes, key=lambda e: e["val_dice"])
    values.update(best_run=best["name"], best_dice=best["val_dice"])
    return values | mistake_effects(result)


def results_table(result: SweepResult) -> str:
    """A markdown table of every run: what changed, dice, change from baseline, cost. Chapter 7."""
    base = result.by_name("baseline")["val_dice"]
    rows = [
        f"| {e['group']} | {e['name']} | {e['val_dice']:.4f} | {e['val_dice'] - base:+.4f} | "
        f"{e['train_seconds']:.0f} | {e['params']:,} | {e['epochs_run']} |"
        for e in result.entries
    ]
    header = "| group | run | val dice (per image) | vs baseline | train s | parameters | epochs |"
    return "\n".join([header, "|---|---|---:|---:|---:|---:|---:|", *rows])
