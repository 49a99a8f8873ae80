"""Figure functions: tests check what is drawn (arrays, colours, limits, counts), not wording."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from carvana_tutorial.config import THRESHOLD
from carvana_tutorial.runs import TrainResult
from carvana_tutorial.tools import viz

RNG = np.random.default_rng(0)
H, W = 12, 16


def _mask(left: int) -> np.ndarray:
    mask = np.zeros((H, W, 1), np.float32)
    mask[3:9, left : left + 6] = 1.0
    return mask


IMAGES = RNG.uniform(size=(3, H, W, 3)).astype(np.float32)
MASKS = np.stack([_mask(2), _mask(5), _mask(8)])


def _plain_axes(fig: Figure) -> list:
    """Axes that are not colorbars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _colorbars(fig: Figure) -> int:
    return len(fig.axes) - len(_plain_axes(fig))


def _is_mask_style(image) -> bool:
    return image.get_cmap().name == "gray" and image.get_clim() == (0.0, 1.0)


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?", text)]


def _dice(truth: np.ndarray, pred: np.ndarray, threshold: float = THRESHOLD) -> float:
    t, p = truth >= 0.5, pred >= threshold
    return 2 * (t & p).sum() / (t.sum() + p.sum())


def test_sample_grid_puts_each_photo_beside_its_mask_with_a_colorbar():
    fig = viz.sample_grid(IMAGES, MASKS, n=2)
    axes = _plain_axes(fig)
    assert len(axes) == 4 and _colorbars(fig) == 2  # one colorbar per mask
    for row in range(2):
        photo, mask = axes[2 * row].images[0], axes[2 * row + 1].images[0]
        np.testing.assert_array_equal(photo.get_array(), IMAGES[row])
        np.testing.assert_array_equal(mask.get_array(), MASKS[row, ..., 0])
        assert _is_mask_style(mask)
    assert all(list(cb.get_yticks()) == [0, 1] for cb in fig.axes if cb not in axes)


def test_sample_grid_never_asks_for_more_samples_than_it_has():
    assert len(_plain_axes(viz.sample_grid(IMAGES, MASKS, n=10))) == 2 * len(IMAGES)
    with pytest.raises(ValueError):
        viz.sample_grid(IMAGES[:0], MASKS[:0])


def test_photos_are_clipped_to_the_displayable_range_without_a_warning(caplog):
    bright = IMAGES[0] * 3 - 1  # values in [-1, 2], as augmentation can leave them
    shown = viz.sample_grid(bright[None], MASKS[:1]).axes[0].images[0].get_array()
    np.testing.assert_array_equal(shown, np.clip(bright, 0, 1))
    assert not caplog.records  # matplotlib logs a warning when it has to clip


def test_overlay_figure_tints_exactly_the_mask():
    fig = viz.overlay_figure(IMAGES[0], MASKS[0], alpha=0.5)
    (ax,) = fig.axes
    photo, tint = ax.images
    np.testing.assert_array_equal(photo.get_array(), IMAGES[0])
    np.testing.assert_array_equal(tint.get_array()[..., 3], MASKS[0, ..., 0] * 0.5)
    np.testing.assert_allclose(tint.get_array()[..., :3], np.broadcast_to(viz.OVERLAY, (H, W, 3)))


def test_triptych_shows_input_truth_and_prediction_with_its_dice():
    pred = MASKS[1] * 0.9  # probabilities, shifted car
    fig = viz.triptych(IMAGES[0], MASKS[0], pred)
    photo_ax, truth_ax, pred_ax = _plain_axes(fig)
    assert _colorbars(fig) == 1
    np.testing.assert_array_equal(photo_ax.images[0].get_array(), IMAGES[0])
    np.testing.assert_array_equal(truth_ax.images[0].get_array(), MASKS[0, ..., 0])
    np.testing.assert_array_equal(pred_ax.images[0].get_array(), pred[..., 0])
    assert _is_mask_style(truth_ax.images[0]) and _is_mask_style(pred_ax.images[0])
    assert _numbers(pred_ax.get_title()) == [round(_dice(MASKS[0], pred), 3)]


def test_triptych_scores_at_the_threshold_it_is_given():
    pred = MASKS[1] * 0.4  # below the default threshold: an empty prediction there
    assert _numbers(viz.triptych(IMAGES[0], MASKS[0], pred).axes[2].get_title()) == [0.0]
    title = viz.triptych(IMAGES[0], MASKS[0], pred, threshold=0.3).axes[2].get_title()
    assert _numbers(title) == [round(_dice(MASKS[0], pred, 0.3), 3)] != [0.0]


