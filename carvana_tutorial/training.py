"""Train either network the article's way, and score a model the competition's way.

:func:`train` fixes what the article got wrong and keeps what it got right:
Adam with ``epsilon=1e-6``, dice loss, early stopping on the validation loss
with patience 2 *that restores the best weights*, the best model checkpointed
to a ``.keras`` file (Keras 3 refuses the article's extension-less path), the
history in a CSV file, and a final score that is the competition's metric
(mean per-image dice at 0.5) computed from the *reloaded best checkpoint*,
not from whatever the last epoch left in memory.

The distribution strategy and the precision are chosen from the hardware:
a TPU where there is one, all GPUs of a machine with several, and
``mixed_float16`` on GPUs with tensor cores (compute capability 7.0+).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import metrics as M
from .data import Pair
from .errors import CarvanaError, ModelError
from .models import MODEL_NAMES, build_model

BEST = "best.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"

LOSSES = {"dice": M.dice_loss, "bce_dice": M.bce_dice_loss}


# --- hardware -------------------------------------------------------------------------------------


def choose_strategy(device_type: str = "GPU") -> tf.distribute.Strategy:
    """A TPU strategy where a TPU answers, mirrored over several devices, else the default.

    ``device_type`` says which logical devices count for mirroring: ``"GPU"``
    in real use; the tests pass ``"CPU"`` after splitting the CPU in two.
    Introduced in chapter 6.
    """
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or tf.config.list_physical_devices("TPU"):
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError):
            pass  # no TPU after all (e.g. a stale variable): fall through to GPUs/CPU
    devices = tf.config.list_logical_devices(device_type)
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.get_strategy()


def precision_policy() -> str:
    """``mixed_float16`` on GPUs with tensor cores, ``mixed_bfloat16`` on TPUs, else ``float32``.

    Introduced in chapter 6.
    """
    if tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        if tuple(capability) >= (7, 0):
            return "mixed_float16"
    return "float32"


@contextlib.contextmanager
def dtype_policy(name: str) -> Iterator[None]:
    """Build layers under a precision policy without leaving it set globally."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


# --- scoring ---------------------------------------------------------------------------------------


def _default_depth(model_name: str) -> int:
    """How many down/up blocks ``model_name`` has when no depth is given (recorded in ``metrics.json``)."""
    import inspect

    from .models import simple_unet, unet

    builder = {"simple": simple_unet, "unet": unet}[model_name]
    return int(inspect.signature(builder).parameters["depth"].default)


def model_image_size(model: keras.Model) -> tuple[int, int]:
    """The (height, width) a model was built for. Introduced in chapter 4."""
    shape = model.inputs[0].shape
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] != 3:
        raise ModelError(f"model expects input {tuple(shape)}, not RGB images [batch, height, width, 3]")
    return int(shape[1]), int(shape[2])


