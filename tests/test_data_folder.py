"""Finding the data (find_data) and checking a folder (inspect), on tiny real files."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carvana_tutorial import config
from carvana_tutorial.config import QUICK
from carvana_tutorial.errors import DataError
from carvana_tutorial.layout import MASKS_CSV, MASKS_CSV_ZIP, TRAIN_IMAGES, TRAIN_MASKS
from carvana_tutorial.rle import rle_encode
from carvana_tutorial.tools import locate
from carvana_tutorial.tools.check import inspect_folder
from carvana_tutorial.tools.locate import find_data

SIZE = (32, 48)  # height, width
CARS = ("0123456789ab", "fedcba987654")


def view_mask(view: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """write_set's mask of one view: half the height, (view + 8) columns."""
    height, width = size
    mask = np.zeros(size, np.uint8)
    mask[height // 4 : 3 * height // 4, width // 4 : width // 4 + view + 8] = 1
    return mask


def write_set(root: Path, size: tuple[int, int] = SIZE, zips: bool = False) -> Path:
    """Two cars in Carvana's formats: RGB JPEGs and {0,1} palette GIFs."""
    rng = np.random.default_rng(0)
    (root / TRAIN_IMAGES).mkdir(parents=True)
    (root / TRAIN_MASKS).mkdir()
    height, width = size
    for car in CARS:
        for view in range(1, 17):
            pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / TRAIN_IMAGES / f"{car}_{view:02d}.jpg", quality=90)
            mask = view_mask(view, size)
            gif = Image.fromarray(mask, mode="P")
            gif.putpalette([0, 0, 0, 255, 255, 255])
            gif.save(root / TRAIN_MASKS / f"{car}_{view:02d}_mask.gif")
    if zips:
        for folder in (TRAIN_IMAGES, TRAIN_MASKS):
            with zipfile.ZipFile(root / f"{folder}.zip", "w") as archive:
                for path in sorted((root / folder).iterdir()):
                    archive.write(path, f"{folder}/{path.name}")
            shutil.rmtree(root / folder)
    return root


#: What ``train_masks.csv.zip`` holds in these tests: write_set's masks, so ``inspect`` passes.
MASKS_CSV_BYTES = b"img,rle_mask\n" + b"".join(
    f"{car}_{v:02d}.jpg,{rle_encode(view_mask(v))}\n".encode() for car in CARS for v in range(1, 17)
)


