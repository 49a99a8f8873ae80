"""``train``, ``evaluate`` and ``tune``: fit a network, score a model, run chapter 7's sweep."""

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from ...config import (
    ARTICLE,
    DEFAULT_DEPTH,
    DEFAULT_RECIPE,
    ENV_PROFILE,
    FULL,
    LOSS_NAMES,
    MODEL_NAMES,
    PROFILES,
    RECIPES,
    SCHEDULE_NAMES,
    TUNED,
    TrainConfig,
    config_for,
    get_profile,
)
from ...outputs import BEST, HISTORY, METRICS
from ._args import non_negative_int, parse_size, positive, rate


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help=f"train the simple network or the U-Net; write {BEST}, {HISTORY}, {METRICS}",
        description="Split DATA by car, train, keep the best epoch (validation loss) in "
        f"RUN/{BEST} and score it: RUN/{METRICS} (printed last, as JSON) holds val_dice, the "
        "validation cars' mean per-image dice at 0.5. Defaults: the profile's (--profile, else "
        f"{ENV_PROFILE}, else full on a GPU or TPU and quick elsewhere); full is the article's "
        f"({ARTICLE.image_size[0]}x{ARTICLE.image_size[1]}, batch {ARTICLE.batch_size}, "
        f"{FULL.max_images} images, {ARTICLE.filters} filters, Adam {ARTICLE.learning_rate:g}, "
        f"{ARTICLE.loss} loss, patience {ARTICLE.patience}), changed by the recipe: "
        f"{DEFAULT_RECIPE} unless --recipe says otherwise.",
    )
    train.add_argument(
        "data", type=Path, metavar="DATA", help="folder holding train_hq/ and train_masks/"
    )
    train.add_argument("--model", choices=MODEL_NAMES, required=True, help="which network")
    train.add_argument(
        "--out", type=Path, required=True, metavar="RUN", help="folder for the run's files"
    )
    train.add_argument(
        "--profile",
        choices=PROFILES,
        help=f"defaults to take (default: {ENV_PROFILE}, else by hardware)",
    )
    train.add_argument("--filters", type=positive, metavar="F", help="filters of the first level")
    depths = ", ".join(f"{depth} for {model}" for model, depth in DEFAULT_DEPTH.items())
    train.add_argument(
        "--depth", type=positive, metavar="D", help=f"down/up blocks (default: {depths})"
    )
    train.add_argument(
        "--size",
        type=parse_size,
        dest="image_size",
        metavar="HxW",
        help="input size (default: the profile's)",
    )
    train.add_argument(
        "--epochs", type=positive, metavar="E", help="most epochs (early stopping may end sooner)"
    )
    train.add_argument("--batch", type=positive, dest="batch_size", metavar="B", help="batch size")
    train.add_argument(
        "--lr", type=rate, dest="learning_rate", metavar="LR", help="Adam learning rate"
    )
    train.add_argument(
        "--max-images", type=positive, metavar="N", help="images kept before the split (whole cars)"
    )
    size = "x".join(map(str, TUNED.image_size))
    train.add_argument(
        "--recipe",
        choices=RECIPES,
        default=DEFAULT_RECIPE,
        help=f"tuned (default; chapter 7): BCE+dice, Adam {TUNED.learning_rate:g} lowered along a "
        f"cosine, {size} inputs, patience {TUNED.patience}, up to {TUNED.epochs} epochs; article: "
        "the article's choices (chapters 4 and 6). Options given explicitly win over the recipe",
    )
    train.add_argument(
        "--patience",
        type=positive,
        metavar="P",
        help="epochs without a better validation loss before stopping; the best epoch is kept "
        f"(article {ARTICLE.patience}, tuned {TUNED.patience})",
    )
    train.add_argument(
        "--loss", choices=LOSS_NAMES, help=f"training loss (article: {ARTICLE.loss})"
    )
    train.add_argument(
        "--augment",
        choices=("joint", "image_only", "none"),
        help="augmentation (default joint: photo and mask move together)",
    )
    train.add_argument("--resize", choices=("area", "nearest"), help="downscaling (default area)")
    train.add_argument(
        "--schedule",
        choices=("constant", *SCHEDULE_NAMES),
        help="learning rate over the epochs: constant (article), or cosine down to 0 at the "
        "epoch cap",
    )
    train.add_argument(
        "--seed",
        type=non_negative_int,
        default=ARTICLE.seed,
        help=f"seed of the initial weights and the shuffling (default {ARTICLE.seed})",
    )
    train.add_argument(
        "--split-seed",
        type=non_negative_int,
        default=ARTICLE.seed,
        metavar="S",
        help=f"seed of the car split (default {ARTICLE.seed}): runs of several --seed values "
        "validate on the same cars, so their scores pair",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run in RUN (a folder of other files is never written into)",
    )
    train.set_defaults(
        func=run_train,
        interrupted="the run in {out} is not finished; rerun the same command to "
        "start it over (no --overwrite needed)",
    )

    evaluate = subparsers.add_parser(
        "evaluate",
        help="score a .keras model on every pair of a data folder (mean per-image dice at 0.5)",
        description="Score every image/mask pair of DATA at the model's input size with the "
        "competition's metric, print the distribution and the worst images; the last line is "
        'JSON {"images": N, "dice_mean": x, "dice_min": y}.',
    )
    evaluate.add_argument(
        "model", type=Path, metavar="MODEL", help="a .keras model written by 'train'"
    )
    evaluate.add_argument(
        "data", type=Path, metavar="DATA", help="folder holding train_hq/ and train_masks/"
    )
    evaluate.add_argument(
        "--size", type=parse_size, metavar="HxW", help="check that the model expects this size"
    )
    evaluate.add_argument(
        "--batch", type=positive, default=32, metavar="B", help="images per batch (default 32)"
    )
    evaluate.add_argument(
        "--worst", type=non_negative_int, default=5, metavar="K", help="worst images listed (5)"
    )
    evaluate.set_defaults(func=run_evaluate)

    tune = subparsers.add_parser(
        "tune",
        help="run the tuning sweep and the article's mistake pairs (chapter 7), caching the "
        "results",
        description="Train every run of the profile's sweep that the cache file (which the "
        "chapter reads) lacks, or all of them with --force, and write the results there.",
    )
    tune.add_argument("--profile", choices=PROFILES, help="sweep size (default: by hardware)")
    tune.add_argument(
        "--plan",
        choices=("quick", "real", "full"),
        help="which sweep (default: the profile's; 'real', which fits 18 cars, for the quick "
        "profile on data that is not the synthetic set)",
    )
    tune.add_argument(
        "--data", type=Path, help="Carvana folder (default: the book's search, else synthetic)"
    )
    tune.add_argument(
        "--cache",
        type=Path,
        metavar="FILE.json",
        help="result cache (default: book/results/sweep-<plan>.json)",
    )
    tune.add_argument(
        "--force", action="store_true", help="retrain every run, ignoring cached results"
    )
    tune.set_defaults(
        func=run_tune,
        interrupted="the runs finished so far are kept in the result cache; "
        "rerun without --force to train only the others",
    )


