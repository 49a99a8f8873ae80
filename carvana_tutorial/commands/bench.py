"""``carvana-tutorial bench {pipeline,train}``: reproducible speed measurements."""

from __future__ import annotations

import argparse
import importlib

#: Modules that add a ``bench`` target via ``register_bench(subparsers)``.
BENCH_MODULES = ("bench_pipeline", "bench_train")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="time the input pipeline or a training step")
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name in BENCH_MODULES:
        importlib.import_module(f"{__package__}.{name}").register_bench(targets)
