"""Train a network, keep its best epoch, score that: the loop of chapters 4 and 6.

The article's Adam (its settings in :class:`carvana_tutorial.config.TrainConfig`); early stopping
that *restores the best weights*; the best epoch in a ``.keras`` file (Keras 3 refuses the
article's extension-less path); a final score that is the competition's metric computed from the
*reloaded best checkpoint*, not from whatever the last epoch left in memory."""

import math
import os
import time
from collections.abc import Sequence

import keras
from keras import callbacks as cb
from keras.optimizers import Adam

from . import hardware, runs
from . import metrics as M
from .config import TrainConfig
from .data import Pair
from .inference import evaluate, load_model
from .models import build_model
from .outputs import BEST, HISTORY
from .pipeline import make_dataset

#: The loss of each name in :data:`carvana_tutorial.config.LOSS_NAMES`.
LOSSES = {"dice": M.dice_loss, "bce_dice": M.bce_dice_loss}


def datasets(
    config: TrainConfig,
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
) -> tuple:
    """Shuffled, augmented training batches and plain validation batches.
    Introduced in chapter 6."""
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
    return train_ds, val_ds


def compile_model(config: TrainConfig) -> keras.Model:
    """The network of ``config``, compiled with its loss and Adam settings,
    on every device the hardware offers. Introduced in chapter 6."""
    with hardware.scope():  # GPUs, TPU or CPU; float32 or mixed precision
        size = config.image_size
        model = build_model(config.model, size, config.filters, config.depth)
        adam = Adam(config.learning_rate, epsilon=config.epsilon)
        scores = [M.dice_coef, M.mean_dice]
        model.compile(adam, LOSSES[config.loss], metrics=scores)
    return model


def cosine_schedule(config: TrainConfig) -> cb.Callback:
    """Adam's rate, lowered along half a cosine to 0 at the epoch cap: large steps first, small
    ones to settle into a minimum the constant rate keeps jumping around. Chapter 7."""
    rate, cap = config.learning_rate, config.epochs
    return cb.LearningRateScheduler(
        lambda epoch: rate * 0.5 * (1 + math.cos(math.pi * epoch / cap))
    )


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
    train_ds, val_ds = datasets(config, train_pairs, val_pairs)
    model = compile_model(config)
    callbacks = [
        *([cosine_schedule(config)] if config.schedule == "cosine" else []),
        cb.EarlyStopping(patience=config.patience, restore_best_weights=True),
        cb.ModelCheckpoint(out_dir / BEST, save_best_only=True),
        cb.CSVLogger(out_dir / HISTORY),
        *callbacks,
    ]
    start = time.perf_counter()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # tf.data shuffles already
    )
    seconds = time.perf_counter() - start
    best = load_model(out_dir / BEST)  # what was saved, not the last epoch
    dice = evaluate(best, val_pairs, config.batch_size)
    split = (train_pairs, val_pairs)
    return runs.write_metrics(out_dir, config, split, dice, best, seconds)
