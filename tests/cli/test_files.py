"""`craft files ...` against the in-process emulator: one file (ls, cat, put, rm, download) and
folders (push, pull with --delete, --dry-run, --include, --exclude)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from craft_sdk import CraftClient, SyncProgress
from craft_sdk.cli._output import Output
from craft_sdk.cli._progress import progress_bar
from craft_sdk.testing import CraftEmulator

from .conftest import Terminal, craft


def test_ls_cat_put_rm_download(
    client: CraftClient, emu: CraftEmulator, project_id: str, tmp_path: Path
) -> None:
    local = tmp_path / "logo.bin"
    local.write_bytes(bytes(range(256)) * 10)

    put = craft(client, "-q", "files", "put", project_id, str(local), "img/logo.bin")
    assert put.exit_code == 0, put.stderr
    assert put.stdout == "img/logo.bin\n"
    assert put.stderr == ""  # no terminal: no progress bar
    assert emu.files[project_id]["img/logo.bin"] == local.read_bytes()

    craft(client, "files", "put", project_id, str(local))  # by default, under its own name
    listed = json.loads(craft(client, "--json", "files", "ls", project_id).stdout)
    assert {entry["path"] for entry in listed} >= {"img/logo.bin", "logo.bin"}
    plain = craft(client, "files", "ls", project_id).stdout.splitlines()
    assert plain[0] == "path\ttype\tsize\tupdatedAt"

    cat = craft(client, "files", "cat", project_id, "img/logo.bin")
    assert cat.stdout_bytes == local.read_bytes()

    target = tmp_path / "copy.bin"
    downloaded = craft(client, "--json", "files", "download", project_id, "logo.bin", str(target))
    assert downloaded.exit_code == 0
    assert json.loads(downloaded.stdout)["size"] == 2560
    assert target.read_bytes() == local.read_bytes()

    removed = craft(client, "-q", "files", "rm", project_id, "logo.bin")
    assert removed.stdout == "logo.bin\n"
    assert "logo.bin" not in emu.files[project_id]
    missing = craft(client, "files", "cat", project_id, "logo.bin")
    assert missing.exit_code == 1
    assert "not found" in missing.stderr


def test_download_defaults_to_the_name_here(
    client: CraftClient, project_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.files.write(project_id, "docs/readme.txt", "read me")
    monkeypatch.chdir(tmp_path)
    assert craft(client, "files", "download", project_id, "docs/readme.txt").exit_code == 0
    assert (tmp_path / "readme.txt").read_text() == "read me"


def test_push_then_push_again_sends_nothing(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path
) -> None:
    first = craft(client, "--json", "files", "push", str(site), "--project", project_id)
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)
    assert sorted(report["sent"]) == ["about.html", "css/site.css", "index.html"]
    assert "3 uploaded" in first.stderr
    assert set(emu.files[project_id]) == {"about.html", "css/site.css", "index.html"}

    again = craft(client, "-q", "files", "push", str(site), "--project", project_id)
    assert again.stdout == ""
    assert again.stderr == ""


def test_push_dry_run_include_exclude_delete(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path
) -> None:
    client.files.write(project_id, "old.html", "stale")
    dry = craft(client, "files", "push", str(site), "--project", project_id, "--dry-run")
    assert dry.exit_code == 0
    assert "upload\tindex.html" in dry.stdout.splitlines()
    assert "would be" in dry.stderr
    assert set(emu.files[project_id]) == {"old.html"}

    only_html = craft(
        client, "-q", "files", "push", str(site), "--project", project_id,
        "--include", "*.html", "--exclude", "about.html", "--delete",
    )  # fmt: skip
    assert only_html.exit_code == 0, only_html.stderr
    assert only_html.stdout.split() == ["index.html", "old.html"]
    assert set(emu.files[project_id]) == {"index.html"}


def test_pull_into_a_folder(client: CraftClient, project_id: str, tmp_path: Path) -> None:
    client.files.write(project_id, "a.txt", "A")
    client.files.write(project_id, "src/b.txt", "B")
    into = tmp_path / "pulled"
    (into).mkdir()
    (into / "extra.txt").write_text("mine")
    result = craft(client, "-q", "files", "pull", str(into), "--project", project_id, "--delete")
    assert result.exit_code == 0, result.stderr
    assert sorted(result.stdout.split()) == ["a.txt", "extra.txt", "src/b.txt"]
    assert (into / "src" / "b.txt").read_text() == "B"
    assert not (into / "extra.txt").exists()


def test_push_and_pull_under_a_prefix_with_filters(
    client: CraftClient, emu: CraftEmulator, project_id: str, site: Path, tmp_path: Path
) -> None:
    pushed = craft(
        client, "-q", "files", "push", str(site), "--project", project_id, "--prefix", "www"
    )
    assert pushed.exit_code == 0, pushed.stderr
    assert set(emu.files[project_id]) == {"www/index.html", "www/about.html", "www/css/site.css"}

    into = tmp_path / "pulled"
    pull = ("files", "pull", str(into), "--project", project_id, "--prefix", "www")
    dry = craft(client, *pull, "--dry-run", "--include", "*.html", "--exclude", "about.html")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.splitlines() == ["download\tindex.html"]
    assert not into.exists()

    pulled = craft(client, *pull, "--include", "*.html", "--exclude", "about.html", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["sent"] == ["index.html"]
    pulled_files = {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()}
    assert pulled_files == {"index.html", ".craft/sync-state.json"}
    assert (into / "index.html").read_text() == "<h1>hi</h1>"


@pytest.mark.parametrize(
    ("output", "drawn"),
    [(Output(), True), (Output(progress=False), False), (Output(quiet=True), False)],
)
def test_a_progress_bar_on_a_terminal_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch, output: Output, drawn: bool
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(output, "logo.bin") as bar:
        bar.bytes(512, 1024)
    assert ("logo.bin" in terminal.getvalue()) is drawn
    assert ("0.5/1.0 kB" in terminal.getvalue()) is drawn


def test_a_folders_bar_counts_files_and_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(Output(), "push site") as bar:
        bar.folder(SyncProgress(files_done=2, files_total=3, bytes_done=1536, bytes_total=2048))
    drawn = terminal.getvalue()
    assert "push site" in drawn
    assert "2/3 files" in drawn
    assert "1.5/2.0 kB" in drawn


def test_no_progress_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    with progress_bar(Output(), "logo.bin") as bar:
        bar.bytes(512, 1024)
    assert piped.getvalue() == ""
