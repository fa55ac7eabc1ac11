"""`files.upload_folder` and `files.download_folder`, written once for both clients as flows.

Each sync runs in the same order:

    choose the local files (select.py), read the state file, hash what needs it (local work,
        run in a worker thread by the async client)
    list the project's files: the one request a sync with nothing to do sends
    plan: a file is skipped only when its content hashes to its record and its remote entry
        still shows the record's size and updatedAt (state.py); anything else is transferred
    transfer, `concurrency` at a time, through the client's retries and rate-limit gate, and
        save what was done in the state file
    only if every transfer succeeded: delete (remotely for an upload, locally for a download)
        what takes part and is absent on the other side

A dry run stops after the plan. A failure stops new transfers (those under way finish), keeps
what was done in the state file, deletes nothing, and raises `FolderSyncError` with the report;
running the same call again resumes.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from .._batch import Batch
from .._body import Download, ProgressCallback, Upload
from .._checks import check_int
from .._errors import FolderSyncError
from .._flow import Flow, Local, Many
from ..models import FileEntry
from ..resources.files import (
    MAX_CONCURRENCY,
    delete_call,
    download_call,
    file_path,
    list_flow,
    upload_call,
)
from .report import SyncProgress, SyncReport
from .select import Filters, Selection, inside, select
from .state import DEFAULT_STATE_DIR, Record, SyncState, sha256_of

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclasses.dataclass(frozen=True)
class Options:
    """A sync's options, checked by `make` before anything is read or sent."""

    prefix: str  # "" or "site/": where the folder's files are in the project
    filters: Filters
    delete: bool
    dry_run: bool
    concurrency: int
    on_progress: Callable[[SyncProgress], None] | None
    state: Path | None  # the state file; None keeps none

    @classmethod
    def make(
        cls,
        folder: Path,
        *,
        prefix: str,
        include: Sequence[str] | None,
        exclude: Sequence[str] | None,
        delete: bool,
        dry_run: bool,
        concurrency: int,
        on_progress: Callable[[SyncProgress], None] | None,
        state: str | os.PathLike[str] | None,
        ignore_files: bool,
        default_excludes: bool,
    ) -> Options:
        check_int("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
        if not isinstance(prefix, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        prefix = prefix.strip("/")
        if prefix:
            file_path(prefix)  # the rules of a file path: ValueError if refused
            prefix += "/"
        state_file = None if state is None else folder.joinpath(state).absolute()
        excluded = list(exclude or ())
        within = None if state_file is None else _relative_to(folder, state_file)
        if within is not None:
            excluded.append("/" + within)  # a state file kept in the folder is never sent
        filters = Filters(
            include=include,
            exclude=excluded or None,
            ignore_files=ignore_files,
            defaults=default_excludes,
            state_dir=DEFAULT_STATE_DIR,
        )
        return cls(prefix, filters, delete, dry_run, concurrency, on_progress, state_file)


def upload_flow(project_id: str, folder: Path, options: Options) -> Flow[SyncReport]:
    """Put the folder's files into the project, under the prefix."""
    state = SyncState(options.state, target=f"{project_id}:{options.prefix}")

    def look() -> tuple[Selection, dict[str, str]]:
        selection = select(folder, options.filters)
        state.load()
        # Only a file with a record can be skipped, so only those are hashed now; the others
        # are hashed as they are sent.
        recorded = [p for p in selection.files if p in state.records]
        return selection, {p: sha256_of(selection.files[p].location) for p in recorded}

    selection, hashes = yield Local(look)
    remote = _remote_files((yield from list_flow(project_id)), options.prefix)
    local = selection.files
    send = [p for p in local if not _unchanged(state, p, hashes.get(p), remote.get(p))]
    gone = [p for p in remote if p not in local and selection.takes_part(p)]
    outcome = _Outcome(
        "upload",
        options,
        sizes={p: e.size or 0 for p, e in remote.items()} | {p: f.size for p, f in local.items()},
        refused={skipped.path: skipped.reason for skipped in selection.skipped},
        skipped=[p for p in local if p not in send],
    )
    if options.dry_run:
        return outcome.planned(send, gone)

    progress = _Progress(send, outcome.sizes, options.on_progress)
    uploads = {p: Upload(local[p].location, progress.of(p), digest=True) for p in send}
    writes = {p: upload_call(project_id, options.prefix + p, uploads[p]) for p in send}
    batch = yield Many(writes, options.concurrency, progress.file_done)
    for path, entry in batch.results.items():
        sent = uploads[path].sent_sha256  # the bytes that went out, whatever the file holds now
        if sent is not None:
            state.records[path] = Record.of(sent, local[path].size, entry)
    state.forget_all_but(local)
    yield Local(state.save)
    outcome.transferred(batch, then=gone)

    if not outcome.to_delete:
        return outcome.deleted(_Settled([], {}, []))
    deletes = {p: delete_call(project_id, options.prefix + p) for p in outcome.to_delete}
    return outcome.deleted((yield Many(deletes, options.concurrency)))


def download_flow(project_id: str, folder: Path, options: Options) -> Flow[SyncReport]:
    """Put the project's files, under the prefix, into the folder."""
    state = SyncState(options.state, target=f"{project_id}:{options.prefix}")

    def look() -> Selection:
        if not options.dry_run:
            folder.mkdir(parents=True, exist_ok=True)
        state.load()
        return (
            select(folder, options.filters) if folder.is_dir() else Selection.empty(options.filters)
        )

    selection = yield Local(look)
    real_folder = os.path.realpath(folder)
    remote: dict[str, FileEntry] = {}
    refused: dict[str, str] = {}
    for path, entry in _remote_files((yield from list_flow(project_id)), options.prefix).items():
        reason = _unsafe(real_folder, path)
        if reason is not None:
            refused[path] = reason  # refused before anything touches the disk
        elif selection.takes_part(path):
            remote[path] = entry
    local = selection.files

    def hash_local() -> dict[str, str]:
        # Only a file with a record can be skipped, so only those are hashed.
        recorded = [p for p in remote if p in local and p in state.records]
        return {p: sha256_of(local[p].location) for p in recorded}

    hashes = yield Local(hash_local)
    get = [p for p in remote if not (p in hashes and _unchanged(state, p, hashes[p], remote[p]))]
    gone = [p for p in local if p not in remote and p not in refused]
    outcome = _Outcome(
        "download",
        options,
        sizes={p: f.size for p, f in local.items()} | {p: e.size or 0 for p, e in remote.items()},
        refused=refused,
        skipped=[p for p in remote if p not in get],
    )
    if options.dry_run:
        return outcome.planned(get, gone)

    progress = _Progress(get, outcome.sizes, options.on_progress)
    sinks: dict[str, Download] = {}
    unwritable: dict[str, BaseException] = {}

    def prepare() -> None:
        for path in get:
            destination = folder.joinpath(*path.split("/"))
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                # Hashed as written: the record is of the bytes that landed.
                sinks[path] = Download(destination, progress.of(path), digest=True)
            except (OSError, TypeError) as error:  # a directory, or a file in the way
                unwritable[path] = error

    try:
        yield Local(prepare)
        downloads = {p: download_call(project_id, options.prefix + p, sinks[p]) for p in sinks}
        batch = yield Many(downloads, options.concurrency, progress.file_done)
    finally:
        for sink in sinks.values():
            sink.abort()  # the temporary file of a download that failed; nothing after a commit

    for path, downloaded in batch.results.items():
        written = sinks[path].written_sha256
        if written is not None:
            state.records[path] = Record.of(written, downloaded.size, remote[path])
    state.forget_all_but(remote)
    yield Local(state.save)
    outcome.transferred(batch, then=gone, failed_first=unwritable)
    targets = [local[p].location for p in outcome.to_delete]
    return outcome.deleted((yield Local(lambda: _delete_local(outcome.to_delete, targets))))


@dataclasses.dataclass(frozen=True)
class _Settled:
    """How a set of transfers or deletions ended."""

    done: list[str]
    failed: dict[str, BaseException]
    not_attempted: list[str]

    @classmethod
    def of(cls, batch: Batch[Any]) -> _Settled:
        return cls(list(batch.results), dict(batch.failures), batch.not_attempted)


class _Outcome:
    """The report's bookkeeping: every path ends in exactly one of its lists."""

    def __init__(
        self,
        direction: Literal["upload", "download"],
        options: Options,
        *,
        sizes: dict[str, int],
        refused: dict[str, str],
        skipped: list[str],
    ) -> None:
        self.direction: Literal["upload", "download"] = direction
        self.sizes = sizes
        self._options = options
        self._refused = refused
        self._skipped = skipped
        self._sent: list[str] = []
        self._deleted: list[str] = []
        self._failed: dict[str, BaseException] = {}
        self._not_attempted: list[str] = []
        self.to_delete: list[str] = []

    def planned(self, transfer: list[str], gone: list[str]) -> SyncReport:
        self._sent = transfer
        self._deleted = gone if self._options.delete else []
        return self._report()

    def transferred(
        self,
        batch: Batch[Any],
        *,
        then: list[str],
        failed_first: dict[str, BaseException] | None = None,
    ) -> None:
        """Take in the transfers; raise `FolderSyncError` if one failed (nothing is deleted)."""
        settled = _Settled.of(batch)
        self._sent = settled.done
        self._failed = {**(failed_first or {}), **settled.failed}
        deletions = then if self._options.delete else []
        if self._failed:
            self._not_attempted = settled.not_attempted + deletions
            raise FolderSyncError(self._report())
        self.to_delete = deletions

    def deleted(self, deletions: Batch[Any] | _Settled) -> SyncReport:
        """Take in the deletions; the report, or `FolderSyncError` if one failed."""
        settled = deletions if isinstance(deletions, _Settled) else _Settled.of(deletions)
        self._deleted = settled.done
        self._failed = settled.failed
        self._not_attempted = settled.not_attempted
        if self._failed:
            raise FolderSyncError(self._report())
        return self._report()

    def _report(self) -> SyncReport:
        def total(paths: Iterable[str]) -> int:
            return sum(self.sizes.get(path, 0) for path in paths)

        return SyncReport(
            direction=self.direction,
            dry_run=self._options.dry_run,
            sent=tuple(sorted(self._sent)),
            skipped=tuple(sorted(self._skipped)),
            deleted=tuple(sorted(self._deleted)),
            failed=dict(sorted(self._failed.items())),
            not_attempted=tuple(sorted(self._not_attempted)),
            refused=dict(sorted(self._refused.items())),
            bytes_sent=total(self._sent),
            bytes_skipped=total(self._skipped),
            bytes_deleted=total(self._deleted),
        )


class _Progress:
    """Adds up the bytes of transfers running at once (on several threads) for `on_progress`."""

    def __init__(
        self,
        paths: list[str],
        sizes: dict[str, int],
        callback: Callable[[SyncProgress], None] | None,
    ) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._files_total = len(paths)
        self._bytes_total = sum(sizes.get(path, 0) for path in paths)
        self._files_done = 0
        self._bytes_done = 0
        self._per_file: dict[str, int] = {}

    def of(self, path: str) -> ProgressCallback | None:
        """The byte callback of one file's transfer (a retry starts it over from 0)."""
        if self._callback is None:
            return None

        def moved(done: int, total: int | None) -> None:
            with self._lock:
                self._bytes_done += done - self._per_file.get(path, 0)
                self._per_file[path] = done
            self._tell()

        return moved

    def file_done(self, files_done: int, files_total: int) -> None:
        with self._lock:
            self._files_done = files_done
        self._tell()

    def _tell(self) -> None:
        if self._callback is not None:
            with self._lock:
                now = SyncProgress(
                    self._files_done, self._files_total, self._bytes_done, self._bytes_total
                )
            self._callback(now)


def _remote_files(entries: list[FileEntry], prefix: str) -> dict[str, FileEntry]:
    """The project's files under the prefix, by their path relative to it, in path order."""
    found = {
        entry.path[len(prefix) :]: entry
        for entry in entries
        if entry.type == "file" and entry.path.startswith(prefix)
    }
    return dict(sorted(found.items()))


def _unchanged(state: SyncState, path: str, sha256: str | None, remote: FileEntry | None) -> bool:
    record = state.records.get(path)
    return record is not None and sha256 is not None and record.unchanged(sha256, remote)


def _unsafe(real_folder: str, path: str) -> str | None:
    """Why a path the server listed must not be written under the folder, or None."""
    if "\\" in path:
        return "a backslash in the path"
    if path.startswith("/") or _DRIVE.match(path):
        return "an absolute path"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "an empty, '.' or '..' part in the path"
    if not inside(real_folder, os.path.realpath(os.path.join(real_folder, *parts))):
        return "a path through a symlink that leaves the folder"
    return None


def _relative_to(folder: Path, path: Path) -> str | None:
    """`path` relative to `folder`, "/"-separated, if it is inside it."""
    try:
        return path.relative_to(folder.absolute()).as_posix()
    except ValueError:
        return None


def _delete_local(paths: list[str], locations: list[Path]) -> _Settled:
    done: list[str] = []
    failed: dict[str, BaseException] = {}
    for path, location in zip(paths, locations, strict=True):
        try:
            location.unlink()
            done.append(path)
        except OSError as error:
            failed[path] = error
    return _Settled(done, failed, [])
