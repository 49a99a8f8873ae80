"""What the cache folder holds, by kind, and clearing the parts a user names: nothing else prunes
it, and on Kaggle's 20 GB disk it only grows.  Links count and go as themselves, never followed.
Introduced in chapter 2."""

import contextlib
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from ..config import ENV_CACHE, cache_dir
from ..errors import CarvanaError
from ..outputs import locked

# In listing order; "other" is anything else.
CACHE_KINDS = ("pipeline", "synthetic", "runs", "extracted", "other")
NOT_OURS = "not written by carvana-tutorial, so never removed: remove it yourself"
LOCK = ".lock"  # beside each synthetic set; ``make_synthetic`` holds it while writing the set


def checked_root(root: Path | None = None) -> Path:
    """The cache folder, resolved; ``/`` or a folder holding the home folder is a typo, refused."""
    root = Path(root if root is not None else cache_dir()).expanduser().resolve()
    home = Path.home().resolve()
    if root in (Path(root.anchor), home, *home.parents) or (root.exists() and not root.is_dir()):
        raise CarvanaError(
            f"refusing to use {root} as the cache: it is the root, holds your home folder or is a "
            f"file; point {ENV_CACHE} at a folder of its own"
        )
    return root


def _walk(path: Path) -> list[tuple[Path, os.stat_result]]:
    """Every file under ``path`` with its ``lstat``; what vanishes meanwhile (another process) is
    skipped."""
    try:
        if path.is_symlink() or not path.is_dir():
            return [(path, path.lstat())]
        return [item for child in sorted(path.iterdir()) for item in _walk(child)]
    except OSError:
        return []


def amount(groups: Sequence[dict]) -> dict:
    """Files, bytes and MiB of ``groups`` together."""
    size = sum(g["bytes"] for g in groups)
    return {"files": sum(g["files"] for g in groups), "bytes": size, "mib": round(size / 2**20, 2)}


def summary(kind: str, name: str, paths: Sequence[Path]) -> dict:
    """One line of the listing: ``kind``, ``name``, files, bytes and MiB of ``paths``."""
    files = [{"files": 1, "bytes": stat.st_size} for path in paths for _, stat in _walk(path)]
    return {"kind": kind, "name": name, **amount(files)}


def usage(root: Path | None = None) -> dict[tuple[str, str], list[Path]]:
    """The paths of each ``(kind, name)``: pipeline per size, synthetic per set (with its lock),
    runs per run."""
    root, found = checked_root(root), {}
    for top in sorted(root.iterdir()) if root.is_dir() else []:
        kind = top.name if top.name in CACHE_KINDS else "other"
        nested = kind in CACHE_KINDS[:3] and top.is_dir() and not top.is_symlink()
        for path in sorted(top.iterdir()) if nested else [top]:
            name = (
                path.name.removesuffix(LOCK) if kind == "synthetic" else path.name if nested else ""
            )
            found.setdefault((kind, name), []).append(path)
    return {
        key: found[key]
        for key in sorted(found, key=lambda key: (CACHE_KINDS.index(key[0]), key[1]))
    }


def _remove(path: Path, root: Path) -> str | None:
    """Remove ``path`` and the folders it leaves empty; return why it could not be removed.  Every
    path comes from listing ``root`` without following links, so nothing outside it is touched."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        return f"{Path(exc.filename or path).name}: {exc.strerror or exc}"
    with contextlib.suppress(OSError):  # rmdir fails at the first folder that is not empty
        for folder in (f for f in path.parents if root in f.parents):
            folder.rmdir()


def clear(
    root: Path | None = None,
    *,
    pipeline: bool = False,
    sizes: Sequence[tuple[int, int]] = (),
    older_than_days: float | None = None,
    everything: bool = False,
    dry_run: bool = False,
) -> tuple[list[dict], list[dict]]:
    """Remove what the options name; return what went (or would, on a dry run) and what was skipped,
    with why.  A synthetic set goes only while we hold its lock; lock files stay, or two processes
    could make one set at once."""
    scoped = pipeline or sizes or older_than_days is not None
    if not (everything or scoped):
        raise CarvanaError(
            "say what to clear: --pipeline, --size HxW, --older-than DAYS or --all "
            "(add --dry-run to see it first)"
        )
    if everything and scoped:
        raise CarvanaError(
            "--all already clears everything: drop --pipeline, --size and --older-than"
        )
    if older_than_days is not None and not older_than_days >= 0:
        raise CarvanaError(
            f"--older-than must be a number of days, 0 or more, not {older_than_days}"
        )
    root, removed, skipped = checked_root(root), [], []
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    prefixes = tuple(f"{h}x{w}-" for h, w in sizes) or ("",)
    for (kind, name), paths in usage(root).items():
        if not (everything or kind == "pipeline" and name.startswith(prefixes)):
            continue
        if kind == "other":  # outputs.py's rule: only what we wrote is ever removed
            skipped.append({"kind": kind, "name": name, "reason": NOT_OURS})
            continue
        lock = paths[0].with_name(name + LOCK) if kind == "synthetic" and name else None
        paths = [p for p in paths if p != lock]
        if cutoff is not None:  # file by file: what was read or written since stays
            paths = [
                p for path in paths for p, s in _walk(path) if max(s.st_atime, s.st_mtime) <= cutoff
            ]
        if not paths:
            continue
        group = summary(kind, name, paths)
        with (
            locked(lock, wait=False)
            if lock and (lock.exists() or not dry_run)
            else contextlib.nullcontext(True)
        ) as free:
            errors = [] if dry_run or not free else [e for p in paths if (e := _remove(p, root))]
        if not free or errors:  # not freed, or not all of it: say so rather than count it as freed
            reason = (
                "in use by another process" if not free else f"could not be removed ({errors[0]})"
            )
            skipped.append({"kind": kind, "name": name, "reason": reason})
        else:
            removed.append(group)
    return removed, skipped
