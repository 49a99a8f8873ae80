"""The command-line dispatcher: every sub-command is wired, and user errors are one line."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from carvana_tutorial.errors import CarvanaError
from carvana_tutorial.tools import cli

EXPECTED = {
    "synth",
    "download",
    "inspect",
    "train",
    "evaluate",
    "predict",
    "segment",
    "export",
    "tune",
    "bench",
    "cache",
    "kaggle-push",
}


def _subcommands(parser) -> set[str]:
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)


def test_every_command_module_registers_its_commands():
    assert EXPECTED <= _subcommands(cli.build_parser())


def test_bench_has_both_targets(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "pipeline" in out and "train" in out


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from carvana_tutorial.tools import cli; "
        "cli.build_parser(); print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_user_error_is_one_line_with_exit_2(monkeypatch, capsys):
    def fail(_args):
        raise CarvanaError("the folder has no train_hq/")

    parser = cli.build_parser()
    monkeypatch.setattr(parser, "parse_args", lambda argv: argparse.Namespace(func=fail))
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    assert cli.main(["tune"]) == 2
    err = capsys.readouterr().err
    assert err == "carvana-tutorial: error: the folder has no train_hq/\n"


def test_console_script_runs_version():
    result = subprocess.run(
        [sys.executable, "-m", "carvana_tutorial.tools.cli", "--version"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("carvana-tutorial ")
