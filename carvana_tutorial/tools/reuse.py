"""Train, or reuse the run folder that already holds the same run: a chapter reads back the model
an earlier chapter trained, and the sweep skips runs it has, instead of training them again."""

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..config import TrainConfig, cache_dir
from ..outputs import BEST, HISTORY, METRICS
from ..runs import TrainResult, read_history, run_config
from ..training import train


def runs_dir() -> Path:
    """Where chapters keep their runs, so that a later chapter reuses an earlier one's model."""
    return cache_dir() / "runs"


def train_or_reuse(
    config: TrainConfig,
    train_pairs: Sequence,
    val_pairs: Sequence,
    out_dir: str | os.PathLike,
    **options,
) -> TrainResult:
    """The finished run in ``out_dir`` if it has this configuration and split, else
    ``train(**options)``."""
    out_dir = Path(out_dir)
    if (out_dir / METRICS).is_file() and (out_dir / BEST).is_file():
        saved = json.loads((out_dir / METRICS).read_text())
        if saved["config"] == run_config(config, train_pairs, val_pairs):
            return TrainResult(
                out_dir, saved["config"], read_history(out_dir / HISTORY), saved["metrics"]
            )
    return train(config, train_pairs, val_pairs, out_dir, **options)
