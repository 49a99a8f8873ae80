"""Strict-nbval policy: the chapters' stored outputs are fresh, mostly checked, and the prose
types no measured number.

``make test`` runs nbval over every chapter, which re-executes it and compares
every stored output not tagged ``nbval-ignore-output``: that is the
reproduction check.  These tests make sure that check has teeth: enough cells
are compared, the excepted ones assert their result in code, the stored
outputs come from one fresh top-to-bottom run, and every number the prose
states is glued from a cell or cited.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MIN_CHECKED_SHARE = 0.70
SKIP, IGNORE = "nbval-skip", "nbval-ignore-output"

#: The first code cell of every chapter, character for character (common.md).
SETUP_CELL = """\
# Colab / Kaggle only: install the book's package next to their GPU TensorFlow.
import os
import sys

if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
    %pip install --quiet "carvana-tutorial @ git+https://github.com/carvana-tutorial/carvana-tutorial"
"""


def toc_files() -> list[str]:
    """Every file the table of contents names, in order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found.append(toc["root"])
    walk(toc.get("parts", []))
    return found


CHAPTERS = [ROOT / f"{f}.ipynb" for f in toc_files() if re.match(r"book/\d\d_", f)]


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def checked_share(nb: nbformat.NotebookNode) -> float:
    """Share of code cells whose outputs nbval compares (neither skipped nor output-ignored)."""
    cells = code_cells(nb)
    checked = [c for c in cells if not tags(c) & {SKIP, IGNORE}]
    return len(checked) / len(cells) if cells else 0.0


def has_assert(source: str) -> bool:
    """True if the cell has an ``assert`` statement (IPython magics and shell lines dropped)."""
    python = "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )
    try:
        return any(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(python)))
    except SyntaxError:
        return bool(re.search(r"^\s*assert\b", python, re.MULTILINE))


def unasserted_ignored_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices (among code cells) of output-ignored cells with no assert in them or in the next code
    cell."""
    cells = code_cells(nb)
    bad = []
    for i, cell in enumerate(cells):
        if IGNORE in tags(cell):
            following = cells[i + 1].source if i + 1 < len(cells) else ""
            if not (has_assert(cell.source) or has_assert(following)):
                bad.append(i)
    return bad


def execution_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Why the stored outputs are not one fresh top-to-bottom run without errors, if they are
    not."""
    problems = []
    counts = [c.execution_count for c in code_cells(nb)]
    if counts != list(range(1, len(counts) + 1)):
        problems.append(
            f"execution counts {counts} are not 1..{len(counts)}: re-run the chapter top to bottom"
        )
    for i, cell in enumerate(code_cells(nb)):
        if not cell.source.strip():
            problems.append(f"code cell {i} is empty")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"code cell {i} stored an error: {out.get('ename')}")
            if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                problems.append(f"code cell {i} stored a widget (a notebook progress bar?)")
    return problems


#: Absolute paths of this or any developer's machine, which must not reach a page.
MACHINE_PATH = re.compile(
    r"(?<![\w.:/])(?:/(?:work|home|root|tmp|Users|private|var/folders|content|kaggle/working)/|[A-Z]:\\\\)"
)


def machine_paths(nb: nbformat.NotebookNode) -> list[str]:
    """Output snippets that show an absolute path."""
    found = []
    for i, cell in enumerate(code_cells(nb)):
        for out in cell.get("outputs", []):
            texts = [out.get("text", "")] + [
                v if isinstance(v, str) else "".join(v)
                for k, v in out.get("data", {}).items()
                if k.startswith("text/") or k.endswith("json")
                if isinstance(v, (str, list))
            ]
            for text in texts:
                for m in MACHINE_PATH.finditer(text):
                    found.append(f"cell {i}: ...{text[max(0, m.start() - 20) : m.end() + 30]}...")
    return found


