"""Downloading with the kaggle client, faked: never the network."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests

from carvana_tutorial.errors import DownloadError
from carvana_tutorial.tools.download import COMPETITION, RULES_URL, download, kaggle_api

TRAINING = ["train_hq.zip", "train_masks.zip", "train_masks.csv.zip"]


def zip_bytes(name: str) -> bytes:
    """A zip like Kaggle's: a folder of photos, or the one csv of ``train_masks.csv.zip``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if name.endswith(".csv.zip"):
            archive.writestr(name.removesuffix(".zip"), "img,rle_mask\n0123456789ab_01.jpg,1 5\n")
        else:
            archive.writestr(f"{name.removesuffix('.zip')}/0123456789ab_01.jpg", name.encode() * 50)
    return buffer.getvalue()


class FakeKaggle:
    """Writes what Kaggle would, or fails the way Kaggle does."""

    def __init__(
        self, fail: dict[str, Exception] | None = None, half: bool = False, junk: bool = False
    ):
        self.calls: list[str] = []
        self.fail = fail or {}
        self.half = half
        self.junk = junk

    def competition_download_file(
        self, competition, file_name, path=None, force=False, quiet=False
    ):
        assert competition == COMPETITION
        self.calls.append(file_name)
        data = b"<html>oops</html>" if self.junk else zip_bytes(file_name)
        out = Path(path) / file_name
        if file_name in self.fail:
            if self.half:
                out.write_bytes(data[: len(data) // 2])
            raise self.fail[file_name]
        out.write_bytes(data)


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Client Error", response=response)


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Kaggle credentials anywhere the real client looks; returns its (empty) config folder."""
    from kaggle.api.kaggle_api_extended import KaggleApi

    for var in (
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_API_TOKEN",
        "KAGGLE_CONFIG_DIR",
        "KAGGLE_KERNEL_RUN_TYPE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # The client fixes its config folder when first imported, perhaps before HOME was patched.
    config = tmp_path / "home" / ".kaggle"
    config.mkdir(parents=True)
    monkeypatch.setattr(KaggleApi, "config_dir", str(config))
    monkeypatch.setattr(KaggleApi, "config", str(config / "kaggle.json"))
    return config


def test_downloads_only_the_training_zips(tmp_path: Path) -> None:
    fake = FakeKaggle()
    paths = download(tmp_path / "data", client=fake, progress=False)
    assert fake.calls == TRAINING
    assert [p.name for p in paths] == TRAINING
    assert all(zipfile.is_zipfile(p) for p in paths)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == sorted(TRAINING)
    with zipfile.ZipFile(tmp_path / "data" / "train_masks.csv.zip") as archive:
        assert archive.namelist() == ["train_masks.csv"]


def test_with_test_adds_the_test_zip(tmp_path: Path) -> None:
    fake = FakeKaggle()
    download(tmp_path, with_test=True, client=fake, progress=False)
    assert fake.calls == TRAINING + ["test_hq.zip"]


def test_only_a_missing_csv_zip_is_fetched_again(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    (tmp_path / "train_masks.csv.zip").unlink()  # data downloaded before the csv was fetched too
    fake = FakeKaggle()
    download(tmp_path, client=fake, progress=False)
    assert fake.calls == ["train_masks.csv.zip"]
    assert zipfile.is_zipfile(tmp_path / "train_masks.csv.zip")


def test_a_broken_zip_download_did_not_write_is_never_replaced(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    page = b"<html>503 Service Unavailable</html>"  # saved by another tool: ours arrive whole
    (tmp_path / "train_masks.csv.zip").write_bytes(page)
    fake = FakeKaggle()
    with pytest.raises(DownloadError, match="train_masks.csv.zip is damaged.*never replaces"):
        download(tmp_path, client=fake, progress=False)
    assert fake.calls == [] and (tmp_path / "train_masks.csv.zip").read_bytes() == page


def test_complete_zips_are_not_fetched_again(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    again = FakeKaggle()
    download(tmp_path, client=again, progress=False)
    assert again.calls == []
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_the_client_factory_is_only_called_when_needed(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)

    def factory():
        raise AssertionError("nothing to download, so no login")

    download(tmp_path, client=factory, progress=False)


def test_a_download_failing_half_way_keeps_what_was_there(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    (tmp_path / "train_masks.zip").unlink()
    kept = (tmp_path / "train_hq.zip").read_bytes()
    fake = FakeKaggle(
        fail={"train_masks.zip": requests.ConnectionError("Connection reset by peer")}, half=True
    )
    failed = "downloading train_masks.zip failed .*Connection reset.*run the command again"
    with pytest.raises(DownloadError, match=failed):
        download(tmp_path, client=fake, progress=False)
    assert (tmp_path / "train_hq.zip").read_bytes() == kept
    assert not (tmp_path / "train_masks.zip").exists()  # no half file under the final name
    # the client's partial file stays hidden, so a rerun can resume it
    assert (tmp_path / ".train_masks.zip.partial").is_dir()
    download(tmp_path, client=FakeKaggle(), progress=False)
    assert zipfile.is_zipfile(tmp_path / "train_masks.zip")
    assert not (tmp_path / ".train_masks.zip.partial").exists()


def test_the_csv_zip_is_resumed_like_the_others(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    (tmp_path / "train_masks.csv.zip").unlink()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fake = FakeKaggle(
        fail={"train_masks.csv.zip": requests.ConnectionError("Read timed out")}, half=True
    )
    with pytest.raises(
        DownloadError, match="downloading train_masks.csv.zip failed .*run the command again"
    ):
        download(tmp_path, client=fake, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not (tmp_path / "train_masks.csv.zip").exists()
    assert (tmp_path / ".train_masks.csv.zip.partial" / "train_masks.csv.zip").is_file()
    download(tmp_path, client=FakeKaggle(), progress=False)
    assert zipfile.is_zipfile(tmp_path / "train_masks.csv.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TRAINING)


def test_a_file_named_after_the_url_is_found(tmp_path: Path) -> None:
    class Renaming(FakeKaggle):
        def competition_download_file(
            self, competition, file_name, path=None, force=False, quiet=False
        ):
            (Path(path) / f"signed-{file_name}").write_bytes(zip_bytes(file_name))

    download(tmp_path, client=Renaming(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TRAINING)
    with zipfile.ZipFile(tmp_path / "train_masks.csv.zip") as archive:
        assert archive.namelist() == ["train_masks.csv"]


def test_forbidden_means_accept_the_rules(tmp_path: Path) -> None:
    fake = FakeKaggle(fail={"train_hq.zip": http_error(403)})
    with pytest.raises(DownloadError, match="HTTP 403") as caught:
        download(tmp_path, client=fake, progress=False)
    assert RULES_URL in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "train_hq.zip").exists()


def test_unauthorized_means_a_new_token(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 401.*kaggle.json"):
        download(
            tmp_path, client=FakeKaggle(fail={"train_hq.zip": http_error(401)}), progress=False
        )


def test_a_damaged_file_is_not_kept(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="incomplete or damaged train_hq.zip"):
        download(tmp_path, client=FakeKaggle(junk=True), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_csv_zip_is_not_kept(tmp_path: Path) -> None:
    download(tmp_path, client=FakeKaggle(), progress=False)
    (tmp_path / "train_masks.csv.zip").unlink()
    with pytest.raises(
        DownloadError, match="incomplete or damaged train_masks.csv.zip: run the command again"
    ):
        download(tmp_path, client=FakeKaggle(junk=True), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_hq.zip", "train_masks.zip"]


def test_missing_credentials_are_one_sentence_saying_how_to_log_in(
    tmp_path: Path, no_credentials: Path, capsys: pytest.CaptureFixture
) -> None:
    """The real client, with no credentials, prints a page of help and calls sys.exit(1)."""
    capsys.readouterr()
    with pytest.raises(
        DownloadError, match="no Kaggle credentials: save an API token from https://www.kaggle.com"
    ) as caught:
        download(tmp_path / "data", progress=False)
    assert "\n" not in str(caught.value) and "access_token" in str(caught.value)
    assert capsys.readouterr().out == "", "the client's page of help is not shown"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("how", ["kaggle.json", "env"])
def test_credentials_are_found(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "kaggle.json":
        (no_credentials / "kaggle.json").write_text('{"username": "u", "key": "k"}')
    else:
        monkeypatch.setenv("KAGGLE_USERNAME", "u")
        monkeypatch.setenv("KAGGLE_KEY", "k")
    assert kaggle_api().get_config_value("username") == "u"
