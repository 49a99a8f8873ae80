"""Deciding whether a change helped: paired differences over seeds, and one stated rule.

One run against another says little: a seed alone moves a small model's score by about as much as
most knobs do. So each setting is trained from the same few seeds as the baseline, each seed's
score is paired with the baseline's from that seed (same cars, same initial draw), and the rule
below decides. Introduced in chapter 7."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: The rule's confidence: an effect is shown when this interval excludes zero.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Effect:
    """The paired differences (variant minus baseline) and what they show."""

    differences: tuple[float, ...]
    mean: float
    low: float  # the interval of the mean difference
    high: float

    @property
    def shown(self) -> bool:
        """Shown: the interval excludes zero."""
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """What the rule says: not shown, or shown higher or lower."""
        if not self.shown:
            return "not shown"
        return "shown: higher" if self.mean > 0 else "shown: lower"


def t_quantile(seeds: int, confidence: float = CONFIDENCE) -> float:
    """How many standard errors the interval reaches each side: 4.3 for three seeds, 2.0 for 60."""
    return float(stats.t.ppf((1 + confidence) / 2, df=seeds - 1))


def paired_effect(
    baseline: Sequence[float],
    variant: Sequence[float],
    confidence: float = CONFIDENCE,
) -> Effect:
    """The mean of ``variant - baseline`` over paired seeds, with its
    t interval (n - 1 degrees of freedom). Introduced in chapter 7."""
    if len(variant) != len(baseline) or len(baseline) < 2:
        raise ValueError("an effect needs at least two paired seeds")
    diffs = np.asarray(variant, float) - np.asarray(baseline, float)
    n = len(diffs)
    half = t_quantile(n, confidence) * diffs.std(ddof=1) / math.sqrt(n)
    mean = float(diffs.mean())
    low, high = float(mean - half), float(mean + half)
    return Effect(tuple(map(float, diffs)), mean, low, high)