# --- Numbers typed into the prose ------------------------------------------------------------
#: A percentage, or a decimal such as a dice value.
NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?\s?(?:%|percent\b)|\d*\.\d+(?![\w.]))")
#: Words that make a number a measurement: it must then be glued or cited.
MEASURED = re.compile(
    r"dice|iou|jaccard|score|accura|loss|leaderboard|faster|slower|speed|throughput|images?/s|second|minute"
    r"|hour|improv|better|worse|gain|drop(?:s|ped)?\b|error|precision|recall|cover"
    r"|fraction of (?:the )?pixels",
    re.IGNORECASE,
)
#: Words that make a number a chosen setting or a version, not a result.
SETTING = re.compile(
    r"threshold|dropout|learning[ -]rate|epsilon|momentum|split|hold(?:s|ing)? out"
    r"|held out|seed|version"
    r"|python|tensorflow|keras|jupyter[ -]book|sphinx|numpy|nbval|kaggle client",
    re.IGNORECASE,
)
#: Exact values that are definitions, not results: a probability half-way, the ends of [0, 1].
TRIVIAL = {"0.5", "1.0", "0.0"}
#: Units after a number that make it geometry derived from a setting (a rotation of 3.6 degrees).
GEOMETRY = re.compile(r"^\s*(?:degrees?|°|pixels?|px)\b", re.IGNORECASE)
#: Marks a sentence as sourced: a glued value, a citation, or a link to a source.
SOURCED = re.compile(r"\{glue(?::\w+)?\}|\{cite(?::\w+)?\}|\]\(https?://")


def prose(markdown: str) -> str:
    """Markdown without what may legitimately hold numbers: code, math, roles' targets, links,
    headings' numbers."""
    text = re.sub(
        r"(```|~~~|:::).*?\1", " ", markdown, flags=re.DOTALL
    )  # fenced code and directives
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)  # display math
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", text)  # inline math
    text = re.sub(r"(\{[\w:-]+\})`[^`]*`", r"\1", text)  # role targets ({glue:text}`x:.3f`)
    text = re.sub(r"`[^`]*`", " ", text)  # code spans
    text = re.sub(r"\]\((?!https?://)[^)]*\)", "]", text)  # local link targets
    text = re.sub(r"<[^>]+>", " ", text)  # html tags
    text = re.sub(r"^(#+\s*)[\d.]+\s", r"\1", text, flags=re.MULTILINE)  # section numbers
    return text


def sentences(text: str) -> list[str]:
    return [
        s
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z{(*_])|\n\s*\n|\n(?=\s*[-*+] |\s*\d+\. )", text)
        if s.strip()
    ]


def unsourced_numbers(markdown: str) -> list[str]:
    """Sentences that type a percentage or a decimal that is not a setting, with no glue or
    citation."""
    flagged = []
    for sentence in sentences(prose(markdown)):
        if SOURCED.search(sentence):
            continue
        for m in NUMBER.finditer(sentence):
            near = sentence[max(0, m.start() - 60) : m.end() + 60]
            before = sentence[max(0, m.start() - 30) : m.start()]
            after = sentence[m.end() : m.end() + 12]
            excused = SETTING.search(before) or m.group(0) in TRIVIAL or GEOMETRY.match(after)
            if MEASURED.search(near) or not excused:
                flagged.append(f"{m.group(0)!r} in: {' '.join(sentence.split())}")
    return flagged


# --- The tests of the policy's own checks ---------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "The U-Net reaches a validation dice of 0.94 here.",
        "It scores 94% on the held-out cars.",
        "The car covers about 20% of the frame.",
        "A dice of 0.5 at threshold 0.5 is poor.",
        "Training runs at .5 images per second.",
        "- the simple network: 0.8788\n- the U-Net: 0.9416",
        "Loss went from 1.2 to 0.3 (see `history`).",
        "A background-only model is already 80 % accurate.",
        "The prediction sits at 0.49 everywhere.",
        "Half the cars score 1.0 and the rest 0.5.",
    ],
)
def test_typed_measurements_are_flagged(text: str) -> None:
    assert unsourced_numbers(text)


