"""kaggle-push: the folder it writes, checked by the kaggle client's own push code (no network)."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import requests
from kaggle.api import kaggle_api_extended
from kaggle.api.kaggle_api_extended import KaggleApi

from carvana_tutorial.errors import CarvanaError, DownloadError
from carvana_tutorial.tools import kaggle_kernel
from carvana_tutorial.tools.commands import data as commands


@pytest.fixture()
def book(tmp_path: Path) -> Path:
    """A book folder with two executed chapters (outputs stored)."""
    folder = tmp_path / "book"
    folder.mkdir()
    for name in ("01_data", "06_unet"):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("print('hello')", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), cell]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


class FakeApi:
    """Stands in for KaggleApi: records pushes, never reaches the network."""

    def __init__(
        self, user: str | None = "alice", response: object = None, credentials: bool = True
    ) -> None:
        self.user, self.credentials, self.pushed = user, credentials, []
        self.response = response or SimpleNamespace(
            error="", url="https://www.kaggle.com/code/alice/x"
        )

    def authenticate(self) -> None:
        if not self.credentials:
            raise SystemExit(1)  # what the real client does without credentials

    def get_config_value(self, name: str) -> str | None:
        return self.user if name == "username" else None

    def kernels_push(self, folder: str) -> object:
        if isinstance(self.response, Exception):
            raise self.response
        self.pushed.append(Path(folder))
        return self.response


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["kaggle-push", *argv])
    return args.func(args)


def use_api(monkeypatch: pytest.MonkeyPatch, api: object) -> None:
    """The command logs in with data.download.kaggle_api, which builds the client it imports from
    here."""
    monkeypatch.setattr(kaggle_api_extended, "KaggleApi", lambda: api)


@pytest.mark.parametrize("name", ["6", "06", "06_unet", "unet", "06_unet.ipynb"])
def test_find_chapter_by_number_or_name(book: Path, name: str) -> None:
    assert kaggle_kernel.find_chapter(name, book) == book / "06_unet.ipynb"


def test_find_chapter_defaults_to_this_repositorys_book() -> None:
    book = Path(__file__).resolve().parents[1] / "book"
    assert kaggle_kernel.find_chapter("6") == book / "06_unet.ipynb"


def test_a_copy_beside_a_chapter_is_not_a_chapter(book: Path) -> None:
    (book / "06_unet-old.ipynb").write_text((book / "06_unet.ipynb").read_text())
    (book / "06_unet copy.ipynb").write_text((book / "06_unet.ipynb").read_text())
    assert kaggle_kernel.find_chapter("6", book) == book / "06_unet.ipynb"


def test_find_chapter_unknown_names_the_chapters(book: Path) -> None:
    with pytest.raises(CarvanaError, match="01_data, 06_unet"):
        kaggle_kernel.find_chapter("9", book)


def test_metadata_attaches_competition_with_gpu_and_internet() -> None:
    meta = kaggle_kernel.kernel_metadata("alice/carvana-tutorial-06-unet", "06_unet.ipynb")
    assert meta["competition_sources"] == ["carvana-image-masking-challenge"]
    assert (meta["enable_gpu"], meta["enable_internet"], meta["is_private"]) == (True, True, True)
    assert (meta["language"], meta["kernel_type"], meta["code_file"]) == (
        "python",
        "notebook",
        "06_unet.ipynb",
    )
    assert meta["dataset_sources"] == meta["kernel_sources"] == []


@pytest.mark.parametrize(
    "bad", ["noslash", "/carvana-x", "alice/abc", "alice/Has_Caps", "a/b/c-long"]
)
def test_bad_ids_are_refused(bad: str) -> None:
    with pytest.raises(CarvanaError, match="USER/SLUG"):
        kaggle_kernel.kernel_metadata(bad, "x.ipynb")


def test_short_slug_rule_matches_the_client() -> None:
    with pytest.raises(ValueError, match="five characters"):
        KaggleApi().validate_kernel_string("alice/abcd")
    with pytest.raises(CarvanaError):
        kaggle_kernel.parse_kernel_id("alice/abcd")
    KaggleApi().validate_kernel_string("alice/abcde")
    assert kaggle_kernel.parse_kernel_id("alice/abcde") == ("alice", "abcde")


def test_the_kaggle_client_accepts_the_folder(
    book: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Run the client's real kernels_push on our folder; only its HTTP client is replaced."""
    folder = kaggle_kernel.write_kernel(
        book / "06_unet.ipynb", tmp_path / "out", "alice/carvana-tutorial-06-unet"
    )
    sent = []

    @contextlib.contextmanager
    def fake_client(self):
        def save(request):
            sent.append(request)
            return SimpleNamespace(error="", url="u")

        yield SimpleNamespace(
            kernels=SimpleNamespace(kernels_api_client=SimpleNamespace(save_kernel=save))
        )

    monkeypatch.setattr(KaggleApi, "build_kaggle_client", fake_client)
    assert kaggle_kernel.push_kernel(folder, KaggleApi()) == "u"
    (request,) = sent
    assert request.slug == "alice/carvana-tutorial-06-unet"
    assert request.competition_data_sources == ["carvana-image-masking-challenge"]
    assert (request.enable_gpu, request.enable_internet, request.is_private) == (True, True, True)
    assert (request.language, request.kernel_type) == ("python", "notebook")
    # The client warns when the title does not give back the slug; ours must.
    assert "does not resolve" not in capsys.readouterr().out
    cells = json.loads(request.text)["cells"]
    assert [c["source"] for c in cells] == ["# 06_unet", "print('hello')"]
    assert cells[1]["outputs"] == []


