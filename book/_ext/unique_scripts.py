"""Sphinx extension: load each page script once.

sphinx-thebe and sphinx-togglebutton, which Jupyter Book v1 always enables,
register inline scripts such as ``const THEBE_JS_URL = ...`` after the HTML
builder is set up.  With Sphinx 7.4 each page then carries them twice (once
with the file name ``None``, once ``""``), and the repeated ``const`` is a
SyntaxError in every reader's console.  This drops the repeats before the
page is written; tests/test_browser.py checks the console stays clean.
"""

from __future__ import annotations

from typing import Any


def drop_repeated_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        key = (
            script.filename or "",
            str(getattr(script, "attributes", {}).get("body", "")),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Any) -> dict:
    # Run after every other extension has added its scripts to the page.
    app.connect("html-page-context", drop_repeated_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
