"""Figure functions: each runs on small data and its axes hold what they claim."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from carvana_tutorial import viz

RNG = np.random.default_rng(0)
H, W = 12, 16


def _mask(left: int) -> np.ndarray:
    mask = np.zeros((H, W, 1), np.float32)
    mask[3:9, left : left + 6] = 1.0
    return mask


IMAGES = RNG.uniform(size=(3, H, W, 3)).astype(np.float32)
MASKS = np.stack([_mask(2), _mask(5), _mask(8)])


def _plain_axes(fig: Figure):
    """Axes that are not colorbars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _is_mask_style(image) -> bool:
    return image.get_cmap().name == "gray" and image.get_clim() == (0.0, 1.0)


def test_sample_grid_puts_each_photo_beside_its_mask_with_a_colorbar():
    fig = viz.sample_grid(IMAGES, MASKS, n=2)
    axes = _plain_axes(fig)
    assert [ax.get_title() for ax in axes] == ["Photo 1", "Mask 1", "Photo 2", "Mask 2"]
    assert len(fig.axes) - len(axes) == 2  # one colorbar per mask
    np.testing.assert_array_equal(axes[2].images[0].get_array(), IMAGES[1])
    np.testing.assert_array_equal(axes[3].images[0].get_array(), MASKS[1, ..., 0])
    assert _is_mask_style(axes[3].images[0])


def test_sample_grid_never_asks_for_more_samples_than_it_has():
    assert len(_plain_axes(viz.sample_grid(IMAGES, MASKS, n=10))) == 2 * len(IMAGES)
    with pytest.raises(ValueError):
        viz.sample_grid(IMAGES[:0], MASKS[:0])


def test_overlay_tints_exactly_the_mask():
    fig = viz.overlay(IMAGES[0], MASKS[0], alpha=0.5)
    (ax,) = fig.axes
    photo, tint = ax.images
    np.testing.assert_array_equal(photo.get_array(), IMAGES[0])
    np.testing.assert_array_equal(tint.get_array()[..., 3], MASKS[0, ..., 0] * 0.5)


def test_triptych_shows_input_truth_and_prediction_with_its_dice():
    pred = MASKS[1] * 0.9  # probabilities, shifted car
    fig = viz.triptych(IMAGES[0], MASKS[0], pred)
    axes = _plain_axes(fig)
    t, p = MASKS[0] > 0.5, pred > 0.5
    expected = 2 * (t & p).sum() / (t.sum() + p.sum())
    assert [ax.get_title() for ax in axes] == ["Input", "True mask", f"Predicted (dice {expected:.3f})"]
    np.testing.assert_array_equal(axes[2].images[0].get_array(), pred[..., 0])
    assert _is_mask_style(axes[1].images[0]) and _is_mask_style(axes[2].images[0])


def test_error_triptych_colours_false_positives_and_negatives_apart():
    truth, pred = MASKS[0], MASKS[1]
    fig = viz.error_triptych(IMAGES[0], truth, pred)
    errors_ax = _plain_axes(fig)[2]
    shown = errors_ax.images[0].get_array()
    fp = (pred > 0.5) & (truth < 0.5)
    fn = (pred < 0.5) & (truth > 0.5)
    assert fp.any() and fn.any()
    np.testing.assert_allclose(shown[fp[..., 0]], np.tile(viz.FALSE_POSITIVE, (fp.sum(), 1)))
    np.testing.assert_allclose(shown[fn[..., 0]], np.tile(viz.FALSE_NEGATIVE, (fn.sum(), 1)))
    correct = ~(fp | fn)[..., 0]
    np.testing.assert_array_equal(shown[correct][:, 0], pred[..., 0][correct])
    labels = [t.get_text() for t in errors_ax.get_legend().get_texts()]
    assert labels == [f"false positive ({fp.sum()} px)", f"false negative ({fn.sum()} px)"]


def test_colormap_comparison_shows_the_default_then_the_fix():
    fig = viz.colormap_comparison(MASKS[0])
    default, fixed = (ax.images[0] for ax in _plain_axes(fig))
    assert default.get_cmap().name == "viridis"
    assert _is_mask_style(fixed)


def test_panels_draw_masks_as_masks():
    fig = viz.panels({"photo": IMAGES[0], "mask": MASKS[0]}, masks=["mask"])
    photo_ax, mask_ax = fig.axes
    assert (photo_ax.get_title(), mask_ax.get_title()) == ("photo", "mask")
    assert _is_mask_style(mask_ax.images[0]) and not _is_mask_style(photo_ax.images[0])


