"""`client.files`: list, read, write, delete, download and write many files of a project.

How file content travels is assumed where the reference is silent (see docs/assumptions.md): a
read may answer with the raw bytes (any non-JSON content type) or with the envelope whose `data`
holds `content` (text, or base64 when `encoding` says so); a write sends the raw bytes, as
`text/plain; charset=utf-8` for text and `application/octet-stream` otherwise.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

from .._batch import Batch
from .._body import Destination, Download, FileContent, ProgressCallback, Upload
from .._call import Call, api_path, check_segment, is_json, quote_segment
from .._checks import check_int
from .._envelope import (
    decode_json_leniently,
    envelope_of,
    error_from_response,
    read_envelope,
    validate,
)
from .._errors import APIResponseValidationError
from .._flow import Flow, Many
from .._folders.report import SyncProgress, SyncReport
from .._folders.state import DEFAULT_STATE
from .._http import httpx
from .._pagination import PageData, PageIdentity, identity_of, next_call, page_of
from .._types import json_object
from ..models import DeletedFile, DownloadedFile, FileEntry
from ._base import AsyncResource, SyncResource

# Reads may come back raw, so do not insist on JSON.
_ANY_CONTENT: Final = {"Accept": "*/*"}
MAX_CONCURRENCY: Final = 32


def file_path(path: str) -> str:
    """A project file path as URL path segments: `/` kept as the separator, each segment
    percent-encoded. Empty segments, `.`, `..`, a leading `/` and backslashes are refused, so a
    path can never reach outside the project's files."""
    if not isinstance(cast(object, path), str):  # checked: untyped code may pass anything
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    if path.startswith("/"):
        raise ValueError(f"path must be relative to the project, without a leading '/': {path!r}")
    if "\\" in path:
        raise ValueError(f"path must use '/' as its separator, not '\\': {path!r}")
    segments = [check_segment(segment, what="each part of a path") for segment in path.split("/")]
    return "/".join(quote_segment(segment) for segment in segments)


def _file_url(project_id: str, path: str) -> str:
    return f"{api_path('projects', project_id, 'files')}/{file_path(path)}"


def list_flow(project_id: str) -> Flow[list[FileEntry]]:
    # The reference shows one flat list; should the API paginate it, every page is read.
    call: Call[PageData[FileEntry]] | None = Call(
        "GET", api_path("projects", project_id, "files"), parse=page_of(FileEntry)
    )
    entries: list[FileEntry] = []
    previous: PageIdentity | None = None
    while call is not None:
        page: PageData[FileEntry] = yield call
        entries.extend(page.items)
        call, previous = next_call(call, page, previous), identity_of(page)
    return entries


def _read(project_id: str, path: str) -> Call[bytes]:
    return Call("GET", _file_url(project_id, path), parse=file_content, headers=_ANY_CONTENT)


def _read_text(project_id: str, path: str, encoding: str) -> Call[str]:
    def parse(response: httpx.Response) -> str:
        return file_content(response).decode(encoding)

    return Call("GET", _file_url(project_id, path), parse=parse, headers=_ANY_CONTENT)


def write_call(
    project_id: str, path: str, content: FileContent, on_progress: ProgressCallback | None
) -> Call[FileEntry]:
    return upload_call(project_id, path, Upload(content, on_progress))


def upload_call(project_id: str, path: str, upload: Upload) -> Call[FileEntry]:
    """The PUT that writes `upload` to a file of the project."""

    def parse(response: httpx.Response) -> FileEntry:
        # Assumed: the answer may describe the file written, or say nothing (even 204).
        fallback = {"path": path, "type": "file", "size": upload.size}
        return validate(
            FileEntry, {**fallback, **_data_dict(response)}, response=response, body=None
        )

    return Call("PUT", _file_url(project_id, path), parse=parse, content=upload)


def delete_call(project_id: str, path: str) -> Call[DeletedFile]:
    def parse(response: httpx.Response) -> DeletedFile:
        merged = {"path": path, "deleted": True, **_data_dict(response)}
        return validate(DeletedFile, merged, response=response, body=None)

    return Call("DELETE", _file_url(project_id, path), parse=parse)


