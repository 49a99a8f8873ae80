"""Unpack Kaggle's zips safely: only the wanted ones, once, all or nothing.

Each zip is unpacked into a hidden temporary folder next to its destination
and renamed into place only when every file is written, with a marker holding
the zip's size and modification time.  So an interrupted extraction never
leaves a folder that looks complete, a second call is free, and a newer zip is
unpacked again.  Entries that would land outside the destination (``../x``,
absolute paths) are refused.  A zip of one file (``train_masks.csv.zip``)
becomes that file, written under a temporary name and renamed into place, with
a hidden stamp next to it (``.train_masks.csv.extracted.json``) that does the
marker's job.  Introduced in chapter 1.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import DataError
from ..layout import MASKS_CSV_ZIP, SKIPPED_ZIPS, TEST_IMAGES, TRAIN_IMAGES, TRAIN_MASKS

#: Written inside a folder once it is completely extracted.
MARKER = ".extracted.json"
#: The zips a training run needs; ``test_hq.zip`` is only for a submission.
TRAIN_ZIPS = (f"{TRAIN_IMAGES}.zip", f"{TRAIN_MASKS}.zip")
TEST_ZIP = f"{TEST_IMAGES}.zip"
#: Zips of one file, extracted as that file rather than a folder; optional.
FILE_ZIPS = (MASKS_CSV_ZIP,)


def _stamp(zip_path: Path) -> dict:
    stat = zip_path.stat()
    return {"zip": zip_path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _sidecar(file: Path) -> Path:
    """The stamp of a file extracted from a one-file zip: ``.<name>.extracted.json`` beside it."""
    return file.with_name(f".{file.name}{MARKER}")


def is_extracted(path: Path, zip_path: Path | None = None) -> bool:
    """True when ``path`` was completely extracted (from this very zip, if given).

    ``path`` is a folder, or the file a one-file zip became (see :func:`extract_file`).
    """
    path = Path(path)
    marker = path / MARKER if path.is_dir() else _sidecar(path)
    if not (path.exists() and marker.is_file()):
        return False
    if zip_path is None:
        return True
    try:
        return json.loads(marker.read_text()) == _stamp(Path(zip_path))
    except (OSError, ValueError):
        return False


def _members(archive: zipfile.ZipFile, prefix: str) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Each file entry with its path relative to the destination folder.

    Kaggle's zips hold ``train_hq/<name>``; a zip of bare files works too.
    Raises :class:`~carvana_tutorial.errors.DataError` for any entry that would escape the folder.
    """
    entries = []
    for info in archive.infolist():
        name = info.filename.replace("\\", "/")
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
            raise DataError(
                f"refusing to extract {info.filename!r}: the entry would land outside the destination folder"
            )
        if not info.is_dir():
            entries.append((info, rel))
    if entries and all(rel.parts[0] == prefix and len(rel.parts) > 1 for _, rel in entries):
        entries = [(info, PurePosixPath(*rel.parts[1:])) for info, rel in entries]
    return entries


