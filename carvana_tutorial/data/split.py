"""Train/validation splits: by car (ours) and by image (the article's, leaky).  The 16 views of a car are
near-duplicates, so splitting a car's views across both sides grades the model on cars it has seen; chapter 7
measures that leak.  Introduced in chapter 1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from .pairs import Pair


def _check(pairs: Sequence[Pair], val_fraction: float, max_images: int | None) -> None:
    if not pairs:
        raise DataError("there is nothing to split: the list of pairs is empty")
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), not {val_fraction}")
    if max_images is not None and max_images < 1:
        raise DataError(f"max_images must be a positive number of images, not {max_images}")


def group_by_car(pairs: Sequence[Pair]) -> dict[str, list[Pair]]:
    """The pairs of each car, sorted by view, cars in sorted order.  Introduced in chapter 1."""
    cars: dict[str, list[Pair]] = {}
    for pair in sorted(pairs, key=lambda p: p.vid):
        cars.setdefault(pair.car, []).append(pair)
    return cars


def _whole_cars(cars: dict[str, list[Pair]], order: list[str], max_images: int | None) -> list[str]:
    if max_images is not None:  # the first cars that fit, and at least one
        fit = np.cumsum([len(cars[car]) for car in order]) <= max_images
        order = order[: max(1, int(fit.sum()))]
    if len(order) < 2:
        within = "" if max_images is None else f" within max_images={max_images}"
        raise DataError(f"a split by car needs at least 2 cars, but only {len(order)} "
                        f"{'is' if len(order) == 1 else 'are'} available{within}")
    return order


def split_by_car(
    pairs: Sequence[Pair], val_fraction: float = 0.2, seed: int = 42,
    max_images: int | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """Split into (train, val) with every view of a car on the same side.

    ``max_images`` is rounded down to whole shuffled cars; at least one car
    validates, never all.  Introduced in chapter 1.
    """
    _check(pairs, val_fraction, max_images)
    cars = group_by_car(pairs)
    order = list(np.random.default_rng(seed).permutation(sorted(cars)))
    order = _whole_cars(cars, order, max_images)
    n_val = min(max(1, round(val_fraction * len(order))), len(order) - 1)
    val_cars, train_cars = sorted(order[:n_val]), sorted(order[n_val:])
    return ([pair for car in train_cars for pair in cars[car]],
            [pair for car in val_cars for pair in cars[car]])


def random_split(pairs: Sequence[Pair], val_fraction: float = 0.2, seed: int = 42,
                 max_images: int | None = None) -> tuple[list[Pair], list[Pair]]:
    """The article's ``train_test_split`` of its first ``max_images`` images,
    kept only to measure the leak (chapter 7).  Introduced in chapter 1."""
    from sklearn.model_selection import train_test_split

    _check(pairs, val_fraction, max_images)
    ordered = sorted(pairs, key=lambda p: p.vid)[:max_images]
    if len(ordered) < 2:
        raise DataError("a random split needs at least 2 images")
    train, val = train_test_split(ordered, test_size=val_fraction, random_state=seed)
    return sorted(train, key=lambda p: p.vid), sorted(val, key=lambda p: p.vid)


def leaked_cars(train: Sequence[Pair], val: Sequence[Pair]) -> list[str]:
    """The cars with views on both sides of a split.  Introduced in chapter 1."""
    return sorted({p.car for p in train} & {p.car for p in val})


def split_summary(train: Sequence[Pair], val: Sequence[Pair]) -> dict[str, int]:
    """Images and cars on each side, and the cars on both.  Introduced in chapter 1."""
    leaked = set(leaked_cars(train, val))
    return {"train_images": len(train), "train_cars": len({p.car for p in train}),
            "val_images": len(val), "val_cars": len({p.car for p in val}),
            "leaked_cars": len(leaked), "val_images_of_seen_cars": sum(p.car in leaked for p in val)}
