"""Misuse of the outputs, through the real command line: nothing of the user's is lost, every
failure is one line.

Each case runs on files of its own; every file there before the command is byte-identical after it.
Most run in-process (``cli.main``); a real process is used only where the case needs one: Ctrl-C, a
second
process holding a lock, and what TensorFlow and libjpeg write to stderr from C.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
from test_training import write_tiny_carvana

from carvana_tutorial import outputs
from carvana_tutorial.errors import CarvanaError
from carvana_tutorial.tools import cli

ROOT = Path(__file__).resolve().parent.parent
TRAIN = [
    "--model",
    "simple",
    "--profile",
    "quick",
    "--filters",
    "2",
    "--size",
    "64x96",
    "--depth",
    "2",
    "--epochs",
    "2",
    "--batch",
    "4",
]


def checksums(*roots: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def one_error_line(err: str, *names: str) -> str:
    """The single stderr line of a failure, checked to name each of ``names``."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("carvana-tutorial: error: "), err
    assert all(name in lines[0] for name in names), (names, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A tiny data folder (3 cars x 3 views), 3 test photos, and a one-layer model at 64x96."""
    root = tmp_path_factory.mktemp("fuzz")
    data = write_tiny_carvana(root / "data", cars=3, views=3)
    (data / "test_hq").mkdir()
    for photo in sorted((data / "train_hq").iterdir())[:3]:
        shutil.copy(photo, data / "test_hq" / photo.name.replace("cafe", "beef"))
    inputs = keras.Input((64, 96, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    model.save(root / "model.keras")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARVANA_CACHE", str(root / "cache"))
        yield root


def run_cli(argv, capsys, *roots: Path) -> tuple[int, str]:
    """``cli.main(argv)``: its exit code and stderr, checking that no file under ``roots``
    changed."""
    before = checksums(*roots)
    code = cli.main([str(a) for a in argv])
    after = checksums(*roots)
    assert {k: after.get(k) for k in before} == before, "a file that was there changed or went"
    return code, capsys.readouterr().err


# --- Class 1: user files are never lost or modified
# ------------------------------------------------------------


def _not_ours(tmp: Path, shared: Path) -> dict[str, tuple[list, tuple[str, ...]]]:
    """Cases that must be refused: name -> (argv, words the error line must hold)."""
    test_photo = sorted((shared / "data" / "test_hq").iterdir())[0].name
    files = {
        "notes.csv": "my,own,data\n1,2,3",  # no final newline: its last line must not be cut
        "one-line.csv": "hello",
        "train_masks.csv": "img,rle_mask\n0000cafe0000_01.jpg,1 5\n",  # the data's own table
        "other-set.csv": f"img,rle_mask\n{test_photo},1 2\nffffffffffff_01.jpg,3 4\n",
        "header-only-mask/train_masks.csv": "img,rle_mask\n",
    }
    for name, text in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text)
    (tmp / "a-file").write_text("mine\n")
    (tmp / "a-folder.csv").mkdir()
    (tmp / "mine").mkdir()
    (tmp / "mine" / "history.csv").write_text("my history\n")
    (tmp / "done").mkdir()
    for name in (outputs.RUN_MARKER, "metrics.json", "best.keras"):
        (tmp / "done" / name).write_text("a finished run\n")
    predict = ["predict", shared / "model.keras", shared / "data", "--submission"]
    train = ["train", shared / "data", *TRAIN, "--out"]
    cases = {
        name: ([*predict, tmp / name], (name.split("/")[-1], "--submission")) for name in files
    }
    cases.update(
        {
            "submission is a folder": (
                [*predict, tmp / "a-folder.csv"],
                ("a-folder.csv", "--submission"),
            ),
            "submission under a file": ([*predict, tmp / "a-file" / "sub.csv"], ("a-file",)),
            "submission is a device": ([*predict, "/dev/full"], ("/dev/full", "--submission")),
            "run folder of other files": ([*train, tmp / "mine"], ("mine", "never replaced")),
            "finished run": ([*train, tmp / "done"], ("done", "--overwrite")),
            "run folder is a file": ([*train, tmp / "a-file"], ("a-file", "--out")),
            "run folder under a file": ([*train, tmp / "a-file" / "run"], ("a-file",)),
            "synth under a file": (
                ["synth", tmp / "a-file" / "set", "--cars", "1", "--size", "32x48"],
                ("a-file",),
            ),
        }
    )
    return cases


CASES = [
    "notes.csv",
    "one-line.csv",
    "train_masks.csv",
    "other-set.csv",
    "header-only-mask/train_masks.csv",
    "submission is a folder",
    "submission under a file",
    "submission is a device",
    "run folder of other files",
    "finished run",
    "run folder is a file",
    "run folder under a file",
    "synth under a file",
]


@pytest.mark.parametrize("case", CASES)
def test_a_file_or_folder_that_is_not_ours_is_refused_untouched(case, shared, tmp_path, capsys):
    argv, names = _not_ours(tmp_path, shared)[case]
    code, err = run_cli(argv, capsys, tmp_path, shared)
    assert code == 2
    one_error_line(err, *names)


def test_synth_never_removes_a_file_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "set"
    small = ["synth", out, "--test-cars", "1", "--size", "32x48", "--no-zips"]
    assert cli.main([str(a) for a in [*small, "--cars", "1"]]) == 0
    (out / "train_hq" / "my-notes.txt").write_text("keep me\n")
    code, err = run_cli(
        [*small, "--cars", "2"], capsys, tmp_path
    )  # other arguments: the set is remade
    assert code == 2
    one_error_line(err, "my-notes.txt")
    (out / "train_hq" / "my-notes.txt").unlink()
    assert cli.main([str(a) for a in [*small, "--cars", "2"]]) == 0
    assert len(list((out / "train_hq").iterdir())) == 32


def test_a_submission_of_ours_is_resumed_and_a_cut_row_redone(shared, tmp_path, capsys):
    out = tmp_path / "sub.csv"
    argv = ["predict", shared / "model.keras", shared / "data", "--submission", out]
    assert cli.main([str(a) for a in argv]) == 0
    whole = out.read_bytes()
    out.write_bytes(whole[:-5])  # a crash in the middle of the last row
    assert cli.main([str(a) for a in argv]) == 0
    assert out.read_bytes() == whole
    assert capsys.readouterr().err == ""


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process (no TensorFlow: it starts at once) that holds ``path``'s lock until
    killed."""
    code = (
        "import fcntl, sys, time; h = open(sys.argv[1], 'a'); fcntl.flock(h, fcntl.LOCK_EX); "
        "print('locked', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.mark.parametrize("what", ["run", "submission"])
def test_a_second_process_refuses_instead_of_interleaving(what, shared, tmp_path, capsys):
    if what == "run":
        target = tmp_path / "run"
        target.mkdir()
        locked = target / outputs.RUN_MARKER
        argv = ["train", shared / "data", *TRAIN, "--out", target]
    else:
        target = locked = tmp_path / "sub.csv"
        argv = ["predict", shared / "model.keras", shared / "data", "--submission", target]
    holder = _hold_lock(locked)
    try:
        code, err = run_cli(argv, capsys, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    one_error_line(err, str(target), "another carvana-tutorial process")
    assert locked.read_bytes() == b""  # the first writer's file, untouched


# --- Issue 20: a path is replaced only if the command wrote it, whatever --overwrite says


def _mine(tmp_path: Path) -> Path:
    """A folder of the user's own files."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    (mine / "metrics.json").write_text('{"my": "own metrics"}\n')
    return mine


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_train_never_writes_into_a_folder_holding_the_users_metrics(
    overwrite, shared, tmp_path, capsys
):
    mine = _mine(tmp_path)
    argv = ["train", shared / "data", *TRAIN, "--out", mine, *overwrite]
    code, err = run_cli(argv, capsys, tmp_path)
    assert code == 2
    line = one_error_line(err, str(mine), "not a carvana-tutorial run", "never replaced")
    assert (
        "finished run" not in line and "pass --overwrite" not in line
    )  # advice that would lose it
    assert sorted(p.name for p in mine.iterdir()) == ["metrics.json", "notes.txt"]


EXPORT = ["export", "--format", "tf_saved_model", "--overwrite", "--out"]


@pytest.mark.parametrize("out", ["mine", "mine/notes.txt", "."])
def test_export_overwrite_never_replaces_what_export_did_not_write(
    out, shared, tmp_path, capsys, monkeypatch
):
    mine = _mine(tmp_path)
    monkeypatch.chdir(mine if out == "." else tmp_path)  # ``--out .`` from inside the user's folder
    code, err = run_cli([*EXPORT[:1], shared / "model.keras", *EXPORT[1:], out], capsys, tmp_path)
    assert code == 2
    one_error_line(err, f"--out {out} ", "never replaced")
    assert sorted(p.name for p in mine.iterdir()) == ["metrics.json", "notes.txt"]


@pytest.mark.parametrize("fmt, name", [("tf_saved_model", "m_saved_model"), ("onnx", "m.onnx")])
def test_export_replaces_its_own_export_only_with_overwrite(fmt, name, shared, tmp_path, capsys):
    argv = [str(a) for a in ["export", shared / "model.keras", "--format", fmt, "--out"]]
    out = tmp_path / name
    assert cli.main([*argv, str(out)]) == 0
    assert cli.main([*argv, str(out)]) == 2
    one_error_line(capsys.readouterr().err, str(out), "--overwrite")
    assert cli.main([*argv, str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary folder left


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("mine", [["car_mask.png"], ["car_mask.png", "car_cutout.png"]])
def test_segment_never_counts_or_replaces_the_users_png(mine, overwrite, shared, tmp_path, capsys):
    from PIL import Image

    photos, out = tmp_path / "photos", tmp_path / "seg"
    photos.mkdir()
    out.mkdir()
    shutil.copy(sorted((shared / "data" / "train_hq").iterdir())[0], photos / "car.jpg")
    for name in mine:
        Image.new("L", (8, 8), 7).save(out / name)
    argv = ["segment", shared / "model.keras", photos, "--out", out, *overwrite]
    code, err = run_cli(argv, capsys, tmp_path)
    assert code == 2  # neither "done" nor written beside: the two would disagree
    one_error_line(err, str(out / "car_mask.png"), "never replaced")
    assert sorted(p.name for p in out.iterdir()) == sorted(mine)


def test_segment_resumes_and_overwrites_only_its_own_pngs(shared, tmp_path, capsys):
    out = tmp_path / "seg"
    photo = sorted((shared / "data" / "train_hq").iterdir())[0]
    argv = [str(a) for a in ["segment", shared / "model.keras", photo, "--out", out]]
    assert cli.main(argv) == 0
    first = checksums(out)
    assert cli.main(argv) == 0 and "1 of 1 photos already have" in capsys.readouterr().out
    assert cli.main([*argv, "--overwrite"]) == 0 and checksums(out) == first


def test_download_never_replaces_a_zip_it_did_not_write(tmp_path, capsys, monkeypatch):
    from carvana_tutorial.tools import download

    dest = tmp_path / "zips"
    dest.mkdir()
    (dest / "train_hq.zip").write_bytes(b"the user's half copy")
    monkeypatch.setattr(download, "kaggle_api", lambda: pytest.fail("no login needed to refuse"))
    code, err = run_cli(["download", "--dest", dest], capsys, tmp_path)
    assert code == 2
    one_error_line(err, str(dest / "train_hq.zip"), "never replaces")


def test_cache_clear_never_removes_what_it_did_not_make(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    (cache / "pipeline" / "96x128-area").mkdir(parents=True)
    (cache / "pipeline" / "96x128-area" / "entry.bin").write_bytes(b"ours")
    (cache / "my-notes.txt").write_text("mine\n")
    monkeypatch.setenv("CARVANA_CACHE", str(cache))
    assert cli.main(["cache", "clear", "--all"]) == 0
    assert "never removed" in capsys.readouterr().out
    assert [p.name for p in cache.iterdir()] == ["my-notes.txt"]


def test_two_trains_making_one_new_out_never_remove_the_winners_folder(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()  # the winner made it and holds its marker...
    holder = _hold_lock(out / outputs.RUN_MARKER)
    exists = Path.exists  # ...just after the loser found it missing
    monkeypatch.setattr(Path, "exists", lambda p, *a, **k: p != out and exists(p, *a, **k))
    try:
        with pytest.raises(CarvanaError, match="another carvana-tutorial process"):
            with outputs.claim_run(out):
                pytest.fail("the loser must not get the folder")
    finally:
        holder.kill()
        holder.wait()
    assert (out / outputs.RUN_MARKER).is_file()


def test_kaggle_push_writes_its_folder_again_but_never_the_users_files(tmp_path, capsys):
    push = ["kaggle-push", "6", "--dry-run", "--id", "me/a-run", "--out"]  # the repository's book
    ours, mine = tmp_path / "ours", tmp_path / "mine"
    for _ in range(2):  # a rerun rewrites its own files
        assert cli.main([*push, str(ours)]) == 0
    assert json.loads((ours / "kernel-metadata.json").read_text())["id"] == "me/a-run"
    mine.mkdir()
    (mine / "kernel-metadata.json").write_text('{"id": "me/my-own"}\n')
    code, err = run_cli([*push, mine], capsys, tmp_path)
    assert code == 2
    one_error_line(err, str(mine / "kernel-metadata.json"), "never replaced")
    assert [p.name for p in mine.iterdir()] == ["kernel-metadata.json"]


# --- Issue 20: errors name the user's path, say what to do, and carry no internals


def test_a_write_error_names_the_users_path_not_a_temporary_one(shared, tmp_path, capsys):
    out = tmp_path / "seg"
    photo = sorted((shared / "data" / "train_hq").iterdir())[0]
    (out / f".{photo.stem}_mask.png.{os.getpid()}.part").mkdir(
        parents=True
    )  # in write_atomic's way
    code, err = run_cli(["segment", shared / "model.keras", photo, "--out", out], capsys, tmp_path)
    assert code == 2
    line = one_error_line(err, str(out / f"{photo.stem}_mask.png"), "folder where a file")
    assert ".part" not in line and "CARVANA_CACHE" not in line


def test_an_export_error_names_the_out_given(shared, tmp_path, capsys, monkeypatch):
    import tempfile

    def refused(suffix=None, prefix=None, dir=None):  # mkdtemp's own name
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/tmpey95k_86.part")

    monkeypatch.setattr(tempfile, "mkdtemp", refused)  # a read-only folder, even for root
    out = tmp_path / "ro" / "m_saved_model"
    argv = ["export", shared / "model.keras", "--format", "tf_saved_model", "--out", out]
    code, err = run_cli(argv, capsys, tmp_path)
    assert code == 2
    line = one_error_line(err, f"{out}: permission denied")
    assert "tmp" not in line.replace(str(tmp_path), "") and "CARVANA_CACHE" not in line


@pytest.mark.parametrize("damage", ["truncated", "empty"])
@pytest.mark.parametrize("command", ["train", "evaluate", "bench real"])
def test_an_unreadable_photo_is_named_in_full_with_a_remedy(
    command, damage, shared, tmp_path, capsys
):
    data = tmp_path / "data"
    shutil.copytree(shared / "data", data)
    photo = sorted((data / "train_hq").iterdir())[1]
    whole = photo.read_bytes()
    photo.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"")
    argv = {
        "train": ["train", data, *TRAIN, "--out", tmp_path / "run"],
        "evaluate": ["evaluate", shared / "model.keras", data],
        "bench real": ["bench", "real", data, "--cars", "1", "--size", "64x96"],
    }[command]
    code, err = run_cli(argv, capsys, data)
    assert code == 2
    line = one_error_line(err, str(photo), "inspect", "truncated" if damage == "truncated" else "")
    for internal in ("{{", "[[", "Op:", "function_node", "/job:", "Error"):
        assert internal not in line, line
    assert not (tmp_path / "run").exists()


def test_a_photo_that_cannot_be_opened_says_permission_denied(tmp_path, monkeypatch):
    from carvana_tutorial.pipeline import decode

    photo = tmp_path / "train_hq" / "0000cafe0000_01.jpg"

    def refused(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(decode, "open", refused, raising=False)  # root reads anything
    line = str(decode.unreadable(photo, "image", OSError("Permission denied [Op:ReadFile]")))
    assert line.startswith(f"cannot read image {photo}: permission denied: replace it")
    assert "Op:" not in line


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_an_onnx_model_is_pointed_to_segment(command, shared, tmp_path, capsys):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"an exported model")
    argv = {
        "evaluate": ["evaluate", model, shared / "data"],
        "predict": ["predict", model, shared / "data", "--submission", tmp_path / "s.csv"],
    }[command]
    code, err = run_cli(argv, capsys, tmp_path)
    assert code == 2
    one_error_line(err, str(model), "segment")


def test_predict_prints_no_speed_when_every_row_exists(shared, tmp_path, capsys):
    argv = ["predict", shared / "model.keras", shared / "data", "--submission", tmp_path / "s.csv"]
    assert cli.main([str(a) for a in argv]) == 0
    capsys.readouterr()
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "0 rows written, 3 already there" in out and "nan" not in out


def test_a_huge_photo_is_refused_in_one_line_naming_it(shared, tmp_path, capsys):
    import warnings

    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("L", (10000, 10000)).save(photos / "huge.png")  # 100 megapixels, 100 kB
    shutil.copy(sorted((shared / "data" / "train_hq").iterdir())[0], photos / "car.jpg")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        code = cli.main(
            [str(a) for a in ["segment", shared / "model.keras", photos, "--out", tmp_path / "seg"]]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and not warned, [str(w.message) for w in warned]
    assert err[0] == (
        f"skipped {photos / 'huge.png'}: 10000x10000, over the limit of 89,478,485 pixels for a "
        "photo: shrink it first (the mask is made at the model's small size anyway)"
    )
    assert sorted(p.name for p in (tmp_path / "seg").iterdir()) == [
        "car_cutout.png",
        "car_mask.png",
    ]


def test_inspect_prints_no_raw_warning_for_a_huge_photo(shared, tmp_path, capsys):
    import warnings

    from PIL import Image

    data = tmp_path / "data"
    shutil.copytree(shared / "data", data)
    Image.new("RGB", (10000, 10000)).save(sorted((data / "train_hq").iterdir())[0], "JPEG")
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        code = cli.main(["inspect", str(data)])
    captured = capsys.readouterr()
    assert code == 2 and not warned, [str(w.message) for w in warned]
    assert "10000x10000 (1)" in captured.out  # read, and its mask's size found to differ
    one_error_line(captured.err, str(data))


# --- Class 2: results that mislead
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1e-3", "nan", "inf", "-inf", "fast"])
def test_a_learning_rate_that_trains_nothing_is_an_argument_error(value, shared, tmp_path, capsys):
    code, err = run_cli(
        ["train", shared / "data", *TRAIN, f"--lr={value}", "--out", tmp_path / "run"],
        capsys,
        tmp_path,
    )
    assert code == 2 and not (tmp_path / "run").exists()
    one_error_line(err, "--lr", value)


@pytest.mark.parametrize(
    "module, argv, words",
    [
        (
            "train",
            ["train", "DATA", "--model", "simple", "--out", "RUN"],
            ["RUN", "start it over", "no --overwrite"],
        ),
        (
            "predict",
            ["predict", "M.keras", "IMAGES", "--submission", "S.csv"],
            ["kept in S.csv", "resume"],
        ),
        ("data", ["synth", "SET"], ["SET", "partial", "rerun"]),
        ("data", ["download", "--dest", "ZIPS"], ["ZIPS", "kept", "rerun"]),
        ("train", ["tune"], ["kept", "rerun"]),
        ("train", ["evaluate", "M.keras", "DATA"], ["rerun"]),
    ],
)
def test_ctrl_c_says_what_was_kept_and_what_a_rerun_does(module, argv, words, monkeypatch, capsys):
    def interrupted(_args):
        raise KeyboardInterrupt

    module = importlib.import_module(f"carvana_tutorial.tools.commands.{module}")
    monkeypatch.setattr(module, f"run_{argv[0]}", interrupted)
    assert cli.main(argv) == 130
    line = capsys.readouterr().err.strip()
    assert len(line.splitlines()) == 1 and line.startswith("carvana-tutorial: interrupted: ")
    assert all(word in line for word in words), line


def test_ctrl_c_that_c_code_turns_into_another_error_is_still_an_interruption(monkeypatch, capsys):
    def interrupted_in_c_code(_args):  # what TensorFlow's C code can do with a KeyboardInterrupt
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            raise SystemError(
                "Objects/listobject.c:338: bad argument to internal function"
            ) from None

    monkeypatch.setattr(
        importlib.import_module("carvana_tutorial.tools.commands.data"),
        "run_synth",
        interrupted_in_c_code,
    )
    before = signal.getsignal(signal.SIGINT)
    assert cli.main(["synth", "SET"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == [
        "carvana-tutorial: interrupted: what was written to SET is marked partial; "
        "rerun the command to make the set"
    ]
    assert signal.getsignal(signal.SIGINT) is before  # the handler main installed is gone again


def test_an_error_without_ctrl_c_keeps_its_traceback(monkeypatch):
    def bug(_args):
        raise SystemError("a bug of ours")

    monkeypatch.setattr(
        importlib.import_module("carvana_tutorial.tools.commands.data"), "run_synth", bug
    )
    with pytest.raises(SystemError, match="a bug of ours"):
        cli.main(["synth", "SET"])


def _env(shared: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    return {**env, "PYTHONPATH": str(ROOT), "CARVANA_CACHE": str(shared / "cache")}


def test_ctrl_c_in_train_then_the_same_command_starts_the_run_over(shared, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", str(shared / "data"), *TRAIN, "--epochs", "30", "--out", str(out)]
    child = subprocess.Popen(
        [sys.executable, "-m", "carvana_tutorial.tools.cli", *argv],
        env=_env(shared),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while (
        not (out / "history.csv").exists() and child.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert err.strip().splitlines() == [
        f"carvana-tutorial: interrupted: the run in {out} is not finished; rerun "
        "the same command to start it over (no --overwrite needed)"
    ]
    assert not (out / "metrics.json").exists()
    argv[argv.index("30")] = "2"  # the same command, only shorter for the test
    assert cli.main(argv) == 0
    assert (out / "metrics.json").is_file() and capsys.readouterr().err == ""


# --- Class 3: one line, never a traceback
# --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, names",
    [
        (["train", "DATA", "--model", "simple"], ["--out"]),
        (["train", "DATA", "--model", "resnet", "--out", "RUN"], ["--model", "resnet"]),
        (["predict", "M.keras", "IMAGES", "--submission", "S.csv", "--bogus"], ["--bogus"]),
        (["nonsense"], ["nonsense"]),
        (["train", "DATA", "--model", "simple", "--out", "RUN", "--seed", "-1"], ["--seed"]),
        (["evaluate", "M.keras", "DATA", "--worst", "-2"], ["--worst"]),
        (["synth", "SET", "--cars", "0"], ["--cars"]),
        (["bench", "pipeline", "DATA", "--limit", "0"], ["--limit"]),
    ],
)
def test_argument_errors_are_one_line(argv, names, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    one_error_line(captured.err, *names)


def test_argument_errors_print_no_usage_block(capsys):
    assert cli.main(["train", "DATA", "--model", "simple", "--lr", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "usage:" not in captured.err
    one_error_line(captured.err, "--lr", "carvana-tutorial train --help")


def _tf_error(kind: str) -> Exception:
    import tensorflow as tf

    text = (
        "Graph execution error:\n\n"
        "Detected at node model/conv/Conv2D defined at (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n\n'
        "OOM when allocating tensor with shape[3,3,9,9] and type float "
        "on /job:localhost/replica:0/task:0/device:CPU:0 by allocator mklcpu\n"
        "\t [[{{node model/conv/Conv2D}}]] [Op:__inference_train_function_123]"
    )
    return getattr(tf.errors, kind)(None, None, text)


@pytest.mark.parametrize(
    "error, words",
    [
        (lambda: OSError(errno.ENOSPC, "No space left on device"), ["disk is full"]),
        (
            lambda: OSError(errno.ENOSPC, "No space left on device", "/big/sub.csv"),
            ["/big/sub.csv", "disk is full"],
        ),
        (
            lambda: PermissionError(errno.EACCES, "Permission denied", "/the/cache/x"),
            ["/the/cache/x", "permission denied", "CARVANA_CACHE"],
        ),
        (
            lambda: NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"),
            ["/f/x", "is a file"],
        ),
        (lambda: IsADirectoryError(errno.EISDIR, "Is a directory", "/d"), ["/d", "folder"]),
        (lambda: FileExistsError(errno.EEXIST, "File exists", "/e"), ["/e"]),
        (lambda: MemoryError(), ["out of memory", "--filters"]),
        (lambda: _tf_error("ResourceExhaustedError"), ["out of memory", "shape[3,3,9,9]"]),
        (lambda: _tf_error("InvalidArgumentError"), ["TensorFlow failed: OOM when allocating"]),
    ],
)
def test_library_errors_become_one_line_without_tensorflow_internals(
    error, words, monkeypatch, capsys
):
    from carvana_tutorial.tools.commands import train

    def fail(_args):
        raise error()

    monkeypatch.setenv("CARVANA_CACHE", "/the/cache")
    monkeypatch.setattr(train, "run_tune", fail)
    assert cli.main(["tune"]) == 2
    line = one_error_line(capsys.readouterr().err, *words)
    for internal in ("{{", "[[", "node", "/job:", "allocator", "Op:", "Detected at"):
        assert internal not in line, line


def test_a_bug_keeps_its_traceback(monkeypatch):
    from carvana_tutorial.tools.commands import train

    monkeypatch.setattr(train, "run_tune", lambda _args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["tune"])


def test_absurd_filters_run_out_of_memory_in_one_line(shared, tmp_path, capsys):
    argv = ["train", shared / "data", *TRAIN, "--filters", "100000", "--out", tmp_path / "run"]
    code, err = run_cli(argv, capsys, tmp_path)
    assert code == 2
    one_error_line(err, "out of memory", "--filters")


def test_a_cache_folder_under_a_file_is_one_line(shared, tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("mine\n")
    monkeypatch.setenv("CARVANA_CACHE", str(tmp_path / "a-file" / "cache"))
    code, err = run_cli(
        ["train", shared / "data", *TRAIN, "--out", tmp_path / "run"], capsys, tmp_path
    )
    assert code == 2
    one_error_line(err, "a-file")


def test_a_read_only_cache_folder_is_one_line(shared, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o555)
    monkeypatch.setenv("CARVANA_CACHE", str(cache))
    if os.geteuid() == 0:  # root writes anywhere: refuse as the kernel would refuse anyone else
        mkdir = Path.mkdir

        def refused(self, *args, **kwargs):
            if cache in Path(self).parents:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return mkdir(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refused)
    code, err = run_cli(
        ["train", shared / "data", *TRAIN, "--out", tmp_path / "run"], capsys, tmp_path
    )
    assert code == 2
    one_error_line(err, "cache", "CARVANA_CACHE")


# --- Class 4: quiet by default
# -------------------------------------------------------------------------------


def test_train_and_predict_write_nothing_to_stderr(shared, tmp_path):
    """No TensorFlow start-up lines, no libjpeg warning for a photo with stray bytes, no progress
    bar."""
    data = tmp_path / "data"
    shutil.copytree(shared / "data", data)
    photo = sorted((data / "test_hq").iterdir())[0]
    jpeg = photo.read_bytes()
    half = len(jpeg) // 2
    photo.write_bytes(
        jpeg[:half] + bytes(range(200)) + jpeg[half:]
    )  # libjpeg: "Corrupt JPEG data: ..."
    commands = [
        ["train", data, *TRAIN, "--out", tmp_path / "run"],
        ["predict", tmp_path / "run" / "best.keras", data, "--submission", tmp_path / "sub.csv"],
    ]
    for argv in commands:
        done = subprocess.run(
            [sys.executable, "-m", "carvana_tutorial.tools.cli", *map(str, argv)],
            env=_env(shared),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert len((tmp_path / "sub.csv").read_text().splitlines()) == 4


def test_progress_bars_only_when_asked_or_on_a_terminal(shared, tmp_path, capsys):
    argv = ["predict", shared / "model.keras", shared / "data", "--submission"]
    assert cli.main([str(a) for a in [*argv, tmp_path / "a.csv"]]) == 0
    assert capsys.readouterr().err == ""
    assert cli.main([str(a) for a in [*argv, tmp_path / "b.csv", "--progress"]]) == 0
    assert "predict" in capsys.readouterr().err


def test_train_draws_an_epoch_bar_only_when_asked(shared, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CARVANA_CACHE", str(shared / "cache"))
    argv = [str(a) for a in ["train", shared / "data", *TRAIN, "--out"]]
    assert cli.main([*argv, str(tmp_path / "quiet")]) == 0
    assert "epoch" not in capsys.readouterr().err
    assert cli.main([*argv, str(tmp_path / "bar"), "--progress"]) == 0
    bar = capsys.readouterr().err
    assert "train" in bar and "2/2" in bar and "val_loss" in bar, bar