@pytest.mark.parametrize("scale, threshold", [(1.0, THRESHOLD), (0.4, 0.3)])
def test_error_triptych_colours_false_positives_and_negatives_apart(scale, threshold):
    truth, pred = MASKS[0], MASKS[1] * scale
    fig = viz.error_triptych(IMAGES[0], truth, pred, threshold=threshold)
    axes = _plain_axes(fig)
    assert len(axes) == 3 and _colorbars(fig) == 0
    assert _is_mask_style(axes[1].images[0])
    shown = axes[2].images[0].get_array()
    t, p = truth[..., 0] >= 0.5, pred[..., 0] >= threshold
    fp, fn = p & ~t, ~p & t
    assert fp.any() and fn.any()
    np.testing.assert_allclose(shown[fp], np.tile(viz.FALSE_POSITIVE, (fp.sum(), 1)))
    np.testing.assert_allclose(shown[fn], np.tile(viz.FALSE_NEGATIVE, (fn.sum(), 1)))
    correct = ~(fp | fn)
    white_or_black = np.repeat(p[correct, None], 3, axis=1)
    np.testing.assert_array_equal(shown[correct], white_or_black)
    legend = axes[2].get_legend()
    colours = [to_rgb(h.get_facecolor()) for h in legend.legend_handles]
    assert colours == [viz.FALSE_POSITIVE, viz.FALSE_NEGATIVE]
    assert [_numbers(t.get_text()) for t in legend.get_texts()] == [[fp.sum()], [fn.sum()]]
    assert _numbers(axes[2].get_title()) == [round(_dice(truth, pred, threshold), 3)]


def test_colormap_comparison_shows_the_stretched_default_then_the_pinned_mask():
    faint = MASKS[0] * 0.2
    fig = viz.colormap_comparison(faint)
    default, fixed = (ax.images[0] for ax in _plain_axes(fig))
    assert _colorbars(fig) == 2
    assert default.get_cmap().name == "viridis" and default.get_clim() == (0.0, pytest.approx(0.2))
    assert _is_mask_style(fixed)
    for image in (default, fixed):
        np.testing.assert_array_equal(image.get_array(), faint[..., 0])


def test_panels_draw_masks_as_masks_and_photos_as_photos():
    fig = viz.panels({"photo": IMAGES[0], "mask": MASKS[0]}, masks=["mask"])
    photo_ax, mask_ax = fig.axes  # no colorbars
    np.testing.assert_array_equal(photo_ax.images[0].get_array(), IMAGES[0])
    np.testing.assert_array_equal(mask_ax.images[0].get_array(), MASKS[0, ..., 0])
    assert _is_mask_style(mask_ax.images[0]) and not _is_mask_style(photo_ax.images[0])
    assert len(viz.panels({"only": IMAGES[0]}).axes) == 1


HISTORY = {
    "loss": [0.9, 0.5, 0.4],
    "val_loss": [1.0, 0.7, 0.6],
    "mean_dice": [0.2, 0.6, 0.7],
    "val_mean_dice": [0.1, 0.5, 0.65],
    "learning_rate": [1e-3] * 3,
    "epoch": [0, 1, 2],
}


def _curves(fig: Figure) -> list[list[tuple[str, list[float], list[float]]]]:
    """Per panel, per line: its style and its data."""
    return [
        [
            (line.get_linestyle(), list(line.get_xdata()), list(line.get_ydata()))
            for line in ax.get_lines()
        ]
        for ax in fig.axes
    ]


def _keras_history() -> keras.callbacks.History:
    history = keras.callbacks.History()
    history.history = HISTORY
    return history


@pytest.mark.parametrize("kind", ["mapping", "keras History", "TrainResult"])
def test_learning_curves_draw_train_solid_and_validation_dashed_per_metric(kind):
    history = {
        "mapping": lambda: dict(HISTORY),
        "keras History": _keras_history,
        "TrainResult": lambda: TrainResult(Path("."), {}, HISTORY),
    }[kind]()
    fig = viz.learning_curves(history)
    epochs = [1, 2, 3]
    assert _curves(fig) == [
        [("-", epochs, HISTORY["loss"]), ("--", epochs, HISTORY["val_loss"])],
        [("-", epochs, HISTORY["mean_dice"]), ("--", epochs, HISTORY["val_mean_dice"])],
    ]
    assert [len(ax.get_legend().get_texts()) for ax in fig.axes] == [2, 2]


def test_learning_curves_plot_only_the_metrics_asked_for():
    fig = viz.learning_curves(HISTORY, metrics=["mean_dice"])
    epochs = [1, 2, 3]
    assert _curves(fig) == [
        [("-", epochs, HISTORY["mean_dice"]), ("--", epochs, HISTORY["val_mean_dice"])]
    ]


