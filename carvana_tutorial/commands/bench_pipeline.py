"""``carvana-tutorial bench pipeline DATA``: the article's input pipeline against ours."""

from __future__ import annotations

import argparse
import json

from ..errors import CarvanaError
from ._args import parse_size


def register_bench(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "pipeline",
        help="time the article's input pipeline against ours (two epochs each)",
        description="Time two epochs of the article's tf.data pipeline and of ours on the same "
        "files; print pairs/s and the ratios, then one JSON line.",
    )
    parser.add_argument("data", metavar="DATA", help="folder in Carvana's layout (train_hq/, train_masks/)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N pairs (by car, view)")
    parser.add_argument("--size", type=parse_size, default=(96, 128), help="target HEIGHTxWIDTH (default 96x128)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--augment", choices=("none", "joint"), default="none",
        help="augmentation in our pipeline (default none: the article's pipeline does not augment either)",
    )
    parser.add_argument(
        "--masks", choices=("auto", "csv", "gif"), default=None,
        help="where our pipeline reads masks (default: $CARVANA_MASKS, else auto, which reads "
        "train_masks.csv when it covers every pair)",
    )
    parser.add_argument("--stages", action="store_true",
                        help="also time photo and mask decoding alone, and a cached epoch with augmentation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..data import pair_files
    from ..pipeline.bench import benchmark

    if args.limit is not None and args.limit < 1:
        raise CarvanaError(f"--limit must be at least 1, got {args.limit}")
    pairs = pair_files(Path(args.data))[: args.limit]
    augment = None if args.augment == "none" else args.augment
    result = benchmark(pairs, args.size, args.batch_size, augment=augment, masks=args.masks,
                       stages=args.stages)
    height, width = result["size"]
    print(f"{result['files']} pairs, {result['source_size'][0]}x{result['source_size'][1]} -> "
          f"{height}x{width} (HxW), batch {result['batch_size']}, {result['cores']} cores, "
          f"our masks from {result['mask_source']}")
    print(f"article  first epoch {result['seed_pairs_per_s']:8.1f} pairs/s   "
          f"second epoch {result['seed_second_pairs_per_s']:8.1f} pairs/s")
    print(f"ours     first epoch {result['ours_pairs_per_s']:8.1f} pairs/s   "
          f"cached epoch {result['ours_cached_pairs_per_s']:8.1f} pairs/s")
    print(f"speed-up first epoch {result['first_epoch_speedup']:.1f}x, "
          f"cached epoch {result['cached_epoch_speedup']:.1f}x")
    cpu = result["cpu_ms_per_pair"]
    print(f"CPU time per pair (all threads): article {cpu['seed_first']:.1f} / {cpu['seed_second']:.1f} ms, "
          f"ours {cpu['ours_first']:.1f} / {cpu['ours_second']:.2f} ms (first / second epoch)")
    if "stages" in result:
        stages = result["stages"]
        rle = f", RLE masks {stages['rle_decode_per_s']:.1f}/s" if "rle_decode_per_s" in stages else ""
        print(f"ours, decoding alone: photos {stages['photo_decode_per_s']:.1f}/s, "
              f"GIF masks {stages['gif_decode_per_s']:.1f}/s{rle}; cached epoch with joint augmentation "
              f"{stages['cached_augmented_per_s']:.1f} pairs/s")
    print(json.dumps(result, sort_keys=True))
    return 0
