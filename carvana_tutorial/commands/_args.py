"""Argument types shared by the sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from ..errors import CarvanaError

T = TypeVar("T")


def parse_size(text: str) -> tuple[int, int]:
    """``"96x128"`` -> ``(96, 128)``: height first, as Keras writes sizes."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 96x128, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def positive(text: str) -> int:
    """A count of at least 1 (pairs, steps, a batch size)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def user_value(flag: str, parse: Callable[[str], T], text: str, expected: str) -> T:
    """``parse(text)``, or a one-line :class:`CarvanaError` naming ``flag`` (argparse's own error is two lines)."""
    try:
        return parse(text)
    except (argparse.ArgumentTypeError, ValueError):
        raise CarvanaError(f"{flag} {text!r} is not {expected}") from None
