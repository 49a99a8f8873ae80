"""The built book in a real browser: headless Chromium over localhost.

Every page loads with no console error and every figure decodes, the sidebar
reaches every chapter, and the search page finds "dice".  A screenshot of each
chapter is saved under ``_build/screenshots/``.  Without Debian's ``chromium``
the tests skip and say why, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Hosts a reader's browser fetches from (MathJax for the dice chapter's formulas).  The tests
#: run offline, so these requests are answered with an empty file and recorded.
ALLOWED_EXTERNAL_HOSTS = {"cdn.jsdelivr.net"}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("/usr/bin/chromium")


def chapter_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{c['file']}.html" for part in toc["parts"] for c in part["chapters"]]


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{reason}; CI must run the browser test (.ci/run installs chromium)", pytrace=False
        )
    pytest.skip(
        f"{reason}: install Debian's chromium (apt-get install chromium) to run the browser test"
    )


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(built_book: Path) -> Iterator[str]:
    """The built HTML, served on a free localhost port."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built_book))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class Browser:
    """One page in headless Chromium that records console errors and outside requests."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.errors: list[str] = []
        self.external: list[str] = []
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.errors.append(f"{page.url}: {msg.text}"),
        )
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), self._outside)

    def _outside(self, route: object) -> None:
        url = route.request.url
        self.external.append(url)
        kind = "text/css" if url.endswith(".css") else "application/javascript"
        route.fulfill(status=200, content_type=kind, body="")

    def visit(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, (
            f"{url} answered {response and response.status}"
        )

    def layout_problems(self) -> list[str]:
        """Raw Markdown table rows shown as text, and code blocks wider than their column."""
        return self.page.evaluate(
            r"""() => {
                const problems = [];
                const main = document.querySelector("main") || document.body;
                const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
                while (walker.nextNode()) {
                    const node = walker.currentNode;
                    if (node.parentElement.closest("pre, code, script, style")) continue;
                    const text = node.textContent;
                    if (/^\s*\|.*\|\s*$/m.test(text) && /\|\s*-{3,}/.test(text)) {
                        problems.push("raw Markdown table: " + text.trim().slice(0, 60));
                    }
                }
                for (const pre of main.querySelectorAll("pre")) {
                    if (pre.scrollWidth > pre.clientWidth + 1) {
                        const widest = pre.innerText.split("\n")
                            .reduce((a, b) => b.length > a.length ? b : a, "");
                        const sizes = `${pre.scrollWidth} > ${pre.clientWidth} px`;
                        problems.push(`code wider than its column (${sizes}): ` +
                                      widest.trim().slice(0, 60));
                    }
                }
                return problems;
            }"""
        )

    def images(self) -> list[tuple[str, bool]]:
        """Every image of the page and whether it decodes to a picture (lazy ones are made eager
        first)."""
        results = self.page.evaluate(
            """async () => Promise.all([...document.images].map(async (img) => {
                   img.loading = "eager";
                   try { await img.decode(); } catch (e) {}
                   return [img.getAttribute("src"), img.complete && img.naturalWidth > 0];
               }))"""
        )
        return [(src, ok) for src, ok in results]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        unavailable("no chromium on this machine")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        yield Browser(page)
        chromium.close()


@pytest.fixture(scope="module")
def sidebar_links(site: str, browser: Browser) -> list[str]:
    """Absolute URLs of the sidebar's links, as a reader finds them on the first page."""
    browser.visit(site)  # index.html forwards to the intro
    selector = ".bd-sidebar-primary nav a.reference.internal"
    browser.page.wait_for_selector(selector)
    hrefs = browser.page.eval_on_selector_all(selector, "as => as.map(a => a.href)")
    return [urljoin(browser.page.url, h).split("#")[0] for h in hrefs]


def test_navigation_reaches_every_chapter(site: str, sidebar_links: list[str]) -> None:
    reached = {urlsplit(u).path.lstrip("/") for u in sidebar_links}
    assert [p for p in chapter_pages() if p not in reached] == []


def test_every_page_loads_clean_with_its_figures(
    site: str, browser: Browser, sidebar_links: list[str]
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    broken, figures, layout = {}, 0, {}
    for url in dict.fromkeys([site, *sidebar_links]):
        browser.visit(url)
        if url != site and (problems := browser.layout_problems()):  # the site's root only forwards
            layout[urlsplit(url).path] = problems
        heading = browser.page.locator("main h1").first.inner_text()
        assert heading.strip(), f"{url} has no title"
        images = browser.images()
        if bad := [src for src, ok in images if not ok]:
            broken[url] = bad
        path = urlsplit(url).path.lstrip("/")
        figures += len(images) if path in chapter_pages() else 0
        if path in chapter_pages():
            browser.page.screenshot(
                path=str(SCREENSHOTS / f"{Path(path).stem}.png"), full_page=True
            )
    assert broken == {}
    assert layout == {}, "pages show raw Markdown tables or code wider than its column"
    assert figures > 0, "no chapter shows a figure, so the figure check checked nothing"
    assert browser.errors == []
    outside = {urlsplit(u).hostname for u in browser.external}
    assert outside <= ALLOWED_EXTERNAL_HOSTS, (
        f"pages fetch from unexpected hosts: {sorted(outside)}"
    )
    assert {Path(p).stem for p in chapter_pages()} <= {p.stem for p in SCREENSHOTS.glob("*.png")}


def test_layout_check_catches_raw_tables_and_wide_code(site: str, browser: Browser) -> None:
    browser.page.set_content(
        "<main><p>| a | b |\n|---|---|\n| 1 | 2 |</p><table><tr><td>fine</td></tr></table>"
        f"<pre style='width: 300px; overflow-x: auto'>{'x' * 200}</pre><pre>short</pre></main>"
    )
    problems = browser.layout_problems()
    assert len(problems) == 2
    assert problems[0].startswith("raw Markdown table") and problems[1].startswith("code wider")


def test_search_finds_dice(site: str, browser: Browser) -> None:
    browser.visit(urljoin(site, "search.html?q=dice"))
    # Sphinx lists results one by one, then says it has finished.
    browser.page.wait_for_function(
        "() => document.querySelector('#search-results h2')?.innerText === 'Search Results'",
        timeout=30_000,
    )
    assert "found" in browser.page.inner_text("#search-results .search-summary")
    pages = browser.page.eval_on_selector_all(
        "#search-results ul.search li a", "as => as.map(a => a.href)"
    )
    assert any("05_dice" in href for href in pages), pages
    assert browser.errors == []


def test_without_chromium_it_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run"):
        unavailable("no chromium on this machine")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        unavailable("no chromium on this machine")
