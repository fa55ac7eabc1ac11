"""Which local files take part in a folder sync, and which are skipped and why.

A file takes part when the include/exclude patterns accept it, no ignore file leaves it out
(`.gitignore`, then `.craftignore`, nested, with git's semantics), and it is neither one of the
defaults never sent (`.git/`, `node_modules/`, `.env`, `.env.*`) nor in the SDK's state folder.
Patterns are read by `pathspec`, which no other module imports (so `import craft_sdk` does not
load it). The walk never follows a symlink out of the folder or into a directory, never opens a
special file, and says what it passed over. `Selection.takes_part` asks the same of a path that
is not on disk, such as a remote file's.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple, cast

from pathspec import GitIgnoreSpec

from ..resources.files import file_path
from .state import DEFAULT_STATE_DIR

IGNORE_FILES: Final = (".gitignore", ".craftignore")  # in this order: the later one wins
_DEFAULTS: Final = GitIgnoreSpec.from_lines([".git/", "node_modules/", ".env", ".env.*"])
_SPECIAL_KINDS: Final = {
    stat.S_IFIFO: "FIFO",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


@dataclasses.dataclass(frozen=True)
class LocalFile:
    """A regular file that takes part in a sync."""

    path: str  # relative to the folder, "/"-separated
    location: Path  # where to read it: a regular file in the folder, or a link to one
    size: int  # bytes, from the stat taken during the walk


@dataclasses.dataclass(frozen=True)
class Skipped:
    """An entry that would take part but cannot: `reason` says why, for a person to read."""

    path: str  # relative to the folder, "/"-separated
    reason: str


class Filters:
    """Which relative paths take part in a sync, judged by their names alone.

    Args:
        include: Patterns with .gitignore semantics; when given, a file takes part only if one
            matches it. None takes every file.
        exclude: Patterns with .gitignore semantics; a file one matches does not take part.
        ignore_files: Honour the `.gitignore` and `.craftignore` files found in the folder.
        defaults: Leave out `.git/`, `node_modules/`, `.env` and `.env.*` at any depth.
        state_dir: The SDK's state folder, relative to the synced folder: always left out.

    Raises:
        TypeError: `include` or `exclude` is a bare string, or holds something else than strings.
        ValueError: A pattern is empty or invalid, or `state_dir` could leave the folder.
    """

    def __init__(
        self,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        ignore_files: bool = True,
        defaults: bool = True,
        state_dir: str | None = DEFAULT_STATE_DIR,
    ) -> None:
        self.include = None if include is None else _compile(include, "include")
        self.exclude = _compile(() if exclude is None else exclude, "exclude")
        self.ignore_files = ignore_files
        self.defaults = defaults
        self.state_dir = None if state_dir is None else state_dir.rstrip("/")
        if self.state_dir is not None:
            file_path(self.state_dir)  # refuses a path that could leave the folder

    def accepts(self, path: str, *, directory: bool) -> bool:
        """Whether the names of `path` let it take part (include and exclude judge files only)."""
        if self.never_sends(path, directory=directory):
            return False
        if directory:
            return True
        included = self.include is None or _matches(self.include, path)
        return included and not _matches(self.exclude, path)

    def never_sends(self, path: str, *, directory: bool) -> bool:
        """Whether the state folder or the defaults leave `path` out, whatever the patterns say."""
        if self.state_dir is not None and (path + "/").startswith(self.state_dir + "/"):
            return True
        return self.defaults and _matches(_DEFAULTS, path + "/" if directory else path)


class _Rules:
    """All that decides whether a path takes part: the filters, the ignore files the walk read,
    and the paths it passed over (nothing at or under those takes part)."""

    def __init__(self, filters: Filters) -> None:
        self.filters = filters
        self.ignores: dict[str, GitIgnoreSpec] = {}  # directory ("" for the folder) -> its rules
        self.skipped: set[str] = set()

    def directory_takes_part(self, path: str) -> bool:
        return self.filters.accepts(path, directory=True) and not self._ignored(path, "/")

    def file_takes_part(self, path: str) -> bool:
        return self.filters.accepts(path, directory=False) and not self._ignored(path, "")

    def takes_part(self, path: str) -> bool:
        try:
            file_path(path)
        except ValueError:
            return False
        parts = path.split("/")
        directories = ["/".join(parts[:end]) for end in range(1, len(parts))]
        if any(passed in self.skipped for passed in [*directories, path]):
            return False
        # As in the walk, a directory left out hides everything under it.
        return all(map(self.directory_takes_part, directories)) and self.file_takes_part(path)

    def _ignored(self, path: str, suffix: str) -> bool:
        # As in git: the deepest ignore file with a pattern matching the path decides. Only the
        # few directories that have ignore files are tried, so a deep path costs no more.
        holders = [held for held in self.ignores if not held or path.startswith(held + "/")]
        for held in sorted(holders, key=len, reverse=True):
            relative = path[len(held) + 1 :] if held else path
            verdict = self.ignores[held].check_file(relative + suffix).include
            if verdict is not None:
                return verdict
        return False


@dataclasses.dataclass
class Selection:
    """What a walk of the folder found: the files that take part, and what it skipped."""

    files: dict[str, LocalFile]  # path -> file, sorted by path
    skipped: list[Skipped]  # sorted by path
    _rules: _Rules = dataclasses.field(
        default_factory=lambda: _Rules(Filters()), repr=False, compare=False
    )

    @classmethod
    def empty(cls, filters: Filters) -> Selection:
        """The selection of a folder that does not exist (yet): no files, the filters alone."""
        return cls({}, [], _Rules(filters))

    def takes_part(self, path: str) -> bool:
        """Whether a file at `path` (relative, "/"-separated) would take part if it were a
        regular file on disk: the same filters and the ignore files the walk read. False at or
        under a path the walk skipped, and for a path the API refuses."""
        return self._rules.takes_part(path)


def select(folder: Path, filters: Filters) -> Selection:
    """Every regular file under `folder` that takes part in a sync, and what was skipped.

    Args:
        folder: The folder to walk, an existing directory.
        filters: Which paths take part.

    Returns:
        The files that take part and the entries skipped, each sorted by path.

    Raises:
        FileNotFoundError: `folder` does not exist.
        NotADirectoryError: `folder` is not a directory.
        OSError: `folder` itself cannot be read (read as empty, a sync could delete everything).
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(errno.ENOENT, "the folder to sync does not exist", str(folder))
    if not folder.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR, "the folder to sync is not a directory", str(folder)
        )
    walk = _Walk(os.path.realpath(folder), _Rules(filters))
    walk.run()
    skipped = sorted(walk.skipped, key=lambda skip: skip.path)
    return Selection(dict(sorted(walk.files.items())), skipped, walk.rules)


