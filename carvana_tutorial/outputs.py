"""Writing outputs without ever modifying a file that is not ours, each locked while written.

A run folder is ours when it is new, empty, or holds :data:`RUN_MARKER` (the first file a run
writes); it is
finished when it holds ``metrics.json`` (the last)."""

import fcntl
import os
from collections.abc import Iterator
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


def write_atomic(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` under a temporary name beside ``path``, then rename it: a reader, or a rerun
    after a crash,
    never finds half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone once renamed


@contextmanager
def locked(path: Path, flag: str, shown: Path | None = None) -> Iterator[TextIO]:
    """``path`` opened for appending under an exclusive lock, or a refusal naming ``flag`` and
    ``shown``."""
    with open(path, "a", encoding="ascii", newline="\n") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CarvanaError(
                f"{flag} {shown or path} is being written by another carvana-tutorial process: "
                f"wait for it to finish, or pick another {flag}"
            ) from None
        yield handle


@contextmanager
def claim_run(folder: Path, overwrite: bool = False) -> Iterator[Path]:
    """Hold ``folder`` for a new run: refuse a file, a finished run, or someone else's files unless
    ``overwrite``;
    an unfinished (interrupted) run of ours is started over."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CarvanaError(f"--out {folder} is a file, not a folder: pick another --out")
    if not overwrite and (folder / METRICS).exists():
        raise CarvanaError(
            f"--out {folder} holds a finished run: pass --overwrite to replace it, "
            "or pick another --out"
        )
    if (
        not overwrite
        and folder.is_dir()
        and any(folder.iterdir())
        and not (folder / RUN_MARKER).is_file()
    ):
        raise CarvanaError(
            f"--out {folder} holds files that are not a run of ours: pick another (new or empty) "
            "--out, or pass --overwrite to write into it anyway"
        )
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with locked(folder / RUN_MARKER, "--out", folder):
            (folder / METRICS).unlink(
                missing_ok=True
            )  # written last: until then the run is unfinished
            yield folder
    except BaseException:
        if made and [p.name for p in folder.iterdir()] == [
            RUN_MARKER
        ]:  # failed before writing anything
            (folder / RUN_MARKER).unlink()
            folder.rmdir()
        raise
