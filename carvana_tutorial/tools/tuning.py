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
from ..effects import CONFIDENCE, Effect, paired_effect, t_quantile
from ..errors import CarvanaError, DataError
from ..inference import evaluate, load_model, predict
from ..metrics import dice_definitions
from ..outputs import write_atomic
from ..submission import full_size_dice
from ..synthetic import read_marker
from ..training import train
from .reuse import runs_dir, train_or_reuse

#: Bump when training, pipeline or model code changes in a way that changes results, or when what
#: a key hashes changes shape (2: a run's whole TrainConfig, model and patience included; 3: every
#: setting from three seeds, early stopping, full-size dice).
SWEEP_VERSION = 3
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
    """A baseline, the values to try for each knob, the held-back cars and the seeds every
    setting is trained from (paired: seed ``s`` of a variation is compared with seed ``s`` of the
    baseline)."""

    profile: str  # the plan's name: a profile's, or "real"
    baseline: RunSpec
    val_cars: int
    holdout_cars: int
    variations: dict[str, tuple] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2)

    def settings(self) -> list[RunSpec]:
        """Baseline, mistakes, then variations cheapest first, each at the baseline's seed."""
        base = self.baseline
        mistakes = [base.varied(name, "mistake", **change) for name, change in MISTAKES.items()]
        variations = [
            base.varied(_label(knob, value), knob, **{knob: value})
            for knob, values in self.variations.items()
            for value in values
            if value != getattr(base if knob in DATA_KNOBS else base.config, knob)
        ]
        return [base, *mistakes, *sorted(variations, key=_cost)]

    def runs(self) -> list[RunSpec]:
        """Every setting from every seed, seed by seed: an interrupted sweep has whole seeds."""
        return [
            spec.varied(spec.name, spec.group, seed=seed)
            for seed in self.seeds
            for spec in self.settings()
        ]

    def cars_needed(self) -> int:
        most = max((self.baseline.train_cars, *self.variations.get("train_cars", ())))
        return most + self.val_cars + self.holdout_cars


def _cost(spec: RunSpec) -> int:
    """Roughly what a run costs: filters times pixels times cars."""
    height, width = spec.config.image_size
    return spec.config.filters * height * width * spec.train_cars


#: The quick plans' baseline: the quick run's Adam and batch with a smaller U-Net, thumbnails and
#: BCE+dice. Early stopping (patience 4) ends it long before its 40-epoch cap, so that a knob is
#: judged by where its run converges, not by how fast.
QUICK_BASELINE = replace(
    QUICK_RUN,
    filters=8,
    depth=4,
    image_size=(64, 96),
    epochs=40,
    patience=4,
    loss="bce_dice",
)

#: Small enough for two CPU cores: 39 runs of under two minutes each on the quick synthetic set.
QUICK_PLAN = SweepPlan(
    profile="quick",
    baseline=RunSpec(QUICK_BASELINE, train_cars=8),
    val_cars=5,
    holdout_cars=3,
    # depth: 64x96 halves cleanly at most 5 times; 4 is the baseline (and the article's U-Net).
    variations={
        "filters": (4, 16),
        "depth": (3,),
        "image_size": ((32, 48), IMAGE_SIZE),
        "train_cars": (4, 16),
        "loss": ("dice",),
        "epsilon": (1e-1,),
    },
)

#: The quick plan on 18 real cars (``../shared/real-dev`` in development): the same baseline, and
#: every knob the cars allow.
REAL_PLAN = SweepPlan(
    profile="real",
    baseline=RunSpec(QUICK_BASELINE, train_cars=10),
    val_cars=4,
    holdout_cars=4,
    variations={
        "filters": (4, 16),
        "image_size": ((32, 48), IMAGE_SIZE),
        "train_cars": (5,),
        "loss": ("dice",),
    },
)

#: The same study at a GPU's scale, on the real data: a wider U-Net at 128x192 with the tuned loss
#: and learning rate, 24 training cars and 16 validation cars. 39 runs of at most 40 epochs of 384
#: photos: at most 600,000 photo passes, sized for about an hour of one T4 or P100 (an estimate; no
#: GPU with TensorFlow was available to time it).
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
            epochs=40,
            patience=4,
        ),
        train_cars=24,
    ),
    val_cars=16,
    holdout_cars=16,
    variations={
        "filters": (16, 64),
        "depth": (3,),
        "image_size": (IMAGE_SIZE, (192, 256)),
        "train_cars": (12, 48),
        "loss": ("dice",),
        "epsilon": (1e-1,),
    },
)

