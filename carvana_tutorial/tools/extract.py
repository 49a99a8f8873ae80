"""Unpack Kaggle's zips safely: only the wanted ones, once, all or nothing. A zip is unpacked into a
hidden folder, stamped with the zip's size and mtime and renamed into place, so an interrupted run
never looks done and a newer zip is unpacked again. What we did not extract is never replaced.
Introduced in chapter 1."""

import errno
import json
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from ..errors import DataError
from ..layout import MASKS_CSV_ZIP, TEST_IMAGES, TRAIN_IMAGES, TRAIN_MASKS

#: Written inside a folder (or beside a one-file zip's file) once completely extracted.
EXTRACTED_MARKER = ".extracted.json"
TRAIN_ZIPS = (f"{TRAIN_IMAGES}.zip", f"{TRAIN_MASKS}.zip")
TEST_ZIP = f"{TEST_IMAGES}.zip"
#: Zips of one file, extracted as that file rather than a folder.
FILE_ZIPS = (MASKS_CSV_ZIP,)


def _stamp(zip_path: Path) -> dict:
    stat = zip_path.stat()
    return {"zip": zip_path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _marker(path: Path, single: bool) -> Path:
    return path.with_name(f".{path.name}{EXTRACTED_MARKER}") if single else path / EXTRACTED_MARKER


def is_extracted(path: Path, zip_path: Path | None = None) -> bool:
    """True when ``path`` (a folder or a file) was completely extracted, from this zip if given."""
    path = Path(path)
    marker = _marker(path, not path.is_dir())
    if not (path.exists() and marker.is_file()):
        return False
    try:
        return zip_path is None or json.loads(marker.read_text()) == _stamp(Path(zip_path))
    except (OSError, ValueError):
        return False


def _members(
    archive: zipfile.ZipFile, name: str, single: bool
) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Each wanted file entry with its path in ``name`` (what archivers add is skipped); an entry
    escaping the destination is refused (zip slip), and so is a zip of anything but ``name`` (its
    folder, or its one file)."""
    entries = []
    for info in archive.infolist():
        rel = PurePosixPath(info.filename.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or (rel.parts and ":" in rel.parts[0]):
            raise DataError(
                f"refusing to extract {info.filename!r}: the entry would land outside the "
                "destination folder"
            )
        # What archivers add: folders, __MACOSX/, .DS_Store and ._name forks.
        if not (info.is_dir() or "__MACOSX" in rel.parts or rel.name.startswith(".")):
            entries.append((info, rel))
    if single:
        if len(entries) == 1 and entries[0][1].suffix == PurePosixPath(name).suffix:
            return entries
        held = ", ".join(i.filename for i, _ in entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise DataError(
            f"{archive.filename} should hold a single {PurePosixPath(name).suffix} file but holds "
            f"{held or 'no file'}: delete it and download it again"
        )
    inside = [
        (info, PurePosixPath(*rel.parts[1:]))
        for info, rel in entries
        if len(rel.parts) > 1 and rel.parts[0] == name
    ]
    # Kaggle's zips hold the folder; a flat zip holds its files.
    if inside or (entries and all(len(rel.parts) == 1 for _, rel in entries)):
        return inside or entries
    tops = sorted({rel.parts[0] + ("/" if len(rel.parts) > 1 else "") for _, rel in entries})
    raise DataError(
        f"{archive.filename} holds no {name}/ folder (it holds {', '.join(tops[:3]) or 'no file'})"
        ": delete it and download it again"
    )


def extract_zip(zip_path: Path, dest_root: Path, *, progress: bool = False) -> Path:
    """Extract ``<name>.zip`` as ``dest_root/<name>`` (a file for :data:`FILE_ZIPS`), once."""
    zip_path, dest_root = Path(zip_path), Path(dest_root)
    if not zip_path.is_file():
        raise DataError(f"no zip file at {zip_path}")
    single, name = zip_path.name in FILE_ZIPS, zip_path.name.removesuffix(".zip")
    final, marker = dest_root / name, _marker(dest_root / name, single)
    if is_extracted(final, zip_path):
        return final
    if final.exists() and not marker.is_file():
        raise DataError(
            f"{final} already exists but was not extracted from {zip_path.name}: use that "
            f"{'file' if single else 'folder'} as it is, or move it away to extract the zip again"
        )
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise DataError(
            f"{zip_path} is not a zip file (an interrupted or failed download?): delete it and "
            "download it again"
        ) from None
    dest_root.mkdir(parents=True, exist_ok=True)
    for stale in dest_root.glob(f".{name}.partial-*"):  # left by a killed run
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=dest_root))
    try:
        with archive:
            entries = _members(archive, name, single)
            for info, rel in tqdm(
                entries, desc=f"extract {zip_path.name}", unit="file", disable=not progress
            ):
                out = partial / name if single else partial.joinpath(name, *rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                try:
                    with archive.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
                    raise DataError(
                        f"{zip_path} is damaged at {info.filename} ({exc}): delete it and "
                        "download it again"
                    ) from None
        if single:
            # Claim the name first: a run killed from here on extracts again, not calls it foreign.
            marker.write_text(json.dumps({"zip": zip_path.name}))
            os.replace(partial / name, final)
            marker.write_text(json.dumps(_stamp(zip_path)))
        else:
            (partial / name / EXTRACTED_MARKER).write_text(json.dumps(_stamp(zip_path)))
            if final.exists():  # our extraction of an older zip: swap it out
                final.rename(partial / f"{name}.old")
            (partial / name).rename(final)
    except OSError as exc:  # writing: the zip's own faults are DataErrors already
        need = sum(info.file_size for info in archive.infolist()) / 2**20
        why = (
            f"the disk is full (it unpacks to {need:.0f} MiB): free some space"
            if exc.errno == errno.ENOSPC
            else f"{exc.strerror or exc}: make it writable"
        )
        raise DataError(
            f"cannot extract {zip_path} into {dest_root}: {why} and run the command again"
        ) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def wanted_zips(folder: Path, *, with_test: bool = False) -> list[Path]:
    """The zips of ``folder`` worth extracting: never the low-quality ``train.zip``/``test.zip``
    (20 GB cap)."""
    zips = [Path(folder) / n for n in TRAIN_ZIPS + ((TEST_ZIP,) if with_test else ())]
    return [z for z in zips if z.is_file()]


def extract_all(zips: Iterable[Path], dest_root: Path, *, progress: bool = False) -> list[Path]:
    """Extract each zip into ``dest_root`` (see :func:`extract_zip`)."""
    return [extract_zip(z, dest_root, progress=progress) for z in zips]
