"""Using a trained model: load it, read the input size it was built for, predict and score pairs
(chapter 4), and turn photos into masks at their own size, the probabilities enlarged before the
threshold (chapters 8 and 9).  Photos become the model's input one way, the training pipeline's
(:func:`~carvana_tutorial.pipeline.decode.resize_photo`, then
:func:`~carvana_tutorial.pipeline.decode.to_input`).  Where only ``predict_on_batch`` is called, an
exported :class:`~carvana_tutorial.export.OnnxModel` works as well as a Keras model."""

import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from .config import THRESHOLD
from .data import Pair
from .errors import ModelError
from .metrics import np_per_image_dice
from .pipeline import make_dataset
from .pipeline.decode import decode_photo, resize_photo, to_input
from .segment import read_photo


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a ``.keras`` file written by training, with a one-line error if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"no model file at {path}" + (" (it is a folder)" if path.is_dir() else "")
        )
    if path.suffix.lower() == ".onnx":
        raise ModelError(
            f"{path} is an ONNX file: `carvana-tutorial segment` takes it; this command needs "
            "the .keras model it was exported from"
        )
    if path.suffix != ".keras":
        raise ModelError(f"{path.name} is not a .keras file (Keras 3 saves whole models as .keras)")
    if not zipfile.is_zipfile(path):  # Keras calls any other file "not found"
        raise ModelError(
            f"cannot load {path.name}: it is not a Keras model (a .keras file is a zip archive)"
        )
    try:
        model = keras.models.load_model(path)
        model_image_size(model)  # a mask model of a fixed size, or the error names the file
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None
    except Exception as exc:  # Keras raises many types (ValueError, BadZipFile, TypeError...)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise ModelError(f"cannot load {path.name} as a Keras model: {reason}") from exc
    return model


def model_image_size(model) -> tuple[int, int]:
    """The (height, width) a Keras model or an ``OnnxModel`` takes. Introduced in chapter 4."""
    if hasattr(model, "image_size"):  # an OnnxModel, checked when loaded
        return model.image_size
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or None in shape[1:3] or shape[3] != 3:
        raise ModelError(
            f"the model takes input {shape}, "
            "not RGB photos of a fixed size [batch, height, width, 3]"
        )
    if tuple(model.outputs[0].shape[1:]) != (*shape[1:3], 1):
        raise ModelError(
            f"the model's output {tuple(model.outputs[0].shape)} is not one mask channel per pixel"
        )
    return int(shape[1]), int(shape[2])


