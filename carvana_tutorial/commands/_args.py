"""Argument types shared by several sub-commands."""

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
