"""What the package's cache folder holds, and clearing parts of it safely.

Everything the package computes lands under one folder,
:func:`~carvana_tutorial.data.locate.cache_dir`: decoded pairs under
``pipeline/<H>x<W>-<resize>/``, synthetic sets under ``synthetic/``, trained
runs under ``runs/``, zips unpacked from read-only folders under
``extracted/``.  Nothing there is ever pruned on its own, and a pipeline entry
whose photo has changed is never read again (its name no longer matches), so
on Kaggle's 20 GB disk or a laptop the folder only grows.  This module counts
it by kind and removes what the user names, and nothing outside the folder.
Sizes are the files' lengths (what ``ls`` shows), which is what the cache
costs on disk up to the file system's rounding.  Introduced in chapter 2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import ENV_CACHE, cache_dir
from .errors import CarvanaError

#: The kinds of entry, in the order they are listed.  Anything else in the
#: folder (``kaggle/``, ``chapter03/``, stray files) is ``other``.
KINDS = ("pipeline", "synthetic", "runs", "extracted", "other")
#: Kinds listed one line per child folder (size, set, run), not as one line.
PER_CHILD = ("pipeline", "synthetic", "runs")
#: Suffix of the lock file next to each synthetic set (see ``make_synthetic``).
LOCK_SUFFIX = ".lock"
MIB = 2**20
DAY_S = 86400.0


@dataclass(frozen=True)
class Group:
    """One line of the listing: a kind, a name within it, and what it holds.

    ``paths`` are the top-level files or folders that make up the group (what
    clearing it removes); ``files`` and ``size`` count everything below them.
    ``lock`` is a synthetic set's lock file, kept when the set is removed.
    Introduced in chapter 2.
    """

    kind: str
    name: str
    paths: tuple[Path, ...]
    files: int
    size: int
    lock: Path | None = None

    @property
    def label(self) -> str:
        """``pipeline 96x128-area``, ``extracted``: names no machine path.  Introduced in chapter 2."""
        return f"{self.kind} {self.name}" if self.name else self.kind

    def as_dict(self) -> dict:
        """The group's figures for a JSON line (no paths).  Introduced in chapter 2."""
        return {"kind": self.kind, "name": self.name, "files": self.files, "bytes": self.size,
                "mib": round(self.size / MIB, 2)}


@dataclass(frozen=True)
class ClearResult:
    """What :func:`clear` removed (or would remove, on a dry run) and what it left, with why.

    Introduced in chapter 2.
    """

    removed: tuple[Group, ...]
    skipped: tuple[tuple[Group, str], ...]
    dry_run: bool

    @property
    def files(self) -> int:
        return sum(g.files for g in self.removed)

    @property
    def size(self) -> int:
        return sum(g.size for g in self.removed)


def checked_root(root: Path | None = None) -> Path:
    """The cache folder, resolved, after refusing one that holds the home folder.

    A ``CARVANA_CACHE`` of ``/`` or ``~`` is a typo, not a cache; clearing it
    would delete the user's files, so every entry point goes through this
    check first.  A folder that does not exist yet is fine (an empty cache).
    Introduced in chapter 2.
    """
    root = (Path(root) if root is not None else cache_dir()).expanduser().resolve()
    home = Path.home().expanduser().resolve()
    if root == Path(root.anchor) or home == root or root in home.parents:
        raise CarvanaError(
            f"refusing to use {root} as the cache: it is the file system's root or holds your home folder; "
            f"point {ENV_CACHE} at a folder of its own"
        )
    if root.exists() and not root.is_dir():
        raise CarvanaError(f"the cache {root} is a file, not a folder; point {ENV_CACHE} at a folder")
    return root


def _walk(path: Path) -> Iterator[os.stat_result]:
    """``lstat`` of every file under ``path`` (or of ``path`` itself), never following links.

    A link is counted as itself, not as what it points at, so nothing outside
    the cache is counted (or, later, removed).  Files that vanish or cannot be
    read while we walk are skipped: another process may be writing the cache.
    """
    try:
        if not path.is_dir() or path.is_symlink():
            yield path.lstat()
            return
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(Path(entry.path))
            else:
                yield entry.stat(follow_symlinks=False)
        except OSError:
            continue


def _group(kind: str, name: str, paths: Iterable[Path], lock: Path | None = None) -> Group:
    paths = tuple(paths)
    stats = [s for p in paths for s in _walk(p)]
    return Group(kind, name, paths, len(stats), sum(s.st_size for s in stats), lock)


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        return []


def _synthetic_groups(folder: Path, *, with_locks: bool) -> list[Group]:
    """One group per set; its ``<key>.lock`` belongs to it (counted when ``with_locks``)."""
    names = sorted({p.name.removesuffix(LOCK_SUFFIX) for p in _children(folder)})
    groups = []
    for name in names:
        lock = folder / (name + LOCK_SUFFIX)
        lock = lock if lock.is_file() else None
        paths = [p for p in (folder / name,) if p.exists() or p.is_symlink()]
        if with_locks and lock is not None:
            paths.append(lock)
        if paths:
            groups.append(_group("synthetic", name, paths, lock))
    return groups


def _groups(root: Path, *, with_locks: bool = True) -> list[Group]:
    groups: list[Group] = []
    other: list[Path] = []
    for top in _children(root):
        kind = top.name
        if kind not in KINDS or kind == "other":
            other.append(top)
        elif top.is_symlink() or not top.is_dir():
            groups.append(_group(kind, "", [top]))
        elif kind == "synthetic":
            groups.extend(_synthetic_groups(top, with_locks=with_locks))
        elif kind in PER_CHILD:
            groups.extend(_group(kind, child.name, [child]) for child in _children(top))
        else:
            groups.append(_group(kind, "", [top]))
    if other:
        groups.append(_group("other", "", other))
    return sorted(groups, key=lambda g: (KINDS.index(g.kind), g.name))