def run_train(args: argparse.Namespace) -> int:
    from ...data import pair_files, split_by_car
    from ...outputs import claim_run

    profile = get_profile(args.profile)
    train_pairs, val_pairs = split_by_car(
        pair_files(args.data),
        seed=args.split_seed,
        max_images=args.max_images or profile.max_images,
    )

    from tqdm.keras import TqdmCallback

    from ...training import train

    # The options named as TrainConfig's fields, where given (--seed always is).
    named = (f.name for f in fields(TrainConfig) if f.name not in ("model", "recipe"))
    changes = {name: getattr(args, name) for name in named if getattr(args, name, None) is not None}
    if args.augment == "none":
        changes["augment"] = None
    if args.schedule == "constant":
        changes["schedule"] = None
    config = config_for(profile, args.model, recipe=args.recipe, **changes)
    size = config.image_size
    print(
        f"{args.model}, {config.filters} filters, {size[0]}x{size[1]}, profile {profile.name}, "
        f"recipe {args.recipe}: {len(train_pairs)} training and {len(val_pairs)} validation images "
        f"({len({p.car for p in train_pairs})} + {len({p.car for p in val_pairs})} cars)",
        flush=True,
    )
    with claim_run(args.out, args.overwrite):
        bars = (
            [TqdmCallback(config.epochs, verbose=0, desc="train", file=sys.stderr)]
            if args.progress
            else []
        )
        result = train(
            config, train_pairs, val_pairs, args.out, verbose=0 if bars else 2, callbacks=bars
        )
    done = (
        "best epoch {best_epoch} of {epochs_run} ({train_seconds:.0f} s); validation per-image "
        "dice {val_dice:.4f} (median {val_dice_median:.4f}, min {val_dice_min:.4f}) ->"
    )
    print(done.format_map(result.metrics), result.best_path)
    print(json.dumps(result.metrics))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ...data import pair_files
    from ...errors import ModelError
    from ...inference import evaluate, load_model, model_image_size

    pairs = pair_files(args.data)  # fails first: cheaper than loading a model
    model = load_model(args.model)
    size = model_image_size(model)
    if args.size and args.size != size:
        raise ModelError(
            f"{args.model.name} was trained at {size[0]}x{size[1]}, not "
            f"{args.size[0]}x{args.size[1]}: evaluate at the model's own size"
        )
    dice = evaluate(model, pairs, batch_size=args.batch, progress=args.progress)
    print(f"{len(pairs)} images of {len({p.car for p in pairs})} cars at {size[0]}x{size[1]}")
    print(*dice_distribution(dice), sep="\n")
    if args.worst:
        print("worst images:")
        for i in dice.argsort(kind="stable")[: args.worst]:
            print(f"  {pairs[i].image.name}  {dice[i]:.4f}")
    mean, lowest = (round(float(value), 6) for value in (dice.mean(), dice.min()))
    print(json.dumps({"images": len(dice), "dice_mean": mean, "dice_min": lowest}))
    return 0