@pytest.mark.parametrize(
    "text",
    [
        "The U-Net reaches a dice of {glue:text}`val_dice:.3f` on the validation cars.",
        "The article reports 0.9416 for its U-Net {cite}`segmentationguide`.",
        "The car covers 15-25% of the frame {cite:p}`carvana2017`.",
        "Predictions are binarised at a threshold of 0.5, and dropout is 0.3.",
        "We hold out 20% of the cars with an 80/20 split and seed 42.",
        "Tested with Python 3.11 and TensorFlow 2.21.",
        "Images are resized to 96x128 and each car has 16 views.",
        "Decoding turns 255 into 1.0, and thresholding the probability at 0.5 gives the mask.",
        "A random rotation of up to 3.6 degrees, a shift of 1.5 pixels.",
        "## 5.2 The dice loss\n\nInline math $\\mathrm{dice} = 0.5$ and code `0.94` are not prose.",
        "```python\nassert 0.9 < dice\n```",
    ],
)
def test_sourced_or_setting_numbers_pass(text: str) -> None:
    assert unsourced_numbers(text) == []


def notebook(cells: list[tuple[str, str, list[str]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    count = 0
    for kind, source, cell_tags in cells:
        if kind == "code":
            count += 1
            cell = nbformat.v4.new_code_cell(source, execution_count=count)
        else:
            cell = nbformat.v4.new_markdown_cell(source)
        cell.metadata["tags"] = cell_tags
        nb.cells.append(cell)
    return nb


def test_share_and_assert_checks_catch_a_lax_notebook() -> None:
    nb = notebook(
        [
            ("code", SETUP_CELL, [SKIP]),
            ("code", "x = train()", [IGNORE]),
            ("code", "print(x)", [IGNORE]),
        ]
        + [("code", "print('assert nothing')", [])]
    )
    assert checked_share(nb) == pytest.approx(1 / 4)
    # Cell 2 is followed by the word "assert" in a string, which asserts nothing.
    assert unasserted_ignored_cells(nb) == [1, 2]
    nb.cells[2].source = "print(x)\nassert 0.5 < x <= 1"
    assert unasserted_ignored_cells(nb) == []


def test_stale_or_broken_outputs_are_caught() -> None:
    nb = notebook([("code", "a = 1", []), ("code", "b = 2", [])])
    assert execution_problems(nb) == []
    nb.cells[1].execution_count = 5  # re-ran one cell by hand
    assert execution_problems(nb)
    nb.cells[1].execution_count = 2
    nb.cells[1].outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])
    ]
    assert execution_problems(nb)


def test_machine_paths_are_caught() -> None:
    nb = notebook([("code", "print(root)", [])])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="data in /work/main/.cache/x\n")
    ]
    assert machine_paths(nb)
    nb.cells[0].outputs[0].text = "data in train_hq/ (318 cars), see https://kaggle.com/a/b\n"
    assert machine_paths(nb) == []


# --- The chapters -----------------------------------------------------------------------------
def test_toc_names_every_chapter_and_only_existing_files() -> None:
    files = toc_files()
    missing = [
        f for f in files if not any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb"))
    ]
    assert missing == [], f"the toc names missing files: {missing}"
    on_disk = sorted(
        p.relative_to(ROOT).with_suffix("").as_posix() for p in BOOK.glob("[0-9][0-9]_*.ipynb")
    )
    assert [f for f in on_disk if f not in files] == [], "a chapter on disk is not in _toc.yml"
    assert len(CHAPTERS) == 9