def predict(
    model: keras.Model,
    pairs: Sequence[Pair],
    batch_size: int = 32,
    *,
    resize: str = "area",
    progress: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(photos, masks, probabilities)`` batch by batch, in order.
    Introduced in chapter 4."""
    size = model_image_size(model)
    ds = make_dataset(list(pairs), size, batch_size, resize=resize)
    batches = tqdm(ds, desc="predict", unit="batch", disable=not progress)
    for photos, masks in batches:
        # A direct call: no tf.function to trace again per model.
        probs = keras.ops.convert_to_numpy(model(photos, training=False))
        yield photos.numpy(), masks.numpy(), probs.astype(np.float32)


def evaluate(
    model: keras.Model | str | os.PathLike,
    pairs: Sequence[Pair],
    batch_size: int = 32,
    *,
    progress: bool = False,
) -> np.ndarray:
    """Per-image dice at 0.5 of every pair, in order: the competition's
    metric (``.mean()`` is the score), with the masks shrunk like the photos
    to the model's input size. Introduced in chapter 4."""
    if not isinstance(model, keras.Model):
        model = load_model(model)
    batches = predict(model, pairs, batch_size, progress=progress)
    scores = [np_per_image_dice(masks, probs) for _, masks, probs in batches]
    return np.concatenate(scores)


def predict_probabilities(model, images, tta: bool = False) -> np.ndarray:
    """Probabilities ``[B,H,W,1]`` of model inputs ``[B,H,W,3]``; with ``tta``, averaged with the
    mirrored photos'. Introduced in chapter 8."""
    images = np.asarray(images)
    probs = np.asarray(model.predict_on_batch(images))
    if tta:
        flipped = model.predict_on_batch(np.ascontiguousarray(images[:, :, ::-1]))
        probs = (probs + np.asarray(flipped)[:, :, ::-1]) / 2.0
    return probs


def upsample_probabilities(
    probs: np.ndarray,
    size: tuple[int, int],
) -> np.ndarray:
    """Enlarge one ``[h, w, 1]`` probability map to ``size``, then threshold.

    Enlarging the probabilities (bilinear), not the 0/1 mask, keeps the
    outline smooth at 1918x1280 instead of blocky. Returns a boolean
    ``[H, W]`` mask. Introduced in chapter 8."""
    full = tf.image.resize(probs, size, method="bilinear")
    return (full[..., 0] >= THRESHOLD).numpy()


def probabilities(
    model,
    photos: Sequence[np.ndarray],
    tta: bool = False,
) -> np.ndarray:
    """Probabilities ``[B, h, w, 1]`` at the model's size for uint8 photos
    of any size, each shrunk as training shrank its photos.
    Introduced in chapter 9."""
    size = model_image_size(model)
    small = tf.stack([resize_photo(photo, size) for photo in photos])
    return predict_probabilities(model, to_input(small).numpy(), tta=tta)


def segment_photos(
    model,
    photos: Sequence[np.ndarray],
    tta: bool = False,
) -> list[np.ndarray]:
    """Boolean masks, each at its photo's own size: the probabilities are
    enlarged (bilinear), then cut at the threshold. Introduced in chapter 9."""
    probs = probabilities(model, photos, tta=tta)
    pairs = zip(probs, photos, strict=True)
    return [upsample_probabilities(p, photo.shape[:2]) for p, photo in pairs]


def segment(model, photo, tta: bool = False) -> np.ndarray:
    """The full-size boolean mask ``[H, W]`` of one photo (path or array).
    Introduced in chapter 9."""
    if not isinstance(photo, np.ndarray):
        photo = read_photo(photo)
    return segment_photos(model, [photo], tta=tta)[0]


def iter_masks(
    model,
    paths: Sequence[Path],
    *,
    batch_size: int = 16,
    tta: bool = False,
    resize: str = "area",
    on_error: Callable[[Path, str], None] | None = None,
) -> Iterator[list[tuple[Path, np.ndarray]]]:
    """Yield per batch ``(path, boolean mask at the photo's size)`` for JPEG photos, decoded as
    training decoded them; unreadable photos go to ``on_error``.  Introduced in chapter 8."""
    size = model_image_size(model)

    def load(index, path):  # tf.data drops a photo it cannot decode: a gap in the indices
        data = tf.io.read_file(path)
        # No JPEG start-of-image marker: refused before libjpeg sees it (and prints to stderr).
        is_jpeg = tf.debugging.assert_equal(tf.strings.substr(data, 0, 2), b"\xff\xd8")
        with tf.control_dependencies([is_jpeg]):
            data = tf.identity(data)
        image = to_input(decode_photo(data, size, resize))
        return index, image, tf.image.extract_jpeg_shape(data)[:2]

    def skip(photos: Sequence[Path]) -> None:  # those tf.data dropped, with PIL's reason
        for path in photos if on_error else ():
            try:
                with Image.open(path) as image:
                    image.load()
                reason = "TensorFlow cannot decode it"
                if image.format != "JPEG":
                    reason = f"not a JPEG ({image.format})"
            except Exception as exc:  # any reason PIL gives is the message we want
                reason = f"{type(exc).__name__}: {str(exc).replace(str(path), path.name)}"
            on_error(path, reason)

    names = tf.data.Dataset.from_tensor_slices([str(p) for p in paths]).enumerate()
    loaded = names.map(load, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()  # in order
    done = 0  # every photo before this one was yielded or skipped
    for indices, images, sizes in loaded.batch(batch_size).prefetch(2):
        indices = indices.numpy().tolist()
        skip([paths[i] for i in range(done, indices[-1]) if i not in indices])
        done = indices[-1] + 1
        probs = predict_probabilities(model, images.numpy(), tta=tta)
        yield [
            (paths[i], upsample_probabilities(p, tuple(map(int, s))))
            for i, p, s in zip(indices, probs, sizes.numpy(), strict=True)
        ]
    skip(paths[done:])
