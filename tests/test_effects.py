"""The rule chapter 7 decides by: paired differences over seeds and a t interval."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from carvana_tutorial.effects import paired_effect

scores = st.lists(st.floats(0.5, 1.0), min_size=2, max_size=6)


def test_a_consistent_gain_larger_than_its_spread_is_shown():
    effect = paired_effect([0.80, 0.82, 0.81], [0.85, 0.86, 0.86])
    assert effect.differences == pytest.approx((0.05, 0.04, 0.05))
    assert effect.mean == pytest.approx(0.14 / 3)
    assert effect.shown and effect.verdict == "shown: higher"


def test_a_loss_is_shown_as_worse():
    effect = paired_effect([0.85, 0.86, 0.86], [0.80, 0.82, 0.81])
    assert effect.shown and effect.verdict == "shown: lower"


def test_differences_of_both_signs_are_not_shown():
    effect = paired_effect([0.80, 0.82, 0.81], [0.83, 0.80, 0.82])
    assert effect.low < 0 < effect.high
    assert not effect.shown and effect.verdict == "not shown"


def test_a_large_mean_with_a_wide_spread_is_not_shown():
    # Three gains, all positive, but one dominates: the interval still crosses zero.
    effect = paired_effect([0.80, 0.80, 0.80], [0.801, 0.802, 0.90])
    assert effect.mean > 0.03 and not effect.shown


def test_the_interval_is_the_paired_t_interval():
    base, variant = [0.8, 0.83, 0.79, 0.81], [0.82, 0.84, 0.80, 0.84]
    effect = paired_effect(base, variant)
    diffs = np.subtract(variant, base)
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=diffs.mean(), scale=stats.sem(diffs))
    assert (effect.low, effect.high) == pytest.approx((low, high))
    # The rule agrees with a two-sided paired t-test at 5%.
    assert effect.shown == (stats.ttest_rel(variant, base).pvalue < 0.05)


@settings(max_examples=60, deadline=None)
@given(scores, st.floats(-0.1, 0.1))
def test_the_interval_holds_the_mean_and_shifts_with_it(base, shift):
    variant = [b + shift + 0.001 * i for i, b in enumerate(base)]
    effect = paired_effect(base, variant)
    assert effect.low <= effect.mean <= effect.high
    moved = paired_effect(base, [v + 0.01 for v in variant])
    assert moved.mean == pytest.approx(effect.mean + 0.01)
    assert moved.high - moved.low == pytest.approx(effect.high - effect.low)


def test_one_seed_decides_nothing():
    with pytest.raises(ValueError, match="two paired seeds"):
        paired_effect([0.8], [0.9])
    with pytest.raises(ValueError):
        paired_effect([0.8, 0.9], [0.9])
