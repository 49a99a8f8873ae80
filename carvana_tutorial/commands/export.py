"""``carvana-tutorial export MODEL --format onnx``: a model for runtimes without Keras."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a .keras model to ONNX (or a TensorFlow SavedModel)",
        description=("Write MODEL with Keras 3's own export: --format onnx (default; needs the 'export' extra: "
                     "pip install 'carvana-tutorial[export]') or tf_saved_model. The output defaults to MODEL "
                     "with .onnx (or _saved_model) in place of .keras and is never replaced unless --overwrite."),
    )
    parser.add_argument("model", type=Path, metavar="MODEL", help="a .keras model written by 'train'")
    parser.add_argument("--format", choices=("onnx", "tf_saved_model"), default="onnx", dest="fmt",
                        help="onnx (default) or tf_saved_model")
    parser.add_argument("--out", type=Path, metavar="PATH", help="where to write (default: beside MODEL)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing PATH")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import CarvanaError
    from ..export import FORMATS, export_model, require_extra

    out = args.out or args.model.with_name(args.model.stem + FORMATS[args.fmt])
    if out.exists() and not args.overwrite:  # the checks export_model makes, before loading TensorFlow
        raise CarvanaError(f"{out} already exists: pass --overwrite or another --out")
    for module in ("tf2onnx", "onnx") if args.fmt == "onnx" else ():
        require_extra(module)
    from ..training import load_model

    export_model(load_model(args.model), out, args.fmt, overwrite=args.overwrite)
    print(f"{args.model} -> {out} ({args.fmt})")
    return 0