def add_masks_csv_zip(folder: Path) -> Path:
    """Kaggle's ``train_masks.csv.zip``: one ``train_masks.csv`` inside."""
    with zipfile.ZipFile(folder / MASKS_CSV_ZIP, "w") as archive:
        archive.writestr(MASKS_CSV, MASKS_CSV_BYTES)
    return folder / MASKS_CSV_ZIP


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_set(tmp_path_factory.mktemp("pristine") / "carvana")


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy each test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "carvana"))


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No data anywhere: no $CARVANA_DATA, no Kaggle input, no ./data, a private cache."""
    monkeypatch.delenv(config.ENV_DATA, raising=False)
    monkeypatch.setenv(config.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setattr(
        locate, "KAGGLE_INPUT", tmp_path / "kaggle" / "input" / "carvana-image-masking-challenge"
    )
    monkeypatch.setattr(locate, "KAGGLE_WORKING", tmp_path / "kaggle" / "working")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


# --- find_data --------------------------------------------------------------


def test_explicit_folder(data: Path, nowhere: Path) -> None:
    source = find_data(data)
    assert (source.root, source.origin) == (data, "argument")
    assert source.description == "Carvana data from the folder given, 2 cars x 16 views, 32x48"


def test_explicit_folder_of_zips_is_extracted_once(nowhere: Path) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    source = find_data(folder)
    assert source.root == folder
    assert len(list((folder / TRAIN_MASKS).glob("*.gif"))) == 32
    assert not (folder / MASKS_CSV).exists()  # no csv zip, no csv: the masks come from the GIFs
    before = snapshot(folder)
    assert find_data(folder) == source
    assert snapshot(folder) == before


def test_read_only_folder_of_zips_is_extracted_into_the_cache(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    monkeypatch.setattr(
        locate.os, "access", lambda path, mode: Path(path) != folder
    )  # a read-only folder
    before = snapshot(folder)
    source = find_data(folder)
    assert source.root.parent == nowhere / "cache" / "extracted"
    assert sorted(p.name for p in source.root.iterdir()) == [TRAIN_IMAGES, TRAIN_MASKS]
    assert snapshot(folder) == before


def test_the_masks_csv_zip_is_unpacked_into_a_writable_folder(nowhere: Path) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    add_masks_csv_zip(folder)
    source = find_data(folder)
    assert source.root == folder
    assert (folder / MASKS_CSV).read_bytes() == MASKS_CSV_BYTES
    assert visible(folder) == sorted(
        [MASKS_CSV, MASKS_CSV_ZIP, TRAIN_IMAGES, "train_hq.zip", TRAIN_MASKS, "train_masks.zip"]
    )
    before = snapshot(folder)
    assert find_data(folder) == source
    assert snapshot(folder) == before


def test_the_masks_csv_zip_is_unpacked_next_to_folders_already_there(
    data: Path, nowhere: Path
) -> None:
    """Folders unpacked by hand, the csv zip downloaded later: the csv still lands in the root."""
    add_masks_csv_zip(data)
    assert find_data(data).root == data
    assert (data / MASKS_CSV).read_bytes() == MASKS_CSV_BYTES


def test_read_only_folder_of_zips_gets_the_csv_in_the_cache(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    add_masks_csv_zip(folder)
    monkeypatch.setattr(
        locate.os, "access", lambda path, mode: Path(path) != folder
    )  # a read-only folder
    before = snapshot(folder)
    source = find_data(folder)
    assert source.root.parent == nowhere / "cache" / "extracted"
    assert visible(source.root) == sorted([MASKS_CSV, TRAIN_IMAGES, TRAIN_MASKS])
    assert (source.root / MASKS_CSV).read_bytes() == MASKS_CSV_BYTES
    assert snapshot(folder) == before


def test_read_only_folders_keep_the_csv_zipped(nowhere: Path) -> None:
    """Nothing can be written next to read-only folders: the masks are read from the GIFs."""
    write_set(locate.KAGGLE_INPUT)
    add_masks_csv_zip(locate.KAGGLE_INPUT)
    locate.KAGGLE_WORKING.mkdir(parents=True)
    before = snapshot(locate.KAGGLE_INPUT)
    source = find_data()
    assert source.root == locate.KAGGLE_INPUT
    assert snapshot(locate.KAGGLE_INPUT) == before
    assert not (locate.KAGGLE_WORKING / "carvana").exists()


def test_a_csv_of_the_folders_own_is_kept(nowhere: Path) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    add_masks_csv_zip(folder)
    (folder / MASKS_CSV).write_bytes(b"img,rle_mask\n")
    assert find_data(folder).root == folder
    assert (folder / MASKS_CSV).read_bytes() == b"img,rle_mask\n"


def test_a_damaged_csv_zip_says_to_download_it_again(nowhere: Path) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    (folder / MASKS_CSV_ZIP).write_bytes(b"<html>503</html>")
    with pytest.raises(
        DataError, match="train_masks.csv.zip is not a zip file .*delete it and download it again"
    ):
        find_data(folder)
    assert not (folder / MASKS_CSV).exists()
    (folder / MASKS_CSV_ZIP).unlink()
    assert find_data(folder).root == folder


def test_the_csv_zip_alone_is_not_carvana_data(nowhere: Path) -> None:
    (nowhere / "csv").mkdir()
    add_masks_csv_zip(nowhere / "csv")
    with pytest.raises(DataError, match="holds no Carvana data"):
        find_data(nowhere / "csv")
    assert visible(nowhere / "csv") == [MASKS_CSV_ZIP]


def test_with_test_unpacks_the_test_zip_too(nowhere: Path) -> None:
    folder = write_set(nowhere / "zips", zips=True)
    with zipfile.ZipFile(folder / "test_hq.zip", "w") as archive:
        archive.writestr("test_hq/00aa00aa00aa_01.jpg", b"jpeg")
    assert not (find_data(folder).root / "test_hq").exists()
    assert (find_data(folder, with_test=True).root / "test_hq" / "00aa00aa00aa_01.jpg").is_file()


def test_explicit_folder_without_data_is_an_error_not_a_fallback(nowhere: Path) -> None:
    (nowhere / "empty").mkdir()
    with pytest.raises(
        DataError, match="the folder given.*holds no Carvana data: expected Carvana's layout"
    ):
        find_data(nowhere / "empty")


def test_environment_variable(data: Path, nowhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.ENV_DATA, str(data))
    source = find_data()
    assert (source.root, source.origin) == (data, "env")
    assert str(data) not in source.description
    monkeypatch.setenv(config.ENV_DATA, str(nowhere / "missing"))
    with pytest.raises(DataError, match=r"\$CARVANA_DATA"):
        find_data()


def test_argument_beats_environment(
    data: Path, nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_DATA, str(nowhere / "missing"))
    assert find_data(data).origin == "argument"


def test_kaggle_zips_are_extracted_into_the_working_folder(nowhere: Path) -> None:
    write_set(locate.KAGGLE_INPUT, zips=True)
    with zipfile.ZipFile(locate.KAGGLE_INPUT / "train.zip", "w") as archive:
        archive.writestr("train/0123456789ab_01.jpg", b"low quality")
    locate.KAGGLE_WORKING.mkdir(parents=True)
    before = snapshot(locate.KAGGLE_INPUT)
    source = find_data()
    assert (source.root, source.origin) == (locate.KAGGLE_WORKING / "carvana", "kaggle")
    assert sorted(p.name for p in source.root.iterdir()) == [
        TRAIN_IMAGES,
        TRAIN_MASKS,
    ]  # not train.zip
    assert snapshot(locate.KAGGLE_INPUT) == before
    assert source.description == "Kaggle's Carvana data, 2 cars x 16 views, 32x48"


def test_kaggle_csv_zip_is_extracted_into_the_working_folder(nowhere: Path) -> None:
    write_set(locate.KAGGLE_INPUT, zips=True)
    add_masks_csv_zip(locate.KAGGLE_INPUT)
    locate.KAGGLE_WORKING.mkdir(parents=True)
    before = snapshot(locate.KAGGLE_INPUT)
    root = find_data().root
    assert root == locate.KAGGLE_WORKING / "carvana"
    assert visible(root) == sorted([MASKS_CSV, TRAIN_IMAGES, TRAIN_MASKS])
    assert (root / MASKS_CSV).read_bytes() == MASKS_CSV_BYTES
    assert snapshot(locate.KAGGLE_INPUT) == before
    after = snapshot(root)
    assert find_data().root == root
    assert snapshot(root) == after


def test_kaggle_folders_already_extracted_are_used_in_place(nowhere: Path) -> None:
    write_set(locate.KAGGLE_INPUT)
    source = find_data()
    assert (source.root, source.origin) == (locate.KAGGLE_INPUT, "kaggle")


def test_local_data_folder(nowhere: Path) -> None:
    write_set(Path("data"))
    source = find_data()
    assert (source.root, source.origin) == (Path("data").resolve(), "local")


def test_local_folder_without_carvana_layout_is_skipped(nowhere: Path) -> None:
    Path("data").mkdir()
    (Path("data") / "notes.txt").write_text("not Carvana")
    with pytest.raises(DataError, match="no Carvana data found: run `carvana-tutorial download`"):
        find_data(synthesize=False)


def test_synthetic_fallback_is_cached_per_settings(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import carvana_tutorial.synthetic as synthetic

    calls = []

    def fake_ensure(out, *, cars, size, seed, test_cars, progress):
        calls.append((cars, size, seed, test_cars))
        if not Path(out).exists():
            write_set(Path(out), size=size)

    monkeypatch.setattr(synthetic, "ensure_dataset", fake_ensure)
    profile = replace(QUICK, synthetic_cars=2, synthetic_test_cars=1, synthetic_size=(40, 60))
    source = find_data(profile=profile)
    assert source.origin == "synthetic"
    assert source.root == nowhere / "cache" / "synthetic" / "2cars-1test-40x60-seed0"
    assert source.description == "synthetic Carvana, 2 cars x 16 views, 40x60"
    assert find_data(profile=profile) == source
    assert calls == [(2, (40, 60), 0, 1)] * 2


# --- inspect ------------------------------------------------------------------


def test_inspect_a_good_folder(data: Path) -> None:
    before = snapshot(data)
    report = inspect_folder(data)
    assert report.ok
    assert (report.pairs, report.cars) == (32, 2)
    assert {c.size for c in report.images + report.masks} == {SIZE}
    assert all(
        type(c.foreground) is float for c in report.masks
    )  # prints as a number, not np.float64(...)
    # write_set's masks cover half the height and (view + 8) columns
    assert [c.foreground for c in report.masks] == pytest.approx(
        [(SIZE[0] // 2) * (view + 8) / (SIZE[0] * SIZE[1]) for _ in CARS for view in range(1, 17)]
    )
    lines = report.lines()
    assert json.loads(lines[-1]) == {
        "pairs": 32,
        "cars": 2,
        "unpaired": [],
        "unreadable": [],
        "invalid": [],
        "bad_names": [],
        "masks_csv": None,
    }
    assert report.csv_rows is None  # no train_masks.csv: optional, so not a problem
    assert not any(MASKS_CSV in line for line in lines)
    assert any(line.startswith("foreground fraction: mean ") for line in lines)
    assert snapshot(data) == before


def damage(data: Path) -> dict[str, str]:
    """Break one file of each kind; returns {name: how}."""
    images = sorted((data / TRAIN_IMAGES).iterdir())
    masks = sorted((data / TRAIN_MASKS).iterdir())
    images[0].write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")  # corrupt JPEG
    jpeg = images[1].read_bytes()
    images[1].write_bytes(jpeg[: len(jpeg) // 3])  # truncated JPEG
    gif = masks[2].read_bytes()
    masks[2].write_bytes(gif[: len(gif) // 2])  # truncated GIF
    masks[3].unlink()  # missing mask
    wide = Image.fromarray(np.eye(SIZE[0], SIZE[1] + 2, dtype=np.uint8), mode="P")
    wide.putpalette([0, 0, 0, 255, 255, 255])
    wide.save(masks[4])  # wrong size
    gray = Image.fromarray(np.full(SIZE, 200, np.uint8), mode="L")
    gray.save(masks[5], format="GIF")  # not a {0,1} palette mask
    return {
        "unreadable": sorted(
            [
                f"{TRAIN_IMAGES}/{images[0].name}",
                f"{TRAIN_IMAGES}/{images[1].name}",
                f"{TRAIN_MASKS}/{masks[2].name}",
            ]
        ),
        "unpaired": [f"{TRAIN_IMAGES}/{images[3].name}"],
        "invalid": sorted([f"{TRAIN_MASKS}/{masks[4].name}", f"{TRAIN_MASKS}/{masks[5].name}"]),
    }


def test_inspect_names_every_bad_file_and_changes_nothing(data: Path) -> None:
    expected = damage(data)
    before = snapshot(data)
    report = inspect_folder(data)
    assert not report.ok
    summary = report.summary()
    assert summary["unreadable"] == expected["unreadable"]
    assert summary["unpaired"] == expected["unpaired"]
    assert summary["invalid"] == expected["invalid"]
    assert summary["pairs"] == 31
    assert report.problem() == "found 1 unpaired, 3 unreadable, 2 invalid"
    assert snapshot(data) == before


# --- inspect: train_masks.csv against the GIFs -----------------------------------


def write_masks_csv(data: Path, rows: dict[str, str], header: str = "img,rle_mask") -> None:
    (data / MASKS_CSV).write_text(
        header + "\n" + "".join(f"{name},{rle}\n" for name, rle in rows.items())
    )


def true_rows() -> dict[str, str]:
    """Every pair's row, encoded from the mask write_set drew."""
    return {f"{car}_{v:02d}.jpg": rle_encode(view_mask(v)) for car in CARS for v in range(1, 17)}


