"""Argument types shared by the sub-commands."""

from __future__ import annotations

import argparse


def parse_size(text: str) -> tuple[int, int]:
    """``"96x128"`` -> ``(96, 128)``: height first, as Keras writes sizes."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 96x128, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def _whole_from(minimum: int):
    def whole(text: str) -> int:
        if not text.strip().isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}")
        return int(text)

    return whole


positive = _whole_from(1)  # a count: pairs, steps, a batch size
whole = _whole_from(0)  # a seed, a count that may be none


def rate(text: str) -> float:
    """A finite number above 0 (a learning rate): 0, negative, nan or inf would train nothing useful."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0 such as 1e-3, got {text!r}")
    return value
