"""Download the competition's zips with the official ``kaggle`` client.

Only what training needs is fetched: ``train_hq.zip``, ``train_masks.zip`` and
``train_masks.csv.zip`` (the same masks as a small run-length table, which the
pipeline decodes faster than the GIFs), plus ``test_hq.zip`` for a submission;
never the low-resolution ``train.zip``/``test.zip``.  Each file is downloaded
into a hidden folder and renamed into place once it is a complete zip, so an
interrupted download never leaves a half file under the final name, and the
client resumes it next time.  The client is imported lazily: importing it
already tries to log in.
Introduced in chapter 1.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..config import COMPETITION
from ..errors import DownloadError
from ..layout import MASKS_CSV_ZIP
from .extract import TEST_ZIP, TRAIN_ZIPS

RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
HOW_TO_LOG_IN = (
    "create an API token at https://www.kaggle.com/settings (section API) and save kaggle.json as "
    "~/.kaggle/kaggle.json (or set KAGGLE_USERNAME and KAGGLE_KEY, or KAGGLE_API_TOKEN)"
)
TOKEN_HELP = f"no Kaggle credentials: {HOW_TO_LOG_IN}"


class KaggleClient(Protocol):
    """The one method of ``kaggle.KaggleApi`` we use (tests pass a fake)."""

    def competition_download_file(self, competition: str, file_name: str, path: str | None = None,
                                  force: bool = False, quiet: bool = False) -> None: ...


def _config_dirs() -> list[Path]:
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return [Path(os.environ["KAGGLE_CONFIG_DIR"])]
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path.home() / ".kaggle", xdg / "kaggle"]


def has_credentials() -> bool:
    """Whether any of the ways the kaggle client logs in is set up.

    Checked before importing the client, which would otherwise print its own
    help and call ``sys.exit``.  Introduced in chapter 1.
    """
    env = os.environ
    if env.get("KAGGLE_API_TOKEN") or (env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY")):
        return True
    if env.get("KAGGLE_KERNEL_RUN_TYPE"):  # inside a Kaggle notebook the client finds its own token
        return True
    files = ("kaggle.json", "access_token", "access_token.txt", "credentials.json")
    return any((folder / name).is_file() for folder in _config_dirs() for name in files)


def kaggle_client() -> KaggleClient:
    """An authenticated ``KaggleApi``, or a :class:`~carvana_tutorial.errors.DownloadError` saying how to get one.

    Introduced in chapter 1.
    """
    if not has_credentials():
        raise DownloadError(TOKEN_HELP)
    # The client prints a page of help and calls sys.exit(1) when it cannot
    # log in, even on import; keep its words out and ours in.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
        except SystemExit:
            raise DownloadError(TOKEN_HELP) from None
    return api


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _explain(exc: Exception, name: str) -> DownloadError:
    """One sentence for a failed download, saying what to do next."""
    status = _status(exc)
    if status == 403:
        return DownloadError(
            f"Kaggle refused {name} (HTTP 403): accept the competition rules at {RULES_URL} "
            "with the account of your API token, then run the command again"
        )
    if status == 401:
        return DownloadError(f"Kaggle rejected the credentials (HTTP 401): {HOW_TO_LOG_IN}")
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return DownloadError(
        f"downloading {name} failed ({detail[:200]}); files already downloaded are kept, "
        "run the command again to resume"
    )


def _downloaded(partial: Path, name: str) -> Path | None:
    """The file the client wrote: ``name``, or the one zip it named after the URL."""
    if (partial / name).is_file():
        return partial / name
    zips = [p for p in partial.glob("*.zip") if p.is_file()]
    return zips[0] if len(zips) == 1 else None


def download(
    dest: Path,
    *,
    with_test: bool = False,
    client: KaggleClient | Callable[[], KaggleClient] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Fetch the wanted zips into ``dest`` and return their paths.

    Complete zips already in ``dest`` are kept and not fetched again.
    ``client`` is a logged-in ``KaggleApi`` or a factory for one (default:
    :func:`kaggle_client`, only called when something is missing).
    Introduced in chapter 1.
    """
    dest = Path(dest)
    names = TRAIN_ZIPS + (MASKS_CSV_ZIP,) + ((TEST_ZIP,) if with_test else ())
    todo = [n for n in names if not zipfile.is_zipfile(dest / n)]
    if not todo:
        return [dest / n for n in names]
    if client is None:
        client = kaggle_client()
    elif not hasattr(client, "competition_download_file"):
        client = client()
    dest.mkdir(parents=True, exist_ok=True)
    for name in todo:
        partial = dest / f".{name}.partial"  # kept on failure so the client can resume
        partial.mkdir(exist_ok=True)
        try:
            client.competition_download_file(COMPETITION, name, path=str(partial), quiet=not progress)
        except DownloadError:
            raise
        except Exception as exc:  # the client raises requests/urllib3/OS errors alike
            raise _explain(exc, name) from None
        got = _downloaded(partial, name)
        if got is None or not zipfile.is_zipfile(got):
            shutil.rmtree(partial, ignore_errors=True)
            raise DownloadError(f"Kaggle sent an incomplete or damaged {name}: run the command again")
        os.replace(got, dest / name)
        shutil.rmtree(partial, ignore_errors=True)
    return [dest / n for n in names]
