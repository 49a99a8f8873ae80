"""Zip extraction: only the wanted zips, idempotent, all or nothing, no escapes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from carvana_tutorial.data import extract
from carvana_tutorial.data.extract import (
    MARKER,
    extract_all,
    extract_zip,
    is_extracted,
    wanted_zips,
)
from carvana_tutorial.errors import DataError

FILES = {f"0123456789ab_{v:02d}.jpg": bytes([v]) * (100 + v) for v in range(1, 17)}


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def kaggle_zip(tmp_path: Path) -> Path:
    """Like Kaggle's: every entry under a ``train_hq/`` folder."""
    return make_zip(tmp_path / "train_hq.zip", {"train_hq/": b"", **{f"train_hq/{k}": v for k, v in FILES.items()}})


def test_extracts_into_a_folder_named_after_the_zip(kaggle_zip: Path, tmp_path: Path) -> None:
    folder = extract_zip(kaggle_zip, tmp_path / "out")
    assert folder == tmp_path / "out" / "train_hq"
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != MARKER} == FILES
    assert is_extracted(folder, kaggle_zip)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["train_hq"]  # no temporary left over


def test_flat_zip_is_extracted_into_its_folder(tmp_path: Path) -> None:
    flat = make_zip(tmp_path / "train_masks.zip", {"0123456789ab_01_mask.gif": b"gif"})
    folder = extract_zip(flat, tmp_path)
    assert (folder / "0123456789ab_01_mask.gif").read_bytes() == b"gif"


def test_second_call_does_nothing(kaggle_zip: Path, tmp_path: Path) -> None:
    folder = extract_zip(kaggle_zip, tmp_path)
    before = snapshot(folder)
    assert extract_zip(kaggle_zip, tmp_path) == folder
    assert snapshot(folder) == before


def test_a_changed_zip_is_extracted_again(kaggle_zip: Path, tmp_path: Path) -> None:
    folder = extract_zip(kaggle_zip, tmp_path)
    make_zip(kaggle_zip, {"train_hq/0123456789ab_01.jpg": b"new"})
    os.utime(kaggle_zip, ns=(1, 10**18))  # make sure the stamp differs
    assert not is_extracted(folder, kaggle_zip)
    extract_zip(kaggle_zip, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(["0123456789ab_01.jpg", MARKER])
    assert (folder / "0123456789ab_01.jpg").read_bytes() == b"new"


def test_interrupted_extraction_leaves_no_folder_that_looks_complete(
    kaggle_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = extract.shutil.copyfileobj

    def dies_half_way(src, dst, length=0):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        real(src, dst, length)

    monkeypatch.setattr(extract.shutil, "copyfileobj", dies_half_way)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        extract_zip(kaggle_zip, out)
    assert list(out.iterdir()) == []  # neither train_hq/ nor the temporary
    monkeypatch.undo()
    folder = extract_zip(kaggle_zip, out)
    assert len(list(folder.iterdir())) == len(FILES) + 1


def test_leftovers_of_a_killed_run_are_cleaned(kaggle_zip: Path, tmp_path: Path) -> None:
    stale = tmp_path / ".train_hq.partial-abc" / "train_hq"
    stale.mkdir(parents=True)
    (stale / "half.jpg").write_bytes(b"x")
    extract_zip(kaggle_zip, tmp_path)
    assert not stale.parent.exists()


@pytest.mark.parametrize("entry", ["../evil.jpg", "train_hq/../../evil.jpg", "/tmp/evil.jpg", "C:/evil.jpg"])
def test_entries_escaping_the_folder_are_refused(tmp_path: Path, entry: str) -> None:
    bad = make_zip(tmp_path / "train_hq.zip", {"train_hq/ok.jpg": b"ok", entry: b"evil"})
    out = tmp_path / "out"
    with pytest.raises(DataError, match="outside the destination folder"):
        extract_zip(bad, out)
    assert not (out / "train_hq").exists()
    assert not list(tmp_path.rglob("evil.jpg"))


def test_not_a_zip_is_a_clear_error_and_is_kept(tmp_path: Path) -> None:
    fake = tmp_path / "train_hq.zip"
    fake.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(DataError, match="is not a zip file .*download it again"):
        extract_zip(fake, tmp_path)
    assert fake.read_bytes() == b"<html>403 Forbidden</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_hq.zip"]


def test_truncated_zip_is_a_clear_error(kaggle_zip: Path, tmp_path: Path) -> None:
    data = kaggle_zip.read_bytes()
    kaggle_zip.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="download it again"):
        extract_zip(kaggle_zip, tmp_path / "out")
    assert not (tmp_path / "out" / "train_hq").exists()


def test_a_folder_we_did_not_extract_is_never_replaced(kaggle_zip: Path, tmp_path: Path) -> None:
    mine = tmp_path / "train_hq"
    mine.mkdir()
    (mine / "precious.jpg").write_bytes(b"mine")
    with pytest.raises(DataError, match="already exists but was not extracted"):
        extract_zip(kaggle_zip, tmp_path)
    assert snapshot(mine) and (mine / "precious.jpg").read_bytes() == b"mine"


def test_missing_zip(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no zip file"):
        extract_zip(tmp_path / "train_hq.zip", tmp_path)


def test_only_the_wanted_zips(tmp_path: Path) -> None:
    for name in ("train.zip", "test.zip", "train_hq.zip", "train_masks.zip", "test_hq.zip", "sample.zip"):
        make_zip(tmp_path / name, {"a": b"a"})
    assert [p.name for p in wanted_zips(tmp_path)] == ["train_hq.zip", "train_masks.zip"]
    with_test = [p.name for p in wanted_zips(tmp_path, with_test=True)]
    assert with_test == ["train_hq.zip", "train_masks.zip", "test_hq.zip"]
    folders = extract_all(wanted_zips(tmp_path), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train_hq", "train_masks"]
    assert all(is_extracted(f) for f in folders)
