"""Bodies that do not fit in memory: uploads streamed from a file, downloads streamed to one.

An `Upload` hands out a fresh stream of chunks for every attempt, so a retried PUT sends the
whole body again (a path is reopened, a seekable file object rewound); a body that cannot be
replayed (a pipe, a socket) marks its call as not retryable. A `Download` receives the answer's
chunks and, for a path, writes them to a temporary file beside it that replaces the destination
only once the body is complete, so a failed download never leaves half a file behind.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Final, TypeAlias, Union, cast

from ._http import httpx

CHUNK_SIZE: Final = 64 * 1024
_O_BINARY: Final[int] = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

ProgressCallback: TypeAlias = Callable[[int, int | None], None]
"""`on_progress(done, total)`: bytes so far, and in all (None when unknown)."""

FileContent: TypeAlias = Union[str, bytes, bytearray, memoryview, "os.PathLike[str]", BinaryIO]
"""What `files.write` takes: text, bytes, a path to read, or a binary file object."""

Destination: TypeAlias = Union[str, "os.PathLike[str]", BinaryIO]
"""Where `files.download` writes: a path (a str or `os.PathLike`), or a binary file object."""

TEXT_TYPE: Final = "text/plain; charset=utf-8"
BINARY_TYPE: Final = "application/octet-stream"


class Upload:
    """A request body, replayable when its source allows, with progress reporting."""

    content_type: str
    """Text is sent as UTF-8 `text/plain`, anything else as `application/octet-stream`."""
    size: int | None
    """The body's length in bytes; None when the source cannot tell (a pipe)."""

    sent_sha256: str | None
    """With `digest=True`: the SHA-256 of the last body sent whole (None before one was)."""

    def __init__(
        self,
        content: FileContent,
        on_progress: ProgressCallback | None = None,
        *,
        digest: bool = False,
    ) -> None:
        self._on_progress = on_progress
        self._digest = digest
        self.sent_sha256 = None
        self._data: bytes | None = None
        self._path: Path | None = None
        self._file: BinaryIO | None = None
        self._start = 0
        self._used = False
        if isinstance(content, str):
            self._data = content.encode("utf-8")
            self.content_type = TEXT_TYPE
        elif isinstance(content, (bytes, bytearray, memoryview)):
            self._data = bytes(content)
            self.content_type = BINARY_TYPE
        elif isinstance(content, os.PathLike):
            self._path = Path(content)
            if not self._path.is_file():  # before anything is sent, with the usual error
                raise FileNotFoundError(f"No such file to upload: {self._path}")
            self.content_type = BINARY_TYPE
        elif hasattr(content, "read"):
            # Reading nothing tells a text file (str) from a binary one (bytes), whatever wraps it.
            if isinstance(content, io.TextIOBase) or isinstance(content.read(0), str):
                raise TypeError("the file must be opened in binary mode ('rb'), not text mode")
            self._file = content
            self.content_type = BINARY_TYPE
            self._start = content.tell() if _seekable(content) else 0
        else:
            raise TypeError(
                "content must be str, bytes, a path or a binary file object, "
                f"not {type(content).__name__}"
            )
        self.size = self._measure()

    @property
    def replayable(self) -> bool:
        """Whether the body can be sent again after a failed attempt."""
        return self._file is None or _seekable(self._file)

    def chunks(self, pace: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The body from its start, as it goes out; each call starts over. `pace(sent_bytes)`
        is called before each chunk (httpx asks for the next once the last is written), and
        may raise to stop the upload."""
        done = 0
        # Hashed as it goes out, so that folder sync records exactly the bytes it sent.
        digest = hashlib.sha256() if self._digest else None
        for chunk in self._read_from_start():
            if pace is not None:
                pace(done)
            done += len(chunk)
            if digest is not None:
                digest.update(chunk)
            yield chunk
            if self._on_progress is not None:
                self._on_progress(done, self.size)
        if digest is not None:
            self.sent_sha256 = digest.hexdigest()

    async def achunks(self, pace: Callable[[int], None] | None = None) -> AsyncIterator[bytes]:
        """`chunks()` for the async client. Reading a local file in 64 KiB pieces takes
        microseconds, so the reads are done in place rather than in a worker thread."""
        for chunk in self.chunks(pace):
            yield chunk

    def _read_from_start(self) -> Iterator[bytes]:
        if self._data is not None:
            for offset in range(0, len(self._data), CHUNK_SIZE):
                yield self._data[offset : offset + CHUNK_SIZE]
            return
        if self._path is not None:
            with self._path.open("rb") as source:
                yield from _read_chunks(source)
            return
        assert self._file is not None
        if _seekable(self._file):
            self._file.seek(self._start)
        elif self._used:
            raise RuntimeError("a body that cannot be rewound was sent twice")
        self._used = True
        yield from _read_chunks(self._file)

    def _measure(self) -> int | None:
        if self._data is not None:
            return len(self._data)
        if self._path is not None:
            return self._path.stat().st_size
        assert self._file is not None
        if not _seekable(self._file):
            return None
        end = self._file.seek(0, os.SEEK_END)
        self._file.seek(self._start)
        return end - self._start


class Download:
    """Where a streamed answer goes: a path, replaced atomically, or a binary file object."""

    def __init__(
        self,
        destination: Destination,
        on_progress: ProgressCallback | None,
        *,
        digest: bool = False,
    ) -> None:
        self._on_progress = on_progress
        # The SHA-256 of the body written (with `digest`), begun again with each attempt.
        self._hash = hashlib.sha256() if digest else None
        self._path: Path | None = None
        self._file: BinaryIO | None = None
        # The temporary file a path's body goes to, open, and its name.
        self._part: tuple[BinaryIO, str] | None = None
        self._start = 0
        self._written = 0
        self._used = False
        if isinstance(destination, (str, os.PathLike)):
            self._path = _writable_destination(Path(destination))
        elif hasattr(destination, "write"):
            if isinstance(destination, io.TextIOBase) or not _takes_bytes(destination):
                raise TypeError("the file must be opened in binary mode ('wb'), not text mode")
            self._file = destination
            self._start = destination.tell() if _seekable(destination) else 0
        else:
            raise TypeError(
                "destination must be a path (str or os.PathLike) or a binary file object, "
                f"not {type(destination).__name__}"
            )

    @property
    def restartable(self) -> bool:
        """Whether a failed attempt's partial body can be thrown away for another attempt."""
        return self._file is None or _seekable(self._file)

    @property
    def bytes_written(self) -> int:
        return self._written

    @property
    def written_sha256(self) -> str | None:
        """With `digest=True`: the SHA-256 of the body written (by the last attempt), so that
        folder sync records exactly the bytes that landed without reading them back."""
        return None if self._hash is None else self._hash.hexdigest()

    @property
    def path(self) -> Path | None:
        """The destination path, or None for a file object."""
        return self._path

    def consume(self, chunks: Iterator[bytes], total: int | None) -> None:
        """Write an answer's body, start to end (the sync client)."""
        self._begin()
        try:
            for chunk in chunks:
                self._write(chunk, total)
        except BaseException:
            self.abort()
            raise

    async def aconsume(self, chunks: AsyncIterator[bytes], total: int | None) -> None:
        """Write an answer's body, start to end (the async client)."""
        self._begin()
        try:
            async for chunk in chunks:
                self._write(chunk, total)
        except BaseException:
            self.abort()
            raise

    def write_all(self, data: bytes) -> None:
        """Write a body that was already read (an enveloped answer)."""
        self._begin()
        try:
            for offset in range(0, len(data), CHUNK_SIZE):
                self._write(data[offset : offset + CHUNK_SIZE], len(data))
        except BaseException:
            self.abort()
            raise

    def commit(self) -> None:
        """The body is complete: put it in place. Should that fail, the temporary file stays
        for `abort`, which `files.download` calls whatever ended the call."""
        if self._part is not None and self._path is not None:
            part, name = self._part
            part.close()
            os.replace(name, self._path)
            self._part = None
        elif self._file is not None:
            self._file.flush()

    def abort(self) -> None:
        """Throw away a partial body (the destination is left as it was, for a path). Safe to
        call at any time, and after `commit` (then it does nothing)."""
        if self._part is not None:
            (part, name), self._part = self._part, None
            try:
                part.close()  # a no-op if commit closed it already
            finally:
                Path(name).unlink(missing_ok=True)

    def _begin(self) -> None:
        self.abort()
        self._written = 0
        if self._hash is not None:
            self._hash = hashlib.sha256()
        if self._path is not None:
            part = self._path.with_name(f".{self._path.name}.{os.urandom(6).hex()}.part")
            # Created as open(path, "wb") would create it (0o666 less the umask), and given the
            # mode of the file it replaces, since it will take that file's place.
            descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
            # Named at once, so that abort() removes it whatever fails from here on.
            self._part = os.fdopen(descriptor, "wb"), os.fspath(part)
            try:
                replaced = self._path.stat()
            except FileNotFoundError:
                return
            if stat.S_ISREG(replaced.st_mode):
                os.chmod(part, stat.S_IMODE(replaced.st_mode))
            return
        assert self._file is not None
        if _seekable(self._file):
            self._file.seek(self._start)
            self._file.truncate()
        elif self._used:
            raise RuntimeError("a destination that cannot be rewound was written twice")
        self._used = True

    def _write(self, chunk: bytes, total: int | None) -> None:
        target = self._part[0] if self._part is not None else self._file
        assert target is not None
        target.write(chunk)
        self._written += len(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        if self._on_progress is not None:
            self._on_progress(self._written, total)


def _writable_destination(path: Path) -> Path:
    """`path`, if a download can be put there; else the error that says why, raised before
    anything is sent (rather than after the whole body has arrived)."""
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR,
            "The download destination is a directory; name the file to write inside it "
            "(such as Path(directory) / 'name')",
            os.fspath(path),
        )
    directory = path.parent
    if not directory.exists():
        raise FileNotFoundError(
            errno.ENOENT, "No such directory to download into", os.fspath(directory)
        )
    if not directory.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR,
            "The download destination's parent is not a directory",
            os.fspath(directory),
        )
    # The temporary file is made in this directory, then renamed over the destination.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(
            errno.EACCES, "The directory to download into is not writable", os.fspath(directory)
        )
    return path


def expected_size(response: httpx.Response) -> int | None:
    """The body's size as it will be written, when the answer says (not when it is compressed,
    since its Content-Length then counts the compressed bytes)."""
    if "content-encoding" in response.headers:
        return None
    try:
        size = int(response.headers.get("content-length", ""))
    except ValueError:
        return None
    return size if size >= 0 else None


def _read_chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_SIZE):
        if not isinstance(cast(object, chunk), bytes):  # a text file passed as BinaryIO
            raise TypeError("the file must be opened in binary mode ('rb'), not text mode")
        yield chunk


def _takes_bytes(file: BinaryIO) -> bool:
    try:
        file.write(b"")  # writes nothing; a text file refuses bytes
    except TypeError:
        return False
    return True


def _seekable(file: object) -> bool:
    seekable = getattr(file, "seekable", None)
    try:
        return bool(seekable()) if callable(seekable) else False
    except (OSError, ValueError):
        return False
