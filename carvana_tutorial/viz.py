"""Figures for the book: samples, overlays, predictions, errors, curves, speed.

Every function returns a matplotlib ``Figure`` built without
``pyplot``, so nothing is shown, no global state leaks between calls and a
notebook displays the figure once, where it is returned.  Masks are always
drawn with a grey colormap pinned to [0, 1] (``vmin=0, vmax=1``): left to its
defaults, matplotlib draws one-channel arrays with *viridis* and stretches
them to their own range, which is why the article's masks came out purple and
yellow, and why an empty prediction would look like a confident one.
Introduced in chapter 3.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .metrics import np_per_image_dice

#: Colour-blind-safe pair (Okabe-Ito) for the two kinds of error.
FALSE_POSITIVE = (0.90, 0.62, 0.0)  # orange: predicted car, really background
FALSE_NEGATIVE = (0.0, 0.45, 0.70)  # blue: missed car
OVERLAY = (0.0, 0.62, 0.45)  # bluish green
MASK_STYLE = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0, "interpolation": "nearest"}


def _array(x) -> np.ndarray:
    """Tensor or array -> numpy, with a trailing single channel dropped."""
    x = np.asarray(x)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def _binary(mask, threshold: float = 0.5) -> np.ndarray:
    return _array(mask) >= threshold


def _dice(true_mask, pred_mask, threshold: float = 0.5) -> float:
    return float(np_per_image_dice(_array(true_mask)[None], _array(pred_mask)[None], threshold)[0])


def _hide_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _show_mask(fig: Figure, ax, mask, title: str, colorbar: bool = True) -> None:
    im = ax.imshow(_array(mask), **MASK_STYLE)
    ax.set_title(title)
    _hide_ticks(ax)
    if colorbar:
        fig.colorbar(im, ax=ax, ticks=[0, 1], fraction=0.046, pad=0.04)


def _show_image(ax, image, title: str) -> None:
    ax.imshow(np.clip(_array(image), 0.0, 1.0), interpolation="nearest")
    ax.set_title(title)
    _hide_ticks(ax)


def sample_grid(images, masks, n: int = 4) -> Figure:
    """``n`` photos, each beside its mask (grey, with a 0-1 colorbar).

    Introduced in chapter 3.
    """
    n = min(n, len(images))
    if n < 1:
        raise ValueError("sample_grid needs at least one image")
    fig = Figure(figsize=(7.0, 2.4 * n), layout="constrained")
    axes = fig.subplots(n, 2, squeeze=False)
    for row in range(n):
        _show_image(axes[row, 0], images[row], f"Photo {row + 1}")
        _show_mask(fig, axes[row, 1], masks[row], f"Mask {row + 1}")
    return fig


def overlay(image, mask, alpha: float = 0.45, title: str = "Mask over the photo") -> Figure:
    """The mask tinted over its photo: the quickest check that both line up.

    Introduced in chapter 3.
    """
    fig = Figure(figsize=(5.0, 4.0), layout="constrained")
    ax = fig.subplots()
    _show_image(ax, image, title)
    tint = np.zeros((*_array(mask).shape, 4))
    tint[..., :3] = OVERLAY
    tint[..., 3] = _binary(mask) * alpha
    ax.imshow(tint, interpolation="nearest")
    return fig


def triptych(image, true_mask, pred_mask, threshold: float = 0.5) -> Figure:
    """Photo, true mask and predicted probabilities, the dice in the last title.

    Introduced in chapter 3.
    """
    fig = Figure(figsize=(11.0, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    _show_image(axes[0], image, "Input")
    _show_mask(fig, axes[1], true_mask, "True mask", colorbar=False)
    _show_mask(fig, axes[2], pred_mask, f"Predicted (dice {_dice(true_mask, pred_mask, threshold):.3f})")
    return fig


def error_triptych(image, true_mask, pred_mask, threshold: float = 0.5) -> Figure:
    """Photo, true mask, and the thresholded prediction with its errors coloured.

    False positives (car predicted on background) are orange, false negatives
    (car missed) blue; correct pixels stay white (car) or black (background).
    Introduced in chapter 3.
    """
    truth, pred = _binary(true_mask), _binary(pred_mask, threshold)
    errors = np.repeat(pred[..., None].astype(float), 3, axis=-1)
    errors[pred & ~truth] = FALSE_POSITIVE
    errors[~pred & truth] = FALSE_NEGATIVE
    fig = Figure(figsize=(11.0, 3.4), layout="constrained")
    axes = fig.subplots(1, 3)
    _show_image(axes[0], image, "Input")
    _show_mask(fig, axes[1], true_mask, "True mask", colorbar=False)
    _show_image(axes[2], errors, f"Errors (dice {_dice(truth, pred):.3f})")
    fp, fn = int((pred & ~truth).sum()), int((~pred & truth).sum())
    axes[2].legend(
        handles=[
            Patch(color=FALSE_POSITIVE, label=f"false positive ({fp} px)"),
            Patch(color=FALSE_NEGATIVE, label=f"false negative ({fn} px)"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    return fig


def colormap_comparison(mask) -> Figure:
    """The same mask drawn with matplotlib's defaults (viridis) and as a mask should be.

    Introduced in chapter 3.
    """
    fig = Figure(figsize=(9.0, 3.2), layout="constrained")
    axes = fig.subplots(1, 2)
    im = axes[0].imshow(_array(mask))
    axes[0].set_title("Default colormap (viridis)")
    _hide_ticks(axes[0])
    fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.04)
    _show_mask(fig, axes[1], mask, "cmap='gray', vmin=0, vmax=1")
    return fig


def panels(images: Mapping[str, object], *, masks: Sequence[str] = (), size: float = 3.2) -> Figure:
    """Images side by side under their titles; titles listed in ``masks`` draw as masks.

    For before/after comparisons (resize methods, augmentations).
    Introduced in chapter 2.
    """
    fig = Figure(figsize=(size * len(images), size * 0.85), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(images)))
    for ax, (title, image) in zip(axes, images.items()):
        if title in masks:
            _show_mask(fig, ax, image, title, colorbar=False)
        else:
            _show_image(ax, image, title)
    return fig


def _read_history(history) -> dict[str, list[float]]:
    if hasattr(history, "history"):  # a keras.callbacks.History
        history = history.history
    if isinstance(history, (str, os.PathLike)):
        with Path(history).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise ValueError(f"{Path(history).name} holds no epochs")
        history = {key: [float(row[key]) for row in rows] for key in rows[0]}
    if not isinstance(history, Mapping):
        raise TypeError("history must be a keras History, a dict of lists or a CSV path")
    return {k: [float(v) for v in values] for k, values in history.items()}


def learning_curves(history, metrics: Sequence[str] | None = None) -> Figure:
    """Training and validation curves, one panel per metric.

    ``history`` is a Keras ``History``, its ``.history`` dict, or the CSV file
    ``keras.callbacks.CSVLogger`` writes.  ``metrics`` defaults to every
    metric that has values (``epoch`` and the learning rate are skipped).
    Introduced in chapter 3.
    """
    values = _read_history(history)
    if metrics is None:
        skip = {"epoch", "lr", "learning_rate"}
        metrics = [k for k in values if not k.startswith("val_") and k not in skip]
        metrics += [k[4:] for k in values if k.startswith("val_") and k[4:] not in values]
    if not metrics:
        raise ValueError("the history holds no metric to plot")
    fig = Figure(figsize=(4.2 * len(metrics), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, name in zip(axes, metrics):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in values:
                epochs = np.arange(1, len(values[key]) + 1)
                ax.plot(epochs, values[key], style, marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    return fig


def dice_histogram(scores, bins: int = 30, *, xlabel: str = "per-image dice at threshold 0.5") -> Figure:
    """How per-image dice spreads over the validation images, one histogram per model.

    ``scores`` is one array of per-image dice (what
    :func:`carvana_tutorial.training.evaluate` returns) or a mapping
    ``{label: array}`` to compare models on the same bins, with a legend.  The
    x axis runs from just below the lowest score to 1: a mean hides the few
    images a model gets badly wrong, and this is where they show.
    Introduced in chapter 4.
    """
    named = dict(scores) if isinstance(scores, Mapping) else {"": scores}
    arrays = [np.asarray(v, dtype=float).ravel() for v in named.values()]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("dice_histogram needs at least one non-empty array of scores")
    low = max(0.0, min(a.min() for a in arrays) - 0.02)
    greys = [f"{g:.2f}" for g in np.linspace(0.2, 0.7, len(arrays))[::-1]] if len(arrays) > 1 else ["0.3"]
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.subplots()
    ax.hist(arrays, bins=bins, range=(low, 1.0), color=greys, label=list(named))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("validation images")
    if isinstance(scores, Mapping):
        ax.legend()
    return fig


def dice_by_coverage(coverage, scores) -> Figure:
    """Per-image dice against the share of the frame the car covers, one dot per image.

    Dice forgives the same number of wrong pixels more on a big car than on a
    small one; this scatter shows whether the small cars are where a model
    loses.  Introduced in chapter 5.
    """
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.scatter(np.asarray(coverage, dtype=float), np.asarray(scores, dtype=float), s=12, color="0.25")
    ax.set_xlabel("share of the frame covered by the car")
    ax.set_ylabel("per-image dice at 0.5")
    return fig


def threshold_curve(thresholds, scores, mark: float = 0.5) -> Figure:
    """Mean per-image dice as the probability threshold moves, with ``mark`` drawn dashed.

    The competition thresholds at 0.5; the curve shows how much, if anything,
    another threshold would buy.  Introduced in chapter 5.
    """
    fig = Figure(figsize=(6, 3), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.asarray(thresholds, dtype=float), np.asarray(scores, dtype=float), marker="o", markersize=3,
            color="0.25")
    ax.axvline(mark, linestyle="--", color="0.6")
    ax.set_xlabel("threshold")
    ax.set_ylabel("mean per-image dice")
    return fig


def throughput_chart(result: Mapping) -> Figure:
    """Pairs per second of the article's pipeline and ours, first and later epochs.

    ``result`` is what ``carvana_tutorial.pipeline.bench.benchmark``
    returns.  The y axis is logarithmic: the cached epoch is one to two orders
    of magnitude faster.  Introduced in chapter 2.
    """
    groups = ("first epoch", "second epoch")
    article = (result["seed_pairs_per_s"], result["seed_second_pairs_per_s"])
    ours = (result["ours_pairs_per_s"], result["ours_cached_pairs_per_s"])
    speedups = (result["first_epoch_speedup"], result["cached_epoch_speedup"])
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(groups))
    ax.bar(x - 0.2, article, 0.4, label="article", color="0.6")
    bars = ax.bar(x + 0.2, ours, 0.4, label="ours", color=FALSE_NEGATIVE)
    for bar, speedup in zip(bars, speedups):
        ax.annotate(f"{speedup:.1f}x" if speedup < 10 else f"{speedup:.0f}x", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, groups)
    ax.set_yscale("log")
    ax.set_ylabel("pairs per second")
    height, width = result["size"]
    ax.set_title(f"{result['files']} pairs to {height}x{width}, {result['cores']} cores")
    ax.legend()
    return fig
