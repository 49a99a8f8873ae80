"""Fixtures shared across test files: the book, built once per session, and a spy on early
stopping."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: The test build's output, kept apart from `make book`'s _build/html.
TEST_BUILD = ROOT / "_build" / "test"


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book with warnings as errors from the chapters' stored outputs; return the HTML
    folder.

    `make test` runs nbval over the chapters in the same session, which checks
    that those stored outputs reproduce; re-executing them here would double
    the time for nothing.  `make book` is the build that executes.
    """
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # Jupyter Book finds local extensions relative to the config file, which moves here.
    extensions = config["sphinx"].get("local_extensions", {})
    config["sphinx"]["local_extensions"] = {
        name: str(ROOT / path) for name, path in extensions.items()
    }
    TEST_BUILD.mkdir(parents=True, exist_ok=True)
    config_path = TEST_BUILD / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [
        str(jupyter_book),
        "build",
        str(ROOT),
        "--config",
        str(config_path),
        "--path-output",
        str(TEST_BUILD),
    ]
    done = subprocess.run(
        [*command, "--builder", "html", "--all", "-W", "-n", "--keep-going"],
        cwd=ROOT,
        check=False,  # the warnings are reported below
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # Sphinx colours its messages
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    if done.returncode != 0:
        pytest.fail(
            "the book build failed:\n" + "\n".join(warnings or [log[-5000:]]), pytrace=False
        )
    html = TEST_BUILD / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


@pytest.fixture
def early_stopping_calls(monkeypatch) -> list[dict]:
    """The keyword arguments of every ``EarlyStopping`` that training builds while the test runs."""
    import keras

    from carvana_tutorial import training

    seen: list[dict] = []

    class Spy(keras.callbacks.EarlyStopping):
        def __init__(self, **kwargs):
            seen.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(training.keras.callbacks, "EarlyStopping", Spy)
    return seen
