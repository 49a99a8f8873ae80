"""Hostile but realistic input on the data path, through the real command line (issue 13, the data
side).

Each case runs ``carvana_tutorial.tools.cli.main`` in-process on a fresh copy of a tiny set and
asserts: a non-zero
exit, exactly one line on stderr (``carvana-tutorial: error: ...``) naming the file or flag at
fault, no
traceback, and every file that was there before byte-identical afterwards.  Faults that cannot be
made for
real here (a full disk, a folder root can still list, Kaggle unreachable) are injected by
monkeypatching the
one call that would fail.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_training import write_tiny_carvana

from carvana_tutorial.rle import rle_encode
from carvana_tutorial.tools.cli import main

SIZE = (32, 48)  # of the tiny photos and of the models: every case stays fast


# --- helpers
# -------------------------------------------------------------------------------------------------


def checksums(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def cli(argv: list, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fails_in_one_line(argv: list, capsys, root: Path, *names: str) -> str:
    """Run ``argv``; assert the failure contract of issue 13; return the error line."""
    before = checksums(root)
    code, _, err = cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code != 0, err
    assert len(lines) == 1 and lines[0].startswith("carvana-tutorial: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], f"{name!r} not named in: {lines[0]}"
    after = checksums(root)
    assert {k: after.get(k) for k in before} == before, (
        "a file that was there before changed or vanished"
    )
    return lines[0]


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def zip_entries(folder: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}{p.name}": p.read_bytes() for p in sorted(folder.iterdir())}


def masks_csv(root: Path) -> str:
    """``train_masks.csv`` for the GIFs of ``root``."""
    return "img,rle_mask\n" + "".join(
        f"{gif.name.replace('_mask.gif', '.jpg')},{rle_encode(np.asarray(Image.open(gif)) > 0)}\n"
        for gif in sorted((root / "train_masks").iterdir())
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_carvana(tmp_path_factory.mktemp("tiny") / "data", cars=3, views=2, size=SIZE)


@pytest.fixture
def data(tiny: Path, tmp_path: Path, monkeypatch) -> Path:
    """A fresh copy of the tiny set, with the pipeline's cache inside the checked folder."""
    monkeypatch.setenv("CARVANA_CACHE", str(tmp_path / "cache"))
    return Path(shutil.copytree(tiny, tmp_path / "data"))


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A usable model, and models ``evaluate``/``predict`` must refuse, saved as .keras files."""
    import keras

    folder = tmp_path_factory.mktemp("models")

    def save(name: str, shape, channels: int) -> Path:
        inputs = keras.Input(shape, name="image")
        model = keras.Model(
            inputs, keras.layers.Conv2D(channels, 1, activation="sigmoid", name="head")(inputs)
        )
        model.save(folder / name)
        return folder / name

    (folder / "text.keras").write_text("not a model\n")
    (folder / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    return {
        "good": save("good.keras", (*SIZE, 3), 1),
        "two_channels": save("two_channels.keras", (*SIZE, 3), 2),
        "any_size": save("any_size.keras", (None, None, 3), 1),
        "text": folder / "text.keras",
        "h5": folder / "weights.h5",
    }


# --- wrong advice: credentials
# ---------------------------------------------------------------------------------


@pytest.fixture
def kaggle_home(tmp_path: Path, monkeypatch) -> Path:
    """An empty ~/.kaggle for the real client, which never reaches the network here."""
    for var in (
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_API_TOKEN",
        "KAGGLE_CONFIG_DIR",
        "KAGGLE_KERNEL_RUN_TYPE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = tmp_path / "home" / ".kaggle"
    config.mkdir(parents=True)
    from kaggle.api.kaggle_api_extended import KaggleApi

    monkeypatch.setattr(
        KaggleApi, "config_dir", str(config)
    )  # fixed when the client was first imported
    monkeypatch.setattr(KaggleApi, "config", str(config / "kaggle.json"))
    return config


def introspect(result):
    """A stand-in for the client's online check of an access token: Kaggle's answer, or a network
    failure."""

    def check(self, token):
        if isinstance(result, Exception):
            raise result
        return result

    return check


@pytest.mark.parametrize(
    "content",
    ['{"username": "me", ', "", '["me", "key"]', '{"username": "me"}'],
    ids=["cut-json", "empty", "a-list", "no-key"],
)
def test_a_broken_kaggle_json_is_named_not_called_missing(kaggle_home, tmp_path, capsys, content):
    (kaggle_home / "kaggle.json").write_text(content)
    line = fails_in_one_line(
        ["download", "--dest", tmp_path / "dl"],
        capsys,
        tmp_path,
        str(kaggle_home / "kaggle.json"),
        "broken",
    )
    assert "no Kaggle credentials" not in line
    assert not (tmp_path / "dl").exists()


@pytest.mark.parametrize(
    "answer, words",
    [
        pytest.param(None, "refused the token", id="refused"),
        pytest.param("requests", "could not reach Kaggle", id="unreachable"),
    ],
)
def test_a_garbage_token_is_one_line_naming_its_file(
    kaggle_home, tmp_path, capsys, monkeypatch, answer, words
):
    import requests
    from kaggle.api.kaggle_api_extended import KaggleApi

    if answer == "requests":  # what an offline machine gets: 80 lines of trace before
        answer = requests.exceptions.ConnectionError("Failed to resolve 'api.kaggle.com'")
    monkeypatch.setattr(KaggleApi, "_introspect_token", introspect(answer))
    (kaggle_home / "access_token").write_text("garbage!!\n")
    fails_in_one_line(
        ["download", "--dest", tmp_path / "dl"],
        capsys,
        tmp_path,
        str(kaggle_home / "access_token"),
        words,
    )


def test_an_unreadable_token_file_is_named(kaggle_home, tmp_path, capsys):
    (kaggle_home / "access_token").mkdir()  # fails for root too, unlike chmod
    fails_in_one_line(
        ["download", "--dest", tmp_path / "dl"],
        capsys,
        tmp_path,
        str(kaggle_home / "access_token"),
        "cannot read",
    )


# --- wrong advice: zips
# --------------------------------------------------------------------------------------


@pytest.fixture
def zips(tiny: Path, tmp_path: Path) -> Path:
    """A download folder holding Kaggle's three training zips, as `download` leaves it before
    extracting."""
    dest = tmp_path / "dl"
    dest.mkdir()
    make_zip(dest / "train_hq.zip", zip_entries(tiny / "train_hq", "train_hq/"))
    make_zip(dest / "train_masks.zip", zip_entries(tiny / "train_masks", "train_masks/"))
    make_zip(dest / "train_masks.csv.zip", {"train_masks.csv": masks_csv(tiny).encode()})
    return dest


def test_a_damaged_zip_on_disk_is_named_not_a_login_problem(zips, kaggle_home, tmp_path, capsys):
    (zips / "train_hq.zip").write_bytes(
        (zips / "train_hq.zip").read_bytes()[:3000]
    )  # an interrupted copy: not written by download (its zips arrive whole), so never replaced
    line = fails_in_one_line(
        ["download", "--dest", zips], capsys, tmp_path, str(zips / "train_hq.zip"), "damaged"
    )
    assert "never replaces" in line and "Kaggle credentials" not in line


def test_a_corrupted_entry_names_the_zip(zips, tmp_path, capsys):
    data = bytearray((zips / "train_hq.zip").read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the second photo's compressed bytes
    (zips / "train_hq.zip").write_bytes(bytes(data))
    fails_in_one_line(
        ["download", "--dest", zips],
        capsys,
        tmp_path,
        str(zips / "train_hq.zip"),
        "damaged",
        "delete it and download it again",
    )
    assert not (zips / "train_hq").exists()


def test_a_full_disk_is_said_and_nothing_half_extracted_looks_complete(
    zips, tmp_path, capsys, monkeypatch
):
    from carvana_tutorial.tools import extract

    copy, calls = shutil.copyfileobj, []

    def copy_until_full(src, dst, length=0):
        calls.append(dst)
        if len(calls) > 2:  # a few photos are out when the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        copy(src, dst, length)

    monkeypatch.setattr(extract.shutil, "copyfileobj", copy_until_full)
    line = fails_in_one_line(
        ["download", "--dest", zips], capsys, tmp_path, str(zips / "train_hq.zip"), "disk is full"
    )
    assert "damaged" not in line
    assert sorted(p.name for p in zips.iterdir()) == [
        "train_hq.zip",
        "train_masks.csv.zip",
        "train_masks.zip",
    ]
    monkeypatch.setattr(
        extract.shutil, "copyfileobj", copy
    )  # space freed: the rerun extracts everything
    assert cli(["download", "--dest", zips], capsys)[0] == 0
    assert len(list((zips / "train_hq").glob("*.jpg"))) == 6


@pytest.mark.parametrize("command", ["train", "inspect", "evaluate"])
def test_a_folder_of_zips_says_how_to_extract_them(zips, tmp_path, capsys, models, command):
    (zips / "train_masks.csv.zip").unlink()
    argv = {
        "train": ["train", zips, "--model", "simple", "--out", tmp_path / "run"],
        "inspect": ["inspect", zips],
        "evaluate": ["evaluate", models["good"], zips],
    }[command]
    line = fails_in_one_line(
        argv, capsys, tmp_path, "train_hq.zip", "train_masks.zip", "python -m zipfile -e"
    )
    assert not (tmp_path / "run").exists()
    # the advice works as printed
    for command_line in line.split("`")[1::2]:
        _, _, _, _, archive, dest = command_line.split()
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(dest)
    assert cli(["inspect", zips], capsys)[0] == 0


JUNK = {
    "__MACOSX/train_hq/._0000cafe0000_01.jpg": b"\x00\x05\x16\x07",
    ".DS_Store": b"\x00\x00\x00\x01Bud1",
    "train_hq/.DS_Store": b"Bud1",
    "README.txt": b"Carvana training photos\n",
}


def test_what_other_archivers_add_is_left_out(zips, tiny, tmp_path, capsys):
    make_zip(zips / "train_hq.zip", {**JUNK, **zip_entries(tiny / "train_hq", "train_hq/")})
    assert cli(["download", "--dest", zips], capsys)[0] == 0
    assert sorted(p.name for p in (zips / "train_hq").iterdir()) == sorted(
        [".extracted.json", *(p.name for p in (tiny / "train_hq").iterdir())]
    )
    assert cli(["inspect", zips], capsys)[0] == 0


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param(
            {"images/0000cafe0000_01.jpg": b"x", "README.txt": b"hi"}, id="another-folder"
        ),
        pytest.param({k: v for k, v in JUNK.items() if k != "README.txt"}, id="only-junk"),
        pytest.param({}, id="empty"),
    ],
)
def test_a_zip_without_its_folder_is_refused_and_not_marked_complete(
    zips, tmp_path, capsys, entries
):
    make_zip(zips / "train_hq.zip", entries)
    fails_in_one_line(
        ["download", "--dest", zips],
        capsys,
        tmp_path,
        str(zips / "train_hq.zip"),
        "holds no train_hq/ folder",
    )
    assert not (zips / "train_hq").exists()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
@pytest.mark.parametrize("kind", ["text", "h5"])
def test_a_file_that_is_not_a_keras_model_is_not_called_missing(
    data, tmp_path, capsys, models, command, kind
):
    model = Path(shutil.copy(models[kind], tmp_path / models[kind].name))
    argv = (
        ["evaluate", model, data]
        if command == "evaluate"
        else ["predict", model, data / "train_hq", "--submission", tmp_path / "sub.csv"]
    )
    line = fails_in_one_line(argv, capsys, tmp_path, model.name)
    assert "not found" not in line.lower() and "no model file" not in line
    assert not (tmp_path / "sub.csv").exists()


# --- results that mislead
# ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("scale", [0.5, 2.0])
@pytest.mark.parametrize(
    "masks", ["gif", "csv"]
)  # csv: a smaller photo made its row look malformed
def test_a_photo_and_mask_of_different_sizes_are_refused(
    data, tmp_path, capsys, models, command, scale, masks
):
    if masks == "csv":
        (data / "train_masks.csv").write_text(masks_csv(data))
    photo = data / "train_hq" / "0001cafe0001_02.jpg"
    with Image.open(photo) as image:
        image.resize((int(SIZE[1] * scale), int(SIZE[0] * scale))).save(photo)
    argv = {
        "train": [
            "train",
            data,
            "--model",
            "simple",
            "--profile",
            "quick",
            "--epochs",
            "1",
            "--filters",
            "2",
            "--size",
            "32x48",
            "--out",
            tmp_path / "run",
        ],
        "evaluate": ["evaluate", models["good"], data],
    }[command]
    line = fails_in_one_line(
        argv, capsys, tmp_path, "0001cafe0001_02.jpg", "0001cafe0001_02_mask.gif"
    )
    assert f"{int(SIZE[0] * scale)}x{int(SIZE[1] * scale)}" in line and "32x48" in line
    assert not list((tmp_path / "run").glob("*")), "nothing was trained"


# --- tracebacks instead of one line
# --------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--depth", "2"]], ids=["own-depth", "depth-2"])
def test_a_size_the_network_cannot_halve_is_one_line(data, tmp_path, capsys, extra):
    fails_in_one_line(
        [
            "train",
            data,
            "--model",
            "unet",
            "--profile",
            "quick",
            "--epochs",
            "1",
            "--filters",
            "2",
            "--size",
            "100x130",
            *extra,
            "--out",
            tmp_path / "run",
        ],
        capsys,
        tmp_path,
        "100x130",
    )
    assert not (tmp_path / "run").exists(), (
        "refused before the run folder is made (and before any decoding)"
    )


@contextlib.contextmanager
def unlistable(folder: Path):
    """``folder`` as chmod 000 leaves it to others; for root, whom chmod does not stop, the same
    refusals
    made by hand: listing it, and looking at what it holds, fail with EACCES."""
    if os.geteuid() != 0:
        folder.chmod(0)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    iterdir, stat = Path.iterdir, os.stat

    def listing(self):
        if Path(os.path.abspath(self)) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return iterdir(self)

    def stat_of(path, *args, **kwargs):
        if not isinstance(path, int) and Path(os.path.abspath(os.fsdecode(path))).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
        return stat(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "iterdir", listing)
        patch.setattr(os, "stat", stat_of)
        yield folder


@pytest.mark.parametrize("where", ["", "train_hq", "train_masks"])
@pytest.mark.parametrize("command", ["train", "inspect", "evaluate"])
def test_a_data_folder_that_cannot_be_listed_is_named(
    data, tmp_path, capsys, models, command, where
):
    argv = {
        "train": ["train", data, "--model", "simple", "--out", tmp_path / "run"],
        "inspect": ["inspect", data],
        "evaluate": ["evaluate", models["good"], data],
    }[command]
    before = checksums(tmp_path)
    with unlistable(data / where if where else data) as folder:
        code, _, err = cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and "Traceback" not in err, err
    assert (
        lines[0]
        == f"carvana-tutorial: error: cannot list {folder} (Permission denied): make it readable"
    )
    assert checksums(tmp_path) == before


def test_a_photo_folder_that_cannot_be_listed_is_named(data, tmp_path, capsys, models):
    before = checksums(tmp_path)
    with unlistable(data / "train_hq") as folder:
        code, _, err = cli(
            ["predict", models["good"], folder, "--submission", tmp_path / "sub.csv"], capsys
        )
    assert code != 0 and err.count("\n") == 1 and f"cannot list {folder}" in err, err
    assert checksums(tmp_path) == before, "no submission was started"


@pytest.mark.parametrize(
    "name",
    ["a,b.jpg", 'say "cheese".jpg', "two\nlines.jpg", "voiture_\u00e9.jpg"],
    ids=["comma", "quote", "newline", "non-ascii"],
)
def test_a_photo_name_a_submission_cannot_hold_is_refused_before_predicting(
    data, tmp_path, capsys, models, name
):
    photos = Path(shutil.copytree(data / "train_hq", tmp_path / "test_hq"))
    shutil.copy(photos / "0000cafe0000_01.jpg", photos / name)
    submission = tmp_path / "sub.csv"
    submission.write_text("img,rle_mask\n0000cafe0000_01.jpg,1 2\n")
    line = fails_in_one_line(
        ["predict", models["good"], photos, "--submission", submission],
        capsys,
        tmp_path,
        repr(str(photos / name)),
        "rename",
    )
    assert "\n" not in line


@pytest.mark.parametrize(
    "kind, words", [("two_channels", "one mask channel"), ("any_size", "fixed size")]
)
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_model_that_does_not_fit_is_one_line(
    data, tmp_path, capsys, models, command, kind, words
):
    argv = (
        ["evaluate", models[kind], data]
        if command == "evaluate"
        else ["predict", models[kind], data / "train_hq", "--submission", tmp_path / "sub.csv"]
    )
    fails_in_one_line(argv, capsys, tmp_path, words, models[kind].name)
    assert not (tmp_path / "sub.csv").exists(), "refused before the submission is touched"


def test_the_good_model_and_data_do_work(data, tmp_path, capsys, models):
    """The control: the fixtures above fail for the reason each test names, not for a broken
    set-up."""
    assert cli(["evaluate", models["good"], data], capsys)[0] == 0
    assert (
        cli(
            ["predict", models["good"], data / "train_hq", "--submission", tmp_path / "sub.csv"],
            capsys,
        )[0]
        == 0
    )
    assert len((tmp_path / "sub.csv").read_text().splitlines()) == 7