def predict(model: keras.Model, pairs: Sequence[Pair], batch_size: int = 32, *, resize: str = "area",
            progress: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(images, masks, probabilities)`` batch by batch, in the order of ``pairs``.

    Introduced in chapter 4.
    """
    from .pipeline import make_dataset

    if not pairs:
        raise CarvanaError("nothing to predict: the list of image/mask pairs is empty")
    ds = make_dataset(list(pairs), image_size=model_image_size(model), batch_size=batch_size, shuffle=False,
                      augment=None, resize=resize, progress=progress)
    batches = ds
    if progress:
        from tqdm import tqdm

        batches = tqdm(ds, total=-(-len(pairs) // batch_size), desc="predict", unit="batch")
    for images, masks in batches:
        # A direct call: no tf.function to retrace for each model and batch size.
        probs = keras.ops.convert_to_numpy(model(images, training=False))
        yield images.numpy(), masks.numpy(), probs.astype(np.float32)


def evaluate(model: keras.Model | str | os.PathLike, pairs: Sequence[Pair], batch_size: int = 32, *,
             threshold: float = M.THRESHOLD, resize: str = "area", progress: bool = False) -> np.ndarray:
    """Per-image dice at ``threshold`` of every pair, at the model's input size (the competition's metric).

    The masks are resized by area and re-binarised, the reference the whole
    book scores against. Returns one dice per pair, in the order of ``pairs``;
    ``.mean()`` is the score. Introduced in chapter 4.
    """
    if not isinstance(model, keras.Model):
        model = load_model(model)
    scores = [M.np_per_image_dice(masks, probs, threshold)
              for _, masks, probs in predict(model, pairs, batch_size, resize=resize, progress=progress)]
    return np.concatenate(scores)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` file written by :func:`train`, with a one-line error if it is not one.

    Introduced in chapter 4.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no model file at {path}")
    if path.suffix != ".keras":
        raise ModelError(f"{path.name} is not a .keras file (Keras 3 saves whole models as .keras)")
    try:
        return keras.models.load_model(path)
    except Exception as exc:  # Keras raises many types (ValueError, zipfile.BadZipFile, TypeError...)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise ModelError(f"cannot load {path.name} as a Keras model: {reason}") from exc


# --- training --------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    """What :func:`train` leaves behind, also readable back from its folder with :meth:`load`."""

    out_dir: Path
    config: dict
    history: dict[str, list[float]]
    metrics: dict = field(default_factory=dict)

    @property
    def best_path(self) -> Path:
        return self.out_dir / BEST

    @property
    def val_dice(self) -> float:
        return float(self.metrics["val_dice"])

    def model(self) -> keras.Model:
        """The best checkpoint, reloaded."""
        return load_model(self.best_path)

    @classmethod
    def load(cls, out_dir: str | os.PathLike) -> TrainResult:
        """Read a finished run back (``metrics.json`` and ``history.csv``)."""
        out_dir = Path(out_dir)
        saved = json.loads((out_dir / METRICS).read_text())
        return cls(out_dir=out_dir, config=saved["config"], history=read_history(out_dir / HISTORY),
                   metrics=saved["metrics"])


def read_history(path: Path) -> dict[str, list[float]]:
    """``history.csv`` as ``{column: [value per epoch]}``. Introduced in chapter 4."""
    lines = path.read_text().strip().splitlines()
    header = lines[0].split(",")
    rows = [[float(v) for v in line.split(",")] for line in lines[1:]]
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def _fingerprint(pairs: Sequence[Pair]) -> str:
    """Short hash of the files (names, sizes, modification times): did a cached run see these very files?"""
    def stamp(path: Path) -> str:
        info = path.stat()
        return f"{path.name}:{info.st_size}:{info.st_mtime_ns}"

    text = ",".join(f"{stamp(Path(p.image))}|{stamp(Path(p.mask))}" for p in pairs)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


class _TqdmEpochs(keras.callbacks.Callback):
    """One progress bar over epochs, with the latest validation numbers in its postfix."""

    def __init__(self, epochs: int):
        super().__init__()
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, desc="train", unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k.startswith("val_")})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


def train(
    model_name: str,
    train_pairs: Sequence[Pair],
    val_pairs: Sequence[Pair],
    *,
    out_dir: str | os.PathLike,
    image_size: tuple[int, int] = (96, 128),
    filters: int = 64,
    depth: int | None = None,
    epochs: int = 20,
    batch_size: int = 32,
    loss: str = "dice",
    learning_rate: float = 1e-4,
    epsilon: float = 1e-6,
    patience: int = 2,
    seed: int = 42,
    augment: str | None = "joint",
    resize: str = "area",
    limit: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    reuse: bool = False,
    verbose: int = 2,
    progress: bool = False,
) -> TrainResult:
    """Train ``"simple"`` or ``"unet"`` and score its best checkpoint on ``val_pairs``.

    Defaults are the article's settings (Adam 1e-4 / eps 1e-6, dice loss,
    batch 32, 20 epochs, patience 2). ``augment`` and ``resize`` go to the input
    pipeline (chapter 7 measures the article's choices with them); ``depth``
    is the number of down/up blocks (``None``: the network's default, left out
    of the configuration so runs from before the option still match); ``limit``
    keeps the first ``limit`` training images. Writes ``best.keras``,
    ``history.csv`` and ``metrics.json`` to ``out_dir``. With ``reuse=True`` a
    finished run in ``out_dir`` with the same configuration and split is read
    back instead of retrained. Introduced in chapter 4.
    """
    from .pipeline import make_dataset

    if model_name not in MODEL_NAMES:
        raise CarvanaError(f"unknown model {model_name!r}: use one of {', '.join(MODEL_NAMES)}")
    if loss not in LOSSES:
        raise CarvanaError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if depth is not None and (depth < 1 or image_size[0] % 2**depth or image_size[1] % 2**depth):
        raise CarvanaError(
            f"depth {depth} does not fit {image_size[0]}x{image_size[1]}: it must be at least 1 and both sides "
            f"divisible by 2**depth = {2 ** max(depth, 0)}"
        )
    train_pairs = list(train_pairs)[:limit] if limit else list(train_pairs)
    val_pairs = list(val_pairs)
    if not train_pairs or not val_pairs:
        raise CarvanaError(
            f"training needs images on both sides of the split (train {len(train_pairs)}, val {len(val_pairs)})"
        )
    out_dir = Path(out_dir)
    config = dict(
        model=model_name, image_size=list(image_size), filters=filters, epochs=epochs, batch_size=batch_size,
        loss=loss, learning_rate=learning_rate, epsilon=epsilon, patience=patience, seed=seed, augment=augment,
        resize=resize, train_images=len(train_pairs), val_images=len(val_pairs),
        train_split=_fingerprint(train_pairs), val_split=_fingerprint(val_pairs),
    )
    if depth is not None:
        config["depth"] = depth
    if reuse and (out_dir / METRICS).is_file() and (out_dir / BEST).is_file():
        cached = TrainResult.load(out_dir)
        if cached.config == config:
            return cached
    out_dir.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(seed)
    strategy = strategy or choose_strategy()
    replicas = strategy.num_replicas_in_sync
    train_ds = make_dataset(train_pairs, image_size=tuple(image_size), batch_size=batch_size, shuffle=True,
                            augment=augment, seed=seed, resize=resize)
    val_ds = make_dataset(val_pairs, image_size=tuple(image_size), batch_size=batch_size, shuffle=False,
                          augment=None, seed=seed, resize=resize)
    with strategy.scope(), dtype_policy(precision_policy()):
        model = build_model(model_name, (*image_size, 3), filters=filters,
                            **({} if depth is None else {"depth": depth}))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate, epsilon=epsilon),
            loss=LOSSES[loss],
            metrics=[M.dice_coef, M.mean_dice],
        )
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(out_dir / BEST, monitor="val_loss", save_best_only=True),
        keras.callbacks.CSVLogger(out_dir / HISTORY),
    ]
    if progress:
        callbacks.append(_TqdmEpochs(epochs))
    start, start_cpu = time.perf_counter(), time.process_time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks,
                        verbose=verbose, shuffle=False)  # the pipeline shuffles
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu

    best = load_model(out_dir / BEST)  # score what was saved, not what is in memory
    dice = evaluate(best, val_pairs, batch_size=batch_size)
    val_loss = history.history["val_loss"]
    metrics = dict(
        val_dice=float(dice.mean()), val_dice_median=float(np.median(dice)), val_dice_min=float(dice.min()),
        best_epoch=int(np.argmin(val_loss)) + 1, epochs_run=len(val_loss), best_val_loss=float(min(val_loss)),
        train_seconds=round(seconds, 1), train_cpu_seconds=round(cpu_seconds, 1), replicas=replicas,
        precision=precision_policy(), params=int(best.count_params()),
        depth=depth if depth is not None else _default_depth(model_name),
    )
    (out_dir / METRICS).write_text(json.dumps({"config": config, "metrics": metrics}, indent=2) + "\n")
    return TrainResult(out_dir=out_dir, config=config, history=read_history(out_dir / HISTORY), metrics=metrics)


def train_profile(ctx, model_name: str, *, name: str | None = None, **overrides) -> TrainResult:
    """Train ``model_name`` on a chapter's split with its profile's settings, or reuse the finished run.

    ``ctx`` is what :func:`carvana_tutorial.chapter.setup` returns. The run lives
    in ``runs_dir()/<name>`` (default ``<model>-<profile>``), so chapter 5 reads
    back chapter 4's model instead of training it again; ``overrides`` go to
    :func:`train` (and into the configuration a reused run must match).
    Introduced in chapter 4.
    """
    profile = ctx.profile
    settings = dict(
        image_size=profile.image_size,
        filters=profile.simple_filters if model_name == "simple" else profile.unet_filters,
        epochs=profile.epochs, batch_size=profile.batch_size, learning_rate=profile.learning_rate,
        seed=ctx.seed, verbose=2,
    )
    settings.update(overrides)
    out_dir = runs_dir() / (name or f"{model_name}-{profile.name}")
    return train(model_name, ctx.train, ctx.val, out_dir=out_dir, reuse=True, **settings)


def runs_dir() -> Path:
    """Where chapters keep trained runs, so a later chapter can reuse an earlier one's model.

    Introduced in chapter 4.
    """
    from .config import cache_dir

    return cache_dir() / "runs"


# --- speed -----------------------------------------------------------------------------------------


def _step_speed(model: keras.Model, images: np.ndarray, masks: np.ndarray, steps: int, jit_compile: bool,
                start_weights: list) -> tuple[float, float]:
    """Images/s of ``train_on_batch`` after one warm-up step, and the loss of the first step."""
    model.set_weights(start_weights)
    with _op_determinism(allowed=not jit_compile):
        model.compile(optimizer=keras.optimizers.Adam(1e-4, epsilon=1e-6), loss=M.dice_loss,
                      jit_compile=jit_compile)
        if model.jit_compile != jit_compile:
            raise CarvanaError("Keras would not compile the model with XLA, so there is nothing to compare")
        first_loss = float(model.train_on_batch(images, masks))  # traces (and, with XLA, compiles)
        start = time.perf_counter()
        for _ in range(steps):
            float(model.train_on_batch(images, masks))  # float() waits for the step to finish
        seconds = time.perf_counter() - start
    return steps * len(images) / seconds, first_loss


@contextlib.contextmanager
def _op_determinism(allowed: bool) -> Iterator[None]:
    """Switch TensorFlow's op determinism off inside the block unless ``allowed``.

    Keras silently drops ``jit_compile=True`` while determinism is on (chapters
    turn it on in ``chapter.setup``), so the XLA timing needs it off; it is
    restored afterwards. TensorFlow offers the switch only in its private
    config module, the one Keras itself reads.
    """
    from tensorflow.python.framework import config as tf_config

    switch = tf_config.is_op_determinism_enabled() and not allowed
    if switch:
        tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if switch:
            tf_config.enable_op_determinism()


def benchmark(
    settings: Sequence[str] = ("quick", "article"),
    models: Sequence[str] = MODEL_NAMES,
    steps: dict[str, int] | None = None,
    xla: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Images per second of one training step, per model, at the quick profile's settings and the article's.

    Each configuration is timed plain and, with ``xla``, compiled by XLA
    (``jit_compile=True``) from the same starting weights on the same batch:
    ``xla_loss_diff`` is how far the first step's losses differ (the numerics
    are the same when it is at float32 rounding level). Batches are random
    (no data needed). The article's full U-Net is slow on a CPU, hence few
    steps there. Introduced in chapter 6.
    """
    from .config import FULL, QUICK

    steps = {"quick": 5, "article": 2, **(steps or {})}
    profiles = {"quick": QUICK, "article": FULL}
    rng = np.random.default_rng(seed)
    results = []
    todo = [(s, m) for s in settings for m in models]
    if progress:
        from tqdm import tqdm

        todo = tqdm(todo, desc="bench", unit="model")
    for setting, name in todo:
        profile = profiles[setting]
        height, width = profile.image_size
        filters = profile.simple_filters if name == "simple" else profile.unet_filters
        batch = profile.batch_size
        images = rng.random((batch, height, width, 3), dtype=np.float32)
        masks = (images[..., :1] > 0.5).astype(np.float32)
        keras.utils.set_random_seed(seed)
        model = build_model(name, (height, width, 3), filters=filters)
        weights = model.get_weights()
        row = dict(setting=setting, model=name, filters=filters, batch_size=batch, image_size=[height, width],
                   params=int(model.count_params()), steps=steps[setting])
        row["images_per_s"], plain_loss = _step_speed(model, images, masks, steps[setting], False, weights)
        if xla:
            row["xla_images_per_s"], xla_loss = _step_speed(model, images, masks, steps[setting], True, weights)
            row["xla_speedup"] = row["xla_images_per_s"] / row["images_per_s"]
            row["xla_loss_diff"] = abs(xla_loss - plain_loss)
        results.append(row)
        keras.backend.clear_session()
    return dict(
        cores=os.cpu_count(), device=_device_name(),
        intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads(), results=results,
    )


def _device_name() -> str:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    return "CPU"
