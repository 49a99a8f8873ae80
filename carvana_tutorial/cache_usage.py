"""What the cache folder holds, by kind, and clearing the parts a user names.

Everything the package computes lands under :func:`~carvana_tutorial.config.cache_dir`
(decoded pairs, synthetic sets, trained runs, unpacked zips) and nothing prunes it,
so on Kaggle's 20 GB disk it only grows.  Links count and go as themselves, never
followed: nothing outside the folder is touched.  Introduced in chapter 2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import ENV_CACHE, cache_dir
from .data.locate import exclusive
from .errors import CarvanaError

#: Kinds of entry, in listing order; anything else (``kaggle/``, stray files) is ``other``.
KINDS = ("pipeline", "synthetic", "runs", "extracted", "other")
LOCK = ".lock"  # beside each synthetic set; ``make_synthetic`` holds it while writing the set


@dataclass(frozen=True)
class Group:
    """One line of the listing; ``paths`` are what clearing it removes."""

    kind: str
    name: str
    paths: tuple[Path, ...]
    files: int
    size: int

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}".strip()

    def as_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "files": self.files, "bytes": self.size,
                "mib": round(self.size / 2**20, 2)}


def checked_root(root: Path | None = None) -> Path:
    """The cache folder, resolved; ``/`` or a folder holding the home folder is a typo, refused."""
    root = Path(root if root is not None else cache_dir()).expanduser().resolve()
    home = Path.home().resolve()
    if root == Path(root.anchor) or root == home or root in home.parents or (root.exists() and not root.is_dir()):
        raise CarvanaError(f"refusing to use {root} as the cache: it is the root, holds your home folder or is a "
                           f"file; point {ENV_CACHE} at a folder of its own")
    return root


def _walk(path: Path) -> list[tuple[Path, os.stat_result]]:
    """Every file under ``path`` with its ``lstat``; what vanishes meanwhile (another process) is skipped."""
    try:
        if path.is_symlink() or not path.is_dir():
            return [(path, path.lstat())]
        children = sorted(path.iterdir())
    except OSError:
        return []
    return [item for child in children for item in _walk(child)]


def _group(kind: str, name: str, paths: Sequence[Path]) -> Group:
    stats = [stat for path in paths for _, stat in _walk(path)]
    return Group(kind, name, tuple(paths), len(stats), sum(s.st_size for s in stats))


def usage(root: Path | None = None, *, locks: bool = True) -> list[Group]:
    """Pipeline per size, synthetic per set (with its lock file if ``locks``), runs per run, then the rest."""
    root, groups, other = checked_root(root), [], []
    for top in sorted(root.iterdir()) if root.is_dir() else []:
        if top.name not in KINDS[:-1]:
            other.append(top)
        elif top.name == "extracted" or top.is_symlink() or not top.is_dir():
            groups.append(_group(top.name, "", [top]))
        elif top.name != "synthetic":
            groups += [_group(top.name, child.name, [child]) for child in sorted(top.iterdir())]
        else:
            for name in sorted({p.name.removesuffix(LOCK) for p in top.iterdir()}):
                paths = [p for p in (top / name, top / (name + LOCK)) if (p.exists() or p.is_symlink())
                         and (locks or p.suffix != LOCK)]
                groups += [_group("synthetic", name, paths)] if paths else []
    groups += [_group("other", "", other)] if other else []
    return sorted(groups, key=lambda g: (KINDS.index(g.kind), g.name))


def _remove(path: Path, root: Path) -> str | None:
    """Remove ``path`` and the folders it leaves empty; return why it could not be removed."""
    parent = path.parent.resolve()
    if path.name in ("", ".", "..") or not (parent == root or root in parent.parents):
        raise CarvanaError(f"refusing to remove {path}: it is outside the cache {root}")
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        return f"{Path(exc.filename or path).name}: {exc.strerror or exc}"
    with contextlib.suppress(OSError):  # rmdir fails at the first folder that is not empty
        for folder in path.parents:
            if folder == root or root not in folder.parents:
                break
            folder.rmdir()
    return None


def clear(root: Path | None = None, *, pipeline: bool = False, sizes: Sequence[tuple[int, int]] = (),
          older_than_days: float | None = None, everything: bool = False, dry_run: bool = False,
          now: float | None = None) -> tuple[list[Group], list[tuple[Group, str]]]:
    """Remove what the options name; return what went (or would, on a dry run) and what was skipped, with why.

    The pipeline options combine; ``older_than_days`` keeps a decoded pair read
    *or* written since (on a ``noatime`` mount, written: the worst case is a decode
    again).  A synthetic set goes only while we hold its lock, so one another
    process is making is skipped; lock files stay, since deleting a lock another
    process may be opening would let two processes make the same set at once.
    """
    if everything and (pipeline or sizes or older_than_days is not None):
        raise CarvanaError("--all already clears everything: drop --pipeline, --size and --older-than")
    if older_than_days is not None and not older_than_days >= 0:
        raise CarvanaError(f"--older-than must be a number of days, 0 or more, not {older_than_days}")
    root, removed, skipped = checked_root(root), [], []
    groups = usage(root, locks=False) if everything or pipeline or sizes or older_than_days is not None else []
    if not everything:
        prefixes = tuple(f"{h}x{w}-" for h, w in sizes) or ("",)
        groups = [g for g in groups if g.kind == "pipeline" and g.name.startswith(prefixes)]
    if older_than_days is not None:
        cutoff = (time.time() if now is None else now) - older_than_days * 86400
        old = [(g, [p for path in g.paths for p, s in _walk(path) if max(s.st_atime, s.st_mtime) <= cutoff])
               for g in groups]
        groups = [_group(g.kind, g.name, files) for g, files in old if files]
    for group in groups:
        lock = group.paths[0].with_name(group.name + LOCK) if group.kind == "synthetic" and group.name else None
        with exclusive(lock if lock and (lock.exists() or not dry_run) else None, wait=False) as free:
            errors = [] if dry_run or not free else [e for p in group.paths if (e := _remove(p, root))]
        if not free:
            skipped.append((group, "in use by another process"))
        elif errors:  # not freed, or not all of it: say so rather than count it
            skipped.append((group, f"could not be removed ({errors[0]})"))
        else:
            removed.append(group)
    return removed, skipped