@pytest.fixture(scope="module", params=CHAPTERS, ids=[p.stem for p in CHAPTERS])
def chapter(request: pytest.FixtureRequest) -> nbformat.NotebookNode:
    path = request.param
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is in _toc.yml but not on disk")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def test_chapter_opens_with_title_setup_cell_and_chapter_setup(
    chapter: nbformat.NotebookNode,
) -> None:
    first = chapter.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        "the first cell is the title"
    )
    cells = code_cells(chapter)
    assert len(cells) >= 2, (
        "a chapter has the set-up cell, then chapter.setup(), then its own cells"
    )
    assert cells[0].source.rstrip() == SETUP_CELL.rstrip(), "the first code cell is the set-up cell"
    assert {SKIP, "remove-cell"} <= tags(cells[0]), (
        "nbval skips the install cell, the HTML leaves it out"
    )
    assert "chapter.setup(" in cells[1].source, "the second code cell calls chapter.setup()"
    assert chapter.metadata.get("kernelspec", {}).get("name") == "python3"


def test_chapter_checks_enough_outputs(chapter: nbformat.NotebookNode) -> None:
    share = checked_share(chapter)
    assert share >= MIN_CHECKED_SHARE, f"only {share:.0%} of code cells are output-checked"
    # The set-up cell is the only one nbval may skip.
    assert sum(SKIP in tags(c) for c in code_cells(chapter)) == 1


def test_ignored_outputs_are_asserted(chapter: nbformat.NotebookNode) -> None:
    assert unasserted_ignored_cells(chapter) == []


def test_stored_outputs_are_one_fresh_run(chapter: nbformat.NotebookNode) -> None:
    assert execution_problems(chapter) == []


def test_outputs_show_no_machine_paths(chapter: nbformat.NotebookNode) -> None:
    assert machine_paths(chapter) == []


def test_prose_types_no_unsourced_numbers(chapter: nbformat.NotebookNode) -> None:
    text = "\n\n".join(c.source for c in chapter.cells if c.cell_type == "markdown")
    assert unsourced_numbers(text) == []


def test_intro_types_no_unsourced_numbers() -> None:
    assert unsourced_numbers((BOOK / "intro.md").read_text()) == []


def test_api_page_documents_every_public_module() -> None:
    """A new module of the package must be added to book/api.md."""
    package = ROOT / "carvana_tutorial"
    names = {p.stem for p in package.glob("*.py")} | {
        p.parent.name for p in package.glob("*/__init__.py")
    }
    modules = {
        f"carvana_tutorial.{n}"
        for n in names
        if not n.startswith("_") and n not in {"cli", "commands"}
    }
    documented = set(
        re.findall(r"automodule:: (carvana_tutorial\.\w+)", (BOOK / "api.md").read_text())
    )
    assert sorted(modules - documented) == []


def test_nbval_reads_every_sanitize_rule() -> None:
    from nbval.plugin import get_sanitize_patterns

    text = (BOOK / "sanitize.cfg").read_text()
    rules = get_sanitize_patterns(text)
    assert len(rules) == len(re.findall(r"^\[", text, re.MULTILINE)) > 0
    cleaned = "data in /work/main/.cache/synthetic at 0x7f3a2b1c4d50, 2026-11-25 12:00:01.123\n"
    for regex, replace in rules:
        cleaned = re.sub(regex, replace, cleaned)
    assert cleaned == "data in PATH at ADDRESS, TIMESTAMP\n"


