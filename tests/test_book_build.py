"""The HTML book: it builds with warnings as errors, has every page, and no link leads nowhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_pages() -> list[str]:
    """The toc's files, as the HTML pages they become (``book/01_data.html``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f"{f}.html" for f in files]


class Links(HTMLParser):
    """Collects href/src targets and element ids of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)
            if name in ("id", "name") and value:
                self.ids.add(value)


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def local_targets(page: Path, html: Path, targets: list[str]) -> list[tuple[str, Path, str]]:
    """(target as written, file it points to, fragment) for links that stay inside the book."""
    out = []
    for target in targets:
        parts = urlsplit(target)
        if parts.scheme or target.startswith(("//", "mailto:", "javascript:", "data:")):
            continue
        path = unquote(parts.path)
        file = (
            page
            if not path
            else (html / path.lstrip("/") if path.startswith("/") else page.parent / path)
        )
        out.append((target, file.resolve(), parts.fragment))
    return out


def test_every_toc_page_is_built(built_book: Path) -> None:
    missing = [p for p in toc_pages() if not (built_book / p).is_file()]
    assert missing == []
    assert (built_book / "search.html").is_file() and (built_book / "genindex.html").is_file()


def test_no_internal_link_or_asset_is_broken(built_book: Path) -> None:
    # _static holds the theme's templates, not pages.
    pages = sorted(
        p for p in built_book.rglob("*.html") if "_static" not in p.relative_to(built_book).parts
    )
    parsed = {page.resolve(): parse(page) for page in pages}
    broken = []
    for page in pages:
        for target, file, fragment in local_targets(
            page, built_book, parsed[page.resolve()].targets
        ):
            if file.is_dir():
                file = file / "index.html"
            if not file.exists():
                broken.append(f"{page.relative_to(built_book)}: {target} (no such file)")
            elif (
                fragment
                and file.suffix == ".html"
                and file in parsed
                and fragment not in parsed[file].ids
            ):
                broken.append(f"{page.relative_to(built_book)}: {target} (no such anchor)")
    assert broken == []


def test_the_test_checks_links_for_real(tmp_path: Path) -> None:
    """The link check finds a missing file and a missing anchor (so its silence above means
    something)."""
    (tmp_path / "a.html").write_text(
        '<a href="b.html#x">b</a><img src="_static/gone.png"><a href="#top" id="top">'
    )
    (tmp_path / "b.html").write_text('<p id="y">b</p>')
    links = local_targets(tmp_path / "a.html", tmp_path, parse(tmp_path / "a.html").targets)
    assert [(t, f.exists(), frag) for t, f, frag in links] == [
        ("b.html#x", True, "x"),
        ("_static/gone.png", False, ""),
        ("#top", True, "top"),
    ]
    assert "x" not in parse(tmp_path / "b.html").ids


@pytest.mark.parametrize("page", [p for p in toc_pages() if re.search(r"/\d\d_", p)])
def test_chapter_has_a_colab_launch_button(built_book: Path, page: str) -> None:
    notebook = page.removesuffix(".html") + ".ipynb"
    expected = f"https://colab.research.google.com/github/carvana-tutorial/carvana-tutorial/blob/main/{notebook}"
    assert expected in (built_book / page).read_text(encoding="utf-8")


def test_api_page_documents_the_package(built_book: Path) -> None:
    ids = parse(built_book / "book" / "api.html").ids
    for name in (
        "carvana_tutorial.rle.rle_encode",
        "carvana_tutorial.data.pair_files",
        "carvana_tutorial.errors.DataError",
    ):
        assert name in ids, f"{name} is missing from the API page"


def test_bibliography_lists_the_works_cited(built_book: Path) -> None:
    text = (built_book / "book" / "bibliography.html").read_text(encoding="utf-8").lower()
    for title in (
        "Convolutional Networks for Biomedical Image Segmentation",
        "Deep Learning with",
        "Delving Deep into Rectifiers",
        "Carvana Image Masking Challenge",
        "Image Segmentation: An In-Depth Guide",
    ):
        assert title.lower() in text
    intro = (built_book / "book" / "intro.html").read_text(encoding="utf-8")
    assert intro.count('href="bibliography.html#id') >= 5, (
        "the intro's citations link to the bibliography"
    )


def test_api_page_links_every_object_to_its_source(built_book: Path) -> None:
    targets = parse(built_book / "book" / "api.html").targets
    assert any(t.endswith("_modules/carvana_tutorial/rle.html#rle_encode") for t in targets)
    assert (built_book / "_modules" / "carvana_tutorial" / "training.html").is_file()


@pytest.mark.parametrize("page", [p for p in toc_pages() if re.search(r"/\d\d_", p)])
def test_chapter_page_leaves_out_the_install_cell(built_book: Path, page: str) -> None:
    assert "pip install" not in (built_book / page).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("page", "definition"),
    [
        ("book/04_simple_unet.html", "def simple_unet("),
        ("book/06_unet.html", "def train("),
        ("book/08_submission.html", "def rle_encode("),
    ],
)
def test_chapter_page_shows_highlighted_package_source(
    built_book: Path, page: str, definition: str
) -> None:
    html = (built_book / page).read_text(encoding="utf-8")
    blocks = re.findall(r'<div class="highlight-python[^"]*">(.*?)</div>\s*</div>', html, re.DOTALL)
    text = [re.sub(r"<[^>]+>", "", block) for block in blocks]
    assert any(definition in t for t in text), f"{page} does not show {definition}"
