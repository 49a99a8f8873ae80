"""The ``carvana-tutorial`` command line.

Each module in ``carvana_tutorial/tools/commands/`` has ``register(subparsers)``, which sets
``func`` (namespace -> exit code) and imports TensorFlow only inside it, so ``--help`` stays
instant.  Errors a user can fix are one line on stderr with exit status 2; Ctrl-C exits 130, saying
what was kept."""

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from .. import __version__
from ..config import cache_dir
from ..errors import CarvanaError, one_line
from .commands import bench, data, predict, train


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line (no usage block), like every other error."""

    def error(self, message: str):
        raise CarvanaError(f"{' '.join(message.split())} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="carvana-tutorial",
        description="Binary segmentation of Carvana cars with U-Nets (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for commands in (data, train, predict, bench):  # in the order of ``--help``
        commands.register(subparsers)
    for command in _leaves(parser):
        command.add_argument(
            "--progress",
            action="store_true",
            help="draw progress bars even when stderr is not a terminal",
        )
    return parser


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that take a command's own options (``bench pipeline``, not ``bench``)."""
    children = [
        child
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for child in action.choices.values()
    ]
    return [leaf for child in children for leaf in _leaves(child)] or [parser]


@contextlib.contextmanager
def quiet_stderr():
    """Send what C code writes to stderr (TensorFlow's log, libjpeg's warnings) to /dev/null;
    Python's ``sys.stderr`` keeps the real one.  ``TF_CPP_MIN_LOG_LEVEL=0`` (or 1) keeps them."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1"):
        yield
        return
    ours = False  # sys.stderr may be replaced, e.g. by pytest's capture
    with contextlib.suppress(AttributeError, OSError, ValueError):
        ours = sys.stderr.fileno() == 2
    sys.stderr.flush()
    saved, null, python_stderr = os.dup(2), os.open(os.devnull, os.O_WRONLY), sys.stderr
    os.dup2(null, 2)
    os.close(null)
    if ours:
        sys.stderr = open(saved, "w", buffering=1, closefd=False, errors="backslashreplace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    args, interrupted = argparse.Namespace(), threading.Event()
    # Ctrl-C inside TensorFlow's C code can surface as another error (a SystemError): remember it.
    previous = signal.signal(
        signal.SIGINT, lambda *sig: (interrupted.set(), signal.default_int_handler(*sig))
    )
    with quiet_stderr(), warnings.catch_warnings():
        # Pillow's warning on a huge photo names no file: ``segment`` refuses one in its own line.
        warnings.filterwarnings("ignore", message=r"Image size \(\d+ pixels\) exceeds limit")
        try:
            args = build_parser().parse_args(argv)
            args.progress = getattr(args, "progress", False) or sys.stderr.isatty()
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            interrupted.set()
        except Exception as exc:
            if not interrupted.is_set():
                if (message := one_line(exc, cache_dir())) is None:
                    raise
                print(f"carvana-tutorial: error: {message}", file=sys.stderr)
                return 2
        finally:
            signal.signal(signal.SIGINT, previous)
        said = getattr(
            args, "interrupted", "nothing half-written was left behind; rerun the command to do it"
        )
        print(f"carvana-tutorial: interrupted: {said.format(**vars(args))}", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
