"""``carvana-tutorial bench train``: images per second of a training step, plain and with XLA."""

from __future__ import annotations

import argparse
import json
import sys


def register_bench(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "train",
        help="time a training step of each network, quick settings and the article's",
        description=(
            "Time train_on_batch on random batches for the simple network and the U-Net, at the quick "
            "profile's settings and at the article's (64 filters, batch 32, 96x128), plain and compiled "
            "with XLA from the same weights; print images/s and the speed-up, then one JSON line. "
            "Threads: set TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS before running to compare."
        ),
    )
    parser.add_argument("--only", choices=("quick", "article"), help="time one of the two settings")
    parser.add_argument("--model", choices=("simple", "unet"), help="time one network")
    parser.add_argument("--steps", type=int, metavar="N",
                        help="timed steps per configuration (default 5 quick, 2 article)")
    parser.add_argument("--no-xla", action="store_true", help="skip the XLA comparison")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import CarvanaError
    from ..training import benchmark

    if args.steps is not None and args.steps < 1:
        raise CarvanaError(f"--steps must be at least 1, got {args.steps}")
    settings = (args.only,) if args.only else ("quick", "article")
    models = (args.model,) if args.model else ("simple", "unet")
    steps = {s: args.steps for s in settings} if args.steps else None
    result = benchmark(settings, models, steps=steps, xla=not args.no_xla, progress=sys.stderr.isatty())
    print(f"{result['device']}, {result['cores']} cores; images/s of one training step (train_on_batch)")
    for r in result["results"]:
        line = (f"{r['setting']:<8} {r['model']:<7} {r['filters']:>3} filters  batch {r['batch_size']:>2}  "
                f"{r['image_size'][0]}x{r['image_size'][1]}  {r['params']:>11,} params  "
                f"plain {r['images_per_s']:7.2f}")
        if "xla_images_per_s" in r:
            line += (f"  XLA {r['xla_images_per_s']:7.2f}  x{r['xla_speedup']:.2f}"
                     f"  (first-step loss differs by {r['xla_loss_diff']:.1e})")
        print(line)
    print(json.dumps(result, sort_keys=True))
    return 0