class _Kind(NamedTuple):
    directory: bool  # judged as a directory by the filters
    size: int = 0
    reason: str | None = None  # why it is skipped, if it is


class _Walk:
    """One walk, top-down: a directory's ignore files are read before its entries are judged,
    and a directory left out is never entered."""

    def __init__(self, root: str, rules: _Rules) -> None:
        self.root = root
        self.rules = rules
        self.files: dict[str, LocalFile] = {}
        self.skipped: list[Skipped] = []
        self.pending = [("", root)]  # directories to read: (path, location)

    def run(self) -> None:
        # A stack, not recursion: no depth of folders can exhaust Python's.
        while self.pending:
            path, location = self.pending.pop()
            for entry in self._scan(path, location):
                self._entry(f"{path}/{entry.name}" if path else entry.name, entry)

    def _scan(self, path: str, location: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(location) as scan:
                entries = list(scan)
            if self.rules.filters.ignore_files:
                self._read_ignores(path, entries)
        except OSError as error:
            if not path:
                raise
            # Its ignore files unread, nothing in it can be judged: the whole directory is skipped.
            self._skip(path, _unreadable(error))
            return []
        return entries

    def _entry(self, path: str, entry: os.DirEntry[str]) -> None:
        try:
            kind = _kind(entry, self.root, self.rules.filters)
        except OSError as error:
            kind = _Kind(directory=False, reason=_unreadable(error))
        rules = self.rules
        if not (rules.directory_takes_part if kind.directory else rules.file_takes_part)(path):
            return
        if kind.reason is not None:
            self._skip(path, kind.reason)
        elif kind.directory:
            self.pending.append((path, entry.path))
        else:
            self._file(path, entry.path, kind.size)

    def _file(self, path: str, location: str, size: int) -> None:
        try:
            file_path(path)
        except ValueError as error:  # a backslash is a legal name on POSIX, not in the API
            self._skip(path, f"a name the API refuses: {error}")
        else:
            self.files[path] = LocalFile(path, Path(location), size)

    def _read_ignores(self, path: str, entries: list[os.DirEntry[str]]) -> None:
        by_name = {entry.name: entry for entry in entries}
        lines: list[str] = []
        for name in IGNORE_FILES:
            entry = by_name.get(name)
            # As git does, a symlinked ignore file is not read (it could point anywhere).
            if entry is not None and entry.is_file(follow_symlinks=False):
                text = Path(entry.path).read_text(encoding="utf-8-sig", errors="surrogateescape")
                lines += text.splitlines()
        if lines:
            self.rules.ignores[path] = _ignore_spec(lines)

    def _skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path, reason))
        self.rules.skipped.add(path)


