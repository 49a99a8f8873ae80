"""Figures for the book, each a matplotlib ``Figure`` built without ``pyplot`` (no state leaks).
Chapter 3.

Masks are drawn grey and pinned to [0, 1]: matplotlib's default stretches *viridis* over each
array's own range (the article's purple and yellow masks), so an empty prediction would look like a
confident one."""

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..config import THRESHOLD

#: Colour-blind-safe pair (Okabe-Ito) for the two kinds of error.
FALSE_POSITIVE = (0.90, 0.62, 0.0)  # orange: predicted car, really background
FALSE_NEGATIVE = (0.0, 0.45, 0.70)  # blue: missed car
OVERLAY = (0.0, 0.62, 0.45)  # bluish green
MASK_STYLE = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0, "interpolation": "nearest"}


def _array(x) -> np.ndarray:
    """Tensor or array -> numpy, with a trailing single channel dropped."""
    x = np.asarray(x)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def _dice(true_mask, pred_mask, threshold: float = THRESHOLD) -> float:
    """The competition's dice of one image (metrics imported late: it needs Keras)."""
    from ..metrics import np_per_image_dice

    return float(np_per_image_dice(_array(true_mask)[None], _array(pred_mask)[None], threshold)[0])


def _figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False).ravel()


def _show_image(ax: Axes, image, title: str) -> None:
    ax.imshow(np.clip(_array(image), 0.0, 1.0), interpolation="nearest")
    ax.set(title=title, xticks=[], yticks=[])


def _show_mask(fig: Figure, ax: Axes, mask, title: str, colorbar: bool = True, **style) -> None:
    """Grey and pinned to [0, 1], unless a ``style`` is given."""
    im = ax.imshow(_array(mask), **(style or MASK_STYLE))
    ax.set(title=title, xticks=[], yticks=[])
    if colorbar:
        fig.colorbar(im, ax=ax, ticks=None if style else [0, 1], fraction=0.046, pad=0.04)


def _beside_truth(image, true_mask, height: float) -> tuple[Figure, Axes]:
    """Photo and true mask in the first two of three panels; the third is returned."""
    fig, axes = _figure(11.0, height, cols=3)
    _show_image(axes[0], image, "Input")
    _show_mask(fig, axes[1], true_mask, "True mask", colorbar=False)
    return fig, axes[2]


def sample_grid(images, masks, n: int = 4) -> Figure:
    """``n`` photos, each beside its mask (grey, with a 0-1 colorbar). Introduced in chapter 3."""
    n = min(n, len(images))
    if n < 1:
        raise ValueError("sample_grid needs at least one image")
    fig, axes = _figure(7.0, 2.4 * n, rows=n, cols=2)
    for row in range(n):
        _show_image(axes[2 * row], images[row], f"Photo {row + 1}")
        _show_mask(fig, axes[2 * row + 1], masks[row], f"Mask {row + 1}")
    return fig


def overlay_figure(image, mask, alpha: float = 0.45, title: str = "Mask over the photo") -> Figure:
    """The mask tinted over its photo: the quickest check that both line up. Chapter 3."""
    fig, (ax,) = _figure(5.0, 4.0)
    _show_image(ax, image, title)
    covered = _array(mask) >= THRESHOLD
    tint = np.dstack([np.broadcast_to(OVERLAY, (*covered.shape, 3)), covered * alpha])
    ax.imshow(tint, interpolation="nearest")
    return fig


def triptych(image, true_mask, pred_mask, threshold: float = THRESHOLD) -> Figure:
    """Photo, true mask and predicted probabilities, the dice in the last title. Chapter 3."""
    fig, ax = _beside_truth(image, true_mask, 3.2)
    _show_mask(fig, ax, pred_mask, f"Predicted (dice {_dice(true_mask, pred_mask, threshold):.3f})")
    return fig