def test_written_notebook_is_valid_and_cleared(book: Path, tmp_path: Path) -> None:
    folder = kaggle_kernel.write_kernel(
        book / "01_data.ipynb", tmp_path / "k", "bob/carvana-tutorial-01-data"
    )
    nb = nbformat.read(folder / "01_data.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    assert meta["title"] == "Carvana tutorial 01 data"


def test_dry_run_with_id_needs_no_credentials(
    book: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    use_api(monkeypatch, FakeApi(credentials=False))
    out = tmp_path / "out"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")
    code = run_cli(
        ["6", "--book", str(book), "--dry-run", "--out", str(out), "--id", "me/my-unet-run"]
    )
    assert code == 0
    assert json.loads((out / "kernel-metadata.json").read_text())["id"] == "me/my-unet-run"
    assert (out / "notes.txt").read_text() == "mine"
    assert "kaggle kernels push -p" in capsys.readouterr().out


def test_dry_run_without_id_uses_the_kaggle_user(book: Path, tmp_path: Path, monkeypatch) -> None:
    api = FakeApi(user="carol")
    use_api(monkeypatch, api)
    assert run_cli(["1", "--book", str(book), "--dry-run", "--out", str(tmp_path / "o")]) == 0
    meta = json.loads((tmp_path / "o" / "kernel-metadata.json").read_text())
    assert meta["id"] == "carol/carvana-tutorial-01-data"
    assert api.pushed == []


def test_missing_credentials_is_one_clear_sentence(book: Path, tmp_path: Path, monkeypatch) -> None:
    use_api(monkeypatch, FakeApi(credentials=False))
    with pytest.raises(DownloadError) as info:
        run_cli(["6", "--book", str(book), "--out", str(tmp_path / "o")])
    assert "access_token" in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "o").exists()


def test_push_prints_the_address(book: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    api = FakeApi()
    use_api(monkeypatch, api)
    assert run_cli(["6", "--book", str(book), "--out", str(tmp_path / "o")]) == 0
    assert api.pushed == [tmp_path / "o"]
    assert "https://www.kaggle.com/code/alice/x" in capsys.readouterr().out


def test_refused_push_is_a_download_error(book: Path, tmp_path: Path, monkeypatch) -> None:
    use_api(monkeypatch, FakeApi(response=SimpleNamespace(error="Notebook title too long", url="")))
    with pytest.raises(DownloadError, match="title too long"):
        run_cli(["6", "--book", str(book), "--out", str(tmp_path / "o")])


def test_unreachable_kaggle_is_a_download_error(book: Path, tmp_path: Path, monkeypatch) -> None:
    use_api(monkeypatch, FakeApi(response=requests.ConnectionError("Name or service not known")))
    with pytest.raises(DownloadError, match="push failed: Name or service"):
        run_cli(["6", "--book", str(book), "--out", str(tmp_path / "o")])


def test_forbidden_push_points_at_the_rules(book: Path, tmp_path: Path, monkeypatch) -> None:
    forbidden = requests.HTTPError("403 Client Error", response=SimpleNamespace(status_code=403))
    use_api(monkeypatch, FakeApi(response=forbidden))
    with pytest.raises(DownloadError, match="accepted the rules"):
        run_cli(["6", "--book", str(book), "--out", str(tmp_path / "o")])
