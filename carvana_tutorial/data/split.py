"""Train/validation splits: by car (ours) and by image (the article's).

Carvana photographs every car 16 times on a turntable.  Neighbouring views of
one car are near-duplicates, so a split that puts some views of a car in
training and others in validation lets the model be graded on cars it has
already seen.  :func:`split_by_car` keeps each car on one side;
:func:`random_split` reproduces the article's leaky image-level split so that
chapter 7 can measure what the leak is worth.  Introduced in chapter 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from .pairs import Pair


def _check(pairs: Sequence[Pair], val_fraction: float, limit: int | None) -> None:
    if not pairs:
        raise DataError("there is nothing to split: the list of pairs is empty")
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), not {val_fraction}")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of images, not {limit}")


def _by_car(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    cars: dict[str, list[Pair]] = {}
    for pair in sorted(pairs, key=lambda p: p.vid):
        cars.setdefault(pair.car, []).append(pair)
    return cars


def split_by_car(
    pairs: Sequence[Pair],
    val_fraction: float = 0.2,
    seed: int = 42,
    limit: int | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) with every view of a car on the same side.

    The cars are shuffled with ``seed``.  With ``limit`` (the article keeps
    1000 images), whole cars are taken in that shuffled order while they fit
    in the limit (at least one car), so a car is never cut in half.  The first
    ``round(val_fraction * cars)`` of the kept cars (at least one, never all)
    form the validation set.  Both lists come back sorted by (car, view).
    Introduced in chapter 1.
    """
    _check(pairs, val_fraction, limit)
    cars = _by_car(pairs)
    order = [str(c) for c in np.random.default_rng(seed).permutation(sorted(cars))]
    if limit is not None:
        kept, total = [], 0
        for car in order:
            if kept and total + len(cars[car]) > limit:
                break
            kept.append(car)
            total += len(cars[car])
        order = kept
    if len(order) < 2:
        raise DataError(
            f"a split by car needs at least 2 cars, but only {len(order)} "
            f"{'is' if len(order) == 1 else 'are'} available"
            + (f" within limit={limit}" if limit is not None else "")
        )
    n_val = min(max(1, round(val_fraction * len(order))), len(order) - 1)
    val_cars = set(order[:n_val])
    train = [p for car in sorted(order) if car not in val_cars for p in cars[car]]
    val = [p for car in sorted(val_cars) for p in cars[car]]
    return train, val


def random_split(
    pairs: Sequence[Pair],
    val_fraction: float = 0.2,
    seed: int = 42,
    limit: int | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """The article's split: the first ``limit`` images, shuffled image by image.

    Same as the article's ``train_test_split(X[:1000], y[:1000], test_size=0.2,
    random_state=42)`` on its sorted file lists, so views of one car land on
    both sides.  Kept only to measure that leak (chapter 7); use
    :func:`split_by_car`.  Both lists come back sorted by (car, view).
    Introduced in chapter 1.
    """
    from sklearn.model_selection import train_test_split

    _check(pairs, val_fraction, limit)
    ordered = sorted(pairs, key=lambda p: p.vid)[:limit]
    if len(ordered) < 2:
        raise DataError("a random split needs at least 2 images")
    train, val = train_test_split(ordered, test_size=val_fraction, random_state=seed)
    return sorted(train, key=lambda p: p.vid), sorted(val, key=lambda p: p.vid)


def leaked_cars(train: Sequence[Pair], val: Sequence[Pair]) -> list[str]:
    """The cars with views on both sides of a split (empty for a clean split).

    Introduced in chapter 1.
    """
    return sorted({p.car for p in train} & {p.car for p in val})


def split_summary(train: Sequence[Pair], val: Sequence[Pair]) -> dict[str, int]:
    """Images and cars on each side of a split, and the cars on both sides.

    Introduced in chapter 1.
    """
    leaked = set(leaked_cars(train, val))
    return {
        "train_images": len(train),
        "train_cars": len({p.car for p in train}),
        "val_images": len(val),
        "val_cars": len({p.car for p in val}),
        "leaked_cars": len(leaked),
        "val_images_of_seen_cars": sum(p.car in leaked for p in val),
    }