PLANS = {plan.profile: plan for plan in (QUICK_PLAN, REAL_PLAN, FULL_PLAN)}


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
    """Train one run; score it at its input size and at full size (on the holdout cars too, for
    the split pair)."""
    train_pairs, val_pairs = split_for(spec, cars)
    config = spec.config
    result = (train_or_reuse if reuse else train)(
        config, train_pairs, val_pairs, out_dir, verbose=0
    )
    kept = ("val_dice", "val_dice_min", "train_seconds", "params", "epochs_run", "best_epoch")
    model = load_model(result.best_path)
    entry = {
        "name": spec.name,
        "group": spec.group,
        "seed": config.seed,
        "key_fields": fields,
        **{k: result.metrics[k] for k in kept},
        # Where users are scored: chapter 8's enlarged probabilities against the 1918x1280 mask.
        "full_dice": float(
            full_size_dice(
                model, val_pairs, batch_size=config.batch_size, resize=config.resize
            ).mean()
        ),
        "train_images": len(train_pairs),
        "val_images": len(val_pairs),
    }
    if spec.group != "baseline" and spec.split != "random":
        return entry
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

    def names(self) -> list[str]:
        """The settings, in plan order."""
        return list(dict.fromkeys(e["name"] for e in self.entries))

    def seeded(self, name: str) -> list[dict]:
        """The runs of one setting, in the plan's seed order."""
        by_seed = {e["seed"]: e for e in self.entries if e["name"] == name}
        return [by_seed[seed] for seed in self.plan.seeds]

    def scores(self, name: str, score: str = "full_dice") -> list[float]:
        return [e[score] for e in self.seeded(name)]

    def mean(self, name: str, score: str = "full_dice") -> float:
        return float(np.mean(self.scores(name, score)))


def _versions() -> dict[str, str]:
    """Keras's and TensorFlow's major.minor: patch releases do not change numerics we rely on."""
    return {lib.__name__: ".".join(lib.__version__.split(".")[:2]) for lib in (keras, tf)}


def _read_cache(cache: Path) -> dict:
    try:
        return json.loads(cache.read_text())["runs"] if cache.is_file() else {}
    except (ValueError, KeyError) as exc:
        raise CarvanaError(
            f"{cache.name} is not a sweep cache ({exc}); delete it or use --force"
        ) from None


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
    data, versions = data_fingerprint(root, pairs, description), _versions()
    keyed = [(spec, *run_key(spec, data, versions)) for spec in plan.runs()]
    cached = _read_cache(cache) if mode != "force" else {}
    missing = [(spec, key, fields) for spec, key, fields in keyed if key not in cached]
    if mode == "cache" and missing:
        names = ", ".join(dict.fromkeys(spec.name for spec, _, _ in missing))
        raise CarvanaError(
            f"{len(missing)} of {len(keyed)} runs are not in {cache.name} for this code, data "
            f"and libraries ({names}); run 'carvana-tutorial tune' to compute them"
        )
    out_dir = Path(out_dir) if out_dir else runs_dir() / f"sweep-{plan.profile}"
    entries: dict[str, dict] = {key: cached[key] for _, key, _ in keyed if key in cached}
    # The cars each run drew from, by id: what the results mean, without a pixel of the data.
    views = {
        "holdout": sorted({p.car for p in cars.holdout}),
        "val": sorted({p.car for p in cars.val}),
        "pool": [car[0].car for car in cars.pool],
    }
    for done, (spec, key, fields) in enumerate(missing):
        if progress is not None:
            seed = spec.config.seed
            progress(f"training {spec.name}, seed {seed} ({done + 1}/{len(missing)})")
        start = time.perf_counter()
        # A finished run folder of the same settings is read back, except under "force".
        entries[key] = _train_run(
            spec, cars, out_dir / f"{spec.group}-{key}", fields, reuse=mode != "force"
        )
        entries[key]["wall_seconds"] = round(time.perf_counter() - start, 1)
        # Rewritten after each run: an interrupted sweep keeps the rest.
        stored = {
            "sweep_version": SWEEP_VERSION,
            "plan": plan.profile,
            "data": description,
            "cars": views,
            "runs": entries,
        }
        write_atomic(cache, json.dumps(stored, indent=1, sort_keys=True) + "\n")
    runs = [entries[key] for _, key, _ in keyed]
    return SweepResult(plan, runs, from_cache=len(keyed) - len(missing), trained=len(missing))


def read_sweep(cache: str | os.PathLike, plan: SweepPlan) -> SweepResult:
    """A sweep's results read from its file alone, each run matched by its settings and the sweep
    version: how chapter 7 shows runs on data it does not have (the real photos). Chapter 7."""
    cache = Path(cache)
    stored = list(_read_cache(cache).values())
    entries = []
    for spec in plan.runs():
        wanted = {"sweep_version": SWEEP_VERSION, "run": spec.settings()}
        found = [e for e in stored if all(e["key_fields"][k] == v for k, v in wanted.items())]
        if not found:
            raise CarvanaError(
                f"{cache.name} has no run {spec.name!r} (seed {spec.config.seed}) of sweep "
                f"version {SWEEP_VERSION}: run 'carvana-tutorial tune' on that data"
            )
        entries.append(found[0])
    return SweepResult(plan, entries, from_cache=len(entries), trained=0)