def extract_zip(zip_path: Path, dest_root: Path, *, progress: bool = False) -> Path:
    """Extract ``<name>.zip`` into ``dest_root/<name>/`` and return that folder.

    Idempotent: does nothing when the folder's marker matches the zip.  Refuses
    to replace a folder it did not extract itself, so nothing of the user's is
    lost.  Introduced in chapter 1.
    """
    zip_path, dest_root = Path(zip_path), Path(dest_root)
    if not zip_path.is_file():
        raise DataError(f"no zip file at {zip_path}")
    name = zip_path.name.removesuffix(".zip")
    final = dest_root / name
    if is_extracted(final, zip_path):
        return final
    if final.exists() and not (final / MARKER).is_file():
        raise _foreign(final, zip_path, "folder")
    _require_zip(zip_path)
    dest_root.mkdir(parents=True, exist_ok=True)
    for stale in dest_root.glob(f".{name}.partial-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=dest_root))
    try:
        _extract_into(zip_path, partial / name, name, progress)
        (partial / name / MARKER).write_text(json.dumps(_stamp(zip_path)))
        if final.exists():  # an older extraction of an older zip: swap it out
            final.rename(partial / f"{name}.old")
        (partial / name).rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def _require_zip(zip_path: Path) -> None:
    if not zipfile.is_zipfile(zip_path):
        raise DataError(
            f"{zip_path} is not a zip file (an interrupted or failed download?): delete it and download it again"
        )


def _open_zip(zip_path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{zip_path} cannot be read as a zip ({exc}): delete it and download it again") from None


def _foreign(final: Path, zip_path: Path, kind: str) -> DataError:
    """The error for a ``final`` we did not extract: it is the user's, so it is never replaced."""
    return DataError(
        f"{final} already exists but was not extracted from {zip_path.name}: "
        f"use that {kind} as it is, or move it away to extract the zip again"
    )


def _extract_into(zip_path: Path, target: Path, prefix: str, progress: bool) -> None:
    from tqdm import tqdm

    archive = _open_zip(zip_path)
    with archive:
        entries = _members(archive, prefix)
        target.mkdir(parents=True)
        for info, rel in tqdm(entries, desc=f"extract {zip_path.name}", unit="file", disable=not progress):
            out = target.joinpath(*rel.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            _copy_member(archive, info, out, zip_path)


def extract_file(zip_path: Path, dest_root: Path) -> Path:
    """Extract the one file of ``<name>.zip`` as ``dest_root/<name>`` and return its path.

    For ``train_masks.csv.zip``: the pipeline reads ``train_masks.csv`` as soon
    as it exists, so the file appears whole or not at all (written under a
    temporary name, then renamed).  Idempotent like :func:`extract_zip`, and
    never replaces a file it did not extract itself.  Introduced in chapter 1.
    """
    zip_path, dest_root = Path(zip_path), Path(dest_root)
    if not zip_path.is_file():
        raise DataError(f"no zip file at {zip_path}")
    name = zip_path.name.removesuffix(".zip")
    final, stamp = dest_root / name, _sidecar(dest_root / name)
    if is_extracted(final, zip_path):
        return final
    if final.exists() and not stamp.is_file():
        raise _foreign(final, zip_path, "file")
    _require_zip(zip_path)
    dest_root.mkdir(parents=True, exist_ok=True)
    for stale in dest_root.glob(f".{name}.partial-*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{name}.partial-", dir=dest_root)
    os.close(handle)
    try:
        _extract_one(zip_path, Path(partial), name)
        # Claim the name with a stamp no zip matches, so a run killed between
        # here and the end extracts again instead of calling the file foreign.
        stamp.write_text(json.dumps({"zip": zip_path.name}))
        os.replace(partial, final)
        stamp.write_text(json.dumps(_stamp(zip_path)))
    finally:
        Path(partial).unlink(missing_ok=True)
    return final


def _extract_one(zip_path: Path, target: Path, name: str) -> None:
    """Copy the single ``name``-like entry of ``zip_path`` into ``target``."""
    archive = _open_zip(zip_path)
    with archive:
        entries = _members(archive, name)
        suffix = PurePosixPath(name).suffix
        if len(entries) != 1 or entries[0][1].suffix != suffix:
            held = ", ".join(info.filename for info, _ in entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise DataError(
                f"{zip_path} should hold a single {suffix or name} file but holds {held or 'no file'}: "
                "delete it and download it again"
            )
        _copy_member(archive, entries[0][0], target, zip_path)


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, out: Path, zip_path: Path) -> None:
    """Stream one entry to ``out``; a CRC or truncation error names the zip and the entry."""
    try:
        with archive.open(info) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DataError(
            f"{zip_path.name} is damaged at {info.filename} ({exc}): delete it and download it again"
        ) from None


def wanted_zips(folder: Path, *, with_test: bool = False) -> list[Path]:
    """The zips of ``folder`` worth extracting, never ``train.zip``/``test.zip``.

    Kaggle also ships lower-quality copies (``train.zip``, ``test.zip``); the
    article skips them to stay within Kaggle's 20 GB of working space, and so
    do we.  Introduced in chapter 1.
    """
    names = TRAIN_ZIPS + ((TEST_ZIP,) if with_test else ())
    return [Path(folder) / n for n in names if n not in SKIPPED_ZIPS and (Path(folder) / n).is_file()]


def extract_all(zips: Iterable[Path], dest_root: Path, *, progress: bool = False) -> list[Path]:
    """Extract each zip into ``dest_root`` and return what each became.

    A folder per zip (see :func:`extract_zip`), except the one-file zips of
    :data:`FILE_ZIPS`, which become their file (see :func:`extract_file`).
    Introduced in chapter 1.
    """
    return [extract_file(z, dest_root) if Path(z).name in FILE_ZIPS else extract_zip(z, dest_root, progress=progress)
            for z in zips]
