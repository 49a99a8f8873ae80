"""The set-up a newcomer meets: dependency lists in step, the console script, two commands, CI."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def normalised(requirements: list[str]) -> set[str]:
    """Requirements compared by name, extras and version specifier, not by spelling."""
    out = set()
    for text in requirements:
        req = Requirement(text)
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        out.add(f"{name}{extras}{req.specifier}")
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    wanted = normalised(project["dependencies"] + extras["cpu"] + extras["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml needs exactly one pip: list"
    pip = [line for line in pip_lists[0] if not line.startswith("-e")]
    assert normalised(pip) == wanted
    assert "-e ." in pip_lists[0], "environment.yml must install the package itself"


def test_the_user_named_dependencies_are_declared() -> None:
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    names = {
        Requirement(r).name.lower() for r in project["dependencies"] + extras["cpu"] + extras["dev"]
    }
    for name in ("jupyter-book", "numpy", "matplotlib", "scikit-learn", "nbval", "kaggle"):
        assert name in names
    assert any(n.startswith("tensorflow") for n in names)


def test_tensorflow_is_not_a_base_dependency() -> None:
    """Installing on Colab or Kaggle must keep their GPU TensorFlow."""
    base = {Requirement(r).name.lower() for r in pyproject()["project"]["dependencies"]}
    assert not any(name.startswith("tensorflow") for name in base)


def test_console_script_resolves_to_cli_main() -> None:
    assert pyproject()["project"]["scripts"] == {
        "carvana-tutorial": "carvana_tutorial.tools.cli:main"
    }
    (script,) = entry_points(group="console_scripts", name="carvana-tutorial")
    assert script.value == "carvana_tutorial.tools.cli:main"
    from carvana_tutorial.tools import cli

    assert script.load() is cli.main


def readme_commands() -> list[str]:
    """The command lines of the README's first code block, comments dropped."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```[a-z]*\n(.*?)```", text, re.DOTALL)
    assert block, "README.md has no code block"
    return [
        line.split("#")[0].strip()
        for line in block.group(1).splitlines()
        if line.split("#")[0].strip()
    ]


def test_readme_begins_with_exactly_two_commands() -> None:
    assert readme_commands() == ["make book", "make test"]
    # Nothing but prose comes before them.
    before = (ROOT / "README.md").read_text().split("```")[0]
    assert "make " not in before.replace("`make book`", "").replace("`make test`", "")


def test_make_targets_do_what_the_readme_says() -> None:
    def dry_run(target: str) -> str:
        done = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return done.stdout

    book = dry_run("book")
    assert "jupyter-book build" in book and "-W" in book
    test = dry_run("test")
    assert (
        "pytest tests book" in test
        and "--nbval " in test
        and "--nbval-sanitize-with book/sanitize.cfg" in test
    )
    assert "--nbval-lax" not in test


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    lines = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert lines[-1] == "make test"
    for line in lines[:-1]:
        # Only shell set-up and installing Debian's Chromium for the browser test.
        assert re.match(r"^(set |cd |if |fi$|then$|apt-get |.*apt-get install.*chromium)", line), (
            line
        )