def error_triptych(image, true_mask, pred_mask, threshold: float = THRESHOLD) -> Figure:
    """Photo, true mask, and the thresholded prediction: false positives orange,
    false negatives blue, correct pixels white (car) or black. Chapter 3."""
    truth, pred = _array(true_mask) >= THRESHOLD, _array(pred_mask) >= threshold
    fp, fn = pred & ~truth, ~pred & truth
    errors = np.repeat(pred[..., None].astype(float), 3, axis=-1)
    errors[fp], errors[fn] = FALSE_POSITIVE, FALSE_NEGATIVE
    fig, ax = _beside_truth(image, true_mask, 3.4)
    _show_image(ax, errors, f"Errors (dice {_dice(truth, pred):.3f})")
    handles = [
        Patch(color=FALSE_POSITIVE, label=f"false positive ({fp.sum()} px)"),
        Patch(color=FALSE_NEGATIVE, label=f"false negative ({fn.sum()} px)"),
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        fontsize="small",
        frameon=False,
    )
    return fig


def colormap_comparison(mask) -> Figure:
    """The same mask with matplotlib's defaults (viridis) and as a mask should be. Chapter 3."""
    fig, axes = _figure(9.0, 3.2, cols=2)
    _show_mask(fig, axes[0], mask, "Default colormap (viridis)", cmap="viridis")
    _show_mask(fig, axes[1], mask, "cmap='gray', vmin=0, vmax=1")
    return fig


def panels(images: Mapping[str, object], *, masks: Sequence[str] = (), size: float = 3.2) -> Figure:
    """Images side by side under their titles (those in ``masks`` drawn as masks). Chapter 2."""
    fig, axes = _figure(size * len(images), size * 0.85, cols=len(images))
    for ax, (title, image) in zip(axes, images.items(), strict=True):
        if title in masks:
            _show_mask(fig, ax, image, title, colorbar=False)
        else:
            _show_image(ax, image, title)
    return fig


