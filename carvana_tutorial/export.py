"""Export a trained model with Keras 3's own export (ONNX through ``tf2onnx``, or a SavedModel), and
run an ``.onnx`` file in ONNX Runtime like a Keras model (:class:`OnnxModel`), so
:mod:`carvana_tutorial.inference` works with either.  ONNX needs the extra:
``pip install 'carvana-tutorial[export]'``.  Introduced in chapter 9."""

import importlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np

from .errors import CarvanaError, ModelError
from .inference import model_image_size
from .outputs import EXPORT_MARKER, MARK, naming, replaceable

#: Export formats and what replaces ``.keras`` in the default output's name.
FORMATS = {"onnx": ".onnx", "tf_saved_model": "_saved_model"}


def require_extra(module: str) -> ModuleType:
    """Import and return ``module``, or say in one line which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CarvanaError(
            f"exporting to ONNX needs {module}: "
            "pip install 'carvana-tutorial[export]' (tf2onnx, onnx, onnxruntime)"
        ) from None


def is_export(path: Path) -> bool:
    """Whether ``export`` wrote ``path``: a SavedModel folder holding
    :data:`~carvana_tutorial.outputs.EXPORT_MARKER`, or an ONNX file carrying
    :data:`~carvana_tutorial.outputs.MARK` in its metadata."""
    if path.is_dir():
        return (path / EXPORT_MARKER).is_file()
    try:
        onnx = importlib.import_module("onnx")
        props = onnx.load(str(path), load_external_data=False).metadata_props
    except Exception:  # not ONNX, or no onnx to read it: not ours
        return False
    return any(prop.key == MARK for prop in props)


def export_model(
    model,
    out: str | os.PathLike,
    fmt: str = "onnx",
    overwrite: bool = False,
) -> Path:
    """Write ``model`` (a Keras model) to ``out`` with Keras's own export.
    Only an export of ours is ever replaced, and only with ``overwrite``.
    Introduced in chapter 9."""
    if fmt not in FORMATS:
        raise CarvanaError(f"unknown format {fmt!r}: onnx or tf_saved_model")
    out = Path(out)
    if replaceable(out, "--out", is_export) and not overwrite:
        hint = "pass --overwrite to replace it, or another --out"
        raise CarvanaError(f"--out {out} already exists: {hint}")
    if fmt == "onnx":
        for module in ("tf2onnx", "onnx"):
            require_extra(module)
    height, width = model_image_size(model)
    model(np.zeros((1, height, width, 3), np.float32))  # Keras needs a call
    with naming(out):  # an error names out, never a temporary name
        _write(model, Path(os.path.abspath(out)), fmt)  # "." has no name
    return out


def _write(model, target: Path, fmt: str) -> None:
    """Export into a temporary folder beside ``target``, sign it as ours (so a later ``--overwrite``
    may replace it, and nothing else), then rename it: never half an export named ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, suffix=".part") as temp:
        part = Path(temp) / target.name
        with warnings.catch_warnings():  # tf2onnx's FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            model.export(str(part), format=fmt, verbose=False)
        if fmt == "onnx":
            onnx = importlib.import_module("onnx")
            proto = onnx.load(str(part))
            onnx.helper.set_model_props(proto, {MARK: "written by carvana-tutorial export"})
            onnx.save(proto, str(part))
        else:
            (part / EXPORT_MARKER).write_text("written by carvana-tutorial export\n")
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(part, target)


class OnnxModel:
    """An exported ``.onnx`` segmenter in ONNX Runtime, used like Keras. Introduced in chapter 9."""

    def __init__(self, path: str | os.PathLike):
        onnxruntime = require_extra("onnxruntime")
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"no ONNX file at {path}")
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's own error types
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise ModelError(f"cannot load {path.name} as ONNX: {reason}") from exc
        self.input = self.session.get_inputs()[0]
        shape = self.input.shape
        if len(shape) != 4 or not all(isinstance(v, int) for v in shape[1:]):
            raise ModelError(
                f"{path.name} takes input {shape}, not photos [batch, height, width, 3]"
            )
        self.image_size = (shape[1], shape[2])

    def predict_on_batch(self, images) -> np.ndarray:
        """Probabilities ``[B, h, w, 1]`` for float photos ``[B, h, w, 3]``."""
        batch = np.ascontiguousarray(images, dtype=np.float32)
        return self.session.run(None, {self.input.name: batch})[0]
