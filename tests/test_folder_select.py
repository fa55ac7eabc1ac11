"""Which local files a folder sync takes (craft_sdk._folders.select), on real temporary folders:
ignore files with git's semantics, the defaults never sent, include/exclude, symlinks, special
and unreadable entries, and `Selection.takes_part` agreeing with the walk."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from craft_sdk._folders.select import Filters, Selection, select

from .conftest import write_tree

SECRETS = [".env", ".env.production", "sub/.env"]
NEVER_SENT = [
    *SECRETS,
    ".git/config",
    "sub/.git/HEAD",
    "node_modules/x/a.js",
    "web/node_modules/y.js",
]


def taken(folder: Path, **filters: object) -> list[str]:
    return list(select(folder, Filters(**filters)).files)  # type: ignore[arg-type]


def reasons(selection: Selection) -> dict[str, str]:
    return {skipped.path: skipped.reason for skipped in selection.skipped}


def test_nested_gitignores_follow_git(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.log\nbuild/\n",
            "keep.log": "",
            "app.log": "",
            "main.py": "",
            "only-here.txt": "",
            "a/.gitignore": "!keep.log\n/only-here.txt\n",
            "a/keep.log": "",  # re-included by the deeper file
            "a/other.log": "",
            "a/only-here.txt": "",  # `/only-here.txt` is anchored to a/ ...
            "a/b/only-here.txt": "",  # ... so it does not reach a/b/
            "build/.gitignore": "!x\n",  # never read: build/ is ignored, as in git
            "build/x": "",
        },
    )
    assert taken(tmp_path) == [
        ".gitignore",
        "a/.gitignore",
        "a/b/only-here.txt",
        "a/keep.log",
        "main.py",
        "only-here.txt",
    ]
    assert len(taken(tmp_path, ignore_files=False)) == 12


def test_craftignore_overrides_the_same_directorys_gitignore(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".craftignore": "drafts/\n",
            "drafts/post.md": "",
            "a/.gitignore": "*.txt\n!\n",  # a lone `!` is no pattern: git passes over it
            "a/.craftignore": "!notes.txt\nsecret.md\n",
            "a/notes.txt": "",
            "a/other.txt": "",
            "a/secret.md": "",
            "a/readme.md": "",
        },
    )
    assert taken(tmp_path) == [
        ".craftignore",
        "a/.craftignore",
        "a/.gitignore",
        "a/notes.txt",
        "a/readme.md",
    ]


def test_defaults_are_never_sent_whatever_include_says(tmp_path: Path) -> None:
    write_tree(
        tmp_path, dict.fromkeys([*NEVER_SENT, ".craft/state.json", ".environment", "app.js"], "")
    )
    assert taken(tmp_path) == [".environment", "app.js"]
    assert taken(tmp_path, include=["**"]) == [".environment", "app.js"]
    assert taken(tmp_path, include=[".env"]) == []
    # Turned off, the defaults all come back; the state folder stays out unless it is None.
    assert taken(tmp_path, defaults=False) == sorted([*NEVER_SENT, ".environment", "app.js"])
    assert ".craft/state.json" in taken(tmp_path, defaults=False, state_dir=None)
    write_tree(tmp_path, {"sync/state/s.json": "", "sync/other": ""})
    assert "sync/state/s.json" not in taken(tmp_path, state_dir="sync/state/")
    assert "sync/other" in taken(tmp_path, state_dir="sync/state/")


def test_include_and_exclude_have_gitignore_semantics(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        dict.fromkeys(
            ["index.html", "a/index.html", "a/b/page.html", "docs/guide.md", "docs/api/ref.md"],
            "",
        )
        | {"src/docs/x.md": "", "readme.md": ""},
    )
    assert taken(tmp_path, include=["*.html"]) == ["a/b/page.html", "a/index.html", "index.html"]
    assert taken(tmp_path, include=["/index.html"]) == ["index.html"]
    assert taken(tmp_path, include=["a/**/*.html"]) == ["a/b/page.html", "a/index.html"]
    assert taken(tmp_path, include=["/docs/"]) == ["docs/api/ref.md", "docs/guide.md"]
    assert taken(tmp_path, include=["docs/"]) == [
        "docs/api/ref.md",
        "docs/guide.md",
        "src/docs/x.md",
    ]
    assert taken(tmp_path, exclude=["docs/", "*.html"]) == ["readme.md"]
    assert taken(tmp_path, include=["**/*.md"], exclude=["**/api/**"]) == [
        "docs/guide.md",
        "readme.md",
        "src/docs/x.md",
    ]


@pytest.mark.parametrize(
    ("filters", "error", "message"),
    [
        # The classic mistake: a str is a sequence (of one-letter patterns).
        ({"include": "*.html"}, TypeError, r"not one string: include=\['\*\.html'\]"),
        ({"exclude": "docs/"}, TypeError, r"not one string: exclude=\['docs/'\]"),
        ({"include": ["*.html", 3]}, TypeError, "include patterns must be str, not int"),
        ({"include": [""]}, ValueError, "must not be empty"),
        ({"exclude": ["  "]}, ValueError, "must not be empty"),
        ({"state_dir": "../elsewhere"}, ValueError, "'..'"),
    ],
)
def test_filters_refuse_what_cannot_be_meant(
    filters: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Filters(**filters)  # type: ignore[arg-type]


def test_symlinks_never_lead_out_of_the_folder_nor_into_a_directory(tmp_path: Path) -> None:
    folder = write_tree(
        tmp_path / "folder", {"target.txt": "12345", "sub/f.txt": "", ".env": "KEY"}
    )
    write_tree(tmp_path, {"outside/secret.txt": ""})
    (folder / "link-in").symlink_to("target.txt")
    (folder / "link-out").symlink_to(tmp_path / "outside" / "secret.txt")
    (folder / "link-out-dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (folder / "link-broken").symlink_to("missing.txt")
    (folder / "link-dir").symlink_to("sub", target_is_directory=True)
    (folder / "link-env").symlink_to(".env")
    (tmp_path / "via-link").symlink_to(folder, target_is_directory=True)

    selection = select(tmp_path / "via-link", Filters())

    assert list(selection.files) == ["link-in", "sub/f.txt", "target.txt"]
    assert selection.files["link-in"].size == 5
    assert selection.files["link-in"].location.read_text(encoding="utf-8") == "12345"
    assert reasons(selection) == {
        "link-broken": "a broken symlink",
        "link-dir": "a symlink to a directory",
        "link-env": "a symlink to a file never sent",
        "link-out": "a symlink that leaves the folder",
        "link-out-dir": "a symlink that leaves the folder",
    }


def test_a_fifo_is_skipped_and_never_opened(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": ""})
    os.mkfifo(tmp_path / "pipe")
    outcome: list[Selection] = []
    # Opening a FIFO blocks until a writer comes: a walk that opened it would never return.
    walk = threading.Thread(target=lambda: outcome.append(select(tmp_path, Filters())), daemon=True)
    walk.start()
    walk.join(timeout=10)
    assert outcome, "select blocked on the FIFO"
    assert list(outcome[0].files) == ["a.txt"]
    assert reasons(outcome[0]) == {"pipe": "a special file (FIFO)"}


def test_an_unreadable_directory_is_skipped_and_the_walk_goes_on(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "", "locked/f.txt": "", "z.txt": ""})
    (tmp_path / "locked").chmod(0)
    try:
        selection = select(tmp_path, Filters())
    finally:
        (tmp_path / "locked").chmod(0o755)
    if os.geteuid() == 0:
        # Said, not passed: test_unreadable_entries_are_skipped_whoever_runs_the_tests covers
        # the same for root.
        pytest.skip("permissions do not bind root: the directory is read")
    assert list(selection.files) == ["a.txt", "z.txt"]
    assert reasons(selection)["locked"].startswith("unreadable: PermissionError")
    assert not selection.takes_part("locked/f.txt")


def test_unreadable_entries_are_skipped_whoever_runs_the_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same as above without relying on permissions: root runs the suite in some CI images.
    write_tree(tmp_path, {"a.txt": "", "locked/f.txt": "", "rules/.gitignore": "", "rules/x": ""})
    scandir, read_text = os.scandir, Path.read_text

    def refusing_scandir(path: str) -> object:
        if path.endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    def refusing_read_text(self: Path, *args: object, **kwargs: object) -> str:
        if self.name == ".gitignore":
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    monkeypatch.setattr(Path, "read_text", refusing_read_text)
    selection = select(tmp_path, Filters())
    assert list(selection.files) == ["a.txt"]
    # Its ignore file unread, what `rules/` holds cannot be judged: it is skipped whole.
    assert reasons(selection) == {
        "locked": "unreadable: PermissionError: Permission denied (locked)",
        "rules": "unreadable: PermissionError: Permission denied (.gitignore)",
    }
    assert not selection.takes_part("locked/f.txt")
    assert not selection.takes_part("rules/x")


def test_a_name_the_api_refuses_is_skipped(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a\\b.txt": "", "ok.txt": ""})
    selection = select(tmp_path, Filters())
    assert list(selection.files) == ["ok.txt"]
    assert reasons(selection)["a\\b.txt"].startswith("a name the API refuses: ")


def test_the_folder_must_be_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        select(tmp_path / "missing", Filters())
    write_tree(tmp_path, {"file": ""})
    with pytest.raises(NotADirectoryError, match="not a directory"):
        select(tmp_path / "file", Filters())


def test_takes_part_agrees_with_the_walk(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        dict.fromkeys([*NEVER_SENT, ".craft/state.json", "keep.log", "app.log", "x.html"], "")
        | {
            # `!*.js` cannot re-include build/keep.js: as in git, its directory is ignored.
            ".gitignore": "*.log\nbuild/\n!*.js\n",
            "build/keep.js": "",
            "a/.gitignore": "!keep.log\n/only-here.txt\n",
            "a/.craftignore": "!only-here.txt\n",
            "a/keep.log": "",
            "a/other.log": "",
            "a/only-here.txt": "",
            "a/b/only-here.txt": "",
            "a/b/page.html": "",
            "build/.gitignore": "!x\n",
            "build/x": "",
            "docs/a.md": "",
            "a\\b.txt": "",
        },
    )
    (tmp_path / "link-out").symlink_to("/")
    (tmp_path / "link-in").symlink_to("x.html")
    os.mkfifo(tmp_path / "pipe")
    selection = select(tmp_path, Filters(exclude=["docs/"]))

    on_disk = sorted(
        Path(directory, name).relative_to(tmp_path).as_posix()
        for directory, directories, files in os.walk(tmp_path)
        for name in [*directories, *files]
        if not Path(directory, name).is_dir() or Path(directory, name).is_symlink()
    )
    assert len(on_disk) == 27
    for path in on_disk:
        assert selection.takes_part(path) == (path in selection.files), path
    assert list(selection.files) == sorted(selection.files)
    assert [skipped.path for skipped in selection.skipped] == ["a\\b.txt", "link-out", "pipe"]
    # Remote paths, absent here: the same rules and the ignore files read on the way.
    assert selection.takes_part("new/dir/file.txt")
    assert selection.takes_part("a/new/keep.log")
    assert not selection.takes_part("build/new.js")  # under an ignored directory
    assert not selection.takes_part("a/new.log")
    assert not selection.takes_part(".env")
    assert not selection.takes_part("deep/er/.env.local")
    assert not selection.takes_part("docs/new.md")
    assert not selection.takes_part(".craft/other")
    assert not selection.takes_part("link-out/x")  # under a path the walk passed over
    assert not selection.takes_part("../escape")
    assert not selection.takes_part("/etc/passwd")


def test_import_craft_sdk_does_not_import_pathspec() -> None:
    code = "import craft_sdk, sys; assert 'pathspec' not in sys.modules, 'pathspec imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_no_depth_of_folders_exhausts_the_stack(tmp_path: Path) -> None:
    # Rather than nest a thousand folders (which shutil.rmtree, pytest's cleanup, cannot take
    # down), lower the recursion limit: a walk that recursed per folder would run out of it.
    deepest = tmp_path.joinpath(*["d"] * 120)
    deepest.mkdir(parents=True)
    (deepest / "f").write_bytes(b"")
    path = deepest.relative_to(tmp_path).as_posix() + "/f"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 60)
    try:
        selection = select(tmp_path, Filters())
        taken = selection.takes_part(path)
    finally:
        sys.setrecursionlimit(limit)
    assert list(selection.files) == [path]
    assert taken