def learning_curves(history, metrics: Sequence[str] | None = None) -> Figure:
    """Training (solid) and validation (dashed) curves, one panel per metric, of a Keras
    ``History``, a :class:`~carvana_tutorial.runs.TrainResult` or their ``.history``. Chapter 3."""
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise TypeError("history must be a Keras History, a TrainResult or {metric: values}")
    if metrics is None:  # each metric once, with or without its "val_" twin
        skip = ("epoch", "lr", "learning_rate")
        metrics = list(dict.fromkeys(k.removeprefix("val_") for k in values if k not in skip))
    if not metrics:
        raise ValueError("the history holds no metric to plot")
    fig, axes = _figure(4.2 * len(metrics), 3.2, cols=len(metrics))
    for ax, name in zip(axes, metrics, strict=True):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in values:
                epochs = range(1, len(values[key]) + 1)
                ax.plot(epochs, values[key], style, marker="o", markersize=3, label=label)
        ax.set(title=name, xlabel="epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    return fig


def dice_histogram(
    scores, bins: int = 30, *, xlabel: str = f"per-image dice at threshold {THRESHOLD}"
) -> Figure:
    """Per-image dice of one model, or ``{label: scores}`` of several on the same bins: a mean hides
    the few images a model gets badly wrong, here they show. Chapter 4."""
    named = dict(scores) if isinstance(scores, Mapping) else {"": scores}
    arrays = [np.asarray(v, dtype=float).ravel() for v in named.values()]
    if not arrays or any(a.size == 0 for a in arrays):
        raise ValueError("dice_histogram needs at least one non-empty array of scores")
    low = max(0.0, min(a.min() for a in arrays) - 0.02)
    greys = [f"{g:.2f}" for g in np.linspace(0.7, 0.2, len(arrays))] if len(arrays) > 1 else ["0.3"]
    fig, (ax,) = _figure(6, 3)
    ax.hist(arrays, bins=bins, range=(low, 1.0), color=greys, label=list(named))
    ax.set(xlabel=xlabel, ylabel="validation images")
    if isinstance(scores, Mapping):
        ax.legend()
    return fig


def dice_by_coverage(coverage, scores) -> Figure:
    """Per-image dice against the car's share of the frame: do small cars lose? Chapter 5."""
    fig, (ax,) = _figure(6, 3.2)
    ax.scatter(coverage, scores, s=12, color="0.25")
    ax.set(xlabel="share of the frame covered by the car", ylabel=f"per-image dice at {THRESHOLD}")
    return fig


def threshold_curve(thresholds, scores, mark: float = THRESHOLD) -> Figure:
    """Mean per-image dice as the threshold moves, ``mark`` dashed. Chapter 5."""
    fig, (ax,) = _figure(6, 3)
    ax.plot(thresholds, scores, marker="o", markersize=3, color="0.25")
    ax.axvline(mark, linestyle="--", color="0.6")
    ax.set(xlabel="threshold", ylabel="mean per-image dice")
    return fig


def throughput_chart(result: Mapping) -> Figure:
    """Pairs/s of the article's pipeline and ours (a
    :func:`~carvana_tutorial.tools.bench.pipeline_benchmark` result), on a log axis: the cached
    epoch is orders of magnitude faster. Chapter 2."""
    speedups = (result["first_epoch_speedup"], result["cached_epoch_speedup"])
    fig, (ax,) = _figure(6.0, 3.8)
    x = np.arange(2)
    for offset, label, color, keys in (
        (-0.2, "article", "0.6", ("seed_pairs_per_s", "seed_second_pairs_per_s")),
        (0.2, "ours", FALSE_NEGATIVE, ("ours_pairs_per_s", "ours_cached_pairs_per_s")),
    ):
        bars = ax.bar(x + offset, [result[k] for k in keys], 0.4, label=label, color=color)
    ax.bar_label(bars, [f"{s:.1f}x" if s < 10 else f"{s:.0f}x" for s in speedups], fontsize="small")
    height, width = result["size"]
    ax.set_xticks(x, ["first epoch", "second epoch"])
    ax.set(
        yscale="log",
        ylabel="pairs per second",
        title=f"{result['files']} pairs to {height}x{width}, {result['cores']} cores",
    )
    ax.legend()
    return fig


def sweep_plot(result) -> Figure:
    """Full-size dice against training seconds of chapter 7's sweep, one colour per knob: each
    setting's mean over its seeds, with a bar from its lowest seed to its highest. The axis starts
    just below the lowest setting within 0.1 of the baseline: one further below sits on its bottom
    edge as a triangle, its mean in its label, rather than squash the rest. Chapter 7."""
    fig, (ax,) = _figure(8, 5)
    names = result.names()
    means = {name: result.mean(name) for name in names}
    floor = min(m for m in means.values() if m >= means["baseline"] - 0.1) - 0.02
    groups = list(dict.fromkeys(result.seeded(name)[0]["group"] for name in names))
    labelled = set()  # each group named once in the legend
    for name in names:
        group = result.seeded(name)[0]["group"]
        seconds = float(np.mean([e["train_seconds"] for e in result.seeded(name)]))
        dice, mean = result.scores(name), means[name]
        colour, below = colormaps["tab10"](groups.index(group)), mean < floor
        bar = [max(min(dice), floor), max(max(dice), floor)]  # lowest seed to highest
        ax.plot([seconds, seconds], bar, color=colour, alpha=0.5)
        ax.scatter(
            [seconds],
            [max(mean, floor)],
            color=colour,
            marker="v" if below else ("*" if group == "baseline" else "o"),
            s=90 if group == "baseline" else 30,
            label=None if group in labelled else group,
        )
        labelled.add(group)
        label = f"{name} ({mean:.2f})" if below else name
        xy = (seconds, max(mean, floor))
        ax.annotate(label, xy, fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set(
        ylim=(floor - 0.005, None),
        xscale="log",
        xlabel="training time (s, mean over seeds, log scale)",
        title=f"One knob at a time around the {result.plan.profile} baseline",
        ylabel="full-size dice (mean over seeds; bar: lowest to highest seed)",
    )
    ax.legend(fontsize=8, loc="lower center", ncols=2)
    ax.grid(alpha=0.3)
    return fig
