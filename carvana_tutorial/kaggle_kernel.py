"""Run a chapter on Kaggle, with the real data and a GPU, in one command.

Kaggle has no "open in Kaggle" button that also attaches a competition's data
and turns the GPU on.  Its ``kaggle kernels push`` does, from a folder holding
the notebook and a ``kernel-metadata.json``.  This module writes that folder
for a chapter and pushes it with the official ``kaggle`` client, which is
imported only when needed: it reads credentials at import and calls
``sys.exit`` when there are none.  Introduced in the book's introduction
("Run a chapter yourself").
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import COMPETITION
from .errors import CarvanaError, DownloadError

#: The competition whose files Kaggle mounts under ``/kaggle/input``.
#: The file name ``kaggle kernels push`` reads.
METADATA_FILE = "kernel-metadata.json"
#: Kaggle's slugs: lowercase words joined by hyphens, at least five characters.
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
#: A chapter file name: ``NN_words.ipynb``.
CHAPTER_RE = re.compile(r"^(\d{2})_([a-z0-9_]+)\.ipynb$")

CREDENTIALS_HINT = (
    "Kaggle credentials not found: save an API token from https://www.kaggle.com/settings/api as "
    "~/.kaggle/access_token or in KAGGLE_API_TOKEN (a legacy ~/.kaggle/kaggle.json also works)"
)


def default_book_dir() -> Path:
    """The ``book/`` folder of this repository (the package is installed editable).

    Introduced in the book's introduction.
    """
    return Path(__file__).resolve().parent.parent / "book"


def find_chapter(chapter: str, book_dir: Path | None = None) -> Path:
    """The chapter notebook named by a number (``6``, ``06``), a stem (``06_unet``) or a path.

    Introduced in the book's introduction.
    """
    as_path = Path(chapter)
    if as_path.suffix == ".ipynb" and as_path.is_file():
        return as_path
    book_dir = book_dir or default_book_dir()
    chapters = sorted(p for p in book_dir.glob("*.ipynb") if CHAPTER_RE.match(p.name))
    key = chapter.strip().removesuffix(".ipynb")
    if key.isdigit():
        matches = [p for p in chapters if int(p.name[:2]) == int(key)]
    else:
        matches = [p for p in chapters if key in (p.stem, p.stem[3:])]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in chapters) or "none"
        raise CarvanaError(f"no chapter {chapter!r} in {book_dir} (chapters: {names})")
    return matches[0]


def default_slug(notebook: Path) -> str:
    """``book/06_unet.ipynb`` becomes ``carvana-tutorial-06-unet``.

    Introduced in the book's introduction.
    """
    match = CHAPTER_RE.match(notebook.name)
    stem = f"{match.group(1)}-{match.group(2)}" if match else notebook.stem
    return "carvana-tutorial-" + re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def title_for(slug: str) -> str:
    """A title that Kaggle turns back into ``slug``, so the notebook's address is predictable.

    Introduced in the book's introduction.
    """
    return slug.replace("-", " ").capitalize()


def parse_kernel_id(kernel_id: str) -> tuple[str, str]:
    """Split and check ``user/slug`` (Kaggle rejects slugs under five characters).

    Introduced in the book's introduction.
    """
    user, sep, slug = kernel_id.partition("/")
    if not sep or not user or "/" in slug or not SLUG_RE.match(slug) or len(slug) < 5:
        raise CarvanaError(
            f"bad Kaggle notebook id {kernel_id!r}: use USER/SLUG, the slug in lowercase letters, "
            "digits and hyphens, at least five characters"
        )
    return user, slug


def kernel_metadata(kernel_id: str, code_file: str) -> dict[str, Any]:
    """``kernel-metadata.json`` for a private GPU notebook with the competition attached.

    Internet is on because the chapter's first cell installs this package.
    Introduced in the book's introduction.
    """
    _, slug = parse_kernel_id(kernel_id)
    return {
        "id": kernel_id,
        "title": title_for(slug),
        "code_file": code_file,
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": True,
        "enable_tpu": False,
        "enable_internet": True,
        "dataset_sources": [],
        "competition_sources": [COMPETITION],
        "kernel_sources": [],
        "model_sources": [],
    }


def write_kernel(notebook: Path, out: Path, kernel_id: str) -> Path:
    """Write ``out/<chapter>.ipynb`` (outputs cleared) and ``out/kernel-metadata.json``.

    The stored outputs are the CPU quick profile's; Kaggle re-runs the chapter
    on its GPU, so they are dropped.  Introduced in the book's introduction.
    """
    metadata = kernel_metadata(kernel_id, notebook.name)
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CarvanaError(f"cannot read the chapter {notebook}: {exc!r}") from None
    for cell in cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    out.mkdir(parents=True, exist_ok=True)
    (out / notebook.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    return out


def _kaggle_api() -> Any:
    """The official client, imported here and not at module level (see the module docstring)."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    return KaggleApi()


def authenticated_api(make_api: Callable[[], Any] | None = None) -> Any:
    """A Kaggle client with credentials loaded, or a :class:`~carvana_tutorial.errors.DownloadError` saying how to add them.

    Introduced in the book's introduction.
    """
    # Importing the client already tries to authenticate; without credentials it
    # prints a page of help, then exits.  Our one sentence replaces that page.
    help_text = io.StringIO()
    try:
        with contextlib.redirect_stdout(help_text), contextlib.redirect_stderr(help_text):
            api = (make_api or _kaggle_api)()
            api.authenticate()
    except SystemExit:  # the client's answer to missing credentials
        raise DownloadError(CREDENTIALS_HINT) from None
    return api


def kaggle_user(api: Any) -> str:
    """The user name of the authenticated client.

    Introduced in the book's introduction.
    """
    user = api.get_config_value("username")
    if not user:
        raise DownloadError("your Kaggle credentials name no user: pass --id USER/SLUG")
    return str(user)


def push_kernel(folder: Path, api: Any) -> str:
    """Push ``folder`` with the client's ``kernels_push``; return the notebook's address.

    Introduced in the book's introduction.
    """
    try:
        response = api.kernels_push(str(folder))
    except ValueError as exc:  # the client's own validation of the folder
        raise CarvanaError(f"Kaggle's client rejected {folder}: {exc}") from None
    except OSError as exc:  # requests' HTTP and connection errors are OSErrors
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise DownloadError(
                f"Kaggle refused the push ({status}): check your API token and that you accepted "
                f"the rules of https://www.kaggle.com/competitions/{COMPETITION}"
            ) from None
        raise DownloadError(f"Kaggle push failed: {exc}") from None
    error = getattr(response, "error", None)
    if error:
        raise DownloadError(f"Kaggle refused the notebook: {error}")
    return str(getattr(response, "url", "") or "")
