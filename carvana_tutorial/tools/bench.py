"""The book's speed measurements, as plain numbers for chapters to glue and ``carvana-tutorial
bench`` to print: input pipeline (chapter 2), training step (chapter 6), RLE and submission (chapter
8)."""

import functools
import os
import tempfile
import time
import timeit
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.python.framework import config as tf_config  # the op-determinism switch Keras reads
from tqdm import tqdm

from ..config import IMAGE_SIZE, PRESETS, REALISM_RUN, TrainConfig
from ..errors import CarvanaError, DataError
from ..inference import iter_masks, load_model, predict, segment_photos
from ..layout import FULL_SIZE
from ..metrics import np_per_image_dice
from ..models import MODEL_NAMES, build_model
from ..pipeline.cache import mask_rles
from ..pipeline.dataset import article_dataset, make_dataset
from ..pipeline.decode import decode_mask, decode_photo, decode_rle_mask
from ..rle import rle_encode
from ..segment import read_photo
from ..submission import list_test_photos, write_submission
from ..training import LOSSES, train


def _timed(work) -> tuple:
    """``work()``'s result, then wall and CPU seconds (all threads: on a busy machine, the
    steadier)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _epoch(ds: tf.data.Dataset) -> tuple[float, float]:
    return _timed(lambda: sum(1 for _ in ds))[1:]


def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks on Linux)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _source_size(path) -> list[int]:
    with Image.open(path) as image:
        return [image.height, image.width]


def _stage_rates(pairs: Sequence, image_size: tuple[int, int], rles: list[str] | None) -> dict:
    """Pairs/s of each decoding step of ours alone (parallel map): photos, GIF masks, RLE masks."""
    stages = {
        "photo": (
            [str(p.image) for p in pairs],
            lambda p: decode_photo(tf.io.read_file(p), image_size),
        ),
        "gif": ([str(p.mask) for p in pairs], lambda p: decode_mask(p, image_size)),
    }
    if rles is not None:
        shapes = [_source_size(p.image) for p in pairs]
        stages["rle"] = ((rles, shapes), lambda r, s: decode_rle_mask(r, s, image_size))
    rates = {}
    for name, (items, decode) in stages.items():
        ds = tf.data.Dataset.from_tensor_slices(items).map(
            decode, num_parallel_calls=tf.data.AUTOTUNE
        )
        rates[f"{name}_decode_per_s"] = len(pairs) / _epoch(ds)[0]
    rates["mask_decode_per_s"] = rates["gif_decode_per_s" if rles is None else "rle_decode_per_s"]
    return rates


def pipeline_benchmark(
    pairs: Sequence,
    image_size: tuple[int, int] = IMAGE_SIZE,
    batch_size: int = 32,
    *,
    augment: str | None = None,
    masks: str | None = None,
    stages: bool = False,
) -> dict:
    """Two epochs of the article's pipeline and of ours (from an empty decode cache) on the same
    files; ``stages`` adds each decoding step alone and a cached epoch with joint augmentation."""
    if not pairs:
        raise DataError("nothing to benchmark: no image/mask pairs")
    n, rles = len(pairs), mask_rles(pairs, masks)
    for path in [p.image for p in pairs] + [p.mask for p in pairs]:  # a warm OS file cache for both
        Path(path).read_bytes()
    # TensorFlow starts up (and traces) untimed
    _epoch(article_dataset(pairs[:2], image_size, batch_size))
    _epoch(
        make_dataset(pairs[:2], image_size, batch_size, augment=augment, masks=masks, cache=False)
    )
    seconds, cpu, seed_ds = {}, {}, article_dataset(pairs, image_size, batch_size)
    for epoch in ("seed_first", "seed_second"):
        seconds[epoch], cpu[epoch] = _epoch(seed_ds)
    with tempfile.TemporaryDirectory(prefix="carvana-bench-") as root:
        ours = functools.partial(
            make_dataset,
            pairs,
            image_size,
            batch_size,
            shuffle=True,
            masks=masks,
            cache_root=Path(root),
        )
        ds, seconds["ours_first_decode"], cpu["ours_first"] = _timed(lambda: ours(augment=augment))
        for epoch in ("ours_first_read", "ours_second"):
            seconds[epoch], cpu[epoch] = _epoch(ds)
        if stages:
            augmented = ours(augment="joint")
            _epoch(augmented)
            cached_augmented_s = _epoch(augmented)[0]
    seconds["ours_first"] = seconds["ours_first_decode"] + seconds["ours_first_read"]
    cpu["ours_first"] += cpu.pop("ours_first_read")
    result = {
        "files": n,
        "size": list(image_size),
        "source_size": _source_size(pairs[0].image),
        "cores": available_cores(),
        "mask_source": "gif" if rles is None else "csv",
        "batch_size": batch_size,
        "augment": augment,
        "seed_pairs_per_s": n / seconds["seed_first"],
        "seed_second_pairs_per_s": n / seconds["seed_second"],
        "ours_pairs_per_s": n / seconds["ours_first"],
        "ours_cached_pairs_per_s": n / seconds["ours_second"],
        "first_epoch_speedup": seconds["seed_first"] / seconds["ours_first"],
        "cached_epoch_speedup": seconds["seed_second"] / seconds["ours_second"],
        "seconds": seconds,
        "cpu_ms_per_pair": {epoch: 1000 * s / n for epoch, s in cpu.items()},
    }
    if stages:
        result["stages"] = _stage_rates(pairs, image_size, rles)
        result["stages"]["cached_augmented_per_s"] = n / cached_augmented_s
    return result


def _step_speed(
    model: keras.Model,
    config: TrainConfig,
    batch: tuple[np.ndarray, np.ndarray],
    steps: int,
    start_weights: list,
    jit_compile: bool,
) -> tuple[float, float]:
    """Images/s of ``train_on_batch`` after one warm-up step, and the loss of that first step:
    with ``config``'s optimiser and loss, as :func:`~carvana_tutorial.training.train` compiles."""
    images, masks = batch
    model.set_weights(start_weights)
    # Keras silently drops jit_compile=True under op determinism (chapters turn it on): off a while.
    switch = jit_compile and tf_config.is_op_determinism_enabled()
    if switch:
        tf_config.disable_op_determinism()
    try:
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate, epsilon=config.epsilon),
            loss=LOSSES[config.loss],
            jit_compile=jit_compile,
        )
        if model.jit_compile != jit_compile:
            raise CarvanaError(
                "Keras would not compile the model with XLA, so there is nothing to compare"
            )
        first_loss = float(model.train_on_batch(images, masks))  # traces (and, with XLA, compiles)
        # float() waits for the step to finish
        seconds = timeit.timeit(lambda: float(model.train_on_batch(images, masks)), number=steps)
    finally:
        if switch:
            tf_config.enable_op_determinism()
    return steps * len(images) / seconds, first_loss


