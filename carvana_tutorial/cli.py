"""The ``carvana-tutorial`` command line.

Each sub-command lives in ``carvana_tutorial/commands/<name>.py`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
taking the parsed namespace and returning an exit code.  Modules there import
TensorFlow only inside their ``func``, so ``--help`` stays instant.

Errors a user can fix (:class:`~carvana_tutorial.errors.CarvanaError`) are
printed as one line on stderr with exit status 2; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import CarvanaError

#: Command modules, in the order their commands appear in ``--help``.
COMMAND_MODULES = (
    "synth",
    "data",
    "train",
    "predict",
    "segment",
    "export",
    "tune",
    "bench",
    "cache",
    "kaggle_push",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carvana-tutorial",
        description="Binary segmentation of Carvana cars with U-Nets (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CarvanaError as exc:
        print(f"carvana-tutorial: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("carvana-tutorial: interrupted; finished work is kept and a rerun resumes.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
