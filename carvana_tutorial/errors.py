"""One exception type for every problem a user can fix, and the one place that turns an exception
into the line a user reads: the command line prints a :class:`CarvanaError` as one sentence and
exits non-zero; anything :func:`one_line` cannot explain is a bug and keeps its traceback."""

import errno
import re
import sys
from pathlib import Path


class CarvanaError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class DataError(CarvanaError):
    """The data folder is missing, incomplete, unpaired or unreadable."""


class DownloadError(CarvanaError):
    """Kaggle could not be reached, refused us, or the credentials are missing."""


class ModelError(CarvanaError):
    """A model file cannot be loaded or does not fit the data."""


#: A permission refused: inside the cache, the advice also names CARVANA_CACHE.
DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
#: What an OSError means for the user, by errno; the file it names comes first.
ADVICE = {
    **dict.fromkeys((errno.ENOSPC, errno.EDQUOT), "the disk is full: free some space and rerun"),
    **dict.fromkeys(
        DENIED, "permission denied: pick a place you can read and write, or change its permissions"
    ),
    errno.ENOTDIR: "a part of that path is a file, not a folder: pick another path",
    errno.EISDIR: "it is a folder where a file is needed: pick another path",
    errno.EEXIST: "a file is in the way of a folder: pick another path",
    errno.ENOENT: "it does not exist: check the path",
}
OUT_OF_MEMORY = "out of memory{}: try a smaller --filters, --batch or --size"
#: What TensorFlow adds to its messages: graph nodes, ops, devices, allocators.
TF_INTERNALS = r"\{\{[^}]*\}\}|\[\[.*?\]\]|\[Op:[^\]]*\]| on /job:\S+| by allocator \S+"


def _inside(where: str, folder: Path) -> bool:
    return Path(where).resolve().is_relative_to(folder.resolve())


def _tensorflow_text(message: str, name: str) -> str:
    """TensorFlow's last plain sentence, without its internals."""
    lines = re.sub(TF_INTERNALS, "", message).splitlines()
    lines = [line.strip() for line in lines if line.strip() and not line.startswith(" ")]
    return next((line for line in reversed(lines) if not line.endswith(":")), name)


def one_line(exc: BaseException, cache: Path | None = None) -> str | None:
    """The one line a user sees for ``exc``, or ``None`` for a bug (which keeps its traceback);
    a write refused inside ``cache`` also names the variable that moves the cache."""
    tf = sys.modules.get("tensorflow")
    if isinstance(exc, CarvanaError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return OUT_OF_MEMORY.format("")
    if isinstance(exc, OSError) and exc.errno in ADVICE:
        where = exc.filename2 or exc.filename
        advice = ADVICE[exc.errno]
        if where and cache and exc.errno in DENIED and _inside(where, cache):
            advice += " (or set CARVANA_CACHE to another cache folder)"
        return f"{where}: {advice}" if where else advice
    if tf is not None and isinstance(exc, tf.errors.OpError):
        text = _tensorflow_text(exc.message, type(exc).__name__)
        if isinstance(exc, tf.errors.ResourceExhaustedError):
            return OUT_OF_MEMORY.format(f" ({text})")
        return f"TensorFlow failed: {text}"
    return None


def reason(exc: BaseException) -> str:
    """Why reading a file failed, in one line: :func:`one_line`'s, else the library's own words
    (Pillow's; TensorFlow's without its internals)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(exc, tf.errors.OpError):
        return _tensorflow_text(exc.message, type(exc).__name__)
    return one_line(exc) or " ".join(str(exc).split())[:120] or type(exc).__name__
