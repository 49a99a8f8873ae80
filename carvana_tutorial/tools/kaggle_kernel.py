"""Run a chapter on Kaggle with the real data and a GPU: write the folder ``kaggle kernels push``
takes (which, unlike an "open in Kaggle" button, attaches both) and push it. Introduced in the
introduction."""

import json
import re
from pathlib import Path
from typing import Any

from ..config import COMPETITION
from ..errors import CarvanaError, DownloadError
from ..outputs import replaceable, write_atomic

METADATA_FILE = "kernel-metadata.json"
KERNEL_MARKER = ".carvana-kernel"  # the folder's two files were written by kaggle-push
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def find_chapter(chapter: str, book_dir: Path | None = None) -> Path:
    """The chapter named by a number (``6``, ``06``), a stem (``06_unet``, ``unet``) or a path."""
    if (path := Path(chapter)).suffix == ".ipynb" and path.is_file():
        return path
    book_dir = book_dir or Path(__file__).resolve().parents[2] / "book"  # installed editable
    chapters = sorted(
        p for p in book_dir.glob("[0-9][0-9]_*.ipynb") if p.stem[3:].replace("_", "").isalnum()
    )
    key = chapter.strip().removesuffix(".ipynb")
    if key.isdigit():
        matches = [p for p in chapters if int(p.name[:2]) == int(key)]
    else:
        matches = [p for p in chapters if key in (p.stem, p.stem[3:])]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in chapters) or "none"
        raise CarvanaError(f"no chapter {chapter!r} in {book_dir} (chapters: {names})")
    return matches[0]


def parse_kernel_id(kernel_id: str) -> tuple[str, str]:
    """Split and check ``user/slug`` before Kaggle does (it rejects slugs under five characters)."""
    user, sep, slug = kernel_id.partition("/")
    if not sep or not user or "/" in slug or not SLUG_RE.match(slug) or len(slug) < 5:
        raise CarvanaError(
            f"bad Kaggle notebook id {kernel_id!r}: use USER/SLUG, the slug in lowercase letters, "
            "digits and hyphens, at least five characters"
        )
    return user, slug


def kernel_metadata(kernel_id: str, code_file: str) -> dict[str, Any]:
    """A private GPU notebook with the competition attached, internet on for the install."""
    _, slug = parse_kernel_id(kernel_id)
    return {
        "id": kernel_id,
        "title": slug.replace("-", " ").capitalize(),
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
    """Write ``out/<chapter>.ipynb`` (outputs cleared: Kaggle reruns it) and its metadata."""
    metadata = kernel_metadata(kernel_id, notebook.name)
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        for cell in (c for c in nb["cells"] if c.get("cell_type") == "code"):
            cell["outputs"], cell["execution_count"] = [], None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CarvanaError(f"cannot read the chapter {notebook}: {exc!r}") from None
    for name in (notebook.name, METADATA_FILE):  # a file of the user's is never replaced
        replaceable(out / name, "--out", lambda _: (out / KERNEL_MARKER).is_file())
    out.mkdir(parents=True, exist_ok=True)
    (out / KERNEL_MARKER).touch()
    write_atomic(out / notebook.name, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    write_atomic(out / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    return out


def default_kernel_id(notebook: Path, api: Any) -> str:
    """``book/06_unet.ipynb`` becomes ``USER/carvana-tutorial-06-unet``, USER from Kaggle."""
    user = api.get_config_value("username")
    if not user:
        raise DownloadError("your Kaggle credentials name no user: pass --id USER/SLUG")
    slug = re.sub(r"[^a-z0-9]+", "-", notebook.stem.lower()).strip("-")
    return f"{user}/carvana-tutorial-{slug}"


def push_kernel(folder: Path, api: Any) -> str:
    """Push ``folder`` with the client's ``kernels_push``; return the notebook's address."""
    try:
        response = api.kernels_push(str(folder))
    except ValueError as exc:  # the client's own validation of the folder
        raise CarvanaError(f"Kaggle's client rejected {folder}: {exc}") from None
    except OSError as exc:  # requests' HTTP and connection errors are OSErrors
        if getattr(getattr(exc, "response", None), "status_code", None) in (401, 403):
            raise DownloadError(
                f"Kaggle refused the push: check your API token and that you accepted the rules "
                f"of https://www.kaggle.com/competitions/{COMPETITION}"
            ) from None
        raise DownloadError(f"Kaggle push failed: {exc}") from None
    if getattr(response, "error", None):
        raise DownloadError(f"Kaggle refused the notebook: {response.error}")
    return str(getattr(response, "url", "") or "")
