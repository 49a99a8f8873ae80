"""Writing outputs, each locked while written, without ever replacing a file or folder not ours.

One rule for every writer: a path may be replaced only if this package wrote it, and it says so
itself: a run folder holds :data:`RUN_MARKER` (the first file a run writes; it is finished when it
holds ``metrics.json``, the last), an exported SavedModel holds :data:`EXPORT_MARKER`, a PNG or an
ONNX file carries :data:`MARK` in its metadata.  ``--overwrite`` replaces only such a path; anything
else is refused, whatever it says.  Files are written under a temporary name and renamed, and an
error names the path the user gave, never the temporary one."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .errors import CarvanaError

#: A run folder's files, named here only: the marker (written first), the best epoch's model, the
#: per-epoch log and the scores (written last).
RUN_MARKER = ".carvana-run"
BEST = "best.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
#: What says ``export`` made a SavedModel folder.
EXPORT_MARKER = ".carvana-export"
#: The metadata our PNG and ONNX files carry.
MARK = "carvana-tutorial"


@contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Make an ``OSError`` raised inside name ``path``: the user gave that path, not the temporary
    names written on the way to it."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` under a temporary name beside ``path``, then rename it: a reader, or a rerun
    after a crash, never finds half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_bytes(data.encode() if isinstance(data, str) else data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # gone once renamed


def replaceable(path: Path, flag: str, ours: Callable[[Path], bool]) -> bool:
    """Whether ``path`` exists (then ``ours`` said we wrote it, so it may be replaced); a refusal
    if it exists and is not ours, as no option may replace what the user made."""
    if not (path.exists() or path.is_symlink()):
        return False
    if path.is_symlink() or not ours(path):
        raise CarvanaError(
            f"{flag} {path} was not written by carvana-tutorial, so it is never replaced "
            f"(not even with --overwrite): move it, or pick another {flag}"
        )
    return True


@contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[TextIO | None]:
    """``path`` opened for appending under an exclusive lock, waited for; without ``wait``,
    ``None`` at once when another process holds it.  Closing releases it; Windows locks nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="ascii", newline="\n") as handle:
        if os.name != "nt":
            import fcntl

            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield None
                return
        yield handle


def in_use(flag: str, path: Path) -> CarvanaError:
    """The refusal when another process holds the lock of ``path``."""
    return CarvanaError(
        f"{flag} {path} is being written by another carvana-tutorial process: "
        f"wait for it to finish, or pick another {flag}"
    )


@contextmanager
def claim_run(folder: Path, overwrite: bool = False) -> Iterator[Path]:
    """Hold ``folder`` for a new run.  Making the folder is the claim (one process wins); a folder
    that was there is ours only with :data:`RUN_MARKER` (or empty): a finished run is replaced only
    with ``overwrite``, an unfinished (interrupted) one is started over, other files are refused."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True)
        made = True
    except FileExistsError:
        made = False
    if not folder.is_dir():
        raise CarvanaError(f"--out {folder} is a file, not a folder: pick another --out")
    run = (folder / RUN_MARKER).is_file()
    if not (made or run) and any(folder.iterdir()):
        raise CarvanaError(
            f"--out {folder} holds files that are not a carvana-tutorial run, and they are never "
            "replaced: pick another (new or empty) --out"
        )
    if run and (folder / METRICS).exists() and not overwrite:
        raise CarvanaError(
            f"--out {folder} holds a finished run: pass --overwrite to replace it, "
            "or pick another --out"
        )
    with locked(folder / RUN_MARKER, wait=False) as handle:
        if handle is None:
            raise in_use("--out", folder)
        try:
            (folder / METRICS).unlink(missing_ok=True)  # written last: until then, unfinished
            yield folder
        except BaseException:
            if made and [p.name for p in folder.iterdir()] == [RUN_MARKER]:
                (folder / RUN_MARKER).unlink()  # failed before writing anything
                folder.rmdir()
            raise