def _download(
    project_id: str,
    path: str,
    destination: Destination,
    on_progress: ProgressCallback | None,
) -> Flow[DownloadedFile]:
    sink = Download(destination, on_progress)  # a destination that cannot be written: refused
    try:
        downloaded: DownloadedFile = yield download_call(project_id, path, sink)
        return downloaded
    finally:
        # Whatever ended the call (an error at any step, a cancellation), a temporary file that
        # did not take the destination's place is removed; after a commit this does nothing.
        sink.abort()


def download_call(project_id: str, path: str, sink: Download) -> Call[DownloadedFile]:
    """The GET that streams a file into `sink` and commits it; whoever sends it calls
    `sink.abort()` once it has ended, however it ended."""

    def parse(response: httpx.Response) -> DownloadedFile:
        if not response.is_success or is_json(response):
            # Not streamed (an error, or an enveloped answer): read it, then write it.
            sink.write_all(file_content(response))
        sink.commit()
        local = None if sink.path is None else os.fspath(sink.path)
        return DownloadedFile(path=path, size=sink.bytes_written, destination=local)

    url = _file_url(project_id, path)
    return Call("GET", url, parse=parse, headers=_ANY_CONTENT, download=sink)


def _write_many(
    project_id: str,
    files: Mapping[str, FileContent],
    concurrency: int,
    on_progress: Callable[[int, int], None] | None,
) -> Flow[dict[str, FileEntry]]:
    check_int("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
    if not isinstance(cast(object, files), Mapping):
        raise TypeError(f"files must be a mapping of path to content, not {type(files).__name__}")
    # Every path and body is checked before the first is sent.
    calls = {path: write_call(project_id, path, content, None) for path, content in files.items()}
    batch: Batch[FileEntry] = yield Many(calls, concurrency, on_progress)
    return batch.outcome()  # every result, or WriteManyError


def _sync_folder(
    direction: Literal["upload", "download"],
    project_id: str,
    folder: str | os.PathLike[str],
    **options: Any,
) -> Flow[SyncReport]:
    # Imported here: folder sync alone needs pathspec, and most programs never sync a folder.
    from .._folders.sync import Options, download_flow, upload_flow

    if not isinstance(cast(object, folder), (str, os.PathLike)):
        raise TypeError(f"folder must be a str or a path, not {type(folder).__name__}")
    local = Path(folder)
    flow = upload_flow if direction == "upload" else download_flow
    return flow(project_id, local, Options.make(local, **options))


def file_content(response: httpx.Response) -> bytes:
    """A file's bytes from a read's answer: the raw body, or the envelope's `data.content`."""
    if not response.is_success:
        raise error_from_response(response)
    if not is_json(response):
        return response.content
    body = decode_json_leniently(response)
    if envelope_of(body) is None:
        return response.content  # a JSON file served as it is, or labelled JSON but not JSON
    data = json_object(read_envelope(response, body)["data"]) or {}
    content = data.get("content")
    if not isinstance(content, str):
        raise APIResponseValidationError(
            "The API's answer to a file read holds no content.", response=response, body=body
        )
    if data.get("encoding") != "base64":
        return content.encode("utf-8")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise APIResponseValidationError(
            "The API's file content is not valid base64.", response=response, body=body
        ) from None


def _data_dict(response: httpx.Response) -> dict[str, Any]:
    """The envelope's `data` when the answer has one and it is an object, else nothing."""
    if not response.is_success:
        raise error_from_response(response)
    if not response.content or not is_json(response):
        return {}
    return json_object(read_envelope(response)["data"]) or {}


class Files(SyncResource):
    """The files of a project: `client.files`."""

    def list(self, project_id: str) -> list[FileEntry]:
        """Every file and directory of a project, as a flat list.

        If the API paginates the list, every page is read before this returns.

        Args:
            project_id: The project whose files to list.

        Returns:
            One `FileEntry` per file and directory.

        Raises:
            NotFoundError: No such project.
        """
        return self._run(list_flow(project_id))

    def read(self, project_id: str, path: str) -> bytes:
        """A file's content, as bytes, held in memory whole (use `download` for large files).

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).

        Returns:
            The file's bytes, whether the API sent them raw or in its JSON envelope.

        Raises:
            NotFoundError: No such project or file.
            ResponseTooLargeError: The file is larger than the client's `max_response_bytes`.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return self._send(_read(project_id, path))

    def read_text(self, project_id: str, path: str, *, encoding: str = "utf-8") -> str:
        """A file's content, decoded as text, held in memory whole.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            encoding: The codec to decode the bytes with (a name `bytes.decode` takes).

        Returns:
            The file's text.

        Raises:
            NotFoundError: No such project or file.
            ResponseTooLargeError: The file is larger than the client's `max_response_bytes`.
            UnicodeDecodeError: The bytes are not valid in `encoding` (`LookupError` for an
                unknown `encoding`), once the file has been read.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return self._send(_read_text(project_id, path, encoding))

    def write(
        self,
        project_id: str,
        path: str,
        content: FileContent,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FileEntry:
        """Create or replace a file.

        A write is retried like any PUT, from the start of the content (a path is reopened, a
        file object rewound to where it was); a file object that cannot be rewound, such as a
        pipe, is not retried.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            content: A str (sent as UTF-8, `text/plain; charset=utf-8`), bytes, bytearray or
                memoryview (sent as `application/octet-stream`), a `pathlib.Path` (any
                `os.PathLike`) or a binary file object, read from its current position. A
                path or file object is streamed in 64 KiB chunks, never read into memory whole.
            on_progress: Called as `on_progress(sent_bytes, total_bytes)` after each chunk;
                `total_bytes` is None when the size is unknown. A retried write reports from 0.

        Returns:
            The file written: what the API says of it, with the path, type "file" and size
            filled in where it says nothing.

        Raises:
            FileNotFoundError: `content` is a path that is not a file.
            TypeError: `content` is of another type, or a file opened in text mode.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return self._send(write_call(project_id, path, content, on_progress))

    def delete(self, project_id: str, path: str) -> DeletedFile:
        """Delete a file.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).

        Returns:
            The path deleted.

        Raises:
            NotFoundError: No such project or file.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return self._send(delete_call(project_id, path))

    def download(
        self,
        project_id: str,
        path: str,
        destination: Destination,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Stream a file to `destination`, whatever its size (`max_response_bytes` does not
        apply).

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            destination: A path (a str or any `os.PathLike`) in a directory that exists, or a
                binary file object. A path is written to a temporary file beside it, which
                replaces it (keeping its mode) only once the whole file has arrived, so a failed
                download leaves it as it was and no temporary file behind. A file object is
                written from its current position; one that cannot seek is not retried.
            on_progress: Called as `on_progress(received_bytes, total_bytes)` as the file
                arrives; `total_bytes` is None when the answer does not say, or is compressed.

        Returns:
            What was written: the path, the bytes written, and the local destination (None for
            a file object).

        Raises:
            NotFoundError: No such project or file.
            IsADirectoryError: The destination path is a directory, before anything is sent
                (`FileNotFoundError` when its directory does not exist, `NotADirectoryError`
                when its parent is a file, `PermissionError` when its directory is not
                writable).
            TypeError: `destination` is of another type, or a file opened in text mode.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return self._run(_download(project_id, path, destination, on_progress))

    def write_many(
        self,
        project_id: str,
        files: Mapping[str, FileContent],
        *,
        concurrency: int = 4,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, FileEntry]:
        """Write many files, `concurrency` at a time, within the client's rate limit.

        Every path and content is checked before the first is sent. Each write is retried like
        `write`.

        Args:
            project_id: The project the files belong to.
            files: Path within the project -> content, each as `write` takes it.
            concurrency: How many writes run at once, 1 to 32 (threads on `CraftClient`, tasks
                on `AsyncCraftClient`).
            on_progress: Called as `on_progress(written_files, total_files)` as each file is
                written.

        Returns:
            Path -> the file written, for every path.

        Raises:
            WriteManyError: A write failed. The first failure stops new writes (those under way
                finish); the error says which paths were written, which failed (and with what)
                and which were not attempted.
            ValueError: `concurrency` is out of range, or a path or `project_id` is refused,
                before anything is sent (`TypeError` for a value of the wrong type, such as
                `files` that is not a mapping; `FileNotFoundError` for a content path that is
                not a file).
        """
        return self._run(_write_many(project_id, files, concurrency, on_progress))

    def upload_folder(
        self,
        project_id: str,
        folder: str | os.PathLike[str],
        *,
        prefix: str = "",
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        delete: bool = False,
        dry_run: bool = False,
        concurrency: int = 8,
        on_progress: Callable[[SyncProgress], None] | None = None,
        state: str | os.PathLike[str] | None = DEFAULT_STATE,
        ignore_files: bool = True,
        default_excludes: bool = True,
    ) -> SyncReport:
        """Put a local folder's files into the project: send what changed, and only that.

        Every regular file under `folder` takes part, as its path relative to the folder (under
        `prefix` in the project), unless `include` / `exclude` or an ignore file leaves it out.
        `.gitignore` files (nested ones too, with git's semantics) and `.craftignore` files are
        honoured. Always left out, whatever the patterns say, unless `default_excludes=False`:
        `.git/`, `node_modules/`, `.env` and `.env.*`; and always the SDK's own `.craft/`
        folder. Symlinks are not followed out of the folder, and special files are skipped;
        both are reported in `refused`.

        A file is skipped only when its content (SHA-256) and the project's entry for it (size
        and `updatedAt`) are both as the state file recorded at the last sync; anything else is
        sent, so a changed file is never skipped, even one of the same size and modification
        time. Without a state file every file is sent. A run with nothing changed sends one
        request: the listing.

        Args:
            project_id: The project to put the files into.
            folder: The local folder (a str or a path).
            prefix: Where in the project the folder's files go, such as "site" ("" for its
                root); the same rules as a file path.
            include: Only files matching one of these patterns (.gitignore syntax: `*.html`
                at any depth, `/index.html` at the root only, `**` across folders, `assets/`
                a folder); None for every file.
            exclude: Leave out files matching one of these patterns (.gitignore syntax).
            delete: Also delete the project's files under `prefix` that take part (match the
                same filters) and are no longer in the folder, once every upload succeeded.
                Files the patterns leave out are never deleted.
            dry_run: Only list the project's files and return the plan: what would be sent,
                skipped and deleted, with byte counts. Nothing is sent or written.
            concurrency: How many uploads run at once, 1 to 32, within the rate limit.
            on_progress: Called with a `SyncProgress` (files and bytes done and in all) as the
                uploads move; on `CraftClient`, from its worker threads.
            state: The state file: a path relative to the folder (the default,
                ".craft/sync-state.json") or an absolute one; None keeps no state (every file
                is sent each time).
            ignore_files: Honour `.gitignore` and `.craftignore` files (the default).
            default_excludes: Leave out `.git/`, `node_modules/`, `.env` and `.env.*` whatever
                the patterns say (the default).

        Returns:
            What was done: every path in exactly one of `sent`, `skipped`, `deleted` (and
            `refused` for those that cannot take part), with byte counts.

        Raises:
            FolderSyncError: Some uploads failed. The first failure stops new uploads (those
                under way finish) and nothing is deleted; its `report` says what was sent, what
                failed and what was not attempted. Running the same call again resumes.
            NotADirectoryError: `folder` is not a folder (`FileNotFoundError`: it does not
                exist), before anything is sent.
            ValueError: `project_id`, `prefix` or `concurrency` is refused, before anything is
                sent (`TypeError` for a value of the wrong type, such as `include` given as a
                single str).
        """
        return self._run(
            _sync_folder(
                "upload",
                project_id,
                folder,
                prefix=prefix,
                include=include,
                exclude=exclude,
                delete=delete,
                dry_run=dry_run,
                concurrency=concurrency,
                on_progress=on_progress,
                state=state,
                ignore_files=ignore_files,
                default_excludes=default_excludes,
            )
        )

    def download_folder(
        self,
        project_id: str,
        folder: str | os.PathLike[str],
        *,
        prefix: str = "",
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        delete: bool = False,
        dry_run: bool = False,
        concurrency: int = 8,
        on_progress: Callable[[SyncProgress], None] | None = None,
        state: str | os.PathLike[str] | None = DEFAULT_STATE,
        ignore_files: bool = True,
        default_excludes: bool = True,
    ) -> SyncReport:
        """Put the project's files into a local folder: fetch what changed, and only that.

        Every file the project lists under `prefix` takes part, as its path relative to the
        prefix (in the folder), filtered like `upload_folder`: `include`, `exclude`, the
        folder's ignore files and the default exclusions. Every listed path is checked before
        it touches the disk: one with `..`, an absolute path, a backslash, a drive letter, or a
        path through a symlink that leaves the folder is refused and reported in `refused`,
        never written. Each file lands atomically (a temporary file beside it replaces it once
        whole), and the folder is made if need be.

        A file is skipped only when the local file's content (SHA-256) and the project's entry
        (size and `updatedAt`) are both as the state file recorded at the last sync; anything
        else is fetched. A run with nothing changed sends one request: the listing.

        Args:
            project_id: The project to take the files from.
            folder: The local folder (a str or a path), made if it does not exist.
            prefix: Which of the project's files: those under this folder of the project, such
                as "site" ("" for all).
            include: Only files matching one of these patterns (.gitignore syntax); None for
                every file.
            exclude: Leave out files matching one of these patterns (.gitignore syntax).
            delete: Also delete the local files that take part (match the same filters) and
                are no longer in the project, once every download succeeded. Never anything
                outside the folder, nor a file the patterns leave out.
            dry_run: Only list the project's files and return the plan: what would be
                fetched, skipped and deleted, with byte counts. Nothing is written.
            concurrency: How many downloads run at once, 1 to 32, within the rate limit.
            on_progress: Called with a `SyncProgress` (files and bytes done and in all) as the
                downloads move; on `CraftClient`, from its worker threads.
            state: The state file: a path relative to the folder (the default,
                ".craft/sync-state.json") or an absolute one; None keeps no state (every file
                is fetched each time).
            ignore_files: Honour the folder's `.gitignore` and `.craftignore` files.
            default_excludes: Leave out `.git/`, `node_modules/`, `.env` and `.env.*` whatever
                the patterns say (the default).

        Returns:
            What was done: every path in exactly one of `sent` (fetched), `skipped`, `deleted`
            (and `refused` for those that cannot take part), with byte counts.

        Raises:
            FolderSyncError: Some downloads failed. The first failure stops new downloads
                (those under way finish) and nothing is deleted; its `report` says what was
                fetched, what failed and what was not attempted. Running the same call again
                resumes.
            ValueError: `project_id`, `prefix` or `concurrency` is refused, before anything is
                sent (`TypeError` for a value of the wrong type).
        """
        return self._run(
            _sync_folder(
                "download",
                project_id,
                folder,
                prefix=prefix,
                include=include,
                exclude=exclude,
                delete=delete,
                dry_run=dry_run,
                concurrency=concurrency,
                on_progress=on_progress,
                state=state,
                ignore_files=ignore_files,
                default_excludes=default_excludes,
            )
        )


class AsyncFiles(AsyncResource):
    """The files of a project: `client.files`."""

    async def list(self, project_id: str) -> list[FileEntry]:
        """Every file and directory of a project, as a flat list.

        If the API paginates the list, every page is read before this returns.

        Args:
            project_id: The project whose files to list.

        Returns:
            One `FileEntry` per file and directory.

        Raises:
            NotFoundError: No such project.
        """
        return await self._run(list_flow(project_id))

    async def read(self, project_id: str, path: str) -> bytes:
        """A file's content, as bytes, held in memory whole (use `download` for large files).

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).

        Returns:
            The file's bytes, whether the API sent them raw or in its JSON envelope.

        Raises:
            NotFoundError: No such project or file.
            ResponseTooLargeError: The file is larger than the client's `max_response_bytes`.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return await self._send(_read(project_id, path))

    async def read_text(self, project_id: str, path: str, *, encoding: str = "utf-8") -> str:
        """A file's content, decoded as text, held in memory whole.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            encoding: The codec to decode the bytes with (a name `bytes.decode` takes).

        Returns:
            The file's text.

        Raises:
            NotFoundError: No such project or file.
            ResponseTooLargeError: The file is larger than the client's `max_response_bytes`.
            UnicodeDecodeError: The bytes are not valid in `encoding` (`LookupError` for an
                unknown `encoding`), once the file has been read.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return await self._send(_read_text(project_id, path, encoding))

    async def write(
        self,
        project_id: str,
        path: str,
        content: FileContent,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> FileEntry:
        """Create or replace a file.

        A write is retried like any PUT, from the start of the content (a path is reopened, a
        file object rewound to where it was); a file object that cannot be rewound, such as a
        pipe, is not retried.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            content: A str (sent as UTF-8, `text/plain; charset=utf-8`), bytes, bytearray or
                memoryview (sent as `application/octet-stream`), a `pathlib.Path` (any
                `os.PathLike`) or a binary file object, read from its current position. A
                path or file object is streamed in 64 KiB chunks, never read into memory whole.
            on_progress: Called as `on_progress(sent_bytes, total_bytes)` after each chunk;
                `total_bytes` is None when the size is unknown. A retried write reports from 0.

        Returns:
            The file written: what the API says of it, with the path, type "file" and size
            filled in where it says nothing.

        Raises:
            FileNotFoundError: `content` is a path that is not a file.
            TypeError: `content` is of another type, or a file opened in text mode.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return await self._send(write_call(project_id, path, content, on_progress))

    async def delete(self, project_id: str, path: str) -> DeletedFile:
        """Delete a file.

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).

        Returns:
            The path deleted.

        Raises:
            NotFoundError: No such project or file.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return await self._send(delete_call(project_id, path))

    async def download(
        self,
        project_id: str,
        path: str,
        destination: Destination,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> DownloadedFile:
        """Stream a file to `destination`, whatever its size (`max_response_bytes` does not
        apply).

        Args:
            project_id: The project the file belongs to.
            path: The file's path within the project, with `/` separators, such as
                "src/app/page.tsx" (no leading `/`, backslash, empty segment, `.` or `..`).
            destination: A path (a str or any `os.PathLike`) in a directory that exists, or a
                binary file object. A path is written to a temporary file beside it, which
                replaces it (keeping its mode) only once the whole file has arrived, so a failed
                download leaves it as it was and no temporary file behind. A file object is
                written from its current position; one that cannot seek is not retried.
            on_progress: Called as `on_progress(received_bytes, total_bytes)` as the file
                arrives; `total_bytes` is None when the answer does not say, or is compressed.

        Returns:
            What was written: the path, the bytes written, and the local destination (None for
            a file object).

        Raises:
            NotFoundError: No such project or file.
            IsADirectoryError: The destination path is a directory, before anything is sent
                (`FileNotFoundError` when its directory does not exist, `NotADirectoryError`
                when its parent is a file, `PermissionError` when its directory is not
                writable).
            TypeError: `destination` is of another type, or a file opened in text mode.
            ValueError: `path` or `project_id` is refused, before anything is sent (`TypeError`
                for one that is not a str).
        """
        return await self._run(_download(project_id, path, destination, on_progress))

    async def write_many(
        self,
        project_id: str,
        files: Mapping[str, FileContent],
        *,
        concurrency: int = 4,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, FileEntry]:
        """Write many files, `concurrency` at a time, within the client's rate limit.

        Every path and content is checked before the first is sent. Each write is retried like
        `write`.

        Args:
            project_id: The project the files belong to.
            files: Path within the project -> content, each as `write` takes it.
            concurrency: How many writes run at once, 1 to 32 (threads on `CraftClient`, tasks
                on `AsyncCraftClient`).
            on_progress: Called as `on_progress(written_files, total_files)` as each file is
                written.

        Returns:
            Path -> the file written, for every path.

        Raises:
            WriteManyError: A write failed. The first failure stops new writes (those under way
                finish); the error says which paths were written, which failed (and with what)
                and which were not attempted.
            ValueError: `concurrency` is out of range, or a path or `project_id` is refused,
                before anything is sent (`TypeError` for a value of the wrong type, such as
                `files` that is not a mapping; `FileNotFoundError` for a content path that is
                not a file).
        """
        return await self._run(_write_many(project_id, files, concurrency, on_progress))

    async def upload_folder(
        self,
        project_id: str,
        folder: str | os.PathLike[str],
        *,
        prefix: str = "",
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        delete: bool = False,
        dry_run: bool = False,
        concurrency: int = 8,
        on_progress: Callable[[SyncProgress], None] | None = None,
        state: str | os.PathLike[str] | None = DEFAULT_STATE,
        ignore_files: bool = True,
        default_excludes: bool = True,
    ) -> SyncReport:
        """Put a local folder's files into the project: send what changed, and only that.

        Every regular file under `folder` takes part, as its path relative to the folder (under
        `prefix` in the project), unless `include` / `exclude` or an ignore file leaves it out.
        `.gitignore` files (nested ones too, with git's semantics) and `.craftignore` files are
        honoured. Always left out, whatever the patterns say, unless `default_excludes=False`:
        `.git/`, `node_modules/`, `.env` and `.env.*`; and always the SDK's own `.craft/`
        folder. Symlinks are not followed out of the folder, and special files are skipped;
        both are reported in `refused`.

        A file is skipped only when its content (SHA-256) and the project's entry for it (size
        and `updatedAt`) are both as the state file recorded at the last sync; anything else is
        sent, so a changed file is never skipped, even one of the same size and modification
        time. Without a state file every file is sent. A run with nothing changed sends one
        request: the listing.

        Args:
            project_id: The project to put the files into.
            folder: The local folder (a str or a path).
            prefix: Where in the project the folder's files go, such as "site" ("" for its
                root); the same rules as a file path.
            include: Only files matching one of these patterns (.gitignore syntax: `*.html`
                at any depth, `/index.html` at the root only, `**` across folders, `assets/`
                a folder); None for every file.
            exclude: Leave out files matching one of these patterns (.gitignore syntax).
            delete: Also delete the project's files under `prefix` that take part (match the
                same filters) and are no longer in the folder, once every upload succeeded.
                Files the patterns leave out are never deleted.
            dry_run: Only list the project's files and return the plan: what would be sent,
                skipped and deleted, with byte counts. Nothing is sent or written.
            concurrency: How many uploads run at once, 1 to 32, within the rate limit.
            on_progress: Called with a `SyncProgress` (files and bytes done and in all) as the
                uploads move; on `CraftClient`, from its worker threads.
            state: The state file: a path relative to the folder (the default,
                ".craft/sync-state.json") or an absolute one; None keeps no state (every file
                is sent each time).
            ignore_files: Honour `.gitignore` and `.craftignore` files (the default).
            default_excludes: Leave out `.git/`, `node_modules/`, `.env` and `.env.*` whatever
                the patterns say (the default).

        Returns:
            What was done: every path in exactly one of `sent`, `skipped`, `deleted` (and
            `refused` for those that cannot take part), with byte counts.

        Raises:
            FolderSyncError: Some uploads failed. The first failure stops new uploads (those
                under way finish) and nothing is deleted; its `report` says what was sent, what
                failed and what was not attempted. Running the same call again resumes.
            NotADirectoryError: `folder` is not a folder (`FileNotFoundError`: it does not
                exist), before anything is sent.
            ValueError: `project_id`, `prefix` or `concurrency` is refused, before anything is
                sent (`TypeError` for a value of the wrong type, such as `include` given as a
                single str).
        """
        return await self._run(
            _sync_folder(
                "upload",
                project_id,
                folder,
                prefix=prefix,
                include=include,
                exclude=exclude,
                delete=delete,
                dry_run=dry_run,
                concurrency=concurrency,
                on_progress=on_progress,
                state=state,
                ignore_files=ignore_files,
                default_excludes=default_excludes,
            )
        )

    async def download_folder(
        self,
        project_id: str,
        folder: str | os.PathLike[str],
        *,
        prefix: str = "",
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        delete: bool = False,
        dry_run: bool = False,
        concurrency: int = 8,
        on_progress: Callable[[SyncProgress], None] | None = None,
        state: str | os.PathLike[str] | None = DEFAULT_STATE,
        ignore_files: bool = True,
        default_excludes: bool = True,
    ) -> SyncReport:
        """Put the project's files into a local folder: fetch what changed, and only that.

        Every file the project lists under `prefix` takes part, as its path relative to the
        prefix (in the folder), filtered like `upload_folder`: `include`, `exclude`, the
        folder's ignore files and the default exclusions. Every listed path is checked before
        it touches the disk: one with `..`, an absolute path, a backslash, a drive letter, or a
        path through a symlink that leaves the folder is refused and reported in `refused`,
        never written. Each file lands atomically (a temporary file beside it replaces it once
        whole), and the folder is made if need be.

        A file is skipped only when the local file's content (SHA-256) and the project's entry
        (size and `updatedAt`) are both as the state file recorded at the last sync; anything
        else is fetched. A run with nothing changed sends one request: the listing.

        Args:
            project_id: The project to take the files from.
            folder: The local folder (a str or a path), made if it does not exist.
            prefix: Which of the project's files: those under this folder of the project, such
                as "site" ("" for all).
            include: Only files matching one of these patterns (.gitignore syntax); None for
                every file.
            exclude: Leave out files matching one of these patterns (.gitignore syntax).
            delete: Also delete the local files that take part (match the same filters) and
                are no longer in the project, once every download succeeded. Never anything
                outside the folder, nor a file the patterns leave out.
            dry_run: Only list the project's files and return the plan: what would be
                fetched, skipped and deleted, with byte counts. Nothing is written.
            concurrency: How many downloads run at once, 1 to 32, within the rate limit.
            on_progress: Called with a `SyncProgress` (files and bytes done and in all) as the
                downloads move; on `CraftClient`, from its worker threads.
            state: The state file: a path relative to the folder (the default,
                ".craft/sync-state.json") or an absolute one; None keeps no state (every file
                is fetched each time).
            ignore_files: Honour the folder's `.gitignore` and `.craftignore` files.
            default_excludes: Leave out `.git/`, `node_modules/`, `.env` and `.env.*` whatever
                the patterns say (the default).

        Returns:
            What was done: every path in exactly one of `sent` (fetched), `skipped`, `deleted`
            (and `refused` for those that cannot take part), with byte counts.

        Raises:
            FolderSyncError: Some downloads failed. The first failure stops new downloads
                (those under way finish) and nothing is deleted; its `report` says what was
                fetched, what failed and what was not attempted. Running the same call again
                resumes.
            ValueError: `project_id`, `prefix` or `concurrency` is refused, before anything is
                sent (`TypeError` for a value of the wrong type).
        """
        return await self._run(
            _sync_folder(
                "download",
                project_id,
                folder,
                prefix=prefix,
                include=include,
                exclude=exclude,
                delete=delete,
                dry_run=dry_run,
                concurrency=concurrency,
                on_progress=on_progress,
                state=state,
                ignore_files=ignore_files,
                default_excludes=default_excludes,
            )
        )


__all__ = ["AsyncFiles", "Files"]
