"""The article's batch-global dice, the competition's per-image dice, BCE+dice, and their numpy
twins.

The Keras functions are registered, so a ``.keras`` file compiled with them loads without
``custom_objects``."""

from collections.abc import Iterable

import keras
import numpy as np
from keras import ops

from .config import THRESHOLD

#: The article's smoothing term: keeps 0/0 away, negligible next to a mask's area.
SMOOTH = 1e-5

serializable = keras.saving.register_keras_serializable(package="carvana_tutorial")


@serializable
def dice_coef(y_true, y_pred, smooth: float = SMOOTH):
    """Soft dice pooled over every pixel of the batch: the article's metric,
    ``(2 sum(t*p) + s) / (sum(t) + sum(p) + s)``; differentiable, so
    ``1 - dice_coef`` can be a loss. Introduced in chapter 5."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    intersection = ops.sum(y_true * y_pred)
    total = ops.sum(y_true) + ops.sum(y_pred)
    return (2.0 * intersection + smooth) / (total + smooth)


@serializable
def dice_loss(y_true, y_pred):
    """``1 - dice_coef``: the article's training loss.
    Introduced in chapter 5."""
    return 1.0 - dice_coef(y_true, y_pred)


@serializable
def bce_dice_loss(y_true, y_pred):
    """Binary cross-entropy plus dice loss: BCE gives every pixel a gradient
    from the first step (dice alone is flat while predictions are all near 0
    or all near 1); dice keeps the objective aligned with the score.
    Introduced in chapter 5."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    return bce + dice_loss(y_true, y_pred)


@serializable
def per_image_dice(y_true, y_pred, threshold: float = THRESHOLD):
    """Dice of each image at ``threshold``, shape ``[batch]``; 1 where both
    masks are empty. Averaged over images, the competition's score.
    Introduced in chapter 5."""
    axes = tuple(range(1, len(y_true.shape)))
    t = ops.cast(ops.cast(y_true, "float32") >= 0.5, "float32")
    p = ops.cast(ops.cast(y_pred, "float32") >= threshold, "float32")
    intersection = ops.sum(t * p, axis=axes)
    total = ops.sum(t, axis=axes) + ops.sum(p, axis=axes)
    dice = 2.0 * intersection / ops.maximum(total, 1.0)
    return ops.where(total > 0, dice, 1.0)


@serializable
def mean_dice(y_true, y_pred):
    """Batch mean of :func:`per_image_dice`, as a Keras metric. Introduced in chapter 5."""
    return ops.mean(per_image_dice(y_true, y_pred))


def np_dice_coef(y_true: np.ndarray, y_pred: np.ndarray, smooth: float = SMOOTH) -> float:
    """Numpy twin of :func:`dice_coef` (batch-global, soft, smoothed). Introduced in chapter 5."""
    t, p = (np.asarray(a, dtype=np.float64).ravel() for a in (y_true, y_pred))
    return float((2 * (t * p).sum() + smooth) / (t.sum() + p.sum() + smooth))


def np_per_image_dice(
    y_true: np.ndarray, y_pred: np.ndarray, threshold: float = THRESHOLD
) -> np.ndarray:
    """Numpy twin of :func:`per_image_dice`: one dice per image. Introduced in chapter 5."""
    t = (np.asarray(y_true) >= 0.5).reshape(len(y_true), -1)
    p = (np.asarray(y_pred) >= threshold).reshape(len(y_pred), -1)
    total = t.sum(axis=1) + p.sum(axis=1)
    return np.where(total > 0, 2 * (t & p).sum(axis=1) / np.maximum(total, 1), 1.0)


def np_per_image_iou(
    y_true: np.ndarray, y_pred: np.ndarray, threshold: float = THRESHOLD
) -> np.ndarray:
    """Intersection over union of each image, 1 for empty vs empty: dice / (2 - dice), the same
    ranking as dice with harsher numbers. Introduced in chapter 5."""
    dice = np_per_image_dice(y_true, y_pred, threshold)
    return dice / (2 - dice)


def dice_definitions(batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The same predictions scored three ways, from ``(masks, probabilities)`` batches. Chapter 5.

    ``batch_global`` is what Keras prints for the article's ``dice_coef``: a soft dice pooled
    over each batch, averaged over batches.  ``batch_global_hard`` pools the same way after
    thresholding, which separates the effect of pooling from that of soft probabilities.
    ``per_image`` is the competition's metric."""
    soft, hard, sizes, per_image = [], [], [], []
    for masks, probs in batches:
        soft.append(np_dice_coef(masks, probs))
        hard.append(np_dice_coef(masks, (probs >= THRESHOLD).astype(np.float32)))
        sizes.append(len(masks))
        per_image.append(np_per_image_dice(masks, probs))
    scores = np.concatenate(per_image)
    return {
        "batch_global": float(np.average(soft, weights=sizes)),
        "batch_global_hard": float(np.average(hard, weights=sizes)),
        "per_image": float(scores.mean()),
        "per_image_min": float(scores.min()),
    }