#: What each chapter must show of the package (issue 10): dotted names, displayed by
#: ``chapter.show``.
SHOWN = {
    "01_data": ["carvana_tutorial.data.pairs.scan", "carvana_tutorial.data.pairs.split_by_car"],
    "02_preprocessing": [
        "carvana_tutorial.pipeline.decode.resize_photo",
        "carvana_tutorial.pipeline.decode.decode_photo",
        "carvana_tutorial.pipeline.decode.read_mask",
        "carvana_tutorial.pipeline.augment.augment",
        "carvana_tutorial.pipeline.dataset.make_dataset",
    ],
    "04_simple_unet": [
        "carvana_tutorial.models.simple_unet",
        "carvana_tutorial.config.TrainConfig",
        "carvana_tutorial.inference.predict",
        "carvana_tutorial.inference.evaluate",
    ],
    "05_dice": [
        "carvana_tutorial.metrics.dice_coef",
        "carvana_tutorial.metrics.dice_loss",
        "carvana_tutorial.metrics.per_image_dice",
        "carvana_tutorial.metrics.bce_dice_loss",
    ],
    "06_unet": [
        "carvana_tutorial.models.unet",
        "carvana_tutorial.training.datasets",
        "carvana_tutorial.training.compile_model",
        "carvana_tutorial.training.train",
    ],
    "07_tuning": [
        "carvana_tutorial.effects.Effect",
        "carvana_tutorial.effects.paired_effect",
    ],
    "08_submission": [
        "carvana_tutorial.rle.rle_encode",
        "carvana_tutorial.inference.upsample_probabilities",
    ],
    "09_segment": [
        "carvana_tutorial.pipeline.decode.resize_photo",
        "carvana_tutorial.inference.probabilities",
        "carvana_tutorial.inference.segment_photos",
        "carvana_tutorial.inference.segment",
        "carvana_tutorial.segment.cutout",
        "carvana_tutorial.segment.on_background",
        "carvana_tutorial.export.export_model",
    ],
}
#: The longest piece of source a chapter may display, and the page's code column.
MAX_SHOWN_LINES, CODE_COLUMN = 45, 79
SHOWN_BLOCK = re.compile(r"`(carvana_tutorial/[\w/]+\.py)`:\n\n```python\n(.*?)\n```", re.DOTALL)


def shown_blocks(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(file, code)`` of every source block the chapter's stored outputs display."""
    blocks = []
    for cell in code_cells(nb):
        for out in cell.get("outputs", []):
            blocks += SHOWN_BLOCK.findall(out.get("data", {}).get("text/markdown", ""))
    return blocks


def _object(dotted: str):
    import importlib

    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("stem", sorted(SHOWN))
def test_chapter_shows_the_package_source_it_teaches(stem: str) -> None:
    import inspect

    blocks = shown_blocks(nbformat.read(BOOK / f"{stem}.ipynb", as_version=4))
    shown = {code for _, code in blocks}
    for dotted in SHOWN[stem]:
        source = inspect.getsource(_object(dotted)).rstrip()
        assert source in shown, f"{stem} does not show the current source of {dotted}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_shown_code_is_the_packages_and_fits_the_page(chapter: Path) -> None:
    for path, code in shown_blocks(nbformat.read(chapter, as_version=4)):
        assert code in (ROOT / path).read_text(), f"{chapter.stem} shows code that is not in {path}"
        lines = code.splitlines()
        assert len(lines) <= MAX_SHOWN_LINES, f"{chapter.stem} shows {len(lines)} lines of {path}"
        assert max(map(len, lines)) <= CODE_COLUMN, (
            f"{chapter.stem} shows lines of {path} wider than the page"
        )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_cells_fit_the_page(chapter: Path) -> None:
    for cell in code_cells(nbformat.read(chapter, as_version=4)):
        if "remove-cell" in tags(cell):
            continue  # not on the page (the Colab/Kaggle install cell)
        wide = [line for line in cell.source.splitlines() if len(line) > CODE_COLUMN]
        assert wide == [], f"{chapter.stem}: lines wider than {CODE_COLUMN} columns"


def test_the_policy_catches_a_stale_or_foreign_block(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("chapter.show(rle_encode)")
    fake = (
        "`carvana_tutorial/rle.py`:\n\n```python\ndef rle_encode(mask):\n    return 'not ours'\n```"
    )
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": fake})]
    nb.cells.append(cell)
    ((path, code),) = shown_blocks(nb)
    assert path == "carvana_tutorial/rle.py" and code not in (ROOT / path).read_text()
