"""``carvana-tutorial bench {pipeline,train,real}``: the measurements of
:mod:`carvana_tutorial.tools.bench`, printed."""

import argparse
import json
from pathlib import Path

from ...config import IMAGE_SIZE, MODEL_NAMES, REALISM_RUN
from ...layout import FULL_SIZE
from ._args import non_negative_int, parse_size, positive


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="time the input pipeline or a training step")
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    pipeline = targets.add_parser(
        "pipeline",
        help="time two epochs of the article's input pipeline and of ours",
        description="Time two epochs of the article's tf.data pipeline and of ours on the "
        "same files; print pairs/s and the ratios, then one JSON line.",
    )
    pipeline.add_argument("data", type=Path, metavar="DATA", help="a folder in Carvana's layout")
    pipeline.add_argument("--limit", type=positive, help="use the first N pairs (by car, view)")
    pipeline.add_argument(
        "--size",
        type=parse_size,
        default=IMAGE_SIZE,
        help=f"target HEIGHTxWIDTH (default {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]})",
    )
    pipeline.add_argument("--batch-size", type=positive, default=32)
    pipeline.add_argument(
        "--augment",
        choices=("none", "joint"),
        default="none",
        help="augmentation in ours (default none, like the article's pipeline)",
    )
    pipeline.add_argument(
        "--masks",
        choices=("auto", "csv", "gif"),
        help="where ours reads masks (default: "
        "$CARVANA_MASKS, else auto: train_masks.csv when it covers every pair)",
    )
    pipeline.add_argument(
        "--stages",
        action="store_true",
        help="also time photo and mask decoding alone, and a cached epoch with augmentation",
    )
    pipeline.set_defaults(func=run_pipeline)
    train = targets.add_parser(
        "train",
        help="time a training step of each network, quick settings and the article's",
        description="Time train_on_batch on random batches for each network at the quick "
        "profile's settings and the article's, plain and compiled with XLA from the same weights; "
        "print images/s, then one JSON line. To compare thread counts, set "
        "TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS.",
    )
    train.add_argument("--only", choices=("quick", "article"), help="time one of the two settings")
    train.add_argument("--model", choices=MODEL_NAMES, help="time one network")
    train.add_argument(
        "--steps", type=positive, metavar="N", help="timed steps each (default 5 quick, 2 article)"
    )
    train.add_argument("--no-xla", action="store_true", help="skip the XLA comparison")
    train.set_defaults(func=run_bench_train)
    real = targets.add_parser(
        "real",
        help="score a U-Net trained on synthetic cars only on real photos",
        description="Train the quick U-Net on a synthetic set of a fixed seed (split by car, "
        "in a temporary folder), score its best checkpoint on every real pair in REAL: how real "
        "the synthetic set is. Print mean, median and the worst five photos, then one JSON line.",
    )
    real.add_argument(
        "real", type=Path, metavar="REAL", help="real photos and masks in Carvana's layout"
    )
    real.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="synthetic set and training seed (default 0)",
    )
    real.add_argument(
        "--cars", type=positive, default=32, help="synthetic cars to train on (default 32)"
    )
    real.add_argument(
        "--size",
        type=parse_size,
        default=FULL_SIZE,
        help=f"synthetic HEIGHTxWIDTH (default {FULL_SIZE[0]}x{FULL_SIZE[1]})",
    )
    real.add_argument(
        "--epochs",
        type=positive,
        default=REALISM_RUN.epochs,
        help=f"most epochs (default {REALISM_RUN.epochs}, patience {REALISM_RUN.patience})",
    )
    real.set_defaults(func=run_real)


