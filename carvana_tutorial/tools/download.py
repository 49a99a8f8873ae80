"""Download the competition's zips we need with the official ``kaggle`` client.  Each lands in a
hidden folder and is renamed into place once it is a complete zip, so a half file never has the
final name.  Introduced in chapter 1."""

import contextlib
import io
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

from ..config import COMPETITION
from ..errors import DownloadError
from ..layout import MASKS_CSV_ZIP
from .extract import TEST_ZIP, TRAIN_ZIPS

RULES_URL = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
LOGIN_HINT = (
    "save an API token from https://www.kaggle.com/settings/api as ~/.kaggle/access_token or in "
    "KAGGLE_API_TOKEN (a legacy ~/.kaggle/kaggle.json, or KAGGLE_USERNAME and KAGGLE_KEY, "
    "also work)"
)


def _token() -> str | None:
    """Where the client finds an API token (it tries one before ``kaggle.json``), if anywhere."""
    if value := os.environ.get("KAGGLE_API_TOKEN"):
        return value if Path(value).exists() else "$KAGGLE_API_TOKEN"
    files = [Path.home() / ".kaggle" / name for name in ("access_token", "access_token.txt")]
    return next((str(path) for path in files if path.exists()), None)


def kaggle_api() -> Any:
    """The official Kaggle client, logged in, or one :class:`DownloadError` sentence saying how to
    log in (instead of the page the client prints before calling ``sys.exit``)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
    except (SystemExit, Exception) as exc:
        # sys.exit without credentials, requests' errors, unreadable files
        from requests import RequestException

        token = _token()
        if isinstance(exc, RequestException):
            where = f" in {token}" if token else ""
            raise DownloadError(
                f"could not reach Kaggle to check the credentials{where} ({type(exc).__name__}): "
                "check the network and run the command again"
            ) from None
        if isinstance(exc, OSError) and exc.filename:
            raise DownloadError(
                f"cannot read the Kaggle credentials {exc.filename} ({exc.strerror}): make it a "
                f"readable file, or {LOGIN_HINT}"
            ) from None
        # The client only says the credentials are missing: name the file at fault.
        config = Path(getattr(KaggleApi, "config", Path.home() / ".kaggle" / "kaggle.json"))
        why = (
            f"Kaggle refused the token in {token} (empty, invalid or expired)"
            if token
            else f"the Kaggle credentials file {config} is broken (not JSON with a username "
            "and a key)"
            if config.exists()
            else "no Kaggle credentials"
        )
        raise DownloadError(f"{why}: {LOGIN_HINT}") from None
    return api


def _explain(exc: Exception, name: str) -> DownloadError:
    status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
        exc, "status", None
    )
    if status == 403:
        return DownloadError(
            f"Kaggle refused {name} (HTTP 403): accept the competition rules at {RULES_URL} "
            "with the account of your API token, then run the command again"
        )
    if status == 401:
        return DownloadError(f"Kaggle rejected the credentials (HTTP 401): {LOGIN_HINT}")
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return DownloadError(
        f"downloading {name} failed ({detail[:200]}); files already downloaded are kept, "
        "run the command again to resume"
    )


def download(
    dest: Path, *, with_test: bool = False, client: Any = None, progress: bool = True
) -> list[Path]:
    """Fetch the wanted zips into ``dest`` (keeping complete ones there) and return their paths.
    ``client`` is a logged-in ``KaggleApi`` or a factory for one, called only when something is
    missing."""
    dest = Path(dest)
    names = TRAIN_ZIPS + (MASKS_CSV_ZIP,) + ((TEST_ZIP,) if with_test else ())
    todo = [n for n in names if not zipfile.is_zipfile(dest / n)]
    if damaged := [dest / n for n in todo if (dest / n).exists() or (dest / n).is_symlink()]:
        raise DownloadError(  # ours arrive whole (renamed when complete): this one is not ours
            f"{damaged[0]} is damaged (not a complete zip), and download never replaces a file "
            "it did not write: delete it (or move it away) and rerun"
        )
    if todo and not hasattr(client, "competition_download_file"):
        client = client() if client is not None else kaggle_api()
    for name in todo:
        partial = dest / f".{name}.partial"  # kept on failure so the client can resume
        partial.mkdir(parents=True, exist_ok=True)
        try:
            client.competition_download_file(
                COMPETITION, name, path=str(partial), quiet=not progress
            )
        except Exception as exc:  # the client raises requests, urllib3 and OS errors alike
            raise _explain(exc, name) from None
        # The client names the file ``name``, or after the URL it was sent.
        got = (
            [partial / name]
            if (partial / name).is_file()
            else [p for p in partial.glob("*.zip") if p.is_file()]
        )
        if len(got) != 1 or not zipfile.is_zipfile(got[0]):
            shutil.rmtree(partial, ignore_errors=True)
            raise DownloadError(
                f"Kaggle sent an incomplete or damaged {name}: run the command again"
            )
        os.replace(got[0], dest / name)
        shutil.rmtree(partial, ignore_errors=True)
    return [dest / n for n in names]