def effects(result: SweepResult) -> dict[str, Effect]:
    """Each setting against the baseline, seed by seed, by full-size dice; for the random split,
    what the leak adds to validation (its validation gain minus its gain on held-out cars), and
    for the batch dice, how far the article's metric sits from the competition's. Chapter 7."""
    base = result.scores("baseline")
    found = {
        name: paired_effect(base, result.scores(name))
        for name in result.names()
        if name not in ("baseline", "random split")
    }
    gaps = {
        name: [e["val_dice"] - e["holdout_dice"] for e in result.seeded(name)]
        for name in ("baseline", "random split")
    }
    found["random split"] = paired_effect(gaps["baseline"], gaps["random split"])
    definitions = [e["dice_definitions"] for e in result.seeded("baseline")]
    found["batch dice"] = paired_effect(
        [d["per_image"] for d in definitions], [d["batch_global"] for d in definitions]
    )
    return found


def glue_key(name: str) -> str:
    """A setting's name as chapter 7's glue keys spell it: ``size=32x48`` -> ``size_32x48``."""
    return re.sub(r"[^0-9A-Za-z]", "_", name)


def glue_values(result: SweepResult, prefix: str = "") -> dict[str, float | str]:
    """Every number chapter 7's prose quotes, by its name there (``delta_size_32x48``): per
    setting the means over seeds, the paired effect, its interval and the rule's verdict.
    ``prefix`` tells the real photos' values apart. Chapter 7."""
    values: dict[str, float | str] = {}
    for name in result.names():
        runs, key = result.seeded(name), glue_key(name)
        values |= {
            f"dice_{key}": result.mean(name, "val_dice"),
            f"full_{key}": result.mean(name),
            f"seconds_{key}": float(np.mean([e["train_seconds"] for e in runs])),
            f"epochs_{key}": float(np.mean([e["epochs_run"] for e in runs])),
            f"params_{key}": runs[0]["params"],
        }
    for name, effect in effects(result).items():
        key = glue_key(name)
        values |= {
            f"delta_{key}": effect.mean,
            f"low_{key}": effect.low,
            f"high_{key}": effect.high,
            f"verdict_{key}": effect.verdict,
        }
    base = result.seeded("baseline")
    values |= {
        "seeds": len(result.plan.seeds),
        "confidence": CONFIDENCE,
        "t_quantile": t_quantile(len(result.plan.seeds)),
        "base_low": min(result.scores("baseline")),
        "base_high": max(result.scores("baseline")),
        "holdout_baseline": float(np.mean([e["holdout_dice"] for e in base])),
        "holdout_random_split": result.mean("random split", "holdout_dice"),
        "max_epochs_baseline": max(e["epochs_run"] for e in base),
        "epoch_cap": result.plan.baseline.config.epochs,
    }
    for definition in ("batch_global", "batch_global_hard", "per_image", "per_image_min"):
        values[definition] = float(np.mean([e["dice_definitions"][definition] for e in base]))
    return {f"{prefix}{name}": value for name, value in values.items()}


def _effect_cells(effect: Effect | None) -> list[str]:
    if effect is None:
        return ["", ""]
    return [f"{effect.mean:+.4f} [{effect.low:+.4f}, {effect.high:+.4f}]", effect.verdict]


def results_table(result: SweepResult) -> str:
    """A markdown table, one row per setting: means over the seeds at the input size and at full
    size, the paired effect with its interval and the rule's verdict, epochs run and training
    time. The batch dice is a second score of the baseline's runs. Chapter 7."""
    found = effects(result)
    header = ["run", "dice, input size", "dice, full size", "effect [95% interval]", "rule"]
    rows = [[*header, "epochs", "train s"], ["---", *["---:"] * 3, "---", "---:", "---:"]]
    for name in result.names():
        runs = result.seeded(name)
        row = [name, f"{result.mean(name, 'val_dice'):.4f}", f"{result.mean(name):.4f}"]
        row += _effect_cells(found.get(name))
        row += [f"{np.mean([e['epochs_run'] for e in runs]):.1f}"]
        rows.append(row + [f"{np.mean([e['train_seconds'] for e in runs]):.0f}"])
    rows.append(["batch dice (a score)", "", "", *_effect_cells(found["batch dice"]), "", ""])
    return _markdown(rows)


def comparison_table(result: SweepResult, real: SweepResult) -> str:
    """The effects of both studies side by side, one row per setting either has: synthetic
    effect and verdict, then the real photos' full-size dice, effect and verdict. Chapter 7."""
    found, on_real = effects(result), effects(real)
    names = [*result.names(), *(n for n in real.names() if n not in result.names())]
    header = ["run", "synthetic: effect", "rule", "real: full size", "real: effect", "rule"]
    rows = [header, ["---", "---:", "---", "---:", "---:", "---"]]
    for name in names:
        synthetic = _effect_cells(found.get(name)) if name in result.names() else ["not run", ""]
        full = f"{real.mean(name):.4f}" if name in real.names() else "not run"
        rows.append([name, *synthetic, full, *_effect_cells(on_real.get(name))])
    batch = ["batch dice (a score)", *_effect_cells(found["batch dice"]), ""]
    rows.append(batch + _effect_cells(on_real["batch dice"]))
    return _markdown(rows)


def _markdown(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