FIRST, SECOND = f"{CARS[0]}_01.jpg", f"{CARS[1]}_07.jpg"


def csv_summary(report) -> dict:
    return json.loads(report.lines()[-1])["masks_csv"]


def test_inspect_a_correct_masks_csv(data: Path) -> None:
    write_masks_csv(data, true_rows())
    before = snapshot(data)
    report = inspect_folder(data)
    assert report.ok
    assert csv_summary(report) == {
        "rows": 32,
        "missing": [],
        "extra": [],
        "malformed": [],
        "disagree": [],
        "error": None,
    }
    assert f"{MASKS_CSV}: 32 rows, all match their GIFs" in report.lines()
    assert report.csv_compared == 32
    assert snapshot(data) == before


def test_inspect_a_row_of_another_valid_mask_disagrees(data: Path) -> None:
    rows = true_rows()
    rows[SECOND] = rle_encode(view_mask(3))  # a valid mask, but view 3's
    write_masks_csv(data, rows)
    report = inspect_folder(data)
    assert not report.ok
    assert csv_summary(report) == {
        "rows": 32,
        "missing": [],
        "extra": [],
        "malformed": [],
        "disagree": [SECOND],
        "error": None,
    }
    lines = report.lines()
    assert f"{MASKS_CSV}: 32 rows; 1 disagree with their GIFs" in lines
    assert f"{MASKS_CSV} row {SECOND}: differs from its GIF" in lines
    assert report.problem() == f"found 1 disagreeing {MASKS_CSV} row"