def _kind(entry: os.DirEntry[str], root: str, filters: Filters) -> _Kind:
    """What `entry` is, found without opening it (opening a FIFO blocks) nor following a link
    out of the folder or into a directory."""
    if entry.is_dir(follow_symlinks=False):
        return _Kind(directory=True)
    if not entry.is_symlink():
        return _file_kind(entry.stat(follow_symlinks=False))
    try:
        target = os.stat(entry.path)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return _Kind(directory=False, reason="a broken symlink")
        raise
    directory = stat.S_ISDIR(target.st_mode)
    real = os.path.realpath(entry.path)
    if not inside(root, real):
        return _Kind(directory, reason="a symlink that leaves the folder")
    if directory:
        return _Kind(directory, reason="a symlink to a directory")
    # A link must not send under its own name what is never sent under its target's (`.env`).
    if filters.never_sends(Path(os.path.relpath(real, root)).as_posix(), directory=False):
        return _Kind(directory, reason="a symlink to a file never sent")
    return _file_kind(target)


def _file_kind(status: os.stat_result) -> _Kind:
    if stat.S_ISREG(status.st_mode):
        return _Kind(directory=False, size=status.st_size)
    kind = _SPECIAL_KINDS.get(stat.S_IFMT(status.st_mode), "of an unknown kind")
    return _Kind(directory=False, reason=f"a special file ({kind})")


def inside(root: str, real: str) -> bool:
    """Whether the real path `real` is `root` or under it (both resolved already)."""
    try:
        return os.path.commonpath([root, real]) == root
    except ValueError:  # on another drive (Windows)
        return False


def _unreadable(error: OSError) -> str:
    name = f" ({os.path.basename(error.filename)})" if isinstance(error.filename, str) else ""
    return f"unreadable: {type(error).__name__}: {error.strerror or error}{name}"


def _matches(spec: GitIgnoreSpec, path: str) -> bool:
    return spec.check_file(path).include is True


def _compile(patterns: Sequence[str], name: str) -> GitIgnoreSpec:
    if isinstance(cast(object, patterns), (str, bytes)):
        raise TypeError(f"{name} must be a list of patterns, not one string: {name}=[{patterns!r}]")
    if not isinstance(cast(object, patterns), Sequence):
        raise TypeError(f"{name} must be a list of patterns, not {type(patterns).__name__}")
    for pattern in patterns:
        if not isinstance(cast(object, pattern), str):
            raise TypeError(f"{name} patterns must be str, not {type(pattern).__name__}")
        if not pattern.strip():
            raise ValueError(f"{name} patterns must not be empty (got {pattern!r})")
    return GitIgnoreSpec.from_lines(patterns)


def _ignore_spec(lines: list[str]) -> GitIgnoreSpec:
    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # as git does, pass over the lines that are not patterns, keep the rest
        return GitIgnoreSpec.from_lines([line for line in lines if _is_pattern(line)])


def _is_pattern(line: str) -> bool:
    try:
        GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True
