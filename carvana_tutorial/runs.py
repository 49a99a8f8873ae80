"""Run folders (``best.keras``, ``history.csv``, ``metrics.json``): what training writes, read
back.  What a run saves of its configuration and files (:func:`run_config`) lets the chapters
reuse a finished run instead of training it again (:mod:`carvana_tutorial.tools.reuse`)."""

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from . import hardware
from .config import DEFAULT_DEPTH, TrainConfig, recipe_changes
from .errors import CarvanaError
from .inference import load_model
from .outputs import BEST, HISTORY, METRICS, write_atomic


@dataclass
class TrainResult:
    """A finished run: its folder, configuration, history and scores."""

    out_dir: Path
    config: dict
    history: dict[str, list[float]]
    metrics: dict = field(default_factory=dict)

    @property
    def best_path(self) -> Path:
        return self.out_dir / BEST

    @property
    def val_dice(self) -> float:
        return float(self.metrics["val_dice"])

    def model(self) -> keras.Model:
        """The best checkpoint, reloaded."""
        return load_model(self.best_path)


def read_history(path: str | os.PathLike) -> dict[str, list[float]]:
    """``history.csv`` as ``{column: [value per epoch]}``."""
    header, *rows = (line.split(",") for line in Path(path).read_text().strip().splitlines())
    return {name: [float(row[i]) for row in rows] for i, name in enumerate(header)}


def fingerprint(pairs: Sequence) -> str:
    """Short hash of the files (names, sizes, modification times): did a run see these files?"""

    def stamp(path: Path) -> str:
        return f"{path.name}:{path.stat().st_size}:{path.stat().st_mtime_ns}"

    files = ",".join(f"{stamp(p.image)}|{stamp(p.mask)}" for p in pairs)
    return hashlib.sha1(files.encode()).hexdigest()[:12]


#: Fields that older runs did not have: left out when ``None``, so those runs still match.
UNSAID = ("depth", "schedule", "recipe")


def run_config(config: TrainConfig, train_pairs: Sequence, val_pairs: Sequence) -> dict:
    """The configuration as ``metrics.json`` stores it, with the split's size and fingerprint
    (``depth``, ``schedule`` and ``recipe`` left out when unsaid, so older runs still match)."""
    saved = {k: v for k, v in asdict(config).items() if v is not None or k not in UNSAID}
    if config.recipe is not None:
        saved["recipe_values"] = recipe_changes(config.recipe)
    saved.update(
        train_images=len(train_pairs),
        val_images=len(val_pairs),
        train_split=fingerprint(train_pairs),
        val_split=fingerprint(val_pairs),
    )
    return json.loads(json.dumps(saved))  # as metrics.json reads back: tuples become lists


def new_run_dir(out_dir: str | os.PathLike, train_pairs: Sequence, val_pairs: Sequence) -> Path:
    """Check that both sides of the split have images, then make ``out_dir``."""
    if not train_pairs or not val_pairs:
        raise CarvanaError(
            f"training needs images on both sides of the split "
            f"(train {len(train_pairs)}, val {len(val_pairs)})"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def write_metrics(
    out_dir: Path,
    config: TrainConfig,
    split: tuple[Sequence, Sequence],
    dice: np.ndarray,
    model: keras.Model,
    seconds: float,
) -> TrainResult:
    """Write ``metrics.json`` of a run whose ``history.csv`` is complete, and return the run."""
    history = read_history(out_dir / HISTORY)
    val_loss = history["val_loss"]
    metrics = dict(
        val_dice=float(dice.mean()),
        val_dice_median=float(np.median(dice)),
        val_dice_min=float(dice.min()),
        best_epoch=int(np.argmin(val_loss)) + 1,
        epochs_run=len(val_loss),
        best_val_loss=float(min(val_loss)),
        train_seconds=round(seconds, 1),
        replicas=hardware.choose_strategy().num_replicas_in_sync,
        precision=hardware.precision_policy(),
        params=int(model.count_params()),
        depth=config.depth or DEFAULT_DEPTH[config.model],
    )
    saved = run_config(config, *split)
    text = json.dumps({"config": saved, "metrics": metrics}, indent=2)
    write_atomic(out_dir / METRICS, text + "\n")
    return TrainResult(out_dir, saved, history, metrics)