@pytest.fixture(scope="module")
def keras_history(tmp_path_factory):
    """A real History and the CSV a real CSVLogger wrote for the same run."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = RNG.normal(size=(16, 2)).astype("float32")
    csv_path = tmp_path_factory.mktemp("history") / "history.csv"
    history = model.fit(x, x[:, :1], validation_split=0.25, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(str(csv_path))])
    return history, csv_path


def _curves(fig: Figure) -> dict[str, dict[str, list[float]]]:
    return {
        ax.get_title(): {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()} for ax in fig.axes
    }


def test_learning_curves_read_a_history_its_dict_and_its_csv_alike(keras_history):
    history, csv_path = keras_history
    figures = [viz.learning_curves(h) for h in (history, history.history, csv_path, str(csv_path))]
    curves = [_curves(f) for f in figures]
    assert set(curves[0]) == {"loss", "mae"}
    np.testing.assert_allclose(curves[0]["loss"]["train"], history.history["loss"])
    np.testing.assert_allclose(curves[0]["mae"]["validation"], history.history["val_mae"])
    for other in curves[1:]:
        assert set(other) == set(curves[0])
        for name in other:
            for label in ("train", "validation"):
                np.testing.assert_allclose(other[name][label], curves[0][name][label], rtol=1e-6)
    assert all(ax.get_xlabel() == "epoch" for ax in figures[0].axes)


def test_learning_curves_plot_only_the_metrics_asked_for():
    fig = viz.learning_curves({"loss": [3.0, 2.0], "val_loss": [4.0, 3.5], "dice": [0.1, 0.5]}, metrics=["dice"])
    assert _curves(fig) == {"dice": {"train": [0.1, 0.5]}}


@pytest.mark.parametrize("bad", [{}, {"epoch": [0, 1]}])
def test_learning_curves_refuse_an_empty_history(bad):
    with pytest.raises(ValueError):
        viz.learning_curves(bad)


def test_learning_curves_refuse_what_is_not_a_history():
    with pytest.raises(TypeError):
        viz.learning_curves(42)


def test_throughput_chart_draws_the_benchmark_it_is_given():
    result = {
        "files": 40, "size": [96, 128], "cores": 2,
        "seed_pairs_per_s": 10.0, "seed_second_pairs_per_s": 11.0,
        "ours_pairs_per_s": 50.0, "ours_cached_pairs_per_s": 900.0,
        "first_epoch_speedup": 5.0, "cached_epoch_speedup": 900.0 / 11.0,
    }
    fig = viz.throughput_chart(result)
    (ax,) = fig.axes
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [10.0, 11.0, 50.0, 900.0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "40 pairs to 96x128, 2 cores"
    assert [t.get_text() for t in ax.texts] == ["5.0x", "82x"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["article", "ours"]


def test_dice_histogram_of_one_model_counts_every_image():
    scores = np.random.default_rng(0).uniform(0.8, 1.0, 50)
    ax = viz.dice_histogram(scores, bins=12).axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == 12 and sum(heights) == 50
    assert ax.get_legend() is None
    assert ax.get_xlim()[1] >= 1.0 and ax.get_xlim()[0] <= scores.min()


def test_dice_histogram_compares_models_on_the_same_bins():
    rng = np.random.default_rng(1)
    scores = {"simple": rng.uniform(0.5, 1.0, 30), "U-Net": rng.uniform(0.9, 1.0, 20)}
    fig = viz.dice_histogram(scores, bins=10)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.containers) == 2
    assert [sum(bar.get_height() for bar in bars) for bars in ax.containers] == [30, 20]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["simple", "U-Net"]
    assert ax.get_xlabel() == "per-image dice at threshold 0.5"


@pytest.mark.parametrize("bad", [np.array([]), {}, {"empty": []}])
def test_dice_histogram_refuses_no_scores(bad):
    with pytest.raises(ValueError, match="non-empty"):
        viz.dice_histogram(bad)


def test_dice_by_coverage_plots_one_dot_per_image():
    coverage, scores = np.array([0.1, 0.2, 0.25]), np.array([0.9, 0.95, 0.97])
    ax = viz.dice_by_coverage(coverage, scores).axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.column_stack([coverage, scores]))
    assert ax.get_xlabel() == "share of the frame covered by the car"


def test_threshold_curve_draws_the_scores_and_marks_the_threshold():
    thresholds, scores = np.linspace(0.1, 0.9, 9), np.linspace(0.8, 0.9, 9)
    ax = viz.threshold_curve(thresholds, scores, mark=0.5).axes[0]
    curve, marker = ax.lines
    np.testing.assert_allclose(curve.get_xydata(), np.column_stack([thresholds, scores]))
    assert list(marker.get_xdata()) == [0.5, 0.5]