def test_inspect_a_missing_an_extra_and_a_malformed_row(data: Path) -> None:
    rows = true_rows()
    del rows[FIRST]
    rows[SECOND] = "1 2 3"
    rows["0123456789ab_17.jpg"] = "1 5"  # no such view
    rows[f"{CARS[0]}_02.jpg"] = "5 2 1 2"  # runs out of order
    write_masks_csv(data, rows)
    report = inspect_folder(data)
    assert not report.ok
    assert csv_summary(report) == {
        "rows": 32,
        "missing": [FIRST],
        "extra": ["0123456789ab_17.jpg"],
        "malformed": sorted([SECOND, f"{CARS[0]}_02.jpg"]),
        "disagree": [],
        "error": None,
    }
    lines = report.lines()
    assert (
        f"{MASKS_CSV} row {SECOND}: malformed (RLE has an odd number of values; "
        "expected 'start length' pairs)" in lines
    )
    assert f"{MASKS_CSV}: 32 rows; 1 missing, 1 extra, 2 malformed" in lines
    assert f"{FIRST}: no {MASKS_CSV} row" in lines
    assert f"{MASKS_CSV} row 0123456789ab_17.jpg: no paired image" in lines
    assert report.problem() == (
        f"found 1 missing {MASKS_CSV} row, 1 extra {MASKS_CSV} row, 2 malformed {MASKS_CSV} rows"
    )