def run_tune(args: argparse.Namespace) -> int:
    from ...data import pair_files
    from ...synthetic import read_marker
    from ..locate import find_data
    from ..tuning import PLANS, run_sweep

    profile = get_profile(args.profile)
    source = find_data(args.data, profile=profile, progress=args.progress)
    plan = args.plan or profile.name
    if not args.plan and profile.name == "quick" and read_marker(source.root) is None:
        plan = "real"  # not our synthetic set: the quick study, on as many cars as real-dev has
    cache = args.cache or Path("book") / "results" / f"sweep-{plan}.json"
    print(f"plan {plan} on {source.description} -> {cache}", flush=True)
    result = run_sweep(
        pair_files(source.root),
        root=source.root,
        description=source.description,
        cache=cache,
        plan=PLANS[plan],
        mode="force" if args.force else "auto",
    )
    print(f"{result.trained} runs trained, {result.from_cache} read from the cache -> {cache}")
    return 0


def dice_distribution(dice) -> list[str]:
    """Per-image dice as a few printable lines: quantiles and a text histogram."""
    import numpy as np

    names = ("min", "5%", "25%", "median", "75%", "max")
    quantiles = np.quantile(dice, [0, 0.05, 0.25, 0.5, 0.75, 1])
    stats = "  ".join(f"{name} {q:.4f}" for name, q in zip(names, quantiles, strict=True))
    lines = [f"per-image dice: mean {dice.mean():.4f}  {stats}"]
    edges = [0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1]
    counts, _ = np.histogram(dice, bins=edges)  # the last bin holds 1.0 too
    width = max(counts.max(), 1)
    for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True):
        label = f"[{lo:.2f}, {hi:.2f}{']' if hi == 1 else ')'}"
        lines.append(f"  {label:<13}{n:>6}  {'#' * round(40 * n / width)}")
    return lines
