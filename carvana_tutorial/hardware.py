"""Where a model trains and at what precision, chosen from the hardware. Introduced in chapter 6."""

import contextlib
import os
from collections.abc import Iterator

import keras
import tensorflow as tf


def choose_strategy(device_type: str = "GPU") -> tf.distribute.Strategy:
    """A TPU if one answers, else mirrored over several ``device_type`` devices, else default."""
    named = os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")
    if named or tf.config.list_physical_devices("TPU"):
        try:  # connect() also connects to the cluster and initialises the TPU system
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver.connect()
            return tf.distribute.TPUStrategy(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError):
            pass  # no TPU after all (e.g. a stale variable): fall through to GPUs/CPU
    devices = [d.name for d in tf.config.list_logical_devices(device_type)]
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def precision_policy() -> str:
    """``mixed_float16`` on tensor-core GPUs (7.0+), ``mixed_bfloat16`` on TPUs, or ``float32``."""
    if tf.config.list_logical_devices("TPU"):
        return "mixed_bfloat16"
    gpus = tf.config.list_physical_devices("GPU")
    details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
    capability = tuple(details.get("compute_capability", (0, 0)))
    return "mixed_float16" if capability >= (7, 0) else "float32"


@contextlib.contextmanager
def scope() -> Iterator[tf.distribute.Strategy]:
    """Build a model in this: the strategy's scope and precision policy, never left set globally."""
    strategy, previous = choose_strategy(), keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision_policy())
    try:
        with strategy.scope():
            yield strategy
    finally:
        keras.config.set_dtype_policy(previous)


def device_kind() -> str:
    """``"GPU"``, ``"TPU"`` or ``"CPU"``: what the chapters' first line reports."""
    return next((kind for kind in ("GPU", "TPU") if tf.config.list_physical_devices(kind)), "CPU")