def test_inspect_a_row_for_an_unpaired_image_is_extra(data: Path) -> None:
    (data / TRAIN_MASKS / f"{CARS[0]}_05_mask.gif").unlink()
    write_masks_csv(data, true_rows())
    report = inspect_folder(data)
    assert report.summary()["unpaired"] == [f"{TRAIN_IMAGES}/{CARS[0]}_05.jpg"]
    assert csv_summary(report)["extra"] == [f"{CARS[0]}_05.jpg"]
    assert csv_summary(report)["missing"] == []


@pytest.mark.parametrize("header", ["img,mask", "rle_mask,img", ""])
def test_inspect_a_masks_csv_with_a_bad_header_is_a_problem_not_a_crash(
    data: Path, header: str, capsys: pytest.CaptureFixture
) -> None:
    write_masks_csv(data, true_rows(), header=header)
    report = inspect_folder(data)
    assert not report.ok
    summary = csv_summary(report)
    assert summary["error"].startswith(f"{MASKS_CSV} does not start with the header img,rle_mask")
    assert summary["rows"] == 0 and summary["missing"] == []  # the rows are not guessed at
    assert summary["error"] in report.lines()
    code, out, err = run_cli(["inspect", str(data)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and f"found an unreadable {MASKS_CSV}" in err
    assert "Traceback" not in out + err


def test_inspect_a_row_of_an_unreadable_gif_is_not_compared(data: Path) -> None:
    gif = data / TRAIN_MASKS / f"{CARS[1]}_03_mask.gif"
    gif.write_bytes(gif.read_bytes()[:20])
    write_masks_csv(data, true_rows())
    report = inspect_folder(data)
    assert report.summary()["unreadable"] == [f"{TRAIN_MASKS}/{gif.name}"]
    assert csv_summary(report) == {
        "rows": 32,
        "missing": [],
        "extra": [],
        "malformed": [],
        "disagree": [],
        "error": None,
    }
    assert report.csv_compared == 31
    assert f"{MASKS_CSV}: 32 rows, 31 match their GIFs, 1 not compared (bad GIF)" in report.lines()


# --- the command line -------------------------------------------------------------


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    from carvana_tutorial.tools.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_inspect_ok(data: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["inspect", str(data)], capsys)
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["pairs"] == 32
    assert json.loads(out.splitlines()[-1])["masks_csv"] is None
    assert "image sizes (height x width): 32x48 (32)" in out
    assert err == ""


def test_cli_inspect_checks_the_masks_csv(data: Path, capsys: pytest.CaptureFixture) -> None:
    write_masks_csv(data, true_rows())
    code, out, err = run_cli(["inspect", str(data)], capsys)
    assert code == 0, err
    assert f"\n{MASKS_CSV}: 32 rows, all match their GIFs\n" in out
    rows = true_rows()
    rows[FIRST] = rows[SECOND]
    write_masks_csv(data, rows)
    code, out, err = run_cli(["inspect", str(data)], capsys)
    assert code == 2
    assert json.loads(out.splitlines()[-1])["masks_csv"]["disagree"] == [FIRST]
    assert err.count("\n") == 1 and f"1 disagreeing {MASKS_CSV} row" in err


def test_cli_inspect_bad_folder(data: Path, capsys: pytest.CaptureFixture) -> None:
    expected = damage(data)
    before = snapshot(data)
    code, out, err = run_cli(["inspect", str(data)], capsys)
    assert code == 2
    assert json.loads(out.splitlines()[-1])["unreadable"] == expected["unreadable"]
    assert err.count("\n") == 1 and err.startswith("carvana-tutorial: error: ")
    assert "1 unpaired, 3 unreadable, 2 invalid" in err
    assert snapshot(data) == before


def test_cli_inspect_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["inspect", str(tmp_path)], capsys)
    assert code == 2
    assert "expected Carvana's layout" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_download_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from kaggle.api.kaggle_api_extended import KaggleApi

    for var in (
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_API_TOKEN",
        "KAGGLE_CONFIG_DIR",
        "KAGGLE_KERNEL_RUN_TYPE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(
        KaggleApi, "config", str(tmp_path / "no-such-kaggle.json")
    )  # fixed at the client's import
    code, out, err = run_cli(["download", "--dest", str(tmp_path / "data")], capsys)
    assert code == 2
    assert err.startswith("carvana-tutorial: error: no Kaggle credentials") and err.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_cli_download_extracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from carvana_tutorial.tools import download as dl

    source = write_set(tmp_path / "kaggle", zips=True)
    add_masks_csv_zip(source)

    class Mirror:
        def competition_download_file(
            self, competition, file_name, path=None, force=False, quiet=False
        ):
            shutil.copy(source / file_name, Path(path) / file_name)

    monkeypatch.setattr(dl, "kaggle_api", Mirror)
    dest = tmp_path / "data"
    code, out, err = run_cli(["download", "--dest", str(dest)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in dest.iterdir()) == [
        ".train_masks.csv.extracted.json",
        "train_hq",
        "train_hq.zip",
        "train_masks",
        "train_masks.csv",
        "train_masks.csv.zip",
        "train_masks.zip",
    ]
    assert (dest / MASKS_CSV).read_bytes() == MASKS_CSV_BYTES
    assert "extracted train_masks.csv\n" in out and "extracted train_masks/\n" in out
    assert inspect_folder(dest).ok
    assert "carvana-tutorial inspect" in out.splitlines()[-1]


def test_two_chapters_at_once_make_the_synthetic_set_one_at_a_time(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    import carvana_tutorial.synthetic as synthetic

    active, overlaps = [], []

    def slow_ensure(out, **kwargs):
        active.append(1)
        overlaps.append(len(active))
        time.sleep(0.2)
        if not Path(out).exists():
            write_set(Path(out), size=kwargs["size"])
        active.pop()

    monkeypatch.setattr(synthetic, "ensure_dataset", slow_ensure)
    profile = replace(QUICK, synthetic_cars=2, synthetic_size=(40, 60))
    threads = [threading.Thread(target=locate.make_synthetic, args=(profile,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1]
