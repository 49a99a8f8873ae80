"""Argument types shared by the sub-commands."""

import argparse
import contextlib
import functools


def parse_size(text: str) -> tuple[int, int]:
    """``"96x128"`` -> ``(96, 128)``: height first, as Keras writes sizes."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 96x128, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def _int_at_least(text: str, minimum: int) -> int:
    if not text.strip().isdecimal() or int(text) < minimum:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of at least {minimum}, got {text!r}"
        )
    return int(text)


non_negative_int = functools.partial(_int_at_least, minimum=0)  # a seed, a count that may be none
positive = functools.partial(_int_at_least, minimum=1)  # a count: pairs, steps, a batch size


def rate(text: str) -> float:
    """A finite number above 0 (a learning rate): 0, negative, nan or inf would train nothing
    useful."""
    with contextlib.suppress(ValueError):
        if 0 < (value := float(text)) < float("inf"):
            return value
    raise argparse.ArgumentTypeError(f"expected a number above 0 such as 1e-3, got {text!r}")
