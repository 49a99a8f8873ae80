"""Zip extraction: only the wanted zips, idempotent, all or nothing, no escapes."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from carvana_tutorial.errors import DataError
from carvana_tutorial.tools import extract
from carvana_tutorial.tools.extract import (
    EXTRACTED_MARKER,
    extract_all,
    extract_zip,
    is_extracted,
    wanted_zips,
)

FILES = {f"0123456789ab_{v:02d}.jpg": bytes([v]) * (100 + v) for v in range(1, 17)}
CSV = b"img,rle_mask\n" + b"".join(
    f"0123456789ab_{v:02d}.jpg,{v} {v + 10}\n".encode() for v in range(1, 17)
)
STAMP = ".train_masks.csv.extracted.json"


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def kaggle_zip(tmp_path: Path) -> Path:
    """Like Kaggle's: every entry under a ``train_hq/`` folder."""
    return make_zip(
        tmp_path / "train_hq.zip",
        {"train_hq/": b"", **{f"train_hq/{k}": v for k, v in FILES.items()}},
    )


def test_extracts_into_a_folder_named_after_the_zip(kaggle_zip: Path, tmp_path: Path) -> None:
    folder = extract_zip(kaggle_zip, tmp_path / "out")
    assert folder == tmp_path / "out" / "train_hq"
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != EXTRACTED_MARKER} == FILES
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
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["0123456789ab_01.jpg", EXTRACTED_MARKER]
    )
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


