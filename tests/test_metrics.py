"""Dice and friends against their numpy references, their properties, and their serialization."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from carvana_tutorial import metrics as M

SETTINGS = settings(max_examples=40, deadline=None)


def masks():
    """Batches of binary masks [B, H, W, 1]."""
    batch, side = st.integers(1, 4), st.integers(2, 6)
    return st.tuples(batch, side, side).flatmap(
        lambda s: arrays(np.float32, (s[0], s[1], s[2], 1), elements=st.sampled_from([0.0, 1.0]))
    )


def mask_pairs():
    """Two binary mask batches of the same shape."""
    return masks().flatmap(
        lambda a: st.tuples(
            st.just(a), arrays(np.float32, a.shape, elements=st.sampled_from([0.0, 1.0]))
        )
    )


def probs_like(a):
    return arrays(np.float32, a.shape, elements=st.floats(0, 1, width=32))


def k(fn, t, p):
    return keras.ops.convert_to_numpy(
        fn(keras.ops.convert_to_tensor(t), keras.ops.convert_to_tensor(p))
    )


# --- the Keras functions agree with their numpy references ------------------------------------


def _bce_dice(t: np.ndarray, p: np.ndarray, eps: float = 1e-7) -> float:
    """BCE + dice loss by hand; Keras clips probabilities to [eps, 1 - eps] in float32."""
    q = np.clip(p.astype(np.float32), np.float32(eps), np.float32(1 - eps)).astype(np.float64)
    bce = -(t * np.log(q) + (1 - t) * np.log(1 - q)).mean()
    return float(bce + 1 - M.np_dice_coef(t, p))


@SETTINGS
@given(mask_pairs().flatmap(lambda tp: st.tuples(st.just(tp[0]), probs_like(tp[0]))))
def test_keras_matches_numpy(pair):
    t, p = pair
    np.testing.assert_allclose(k(M.dice_coef, t, p), M.np_dice_coef(t, p), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(k(M.per_image_dice, t, p), M.np_per_image_dice(t, p), rtol=1e-6)
    np.testing.assert_allclose(k(M.mean_dice, t, p), M.np_per_image_dice(t, p).mean(), rtol=1e-6)
    np.testing.assert_allclose(k(M.bce_dice_loss, t, p), _bce_dice(t, p), rtol=1e-4, atol=1e-5)


def test_worked_example_by_hand():
    # truth: 4 pixels; prediction: 3 of them plus 1 outside -> dice = 2*3/(4+4) = 0.75, IoU = 3/5.
    t = np.zeros((1, 4, 4, 1), np.float32)
    t[0, :2, :2] = 1
    p = np.zeros_like(t)
    p[0, :2, :2] = 0.9
    p[0, 1, 1] = 0.2
    p[0, 3, 3] = 0.7
    assert M.np_per_image_dice(t, p)[0] == pytest.approx(0.75)
    assert M.np_per_image_iou(t, p)[0] == pytest.approx(0.6)
    # the soft (article) dice uses the probabilities themselves: 2*(0.9*3+0.2)/(4+3.6) = 0.763...
    assert M.np_dice_coef(t, p) == pytest.approx(
        (2 * 2.9 + M.SMOOTH) / (4 + 3.6 + M.SMOOTH), rel=1e-6
    )


# --- properties --------------------------------------------------------------------------------


@SETTINGS
@given(mask_pairs())
def test_range_and_symmetry(pair):
    t, p = pair
    for fn in (M.np_per_image_dice, M.np_per_image_iou):
        d = fn(t, p)
        assert np.all((d >= 0) & (d <= 1))
        np.testing.assert_array_equal(d, fn(p, t))
    assert 0 <= M.np_dice_coef(t, p) <= 1
    assert M.np_dice_coef(t, p) == pytest.approx(M.np_dice_coef(p, t))


@SETTINGS
@given(masks())
def test_identical_masks_score_one(t):
    np.testing.assert_array_equal(M.np_per_image_dice(t, t), 1.0)  # empty vs empty included
    np.testing.assert_array_equal(M.np_per_image_iou(t, t), 1.0)
    assert M.np_dice_coef(t, t) == pytest.approx(1.0)
    np.testing.assert_array_equal(k(M.per_image_dice, t, t), 1.0)


@SETTINGS
@given(masks())
def test_disjoint_non_empty_masks_score_zero(t):
    t = t.copy()
    t[:, 0, 0, 0], t[:, -1, -1, 0] = 1, 0  # both the mask and its complement are non-empty
    complement = 1 - t
    np.testing.assert_array_equal(M.np_per_image_dice(t, complement), 0.0)
    np.testing.assert_array_equal(M.np_per_image_iou(t, complement), 0.0)
    np.testing.assert_array_equal(k(M.per_image_dice, t, complement), 0.0)
    assert M.np_dice_coef(t, complement) < 1e-5


@SETTINGS
@given(mask_pairs())
def test_iou_is_intersection_over_union(pair):
    t, p = (a.reshape(len(a), -1) > 0 for a in pair)
    union = (t | p).sum(axis=1)
    expected = np.where(union > 0, (t & p).sum(axis=1) / np.maximum(union, 1), 1.0)
    np.testing.assert_allclose(M.np_per_image_iou(*pair), expected, rtol=1e-12)


def test_empty_against_non_empty_scores_zero():
    empty, full = np.zeros((1, 3, 3, 1)), np.ones((1, 3, 3, 1))
    assert M.np_per_image_dice(empty, full)[0] == 0.0
    assert M.np_per_image_dice(full, empty)[0] == 0.0


@SETTINGS
@given(mask_pairs())
def test_batch_global_is_area_weighted_mean_of_per_image(pair):
    # Without smoothing, batch-global dice = sum_i w_i d_i / sum_i w_i with w_i = |T_i| + |P_i|:
    # big cars weigh more. Images with empty truth and prediction carry no weight.
    t, p = pair
    w = t.reshape(len(t), -1).sum(axis=1) + p.reshape(len(p), -1).sum(axis=1)
    if w.sum() == 0:
        return
    d = M.np_per_image_dice(t, p)
    assert M.np_dice_coef(t, p, smooth=0) == pytest.approx((w * d).sum() / w.sum())


@SETTINGS
@given(mask_pairs())
def test_batch_global_equals_per_image_for_one_image(pair):
    t, p = pair
    t, p = t[:1], p[:1]
    if t.sum() + p.sum() == 0:
        return
    assert M.np_dice_coef(t, p, smooth=0) == pytest.approx(M.np_per_image_dice(t, p).mean())


@SETTINGS
@given(mask_pairs(), st.integers(2, 4))
def test_batch_global_equals_per_image_when_images_repeat(pair, copies):
    t, p = np.repeat(pair[0][:1], copies, axis=0), np.repeat(pair[1][:1], copies, axis=0)
    if t.sum() + p.sum() == 0:
        return
    assert M.np_dice_coef(t, p, smooth=0) == pytest.approx(M.np_per_image_dice(t, p).mean())


def test_batch_global_differs_when_a_small_car_is_missed():
    # A big car predicted perfectly and a small car missed entirely: per-image mean is 0.5,
    # the batch-global score barely notices the miss.
    t = np.zeros((2, 20, 20, 1), np.float32)
    t[0, 2:18, 2:18] = 1  # 256 pixels
    t[1, 0:2, 0:2] = 1  # 4 pixels
    p = t.copy()
    p[1] = 0
    assert M.np_per_image_dice(t, p).mean() == pytest.approx(0.5)
    assert M.np_dice_coef(t, p) == pytest.approx(2 * 256 / (260 + 256), rel=1e-5)
    assert M.np_dice_coef(t, p) > 0.98


def test_threshold_is_inclusive_at_half():
    t = np.ones((1, 1, 2, 1))
    p = np.array([0.5, 0.4999], dtype=np.float32).reshape(1, 1, 2, 1)
    assert M.np_per_image_dice(t, p)[0] == pytest.approx(2 * 1 / 3)
    assert k(M.per_image_dice, t.astype(np.float32), p)[0] == pytest.approx(2 * 1 / 3)


def test_losses_are_differentiable_and_point_downhill():
    import tensorflow as tf

    t = tf.constant(np.eye(4, dtype=np.float32).reshape(1, 4, 4, 1))
    p = tf.Variable(tf.fill((1, 4, 4, 1), 0.5))
    for loss in (M.dice_loss, M.bce_dice_loss):
        with tf.GradientTape() as tape:
            value = loss(t, p)
        grad = tape.gradient(value, p).numpy()
        assert np.all(grad[t.numpy() == 1] < 0) and np.all(grad[t.numpy() == 0] > 0)


# --- serialization: .keras files load without custom_objects -----------------------------------


def test_model_compiled_with_our_metrics_reloads_without_custom_objects(tmp_path):
    from carvana_tutorial.models import simple_unet

    keras.utils.set_random_seed(0)
    model = simple_unet(input_shape=(16, 16, 3), filters=2, depth=1)
    model.compile(optimizer="adam", loss=M.bce_dice_loss, metrics=[M.dice_coef, M.mean_dice])
    x = np.random.default_rng(0).random((4, 16, 16, 3), dtype=np.float32)
    y = (x[..., :1] > 0.5).astype(np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.loss is M.bce_dice_loss or loaded.loss.__name__ == "bce_dice_loss"
    ev = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(ev) >= {"loss", "dice_coef", "mean_dice"}


@pytest.mark.parametrize(
    "fn", [M.dice_coef, M.dice_loss, M.bce_dice_loss, M.per_image_dice, M.mean_dice]
)
def test_registered_under_the_package(fn):
    name = keras.saving.get_registered_name(fn)
    assert name == f"carvana_tutorial>{fn.__name__}"
    assert keras.saving.get_registered_object(name) is fn


def test_dice_definitions_pool_per_batch_or_score_per_image():
    big, small = np.zeros((20, 20)), np.zeros((20, 20))
    big[2:18, 2:18] = 1  # 256 pixels
    small[8:12, 8:12] = 1  # 16 pixels, missed entirely below
    masks = np.stack([big, small])
    probs = np.stack([big * 0.9, small * 0.0])
    d = M.dice_definitions([(masks, probs), (masks[:1], masks[:1])])
    assert d["per_image"] == pytest.approx((1 + 0 + 1) / 3)
    assert d["per_image_min"] == 0.0
    pooled_first = M.np_dice_coef(masks, probs)
    assert d["batch_global"] == pytest.approx((2 * pooled_first + 1 * M.np_dice_coef(big, big)) / 3)
    assert d["batch_global_hard"] == pytest.approx((2 * (2 * 256 / 528) + 1) / 3, rel=1e-4)