def run_pipeline(args: argparse.Namespace) -> int:
    from ...data import pair_files
    from ..bench import pipeline_benchmark

    r = pipeline_benchmark(
        pair_files(args.data)[: args.limit],
        args.size,
        args.batch_size,
        masks=args.masks,
        augment=None if args.augment == "none" else args.augment,
        stages=args.stages,
    )
    print(
        "{files} pairs, {source_size[0]}x{source_size[1]} -> {size[0]}x{size[1]} (HxW), "
        "batch {batch_size}, {cores} cores, our masks from {mask_source}\n"
        "article  first epoch {seed_pairs_per_s:8.1f} pairs/s   "
        "second epoch {seed_second_pairs_per_s:8.1f} pairs/s\n"
        "ours     first epoch {ours_pairs_per_s:8.1f} pairs/s   "
        "cached epoch {ours_cached_pairs_per_s:8.1f} pairs/s\n"
        "speed-up first epoch {first_epoch_speedup:.1f}x, "
        "cached epoch {cached_epoch_speedup:.1f}x\n"
        "CPU time per pair (all threads): article {cpu_ms_per_pair[seed_first]:.1f} / "
        "{cpu_ms_per_pair[seed_second]:.1f} ms, ours {cpu_ms_per_pair[ours_first]:.1f} / "
        "{cpu_ms_per_pair[ours_second]:.2f} ms (first / second epoch)".format_map(r)
    )
    if stages := r.get("stages"):
        rle = ", RLE masks {rle_decode_per_s:.1f}/s" if "rle_decode_per_s" in stages else ""
        decoding = "photos {photo_decode_per_s:.1f}/s, GIF masks {gif_decode_per_s:.1f}/s" + rle
        augmented = "cached epoch with joint augmentation {cached_augmented_per_s:.1f} pairs/s"
        print(("ours, decoding alone: " + decoding + "; " + augmented).format_map(stages))
    print(json.dumps(r, sort_keys=True))
    return 0


def run_bench_train(args: argparse.Namespace) -> int:
    from ..bench import training_benchmark

    settings = (args.only,) if args.only else ("quick", "article")
    result = training_benchmark(
        settings,
        (args.model,) if args.model else MODEL_NAMES,
        steps={s: args.steps for s in settings} if args.steps else None,
        xla=not args.no_xla,
        progress=args.progress,
    )
    print(
        "{device}, {cores} cores; images/s of one training step (train_on_batch)".format_map(result)
    )
    row = (
        "{setting:<8} {model:<7} {filters:>3} filters  batch {batch_size:>2}  "
        "{image_size[0]}x{image_size[1]}  {params:>11,} params  plain {images_per_s:7.2f}"
    )
    xla = (
        "  XLA {xla_images_per_s:7.2f}  x{xla_speedup:.2f}  "
        "(first-step loss differs by {xla_loss_diff:.1e})"
    )
    for r in result["results"]:
        print((row + xla if "xla_images_per_s" in r else row).format_map(r))
    print(json.dumps(result, sort_keys=True))
    return 0


def run_real(args: argparse.Namespace) -> int:
    from ..bench import realism_benchmark

    r = realism_benchmark(
        args.real,
        args.seed,
        args.cars,
        size=args.size,
        epochs=args.epochs,
        verbose=2 if args.progress else 0,
    )
    print(
        "{cars} synthetic cars (seed {seed}), {epochs_run} epochs, "
        "synthetic val dice {synthetic_val_dice:.3f}; on {pairs} real pairs: "
        "mean dice {mean_dice:.3f}, median {median_dice:.3f}".format_map(r)
    )
    print("worst: " + ", ".join(f"{name} {dice:.3f}" for name, dice in r["worst"]))
    a, fp, fn = r["area_ratio"], r["false_positive"], r["false_negative"]
    print(
        f"predicted/true area: median {a['median']:.3f} (p10 {a['p10']:.3f}, p90 {a['p90']:.3f}); "
        f"false positives {fp['total']:.1f}% of the car's area (upper half {fp['upper']:.1f}%, "
        f"lower {fp['lower']:.1f}%), false negatives {fn['total']:.1f}% (upper {fn['upper']:.1f}%, "
        f"lower {fn['lower']:.1f}%)"
    )
    print(json.dumps(r, sort_keys=True))
    return 0
