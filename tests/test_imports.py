"""The package's import graph, read from the source with ``ast``: every import counts, at module
level, inside a function or under ``if TYPE_CHECKING``.  No module may import itself through others
(an import hidden inside a function is still a cycle), and the modules the book teaches never import
the machinery in ``carvana_tutorial/tools/``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "carvana_tutorial"
TOOLS = "carvana_tutorial.tools"


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package's modules that the file ``path`` (module ``name``) imports anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found |= submodules
            if len(submodules) < len(node.names):  # names defined in ``base`` itself
                found.add(base)
    return {m for m in found if m in modules and m != name}


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``{module: the package's modules it imports}`` for every module under ``root``."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    return {name: imports_of(path, name, set(paths)) for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as ``[a, b, ..., a]``, or ``[]``."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return []


def lesson_imports_of_tools(graph: dict[str, set[str]]) -> list[str]:
    """``"taught -> tool"`` for every import of a tool module by a taught module."""

    def is_tool(name: str) -> bool:
        return name == TOOLS or name.startswith(TOOLS + ".")

    return [
        f"{module} -> {imported}"
        for module, imported_modules in sorted(graph.items())
        if not is_tool(module)
        for imported in sorted(imported_modules)
        if is_tool(imported)
    ]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_sees_imports_anywhere_in_a_module(graph: dict[str, set[str]]) -> None:
    # Module level, relative and absolute; inside a function (cli imports its commands lazily).
    assert {"carvana_tutorial.inference", "carvana_tutorial.runs"} <= graph[
        "carvana_tutorial.training"
    ]
    assert "carvana_tutorial.inference" in graph["carvana_tutorial.tools.commands.predict"]
    assert "carvana_tutorial.pipeline" in graph["carvana_tutorial.inference"]
    assert "carvana_tutorial.pipeline.decode" in graph["carvana_tutorial.inference"]


def test_the_package_has_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert find_cycle(graph) == []


def test_taught_modules_never_import_the_tools(graph: dict[str, set[str]]) -> None:
    assert lesson_imports_of_tools(graph) == []


def test_the_checks_catch_a_hidden_cycle_and_a_lesson_importing_a_tool(tmp_path: Path) -> None:
    root = tmp_path / "carvana_tutorial"
    (root / "tools").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "runs.py": "def model():\n    from .training import load\n    return load()\n",
        "training.py": "from . import runs\n\ndef load():\n    return runs\n",
        "segment.py": "import numpy\n\ndef f():\n    from carvana_tutorial.tools.viz import g\n",
        "tools/__init__.py": "",
        "tools/viz.py": "import numpy\n\ndef g():\n    return numpy\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    graph = import_graph(root)
    assert find_cycle(graph) == [
        "carvana_tutorial.runs",
        "carvana_tutorial.training",
        "carvana_tutorial.runs",
    ]
    assert lesson_imports_of_tools(graph) == [
        "carvana_tutorial.segment -> carvana_tutorial.tools.viz"
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