def test_learning_curves_draw_a_metric_seen_only_in_validation():
    fig = viz.learning_curves({"loss": [2.0, 1.0], "val_iou": [0.3, 0.4]})
    assert _curves(fig) == [[("-", [1, 2], [2.0, 1.0])], [("--", [1, 2], [0.3, 0.4])]]


@pytest.mark.parametrize("bad", [{}, {"epoch": [0, 1]}])
def test_learning_curves_refuse_an_empty_history(bad):
    with pytest.raises(ValueError):
        viz.learning_curves(bad)


@pytest.mark.parametrize("bad", [42, "history.csv", Path("history.csv")])
def test_learning_curves_refuse_what_is_not_a_history(bad):
    with pytest.raises(TypeError):
        viz.learning_curves(bad)


def test_throughput_chart_draws_the_benchmark_it_is_given():
    result = {
        "files": 40,
        "size": [96, 128],
        "cores": 2,
        "seed_pairs_per_s": 10.0,
        "seed_second_pairs_per_s": 11.0,
        "ours_pairs_per_s": 50.0,
        "ours_cached_pairs_per_s": 900.0,
        "first_epoch_speedup": 5.0,
        "cached_epoch_speedup": 900.0 / 11.0,
    }
    (ax,) = viz.throughput_chart(result).axes
    article, ours = ax.containers
    assert [bar.get_height() for bar in article] == [10.0, 11.0]
    assert [bar.get_height() for bar in ours] == [50.0, 900.0]
    assert [to_rgb(bar.get_facecolor()) for bar in ours] == [viz.FALSE_NEGATIVE] * 2
    assert len({bar.get_facecolor() for bar in article + ours}) == 2
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.texts] == ["5.0x", "82x"]  # the speedups, over our bars
    tops = [(bar.get_x() + bar.get_width() / 2, bar.get_height()) for bar in ours]
    assert [t.xy for t in ax.texts] == tops
    assert len(ax.get_legend().get_texts()) == 2


def test_dice_histogram_of_one_model_counts_every_image_between_its_lowest_score_and_1():
    scores = np.random.default_rng(0).uniform(0.8, 1.0, 50)
    ax = viz.dice_histogram(scores, bins=12).axes[0]
    assert len(ax.patches) == 12 and sum(bar.get_height() for bar in ax.patches) == 50
    assert ax.patches[0].get_x() == pytest.approx(scores.min() - 0.02)
    assert ax.patches[-1].get_x() + ax.patches[-1].get_width() == pytest.approx(1.0)
    assert ax.get_legend() is None


def test_dice_histogram_compares_models_on_the_same_bins_in_different_greys():
    rng = np.random.default_rng(1)
    scores = {"simple": rng.uniform(0.5, 1.0, 30), "U-Net": rng.uniform(0.9, 1.0, 20)}
    ax = viz.dice_histogram(scores, bins=10).axes[0]
    simple, unet = ax.containers
    assert [sum(bar.get_height() for bar in bars) for bars in (simple, unet)] == [30, 20]
    assert [len(bars) for bars in (simple, unet)] == [10, 10]
    assert simple[0].get_x() < unet[0].get_x() < simple[1].get_x()  # side by side within a bin
    greys = [to_rgb(bars[0].get_facecolor()) for bars in (simple, unet)]
    assert all(r == g == b for r, g, b in greys) and greys[0] != greys[1]
    assert len(ax.get_legend().get_texts()) == 2


@pytest.mark.parametrize("bad", [np.array([]), {}, {"empty": []}])
def test_dice_histogram_refuses_no_scores(bad):
    with pytest.raises(ValueError, match="non-empty"):
        viz.dice_histogram(bad)


def test_dice_by_coverage_plots_one_dot_per_image():
    coverage, scores = np.array([0.1, 0.2, 0.25]), np.array([0.9, 0.95, 0.97])
    ax = viz.dice_by_coverage(coverage, scores).axes[0]
    (dots,) = ax.collections
    np.testing.assert_allclose(dots.get_offsets(), np.column_stack([coverage, scores]))


@pytest.mark.parametrize("mark", [None, 0.4])
def test_threshold_curve_draws_the_scores_and_marks_the_threshold(mark):
    thresholds, scores = np.linspace(0.1, 0.9, 9), np.linspace(0.8, 0.9, 9)
    kwargs = {} if mark is None else {"mark": mark}
    ax = viz.threshold_curve(thresholds, scores, **kwargs).axes[0]
    curve, marker = ax.lines
    np.testing.assert_allclose(curve.get_xydata(), np.column_stack([thresholds, scores]))
    expected = THRESHOLD if mark is None else mark
    assert list(marker.get_xdata()) == [expected, expected] and marker.get_linestyle() == "--"