@pytest.mark.parametrize(
    "entry", ["../evil.jpg", "train_hq/../../evil.jpg", "/tmp/evil.jpg", "C:/evil.jpg"]
)
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
    for name in (
        "train.zip",
        "test.zip",
        "train_hq.zip",
        "train_masks.zip",
        "test_hq.zip",
        "sample.zip",
    ):
        make_zip(tmp_path / name, {"a": b"a"})
    assert [p.name for p in wanted_zips(tmp_path)] == ["train_hq.zip", "train_masks.zip"]
    with_test = [p.name for p in wanted_zips(tmp_path, with_test=True)]
    assert with_test == ["train_hq.zip", "train_masks.zip", "test_hq.zip"]
    folders = extract_all(wanted_zips(tmp_path), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train_hq", "train_masks"]
    assert all(is_extracted(f) for f in folders)


# --- one-file zips: train_masks.csv.zip -------------------------------------------


@pytest.fixture
def csv_zip(tmp_path: Path) -> Path:
    """Like Kaggle's: one ``train_masks.csv`` at the top."""
    return make_zip(tmp_path / "train_masks.csv.zip", {"train_masks.csv": CSV})


def test_a_one_file_zip_becomes_that_file(csv_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    path = extract_zip(csv_zip, out)
    assert path == out / "train_masks.csv"
    assert path.read_bytes() == CSV
    assert is_extracted(path, csv_zip)
    assert sorted(p.name for p in out.iterdir()) == [
        STAMP,
        "train_masks.csv",
    ]  # no temporary left over


def test_a_one_file_zip_is_extracted_once(csv_zip: Path, tmp_path: Path) -> None:
    extract_zip(csv_zip, tmp_path / "out")
    before = snapshot(tmp_path / "out")
    assert extract_zip(csv_zip, tmp_path / "out") == tmp_path / "out" / "train_masks.csv"
    assert snapshot(tmp_path / "out") == before


def test_a_changed_one_file_zip_is_extracted_again(csv_zip: Path, tmp_path: Path) -> None:
    path = extract_zip(csv_zip, tmp_path)
    make_zip(csv_zip, {"train_masks.csv": b"img,rle_mask\n"})
    os.utime(csv_zip, ns=(1, 10**18))
    assert not is_extracted(path, csv_zip)
    extract_zip(csv_zip, tmp_path)
    assert path.read_bytes() == b"img,rle_mask\n"
    assert is_extracted(path, csv_zip)


def test_an_interrupted_file_extraction_leaves_nothing(
    csv_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dies(src, dst, length=0):
        dst.write(src.read(10))
        raise KeyboardInterrupt

    monkeypatch.setattr(extract.shutil, "copyfileobj", dies)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        extract_zip(csv_zip, out)
    assert list(out.iterdir()) == []  # neither train_masks.csv nor its temporary
    monkeypatch.undo()
    assert extract_zip(csv_zip, out).read_bytes() == CSV


def test_a_run_killed_before_the_rename_is_redone(
    csv_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old csv stays whole; the next run replaces it, not calling it the user's."""
    path = extract_zip(csv_zip, tmp_path)
    make_zip(csv_zip, {"train_masks.csv": b"img,rle_mask\nnew\n"})
    os.utime(csv_zip, ns=(1, 10**18))

    def killed(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        extract_zip(csv_zip, tmp_path)
    assert path.read_bytes() == CSV
    assert not is_extracted(path, csv_zip)
    monkeypatch.undo()
    assert extract_zip(csv_zip, tmp_path).read_bytes() == b"img,rle_mask\nnew\n"
    assert not list(tmp_path.glob(".train_masks.csv.partial-*"))


def test_a_run_killed_before_its_stamp_is_redone(
    csv_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The csv is in place but unstamped: still ours, so the next run finishes the job instead of
    refusing."""

    def killed(zip_path):
        raise KeyboardInterrupt

    monkeypatch.setattr(extract, "_stamp", killed)
    with pytest.raises(KeyboardInterrupt):
        extract_zip(csv_zip, tmp_path / "out")
    monkeypatch.undo()
    path = tmp_path / "out" / "train_masks.csv"
    assert path.read_bytes() == CSV and not is_extracted(path, csv_zip)
    assert extract_zip(csv_zip, tmp_path / "out") == path
    assert is_extracted(path, csv_zip)


def test_a_stale_temporary_file_is_cleaned(csv_zip: Path, tmp_path: Path) -> None:
    stale = tmp_path / ".train_masks.csv.partial-abc123"
    stale.write_bytes(CSV[:20])
    path = extract_zip(csv_zip, tmp_path)
    assert path.read_bytes() == CSV
    assert not stale.exists()


def test_a_csv_we_did_not_extract_is_never_replaced(csv_zip: Path, tmp_path: Path) -> None:
    mine = tmp_path / "out" / "train_masks.csv"
    mine.parent.mkdir()
    mine.write_bytes(b"my own masks")
    with pytest.raises(
        DataError,
        match="train_masks.csv already exists but was not extracted from "
        "train_masks.csv.zip: use that file as it is",
    ) as caught:
        extract_zip(csv_zip, mine.parent)
    assert "\n" not in str(caught.value)
    assert mine.read_bytes() == b"my own masks"
    assert not is_extracted(mine)
    assert sorted(p.name for p in mine.parent.iterdir()) == ["train_masks.csv"]


@pytest.mark.parametrize(
    "entry", ["../train_masks.csv", "masks/../../train_masks.csv", "/tmp/train_masks.csv"]
)
def test_a_one_file_zip_escaping_the_folder_is_refused(tmp_path: Path, entry: str) -> None:
    bad = make_zip(tmp_path / "train_masks.csv.zip", {entry: b"evil"})
    out = tmp_path / "a" / "b"
    with pytest.raises(DataError, match="outside the destination folder"):
        extract_zip(bad, out)
    assert not list(tmp_path.rglob("train_masks.csv"))
    assert not out.exists() or list(out.iterdir()) == []


def test_a_one_file_zip_that_is_not_a_zip_is_a_one_line_error(tmp_path: Path) -> None:
    fake = tmp_path / "train_masks.csv.zip"
    fake.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(
        DataError, match="is not a zip file .*delete it and download it again"
    ) as caught:
        extract_zip(fake, tmp_path)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_masks.csv.zip"]


def test_a_truncated_one_file_zip_is_a_one_line_error(csv_zip: Path, tmp_path: Path) -> None:
    data = csv_zip.read_bytes()
    csv_zip.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="delete it and download it again") as caught:
        extract_zip(csv_zip, tmp_path / "out")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out" / "train_masks.csv").exists()


def test_a_corrupted_entry_is_a_one_line_error(tmp_path: Path) -> None:
    """Still a zip (its directory is intact), but the csv's bytes do not match their checksum."""
    good = make_zip(tmp_path / "train_masks.csv.zip", {"train_masks.csv": CSV})
    data = bytearray(good.read_bytes())
    at = bytes(data).index(b"0123456789ab_08")
    data[at : at + 4] = b"XXXX"
    good.write_bytes(bytes(data))
    assert zipfile.is_zipfile(good)
    out = tmp_path / "out"
    with pytest.raises(
        DataError,
        match="train_masks.csv.zip is damaged at train_masks.csv .*delete it and download",
    ):
        extract_zip(good, out)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "entries",
    [
        {},
        {"train_masks.csv": CSV, "metadata.csv": b"id\n"},
        {"train_masks.txt": CSV},
        {"train_masks.csv/": b""},
    ],
)
def test_a_zip_without_exactly_one_csv_is_refused(
    tmp_path: Path, entries: dict[str, bytes]
) -> None:
    odd = make_zip(tmp_path / "train_masks.csv.zip", entries)
    with pytest.raises(
        DataError,
        match="should hold a single .csv file but holds .*delete it and download it again",
    ):
        extract_zip(odd, tmp_path / "out")
    assert not (tmp_path / "out" / "train_masks.csv").exists()


def test_extract_all_turns_a_one_file_zip_into_its_file(
    kaggle_zip: Path, csv_zip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert extract_all([kaggle_zip, csv_zip], out) == [out / "train_hq", out / "train_masks.csv"]
    assert (out / "train_masks.csv").read_bytes() == CSV
    assert not (out / "train_masks.csv").is_dir()