def usage(root: Path | None = None) -> list[Group]:
    """Every group in the cache, in :data:`KINDS` order: pipeline per size, synthetic
    per set, runs per run, then ``extracted`` and ``other`` whole.

    A missing cache folder is an empty list.  Introduced in chapter 2.
    """
    return _groups(checked_root(root))


def select(
    root: Path | None = None,
    *,
    pipeline: bool = False,
    sizes: Sequence[tuple[int, int]] = (),
    older_than_days: float | None = None,
    everything: bool = False,
    now: float | None = None,
) -> list[Group]:
    """The groups a clear with these options removes; nothing is touched yet.

    ``pipeline`` takes every decoded pair; ``sizes`` only the pipeline folders
    of those (height, width), whatever the resize method; ``older_than_days``
    only pipeline entries neither read nor written for that long, judged by
    the newer of each file's access and modification times (a file system
    mounted ``noatime`` makes that the write time alone: such an entry is
    decoded again on its next use, nothing worse).  The pipeline options
    combine (``sizes`` and ``older_than_days`` together take old entries of
    those sizes).  ``everything`` takes the whole folder except the synthetic
    sets' lock files.  With no option nothing is selected: the caller must
    say what to clear.  Introduced in chapter 2.
    """
    if everything and (pipeline or sizes or older_than_days is not None):
        raise CarvanaError("--all already clears everything: drop --pipeline, --size and --older-than")
    if older_than_days is not None and not older_than_days >= 0:
        raise CarvanaError(f"--older-than must be a number of days >= 0, got {older_than_days}")
    root = checked_root(root)
    groups = _groups(root, with_locks=False)
    if everything:
        return groups
    if not (pipeline or sizes or older_than_days is not None):
        return []
    prefixes = tuple(f"{h}x{w}-" for h, w in sizes)
    chosen = [
        g for g in groups
        if g.kind == "pipeline" and (not prefixes or (g.name.startswith(prefixes) and g.paths[0].is_dir()))
    ]
    if older_than_days is None:
        return chosen
    cutoff = (time.time() if now is None else now) - older_than_days * DAY_S
    old = []
    for group in chosen:
        files = [p for p in _files(group.paths[0]) if _last_used(p) <= cutoff]
        if files:
            old.append(_group(group.kind, group.name, files))
    return old


def _files(path: Path) -> list[Path]:
    """Every file below ``path`` (links included, not followed)."""
    if path.is_symlink() or not path.is_dir():
        return [path]
    return [f for child in _children(path) for f in _files(child)]


def _last_used(path: Path) -> float:
    try:
        stat = path.lstat()
    except OSError:
        return float("inf")  # gone already: nothing to remove
    return max(stat.st_atime, stat.st_mtime)


@contextlib.contextmanager
def _unless_locked(lock: Path | None, *, create: bool) -> Iterator[bool]:
    """Hold ``lock`` exclusively while the body runs; yield ``False`` if another process holds it.

    ``make_synthetic`` holds the lock while it writes a set, so a set whose
    lock is taken is being made right now and must not be removed under it.
    Without ``fcntl`` (Windows) no lock is taken, as in ``make_synthetic``.
    """
    try:
        import fcntl
    except ImportError:
        yield True
        return
    if lock is None and not create:
        yield True
        return
    try:
        handle = open(lock, "a" if create else "r")  # noqa: SIM115 - closed below
    except OSError:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _inside(path: Path, root: Path) -> bool:
    """Whether removing ``path`` (a link itself, never its target) stays under ``root``."""
    return path.name not in ("", ".", "..") and (path.parent.resolve() == root or root in path.parent.resolve().parents)


def _remove(path: Path, root: Path) -> str | None:
    """Remove ``path``; return why it (or something inside it) could not be removed."""
    if not _inside(path, root):
        raise CarvanaError(f"refusing to remove {path}: it is outside the cache {root}")
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
    except OSError as exc:
        return f"{Path(exc.filename or path).name}: {exc.strerror or exc}"
    return None


def _prune_empty(path: Path, root: Path) -> None:
    """Remove the folders left empty above ``path``, up to (not including) ``root``."""
    for parent in path.parents:
        if parent == root or root not in parent.parents:
            return
        try:
            parent.rmdir()
        except OSError:
            return


def clear(groups: Sequence[Group], root: Path | None = None, *, dry_run: bool = False) -> ClearResult:
    """Remove ``groups`` (from :func:`select`) and the folders they leave empty.

    A synthetic set is removed only while its lock is ours, so a set another
    process is making is skipped; its lock file stays, since deleting a lock
    another process may be opening would let two processes make the same set
    at once.  A dry run checks the same locks and removes nothing.  Every
    path is checked to lie inside the cache before it goes.  Introduced in
    chapter 2.
    """
    root = checked_root(root)
    removed: list[Group] = []
    skipped: list[tuple[Group, str]] = []
    for group in groups:
        is_set = group.kind == "synthetic" and bool(group.name)
        lock = group.lock if is_set else None
        create = is_set and not dry_run and lock is None
        if create:
            lock = group.paths[0].with_name(group.name + LOCK_SUFFIX)
        with _unless_locked(lock, create=create) as free:
            if not free:
                skipped.append((group, "in use by another process"))
                continue
            if not dry_run:
                errors = [error for path in group.paths if (error := _remove(path, root))]
                for path in group.paths:
                    _prune_empty(path, root)
                if errors:  # not freed, or not all of it: say so rather than count it
                    skipped.append((group, f"could not be removed ({errors[0]})"))
                    continue
            removed.append(group)
    return ClearResult(tuple(removed), tuple(skipped), dry_run)