def training_benchmark(
    settings: Sequence[str] = ("quick", "article"),
    models: Sequence[str] = MODEL_NAMES,
    steps: dict[str, int] | None = None,
    xla: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Images/s of one training step per model, at the quick run's settings and the article's (named
    in :data:`carvana_tutorial.config.PRESETS`); with ``xla``, also compiled by XLA from the same
    weights and batch (``xla_loss_diff``: first-step losses)."""
    steps = {"quick": 5, "article": 2, **(steps or {})}
    rng = np.random.default_rng(seed)
    results = []
    runs = [(s, m) for s in settings for m in models]
    for setting, name in tqdm(runs, desc="bench", unit="model", disable=not progress):
        config = replace(PRESETS[setting], model=name)
        images = rng.random((config.batch_size, *config.image_size, 3), dtype=np.float32)
        batch = images, (images[..., :1] > 0.5).astype(np.float32)
        keras.utils.set_random_seed(seed)
        model = build_model(name, config.image_size, config.filters, config.depth)
        start = model.get_weights()
        speed = functools.partial(_step_speed, model, config, batch, steps[setting], start)
        row = dict(
            setting=setting,
            model=name,
            filters=config.filters,
            batch_size=config.batch_size,
            image_size=list(config.image_size),
            params=int(model.count_params()),
            steps=steps[setting],
        )
        row["images_per_s"], plain_loss = speed(jit_compile=False)
        if xla:
            row["xla_images_per_s"], xla_loss = speed(jit_compile=True)
            row["xla_speedup"] = row["xla_images_per_s"] / row["images_per_s"]
            row["xla_loss_diff"] = abs(xla_loss - plain_loss)
        results.append(row)
        keras.backend.clear_session()
    gpus = tf.config.list_physical_devices("GPU")
    details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
    return dict(
        cores=os.cpu_count(),
        device=details.get("device_name", "GPU") if gpus else "CPU",
        results=results,
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(),
    )


def rle_benchmark(repeats: int = 50, size: tuple[int, int] = FULL_SIZE) -> float:
    """Milliseconds (median of ``repeats``) to encode an ellipse covering about a fifth of the
    frame, as a car does."""
    height, width = size
    rows, cols = np.ogrid[:height, :width]
    dy = (rows - 0.55 * height) / (0.25 * height)
    dx = (cols - 0.5 * width) / (0.36 * width)
    mask = (dy**2 + dx**2 < 1).astype(np.uint8)
    return 1e3 * float(np.median(timeit.repeat(lambda: rle_encode(mask), number=1, repeat=repeats)))


def submission_benchmark(
    model,
    images: str | os.PathLike | Sequence[Path],
    *,
    batch_size: int = 16,
    tta: bool = False,
    resize: str = "area",
) -> dict[str, float]:
    """Photos per second of the whole path (decode, predict, upsample, encode, write), after one
    untimed batch."""
    paths = list_test_photos(images) if isinstance(images, (str, os.PathLike)) else list(images)
    options = dict(batch_size=batch_size, tta=tta, resize=resize)
    list(iter_masks(model, paths[:batch_size], **options))
    with tempfile.TemporaryDirectory() as tmp:
        report = write_submission(model, paths, Path(tmp) / "bench.csv", progress=False, **options)
    return {
        "images": float(report.written),
        "images_per_second": report.images_per_second,
        "ms_per_image": 1e3 / report.images_per_second,
    }


def segment_benchmark(model, paths: Sequence[Path], repeats: int = 2) -> float:
    """Photos per second of ``segment``'s path (read, shrink, predict, enlarge), after one untimed
    photo."""
    segment_photos(model, [read_photo(paths[0])])  # the first call builds the graph
    _, seconds, _ = _timed(
        lambda: [segment_photos(model, [read_photo(p) for p in paths]) for _ in range(repeats)]
    )
    return repeats * len(paths) / seconds


def error_split(batches) -> dict:
    """Where a model's masks go wrong, from ``(masks, probabilities)`` batches (thresholded at 0.5).

    ``area_ratio``: predicted over true car pixels per image (median, p10, p90).
    ``false_positive`` and ``false_negative``: wrong pixels over all images as a percentage of the
    true car pixels, in all and split into the upper and lower half of each true mask's bounding
    box (a wrong pixel above the box counts as upper, below it as lower).  A synthetic-only model
    that paints the floor under the car has a large lower false-positive share."""
    ratios, counts = [], np.zeros(5)  # car pixels, FP upper, FP lower, FN upper, FN lower
    for masks, probs in batches:
        truth = np.asarray(masks).reshape(len(masks), *np.shape(masks)[1:3]) >= 0.5
        pred = np.asarray(probs).reshape(truth.shape) >= 0.5
        for t, p in zip(truth, pred, strict=True):
            rows = np.flatnonzero(t.any(axis=1))
            middle = 0.5 * (rows[0] + rows[-1] + 1) if len(rows) else 0.5 * len(t)
            upper = (np.arange(len(t)) < middle)[:, None]
            fp, fn = p & ~t, t & ~p
            counts += [
                t.sum(),
                (fp & upper).sum(),
                (fp & ~upper).sum(),
                (fn & upper).sum(),
                (fn & ~upper).sum(),
            ]
            ratios.append(p.sum() / t.sum() if t.any() else np.nan)
    pct = 100 * counts[1:] / max(counts[0], 1)
    p10, median, p90 = np.nanpercentile(ratios, [10, 50, 90]) if ratios else (np.nan,) * 3
    return {
        "area_ratio": {"median": float(median), "p10": float(p10), "p90": float(p90)},
        "false_positive": {
            "total": float(pct[0] + pct[1]),
            "upper": float(pct[0]),
            "lower": float(pct[1]),
        },
        "false_negative": {
            "total": float(pct[2] + pct[3]),
            "upper": float(pct[2]),
            "lower": float(pct[3]),
        },
    }


def check_real(folder: Path) -> None:
    """Decode every real photo and mask first, as ``inspect`` does: a bad file is one line naming
    it, not TensorFlow's text after minutes of work."""
    from ..errors import DataError
    from .check import inspect_folder

    report = inspect_folder(folder)
    if not report.ok:  # the first problem's line starts with its name, relative to ``folder``
        first = next((line for found in report.problems.values() for _, line in found), "")
        raise DataError(
            f"{folder / first}; {report.problem()} in all: `carvana-tutorial inspect {folder}` "
            "lists them; replace or remove them"
        )


def realism_benchmark(
    real_dir: str | os.PathLike,
    seed: int = 0,
    cars: int = 32,
    *,
    size: tuple[int, int] = FULL_SIZE,
    epochs: int = REALISM_RUN.epochs,
    patience: int = REALISM_RUN.patience,
    work_dir: str | os.PathLike | None = None,
    verbose: int = 0,
) -> dict:
    """How real the synthetic set looks: train the quick U-Net on a fresh synthetic set (seed
    ``seed``), split by
    car, and score its best checkpoint on every real pair in ``real_dir`` (per-image dice at
    0.5)."""
    from ..data import pair_files, split_by_car
    from ..synthetic import make_synthetic_set

    real = pair_files(
        Path(real_dir)
    )  # a one-line DataError for a folder that is not in Carvana's layout
    check_real(Path(real_dir))  # in seconds, before minutes of rendering and training
    with tempfile.TemporaryDirectory(prefix="carvana-realism-", dir=work_dir) as scratch:
        synthetic, render_seconds, _ = _timed(
            lambda: make_synthetic_set(Path(scratch) / "set", cars, size, seed, 0, zips=False)
        )
        train_pairs, val_pairs = split_by_car(pair_files(synthetic.root), seed=seed)
        config = replace(REALISM_RUN, epochs=epochs, patience=patience, seed=seed)
        result, train_seconds, _ = _timed(
            lambda: train(config, train_pairs, val_pairs, Path(scratch) / "run", verbose=verbose)
        )
        model = load_model(result.best_path)
        batches = [(masks, probs) for _, masks, probs in predict(model, real, config.batch_size)]
    dice = np.concatenate([np_per_image_dice(masks, probs) for masks, probs in batches])
    order = np.argsort(dice, kind="stable")
    return {
        "real_dir": str(Path(real_dir)),
        "pairs": len(real),
        "seed": seed,
        "cars": cars,
        "size": list(size),
        "epochs_run": len(result.history["loss"]),
        "synthetic_val_dice": result.val_dice,
        "synthetic_foreground": synthetic.foreground,
        "mean_dice": float(dice.mean()),
        "median_dice": float(np.median(dice)),
        "worst": [[real[i].image.name, float(dice[i])] for i in order[:5]],
        **error_split(batches),
        "seconds": {"render": render_seconds, "train": train_seconds},
    }
