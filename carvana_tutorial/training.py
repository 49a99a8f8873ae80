"""Train a network, keep its best epoch, score that: the loop of chapters 4 and 6.

The article's Adam (its settings in :class:`carvana_tutorial.config.TrainConfig`); early stopping
that *restores the best weights*; the best epoch in a ``.keras`` file (Keras 3 refuses the
article's extension-less path); a final score that is the competition's metric computed from the
*reloaded best checkpoint*, not from whatever the last epoch left in memory.  Run folders, reuse
and progress bars live in :mod:`carvana_tutorial.runs`; device and precision in
:mod:`carvana_tutorial.hardware`."""

import os
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import keras
import numpy as np

from . import hardware, runs
from . import metrics as M
from .config import TrainConfig
from .data import Pair
from .errors import ModelError
from .models import build_model
from .outputs import BEST, HISTORY
from .pipeline import make_dataset

#: The loss of each name in :data:`carvana_tutorial.config.LOSS_NAMES`.
LOSSES = {"dice": M.dice_loss, "bce_dice": M.bce_dice_loss}


def train(
    config: TrainConfig,
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
    out_dir: str | os.PathLike,
    *,
    verbose: int = 2,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> runs.TrainResult:
    """Fit ``config.model``, then reload its best epoch and score it per image;
    write ``best.keras``, ``history.csv`` and ``metrics.json`` to ``out_dir``.
    Introduced in chapter 4; read in chapter 6."""
    out_dir = runs.new_run_dir(out_dir, train_pairs, val_pairs)
    keras.utils.set_random_seed(config.seed)
    size, batch = config.image_size, config.batch_size
    train_ds = make_dataset(
        train_pairs,
        size,
        batch,
        shuffle=True,
        augment=config.augment,
        seed=config.seed,
        resize=config.resize,
    )
    val_ds = make_dataset(val_pairs, size, batch, resize=config.resize)
    with hardware.scope():  # GPUs, TPU or CPU; float32 or mixed precision
        model = build_model(config.model, size, config.filters, config.depth)
        model.compile(
            keras.optimizers.Adam(
                config.learning_rate,
                epsilon=config.epsilon,
            ),
            LOSSES[config.loss],
            metrics=[M.dice_coef, M.mean_dice],
        )
    callbacks = [
        keras.callbacks.EarlyStopping(
            patience=config.patience,
            restore_best_weights=True,
        ),
        keras.callbacks.ModelCheckpoint(out_dir / BEST, save_best_only=True),
        keras.callbacks.CSVLogger(out_dir / HISTORY),
        *callbacks,
    ]
    start = time.perf_counter()
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        verbose=verbose,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,
    )  # tf.data shuffles already
    seconds = time.perf_counter() - start
    best = load_model(out_dir / BEST)  # what was saved, not the last epoch
    dice = evaluate(best, val_pairs, batch)
    return runs.write_metrics(
        out_dir,
        config,
        (train_pairs, val_pairs),
        history.history,
        dice,
        best,
        seconds,
    )


def model_image_size(model) -> tuple[int, int]:
    """The (height, width) a Keras model (or an ``export.OnnxModel``) was built for. Introduced in
    chapter 4."""
    if hasattr(model, "image_size"):  # an OnnxModel, checked when loaded
        return model.image_size
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or None in shape[1:3] or shape[3] != 3:
        raise ModelError(
            f"the model takes input {shape}, not RGB photos of a fixed size [batch, height, width, 3]"
        )
    if tuple(model.outputs[0].shape[1:]) != (*shape[1:3], 1):
        raise ModelError(
            f"the model's output {tuple(model.outputs[0].shape)} is not one mask channel per pixel"
        )
    return int(shape[1]), int(shape[2])


def predict(
    model: keras.Model,
    pairs: Sequence[Pair],
    batch_size: int = 32,
    *,
    resize: str = "area",
    progress: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(photos, masks, probabilities)`` batch by batch, in order.
    Introduced in chapter 4."""
    size = model_image_size(model)
    ds = make_dataset(list(pairs), size, batch_size, resize=resize)
    batches = runs.progress_bar(ds, len(pairs), batch_size, progress)
    for photos, masks in batches:
        # A direct call: no tf.function to trace again per model.
        probs = keras.ops.convert_to_numpy(model(photos, training=False))
        yield photos.numpy(), masks.numpy(), probs.astype(np.float32)


def evaluate(
    model: keras.Model | str | os.PathLike,
    pairs: Sequence[Pair],
    batch_size: int = 32,
    *,
    progress: bool = False,
) -> np.ndarray:
    """Per-image dice at 0.5 of every pair, in order: the competition's
    metric (``.mean()`` is the score), with the masks shrunk like the photos
    to the model's input size. Introduced in chapter 4."""
    if not isinstance(model, keras.Model):
        model = load_model(model)
    batches = predict(model, pairs, batch_size, progress=progress)
    scores = [M.np_per_image_dice(masks, probs) for _, masks, probs in batches]
    return np.concatenate(scores)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` file written by :func:`train`, with a one-line error if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"no model file at {path}" + (" (it is a folder)" if path.is_dir() else "")
        )
    if path.suffix.lower() == ".onnx":
        raise ModelError(
            f"{path} is an ONNX file: `carvana-tutorial segment` takes it; this command needs "
            "the .keras model it was exported from"
        )
    if path.suffix != ".keras":
        raise ModelError(f"{path.name} is not a .keras file (Keras 3 saves whole models as .keras)")
    if not zipfile.is_zipfile(path):  # Keras calls any other file "not found"
        raise ModelError(
            f"cannot load {path.name}: it is not a Keras model (a .keras file is a zip archive)"
        )
    try:
        model = keras.models.load_model(path)
        model_image_size(model)  # a mask model of a fixed size, or the error names the file
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None
    except (
        Exception
    ) as exc:  # Keras raises many types (ValueError, zipfile.BadZipFile, TypeError...)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise ModelError(f"cannot load {path.name} as a Keras model: {reason}") from exc
    return model
