"""``carvana-tutorial cache``: the listing adds up, and clearing removes exactly what was asked,
inside the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carvana_tutorial.errors import CarvanaError
from carvana_tutorial.tools import cache_usage, cli
from carvana_tutorial.tools.cache_usage import checked_root

fcntl = pytest.importorskip("fcntl")

DAY = 86400
SET = "4cars-1test-96x128-seed0"


def _write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """A cache with two pipeline sizes (one in two resize methods), a synthetic set, a run and
    more."""
    root = tmp_path / "cache"
    monkeypatch.setenv("CARVANA_CACHE", str(root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for i in range(3):
        _write(root / "pipeline" / "96x128-area" / f"{i:032x}.bin", 1000)
    _write(root / "pipeline" / "96x128-bilinear" / "a.bin", 500)
    for i in range(2):
        _write(root / "pipeline" / "192x256-area" / f"{i:032x}.bin", 4000)
    _write(root / "synthetic" / SET / "train_hq" / "car_01.jpg", 3000)
    _write(root / "synthetic" / SET / "train_masks" / "car_01_mask.gif", 200)
    _write(root / "synthetic" / f"{SET}.lock", 0)
    _write(root / "runs" / "unet-quick" / "model.keras", 2 * 2**20)
    _write(root / "runs" / "unet-quick" / "metrics.json", 100)
    _write(root / "extracted" / "0123456789ab" / "train_hq" / "x.jpg", 700)
    _write(root / "kaggle" / "notes.txt", 10)
    return root


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_list_counts_files_and_sizes_per_kind(cache, capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"cache: {cache.resolve()}"
    assert all(str(cache) not in line and str(cache.parent) not in line for line in lines[1:])
    report = _json(out)
    groups = {(g["kind"], g["name"]): (g["files"], g["bytes"]) for g in report["groups"]}
    assert groups == {
        ("pipeline", "192x256-area"): (2, 8000),
        ("pipeline", "96x128-area"): (3, 3000),
        ("pipeline", "96x128-bilinear"): (1, 500),
        ("synthetic", SET): (3, 3200),
        ("runs", "unet-quick"): (2, 2 * 2**20 + 100),
        ("extracted", ""): (1, 700),
        ("other", ""): (1, 10),
    }
    assert [g["kind"] for g in report["groups"]] == ["pipeline"] * 3 + [
        "synthetic",
        "runs",
        "extracted",
        "other",
    ]
    assert (
        report["files"] == 13
        and report["bytes"] == 8000 + 3000 + 500 + 3200 + 2 * 2**20 + 100 + 700 + 10
    )
    assert "runs unet-quick" in out and "2.0 MiB" in out
    assert lines[-2].split()[:3] == ["total", "13", "files"]
    # `cache list` is the same listing.
    assert _run(capsys, "list")[1] == out


def test_missing_cache_is_an_empty_listing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARVANA_CACHE", str(tmp_path / "never-made"))
    code, out, _ = _run(capsys)
    assert code == 0
    assert "nothing cached yet" in out
    assert _json(out) == {"groups": [], "files": 0, "bytes": 0, "mib": 0.0}
    code, out, _ = _run(capsys, "clear", "--all")
    assert code == 0 and "nothing to remove" in out and _json(out)["files"] == 0
    assert not (tmp_path / "never-made").exists()


def test_clear_size_removes_only_that_size_every_method(cache, capsys):
    _write(cache / "pipeline" / "96x1280-area" / "b.bin", 10)  # same prefix, another size
    before = _files(cache)
    code, out, _ = _run(capsys, "clear", "--size", "96x128")
    assert code == 0
    gone = before - _files(cache)
    assert gone == {
        f for f in before if f.startswith(("pipeline/96x128-area/", "pipeline/96x128-bilinear/"))
    }
    assert not (cache / "pipeline" / "96x128-area").exists()
    report = _json(out)
    assert {g["name"] for g in report["removed"]} == {"96x128-area", "96x128-bilinear"}
    assert report["files"] == 4 and report["bytes"] == 3500 and not report["dry_run"]
    assert "freed" in out


def test_clear_older_than_keeps_entries_read_or_written_recently(cache, capsys):
    now = time.time()
    size_dir = cache / "pipeline" / "96x128-area"
    old, read_recently, fresh = sorted(size_dir.iterdir())
    os.utime(old, (now - 40 * DAY, now - 40 * DAY))
    os.utime(read_recently, (now - 2 * DAY, now - 40 * DAY))  # written long ago, read this week
    os.utime(fresh, (now, now))
    for entry in (cache / "pipeline" / "192x256-area").iterdir():
        os.utime(entry, (now - 31 * DAY, now - 31 * DAY))
    old_run = cache / "runs" / "unet-quick" / "model.keras"
    os.utime(
        old_run, (now - 90 * DAY, now - 90 * DAY)
    )  # not a pipeline entry: never cleared by age
    before = _files(cache)
    code, out, _ = _run(capsys, "clear", "--older-than", "30")
    assert code == 0
    gone = before - _files(cache)
    assert gone == {old.relative_to(cache).as_posix()} | {
        f for f in before if f.startswith("pipeline/192x256-area/")
    }
    assert not (cache / "pipeline" / "192x256-area").exists()  # left empty, so removed
    assert read_recently.exists() and fresh.exists() and old_run.exists()
    assert _json(out)["bytes"] == 1000 + 8000


def test_dry_run_removes_nothing_and_reports_the_same(cache, capsys):
    before = _files(cache)
    code, dry, _ = _run(capsys, "clear", "--pipeline", "--dry-run")
    assert code == 0 and _files(cache) == before
    assert "would remove pipeline 96x128-area" in dry and "would free" in dry
    dry_report = _json(dry)
    assert dry_report["dry_run"] is True
    code, real, _ = _run(capsys, "clear", "--pipeline")
    assert code == 0
    real_report = _json(real)
    assert real_report["removed"] == dry_report["removed"]
    assert real_report["bytes"] == dry_report["bytes"] == 11500
    assert not any(f.startswith("pipeline/") for f in _files(cache))
    assert any(f.startswith("synthetic/") for f in _files(cache))


def test_all_skips_a_synthetic_set_another_process_is_making(cache, capsys):
    lock_path = cache / "synthetic" / f"{SET}.lock"
    other_set = cache / "synthetic" / "8cars-2test-96x128-seed0"
    _write(other_set / "train_hq" / "car_02.jpg", 50)
    with open(lock_path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, dry, _ = _run(capsys, "clear", "--all", "--dry-run")
        assert code == 0 and f"skipped synthetic {SET}: in use" in dry
        code, out, _ = _run(capsys, "clear", "--all")
    assert code == 0
    assert _files(cache) == {
        f"synthetic/{SET}/train_hq/car_01.jpg",
        f"synthetic/{SET}/train_masks/car_01_mask.gif",
        f"synthetic/{SET}.lock",
        "synthetic/8cars-2test-96x128-seed0.lock",
        "kaggle/notes.txt",  # not made by carvana-tutorial: never removed
    }
    assert not other_set.exists() and cache.is_dir()
    report = _json(out)
    assert report["skipped"] == [
        {"kind": "synthetic", "name": SET, "reason": "in use by another process"},
        {"kind": "other", "name": "", "reason": cache_usage.NOT_OURS},
    ]
    assert {(g["kind"], g["name"]) for g in report["removed"]} == {
        ("pipeline", "192x256-area"),
        ("pipeline", "96x128-area"),
        ("pipeline", "96x128-bilinear"),
        ("synthetic", "8cars-2test-96x128-seed0"),
        ("runs", "unet-quick"),
        ("extracted", ""),
    }
    assert _json(dry)["removed"] == report["removed"]
    # Once the lock is free, the set goes too.
    _run(capsys, "clear", "--all")
    assert not (cache / "synthetic" / SET).exists()


def test_clear_never_follows_a_link_out_of_the_cache(cache, tmp_path, capsys):
    outside = _write(tmp_path / "precious" / "thesis.tex", 123)
    (cache / "pipeline" / "96x128-area" / "link").symlink_to(
        outside.parent, target_is_directory=True
    )
    (cache / "runs" / "linked-run").symlink_to(outside.parent, target_is_directory=True)
    code, out, _ = _run(capsys)
    assert code == 0
    assert _json(out)["bytes"] == 2 * 2**20 + 15_510 + 2 * len(
        str(outside.parent)
    )  # the links, not the target
    _run(capsys, "clear", "--all")
    assert outside.read_bytes() == b"x" * 123
    assert not (cache / "runs" / "linked-run").is_symlink()


def test_clear_without_a_scope_is_a_one_line_error(cache, capsys):
    before = _files(cache)
    code, out, err = _run(capsys, "clear")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("carvana-tutorial: error: say what to clear")
    assert _files(cache) == before
    code, _, err = _run(capsys, "clear", "--dry-run")
    assert code == 2 and err.count("\n") == 1 and _files(cache) == before


@pytest.mark.parametrize(
    "argv", [["--all", "--size", "96x128"], ["--older-than", "-1"], ["--older-than", "nan"]]
)
def test_all_with_another_scope_or_a_negative_age_is_refused(cache, capsys, argv):
    before = _files(cache)
    code, _, err = _run(capsys, "clear", *argv)
    assert code == 2 and err.count("\n") == 1 and _files(cache) == before


@pytest.mark.parametrize("where", ["home", "parent of home"])
def test_a_cache_that_holds_the_home_folder_is_refused(tmp_path, monkeypatch, capsys, where):
    home = tmp_path / "home"
    keep = _write(home / "notes.txt", 5)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CARVANA_CACHE", str(home if where == "home" else tmp_path))
    for argv in (["clear", "--all"], ["clear", "--pipeline"], []):
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "refusing to use" in err
    assert keep.exists()


def test_the_file_system_root_is_refused():
    with pytest.raises(CarvanaError, match="refusing"):
        checked_root(Path("/"))
    with pytest.raises(CarvanaError, match="refusing"):
        checked_root(Path("/tmp/.."))


def test_the_pipeline_folder_is_the_one_the_pipeline_writes(tmp_path, monkeypatch):
    tf_cache = pytest.importorskip("carvana_tutorial.pipeline.cache")
    monkeypatch.setenv("CARVANA_CACHE", str(tmp_path))
    assert tf_cache.cache_root() == tmp_path / "pipeline"


def test_cache_commands_do_not_import_tensorflow(cache):
    code = (
        "import sys; from carvana_tutorial.tools import cli; "
        "cli.main(['cache']); cli.main(['cache', 'clear', '--pipeline', '--dry-run']); "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "False"


def test_what_cannot_be_removed_is_reported_not_counted_as_freed(cache, capsys, monkeypatch):
    import carvana_tutorial.tools.cache_usage as cache_usage

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(Path(path) / "model.keras"))

    monkeypatch.setattr(cache_usage.shutil, "rmtree", refuse)
    code, out, _ = _run(capsys, "clear", "--all")
    assert code == 0
    report = _json(out)
    assert all(g["kind"] != "runs" for g in report["removed"])
    assert any(
        s["kind"] == "runs" and "Permission denied" in s["reason"] for s in report["skipped"]
    )
    assert report["bytes"] < 2 * 2**20  # the run's model is not counted as freed
    assert "skipped" in out and "model.keras" in out
