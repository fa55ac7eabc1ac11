"""Folder sync (issue #17): `files.upload_folder` and `files.download_folder`, on real temporary
folders against the emulator (and, for listings no emulator would send, a loopback server).

Most tests run on both clients: `sync` runs an operation on a `CraftClient` or awaits it on an
`AsyncCraftClient`, both on the same emulator.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import craft_sdk
from craft_sdk import CraftClient, FolderSyncError, SyncProgress, SyncReport
from craft_sdk.testing import CraftEmulator, FakeClock

from .conftest import Runner, either_client, write_tree
from .loopback import LoopbackServer, Reply, SeenRequest


@pytest.fixture
def emu() -> CraftEmulator:
    return CraftEmulator(clock=FakeClock())


@pytest.fixture
def project(emu: CraftEmulator) -> str:
    with emu.client() as client:
        return client.projects.create(name="Synced").id


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, emu: CraftEmulator) -> Iterator[Runner]:
    """Runs `operation(client)` on either client from `emu` (see `either_client`)."""
    with either_client(emu, request.param, max_retries=0) as runner:
        yield runner


def requests_since(emu: CraftEmulator, mark: int) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in emu.requests[mark:]]


def partition(report: SyncReport) -> list[str]:
    """Every path the report names, once per list it is in."""
    lists = (report.sent, report.skipped, report.deleted, report.failed, report.not_attempted)
    return sorted([path for paths in lists for path in paths] + list(report.refused))


# ---- what is sent -----------------------------------------------------------------------------


def test_what_is_sent_honours_ignore_files_and_never_sends_secrets(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(
        tmp_path / "site",
        {
            "index.html": "<h1>Hi</h1>",
            ".gitignore": "*.log\nbuild/\n",
            "debug.log": "noise",
            "build/out.js": "built",
            "assets/app.js": "app()",
            "assets/.gitignore": "!keep.log\n/local-only.txt\n",
            "assets/keep.log": "kept",
            "assets/local-only.txt": "local",
            ".env": "SECRET=1",
            ".env.production": "SECRET=2",
            "assets/.env": "SECRET=3",
            "node_modules/pkg/index.js": "dependency",
            ".git/HEAD": "ref: refs/heads/main",
        },
    )
    report = run(lambda c: c.files.upload_folder(project, folder, include=["**"]))
    assert report.sent == (
        ".gitignore",
        "assets/.gitignore",
        "assets/app.js",
        "assets/keep.log",
        "index.html",
    )
    assert sorted(emu.files[project]) == list(report.sent)
    assert not any("SECRET" in content.decode() for content in emu.files[project].values())
    assert report.bytes_sent == sum(len(c) for c in emu.files[project].values())


def test_include_and_exclude_with_a_prefix(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(
        tmp_path / "dist",
        {"index.html": "i", "docs/a.html": "a", "docs/a.map": "m", "img/logo.png": b"\x89PNG"},
    )
    report = run(
        lambda c: c.files.upload_folder(
            project, folder, prefix="site/", include=["*.html", "img/**"], exclude=["docs/"]
        )
    )
    assert report.sent == ("img/logo.png", "index.html")
    assert sorted(emu.files[project]) == ["site/img/logo.png", "site/index.html"]


# ---- what changed -----------------------------------------------------------------------------


def test_a_rerun_sends_only_the_listing_and_a_changed_file_is_always_sent(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "alpha", "b.txt": "bravo", "c/d.txt": "delta"})
    first = run(lambda c: c.files.upload_folder(project, folder))
    assert len(first.sent) == 3
    mark = len(emu.requests)
    again = run(lambda c: c.files.upload_folder(project, folder))
    assert requests_since(emu, mark) == [("GET", f"/projects/{project}/files")]
    assert (again.sent, again.skipped) == ((), ("a.txt", "b.txt", "c/d.txt"))
    # Same size, same modification time, other content: sent all the same.
    stat = (folder / "b.txt").stat()
    (folder / "b.txt").write_text("BRAVO")
    os.utime(folder / "b.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (folder / "b.txt").stat().st_size == stat.st_size
    changed = run(lambda c: c.files.upload_folder(project, folder))
    assert changed.sent == ("b.txt",)
    assert emu.files[project]["b.txt"] == b"BRAVO"


def test_a_file_changed_in_the_project_by_someone_else_is_sent_again(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "mine", "b.txt": "mine too"})
    run(lambda c: c.files.upload_folder(project, folder))
    assert isinstance(emu.clock, FakeClock)
    emu.clock.advance(1)  # a second later, a colleague writes the same-sized file
    with emu.client() as other:
        other.files.write(project, "a.txt", "MINE")
    report = run(lambda c: c.files.upload_folder(project, folder))
    assert report.sent == ("a.txt",)
    assert emu.files[project]["a.txt"] == b"mine"


def test_without_a_state_file_every_file_is_sent(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "a", "b.txt": "b"})
    run(lambda c: c.files.upload_folder(project, folder, state=None))
    assert not (folder / ".craft").exists()
    assert run(lambda c: c.files.upload_folder(project, folder, state=None)).sent == (
        "a.txt",
        "b.txt",
    )


def test_the_state_file_may_live_elsewhere_and_is_never_sent(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "a"})
    run(lambda c: c.files.upload_folder(project, folder, state="sync.json"))
    again = run(lambda c: c.files.upload_folder(project, folder, state="sync.json"))
    assert (folder / "sync.json").is_file()
    assert again.skipped == ("a.txt",)  # the state kept there is read back
    elsewhere = write_tree(tmp_path / "other", {"b.txt": "b"})
    run(lambda c: c.files.upload_folder(project, elsewhere, state=tmp_path / "elsewhere.json"))
    assert (tmp_path / "elsewhere.json").is_file()
    assert not (elsewhere / ".craft").exists()
    assert sorted(emu.files[project]) == ["a.txt", "b.txt"]  # no state file was sent


# ---- dry runs, deletions, failures ------------------------------------------------------------


def test_a_dry_run_sends_nothing_but_the_listing(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    with emu.client() as client:
        client.files.write_many(project, {"old.txt": "old", "a.txt": "a"})
    folder = write_tree(tmp_path / "site", {"a.txt": "a", "new.txt": "new!"})
    run(lambda c: c.files.upload_folder(project, folder, state=None))
    mark = len(emu.requests)
    plan = run(lambda c: c.files.upload_folder(project, folder, delete=True, dry_run=True))
    assert requests_since(emu, mark) == [("GET", f"/projects/{project}/files")]
    assert plan.dry_run
    assert (plan.sent, plan.deleted, plan.bytes_sent, plan.bytes_deleted) == (
        ("a.txt", "new.txt"),  # no state yet: sent, since nothing says they are the same
        ("old.txt",),
        5,
        3,
    )
    assert "would be" in str(plan)
    assert "old.txt" in emu.files[project]
    assert not (folder / ".craft").exists()  # nor is any state written


def test_delete_removes_only_what_takes_part(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    with emu.client() as client:
        client.files.write_many(
            project, {"gone.html": "x", "keep.map": "x", ".env": "x", "other/z.html": "x"}
        )
    folder = write_tree(tmp_path / "site", {"index.html": "i", ".gitignore": "*.map\n"})
    report = run(
        lambda c: c.files.upload_folder(project, folder, prefix="", delete=True, exclude=["other/"])
    )
    assert report.deleted == ("gone.html",)
    assert sorted(emu.files[project]) == [
        ".env",
        ".gitignore",
        "index.html",
        "keep.map",
        "other/z.html",
    ]


def test_a_partial_failure_deletes_nothing_and_a_rerun_resumes(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    with emu.client() as client:
        client.files.write(project, "stale.txt", "stale")
    folder = write_tree(tmp_path / "site", {f"f{n}.txt": f"file {n}" for n in range(6)})
    emu.fail_next(status=500, method="PUT", path=f"/projects/{project}/files/f2.txt")
    with pytest.raises(FolderSyncError) as caught:
        run(lambda c: c.files.upload_folder(project, folder, delete=True, concurrency=1))
    report = caught.value.report
    assert list(report.failed) == ["f2.txt"]
    assert isinstance(report.failed["f2.txt"], craft_sdk.InternalServerError)
    assert report.sent == ("f0.txt", "f1.txt")
    assert report.not_attempted == ("f3.txt", "f4.txt", "f5.txt", "stale.txt")
    assert report.deleted == ()
    assert partition(report) == sorted([f"f{n}.txt" for n in range(6)] + ["stale.txt"])
    assert "stale.txt" in emu.files[project]  # a failed sync never deletes
    assert "f2.txt" in str(caught.value)

    resumed = run(lambda c: c.files.upload_folder(project, folder, delete=True, concurrency=1))
    assert resumed.sent == ("f2.txt", "f3.txt", "f4.txt", "f5.txt")
    assert resumed.skipped == ("f0.txt", "f1.txt")
    assert resumed.deleted == ("stale.txt",)
    assert sorted(emu.files[project]) == [f"f{n}.txt" for n in range(6)]


def test_progress_reports_files_and_bytes(emu: CraftEmulator, project: str, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "site", {"a.bin": b"a" * 200_000, "b.bin": b"b" * 100_000})
    seen: list[SyncProgress] = []
    with emu.client() as client:
        client.files.upload_folder(project, folder, on_progress=seen.append, concurrency=1)
    assert seen[-1] == SyncProgress(
        files_done=2, files_total=2, bytes_done=300_000, bytes_total=300_000
    )
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)  # never backwards
    assert any(0 < p.bytes_done < 200_000 for p in seen)  # within a file, not only per file


def test_bad_arguments_are_refused_before_anything_is_sent(
    emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "a"})
    with emu.client() as client:
        mark = len(emu.requests)
        with pytest.raises(TypeError, match="include"):
            client.files.upload_folder(project, folder, include="*.html")  # a str is a Sequence
        with pytest.raises(ValueError, match="concurrency"):
            client.files.upload_folder(project, folder, concurrency=0)
        with pytest.raises(ValueError, match=r"'\.\.'"):
            client.files.upload_folder(project, folder, prefix="../up")
        with pytest.raises(FileNotFoundError):
            client.files.upload_folder(project, tmp_path / "missing")
        with pytest.raises(TypeError, match="folder"):
            client.files.upload_folder(project, 42)  # type: ignore[arg-type]
        assert emu.requests[mark:] == []


# ---- downloads --------------------------------------------------------------------------------


def test_a_download_fetches_what_changed_and_deletes_what_is_gone(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    with emu.client() as client:
        client.files.write_many(
            project, {"site/index.html": "i", "site/css/a.css": "a", "other.txt": "o"}
        )
    folder = tmp_path / "out"
    first = run(lambda c: c.files.download_folder(project, folder, prefix="site"))
    assert first.sent == ("css/a.css", "index.html")
    assert (folder / "css" / "a.css").read_text() == "a"
    assert not (folder / "other.txt").exists()
    mark = len(emu.requests)
    again = run(lambda c: c.files.download_folder(project, folder, prefix="site"))
    assert requests_since(emu, mark) == [("GET", f"/projects/{project}/files")]
    assert again.skipped == ("css/a.css", "index.html")
    # A local edit is undone; a file gone from the project goes with delete=True.
    (folder / "index.html").write_text("I")
    write_tree(folder, {"extra.txt": "local", ".env": "SECRET"})
    with emu.client() as client:
        client.files.delete(project, "site/css/a.css")
    report = run(lambda c: c.files.download_folder(project, folder, prefix="site", delete=True))
    assert (report.sent, report.deleted) == (("index.html",), ("css/a.css", "extra.txt"))
    assert (folder / "index.html").read_text() == "i"
    assert not (folder / "css" / "a.css").exists()
    assert (folder / ".env").read_text() == "SECRET"  # never taking part, never deleted


def test_a_download_dry_run_writes_nothing(
    run: Runner, emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    with emu.client() as client:
        client.files.write(project, "a.txt", "abc")
    plan = run(lambda c: c.files.download_folder(project, tmp_path / "new", dry_run=True))
    assert (plan.sent, plan.bytes_sent) == (("a.txt",), 3)
    assert not (tmp_path / "new").exists()


def listing_server(entries: list[dict[str, Any]], contents: dict[str, bytes]) -> LoopbackServer:
    """A server whose listing holds whatever paths the test says, and which serves them."""

    def answer(request: SeenRequest) -> Reply:
        if request.path.endswith("/files"):
            return Reply(json={"success": True, "data": entries})
        name = request.path.split("/files/", 1)[1]
        return Reply(body=contents.get(name, b"served"), headers={"Content-Type": "text/plain"})

    return LoopbackServer(answer)


def test_a_download_skips_only_what_the_listing_still_shows_as_recorded(tmp_path: Path) -> None:
    # The remote half of the change rule: an entry without updatedAt never matches its record,
    # nor one whose size is not the size recorded (even with the same updatedAt).
    stamp = "2026-01-15T10:30:00Z"
    entries = [
        {"path": "a.txt", "type": "file", "size": 6, "updatedAt": stamp},
        {"path": "b.txt", "type": "file", "size": 6},
        {"path": "c.txt", "type": "file", "size": 6, "updatedAt": stamp},
    ]
    contents = {name: name[0].encode() * 6 for name in ("a.txt", "b.txt", "c.txt")}
    folder = tmp_path / "pulled"
    with (
        listing_server(entries, contents) as server,
        CraftClient(api_key="k", base_url=server.url, max_retries=0) as client,
    ):
        first = client.files.download_folder("proj_1", folder)
        entries[2]["size"] = 7  # the same updatedAt, another size
        again = client.files.download_folder("proj_1", folder)
    assert first.sent == ("a.txt", "b.txt", "c.txt")
    assert (again.sent, again.skipped) == (("b.txt", "c.txt"), ("a.txt",))


def test_a_download_refuses_paths_that_would_leave_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "inside"
    folder.mkdir()
    (folder / "link").symlink_to(outside, target_is_directory=True)
    hostile = ["../evil", "/etc/x", "a\\b", "C:/x", "link/x.txt", "fine/ok.txt"]
    entries = [{"path": path, "type": "file", "size": 6} for path in hostile]
    with listing_server(entries, {"fine/ok.txt": b"fine!!"}) as server:
        with CraftClient(api_key="k", base_url=server.url, max_retries=0) as client:
            report = client.files.download_folder("proj_1", folder)
        fetched = [r.path for r in server.requests if "/files/" in r.path]
    assert report.sent == ("fine/ok.txt",)
    assert sorted(report.refused) == sorted(p for p in hostile if p != "fine/ok.txt")
    assert "symlink" in report.refused["link/x.txt"]
    assert len(fetched) == 1  # nothing refused was even asked for
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil").exists()
    assert sorted(p.name for p in folder.iterdir()) == [".craft", "fine", "link"]


def test_an_upload_does_not_follow_symlinks_out_of_the_folder(
    emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    folder = write_tree(tmp_path / "site", {"real.txt": "inside"})
    (folder / "leak.txt").symlink_to(secret)
    (folder / "alias.txt").symlink_to(folder / "real.txt")
    os.mkfifo(folder / "pipe")
    with emu.client() as client:
        report = client.files.upload_folder(project, folder)
    assert report.sent == ("alias.txt", "real.txt")
    assert sorted(report.refused) == ["leak.txt", "pipe"]
    assert b"outside" not in b"".join(emu.files[project].values())


def test_a_state_file_of_another_sort_is_ignored_not_trusted(
    emu: CraftEmulator, project: str, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "site", {"a.txt": "a"})
    state = folder / ".craft" / "sync-state.json"
    with emu.client() as client:
        assert client.files.upload_folder(project, folder).sent == ("a.txt",)
        # The same records, said to be of another version: not trusted, so sent again.
        state.write_text(json.dumps({**json.loads(state.read_text()), "version": 99}))
        assert client.files.upload_folder(project, folder).sent == ("a.txt",)
    assert json.loads(state.read_text())["version"] == 1


def test_an_upload_hashes_the_bytes_it_sent(tmp_path: Path) -> None:
    """Folder sync records the digest of what went out, not of what the file held when planned."""
    import hashlib

    from craft_sdk._body import Upload

    source = tmp_path / "f.bin"
    source.write_bytes(b"x" * 200_000)
    upload = Upload(source, digest=True)
    for _ in upload.chunks():
        break  # an attempt cut short after its first chunk
    assert upload.sent_sha256 is None  # records nothing
    source.write_bytes(b"y" * 200_000)  # changed before the body went out whole
    assert b"".join(upload.chunks()) == b"y" * 200_000
    assert upload.sent_sha256 == hashlib.sha256(b"y" * 200_000).hexdigest()


def test_a_download_hashes_the_bytes_it_wrote(tmp_path: Path) -> None:
    """Folder sync records the digest of the body that landed, of the last attempt only,
    without reading the file back."""
    import hashlib

    from craft_sdk._body import Download

    def broken() -> Iterator[bytes]:
        yield b"x" * 1000
        raise ConnectionError("cut off")  # an attempt that ended halfway

    sink = Download(tmp_path / "f.bin", None, digest=True)
    with pytest.raises(ConnectionError):
        sink.consume(broken(), 2000)
    sink.consume(iter([b"y" * 1000, b"z" * 1000]), 2000)  # the retry, whole
    sink.commit()
    landed = (tmp_path / "f.bin").read_bytes()
    assert landed == b"y" * 1000 + b"z" * 1000
    assert sink.written_sha256 == hashlib.sha256(landed).hexdigest()
    assert Download(tmp_path / "g.bin", None).written_sha256 is None  # only when asked for
