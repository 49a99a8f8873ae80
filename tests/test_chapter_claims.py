"""Chapter 7 says an effect is shown only where the stated rule (paired seeds, a 95% interval that
excludes zero) marks it shown: the verdicts glued in the stored notebook decide, not the prose."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

CHAPTER = Path(__file__).parents[1] / "book" / "07_tuning.ipynb"
#: A glued effect: ``delta_``, ``low_``, ``high_`` or ``verdict_`` of a setting, real or synthetic.
EFFECT = re.compile(r"\{glue:text\}`((?:real_)?)(?:delta|low|high|verdict)_(\w+?)(?::[^`]*)?`")
ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")


def glued(notebook: dict) -> dict[str, object]:
    """Every value the stored notebook glued, by name."""
    values = {}
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                text = output["data"][scrap["mime_prefix"] + "text/plain"]
                values[scrap["name"]] = ast.literal_eval(text)
    return values


def sentences(notebook: dict) -> list[str]:
    text = "\n".join(
        "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"
    )
    # Sentence ends, blank lines and list items, as tests/test_book_policy.py splits them.
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z{(*_])|\n\s*\n|\n(?=\s*[-*+] |\s*\d+\. )", text)
    return [" ".join(part.split()) for part in parts if part.strip()]


def claim(sentence: str) -> bool | None:
    """What a sentence's own words (glued values left out) say: shown, not shown, or nothing."""
    words = ROLE.sub("", sentence).lower()
    if re.search(r"\bnot (been )?shown\b", words):
        return False
    return True if re.search(r"\bshown\b", words) else None


def check(notebook: dict) -> list[str]:
    """One line per sentence whose claim or missing verdict disagrees with the rule."""
    values, problems = glued(notebook), []
    for sentence in sentences(notebook):
        effects = set(EFFECT.findall(sentence))
        said = claim(sentence)
        for prefix, key in sorted(effects):
            verdict = values.get(f"{prefix}verdict_{key}")
            if verdict is None:
                problems.append(f"{prefix}{key}: no glued verdict")
                continue
            shown = verdict != "not shown"
            if said is None and f"{prefix}verdict_{key}" not in sentence:
                problems.append(f"{prefix}{key}: its sentence states no verdict: {sentence[:90]}")
            elif said is not None and said != shown:
                problems.append(
                    f"{prefix}{key} is {verdict!r}, the text says otherwise: {sentence[:90]}"
                )
    return problems


def test_every_effect_in_chapter_7_agrees_with_the_rule():
    notebook = json.loads(CHAPTER.read_text())
    assert glued(notebook), "chapter 7 is stored without its glued values"
    assert check(notebook) == []


def _notebook(markdown: str, verdicts: dict[str, str]) -> dict:
    outputs = [
        {
            "data": {"application/papermill.record/text/plain": repr(value)},
            "metadata": {
                "scrapbook": {"mime_prefix": "application/papermill.record/", "name": name}
            },
            "output_type": "display_data",
        }
        for name, value in verdicts.items()
    ]
    return {
        "cells": [
            {"cell_type": "markdown", "source": [markdown]},
            {"cell_type": "code", "source": [], "outputs": outputs},
        ]
    }


@pytest.mark.parametrize(
    ("markdown", "wrong"),
    [
        ("Dice alone moves it by {glue:text}`delta_loss_dice:+.4f`, which is shown.", True),
        ("Dice alone moves it by {glue:text}`delta_loss_dice:+.4f`: not shown.", False),
        ("Dice alone moves it by {glue:text}`delta_loss_dice:+.4f`.", True),
        ("Dice alone: {glue:text}`delta_loss_dice:+.4f` ({glue:text}`verdict_loss_dice`).", False),
        ("On real photos it is shown ({glue:text}`real_delta_loss_dice:+.4f`).", False),
        ("On real photos {glue:text}`real_delta_size_32x48:+.4f` is shown.", True),
        # List items are read one by one: the first item's claim is not the second's.
        (
            "- Real: {glue:text}`real_delta_loss_dice:+.4f`, shown.\n"
            "- Real: {glue:text}`real_delta_size_32x48:+.4f`, not shown.",
            False,
        ),
    ],
)
def test_the_check_catches_a_claim_the_rule_does_not_make(markdown, wrong):
    verdicts = {
        "verdict_loss_dice": "not shown",
        "real_verdict_loss_dice": "shown: lower",
        "real_verdict_size_32x48": "not shown",
    }
    assert bool(check(_notebook(markdown, verdicts))) == wrong
