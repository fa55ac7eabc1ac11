"""`client.files`: every method through both clients (the `run` fixture) against respx, plus real
sockets on 127.0.0.1 for what respx cannot show (concurrency, streaming, peak memory)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient, DeletedFile, DownloadedFile, FileEntry
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, Runner, calls_of, each_request, failure, ok, record_progress
from .loopback import LoopbackServer, Reply, SeenRequest

PROJECT_ID = "proj_1"
FILES = f"/projects/{PROJECT_ID}/files"
RAW_FILES = f"/v1{FILES}".encode()
CHUNK = 64 * 1024
BIG = bytes(range(256)) * 800  # 204,800 bytes: four 64 KiB chunks and a bit


def pattern(size: int) -> bytes:
    """`size` deterministic bytes that are not all alike (a shift or a repeat would show)."""
    block = bytes((i * 7 + i // 256) % 256 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def dir_listing(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def increasing_to(calls: list[tuple[int, int | None]], total: int) -> None:
    """The progress calls rise strictly, each says the total, and the last one is the total."""
    dones = [done for done, _ in calls]
    assert dones == sorted(set(dones)), calls
    assert all(reported == total for _, reported in calls), calls
    assert dones[-1] == total


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer's body in the given chunks; with `fail_after`, the connection breaks
    (httpx.ReadError) once that many chunks have gone out."""

    def __init__(self, chunks: list[bytes], *, fail_after: int | None = None) -> None:
        self._chunks = chunks
        self._fail_after = fail_after
        self.sent = 0

    def _next(self, index: int) -> None:
        if self._fail_after is not None and index == self._fail_after:
            raise httpx.ReadError("connection reset by peer mid-body")

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self._chunks):
            self._next(index)
            self.sent += 1
            yield chunk
        self._next(len(self._chunks))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, chunk in enumerate(self._chunks):
            self._next(index)
            self.sent += 1
            yield chunk
        self._next(len(self._chunks))


def chunked(body: bytes, size: int = CHUNK) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def streamed(body: bytes, *, fail_after: int | None = None) -> httpx.Response:
    """A raw 200 answer with a Content-Length, its body arriving in 64 KiB chunks."""
    return httpx.Response(
        200,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(body))},
        stream=ChunkStream(chunked(body), fail_after=fail_after),
    )


class OneWayReader:
    """A binary file object that cannot be rewound (like a socket)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._inner.read(size)

    def seekable(self) -> bool:
        return False


class OneWayWriter:
    """A binary destination that cannot be rewound."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        pass

    def seekable(self) -> bool:
        return False


def raw_paths(api: respx.MockRouter) -> list[bytes]:
    return [call.request.url.raw_path for call in calls_of(api)]


# --- paths -----------------------------------------------------------------------------------


def operation(method: str, path: Any, tmp_path: Path) -> Callable[[Any], Any]:
    """`method` of client.files on `path` (for write_many: `path` among good paths)."""
    operations: dict[str, Callable[[Any], Any]] = {
        "read": lambda c: c.files.read(PROJECT_ID, path),
        "read_text": lambda c: c.files.read_text(PROJECT_ID, path),
        "write": lambda c: c.files.write(PROJECT_ID, path, "hello"),
        "delete": lambda c: c.files.delete(PROJECT_ID, path),
        "download": lambda c: c.files.download(PROJECT_ID, path, tmp_path / "out.bin"),
        "write_many": lambda c: c.files.write_many(
            PROJECT_ID, {"first.txt": "1", path: "2", "last.txt": "3"}, concurrency=1
        ),
    }
    return operations[method]


HTTP_METHOD = {
    "read": "GET",
    "read_text": "GET",
    "write": "PUT",
    "delete": "DELETE",
    "download": "GET",
}
METHODS = [*HTTP_METHOD, "write_many"]


def any_file_answer(request: httpx.Request) -> httpx.Response:
    if request.method == "GET":
        return httpx.Response(200, content=b"hello", headers={"Content-Type": "text/plain"})
    return httpx.Response(204)


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("src/app/page.tsx", "src/app/page.tsx"),
        ("my docs/read me.md", "my%20docs/read%20me.md"),
        ("q?/a#b/100%.txt", "q%3F/a%23b/100%25.txt"),
        ("données/日本語.txt", "donn%C3%A9es/%E6%97%A5%E6%9C%AC%E8%AA%9E.txt"),
        ("a+b/c&d=e;f:g@h", "a%2Bb/c%26d%3De%3Bf%3Ag%40h"),
        (".env/.../x~y_z-1", ".env/.../x~y_z-1"),
        ("%2F/%2e%2e", "%252F/%252e%252e"),
    ],
)
@pytest.mark.parametrize("method", list(HTTP_METHOD))
def test_path_keeps_slashes_and_encodes_each_segment(
    api: respx.MockRouter, run: Runner, tmp_path: Path, method: str, path: str, encoded: str
) -> None:
    api.route().mock(side_effect=any_file_answer)
    run(operation(method, path, tmp_path))
    assert api.calls.call_count == 1
    request = api.calls.last.request
    assert request.method == HTTP_METHOD[method]
    assert request.url.host == "api.craft.fast"
    assert request.url.raw_path == RAW_FILES + b"/" + encoded.encode("ascii")
    assert request.url.query == b""


def test_write_many_encodes_every_path(api: respx.MockRouter, run: Runner) -> None:
    api.route().mock(side_effect=any_file_answer)
    run(lambda c: c.files.write_many(PROJECT_ID, {"a b/c?.txt": "1", "ü/#": "2"}))
    assert sorted(raw_paths(api)) == sorted(
        [RAW_FILES + b"/a%20b/c%3F.txt", RAW_FILES + b"/%C3%BC/%23"]
    )


BAD_PATHS = ["", "a//b", "./a", "a/.", "a/../b", "..", ".", "/a", "/", "a/", "a\\b", "C:\\x"]


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_bad_paths_are_refused_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path, method: str, path: str
) -> None:
    api.route().mock(side_effect=any_file_answer)
    with pytest.raises(ValueError, match=r"path|part of a path"):
        run(operation(method, path, tmp_path))
    assert api.calls.call_count == 0  # for write_many: not even the good paths
    assert dir_listing(tmp_path) == []


@pytest.mark.parametrize("path", [42, None, b"a.txt", Path("a.txt"), ("a", "b")])
@pytest.mark.parametrize("method", METHODS)
def test_a_path_that_is_not_a_str_is_a_type_error(
    api: respx.MockRouter, run: Runner, tmp_path: Path, method: str, path: object
) -> None:
    api.route().mock(side_effect=any_file_answer)
    with pytest.raises(TypeError, match="must be a str"):
        run(operation(method, path, tmp_path))
    assert api.calls.call_count == 0


def test_project_ids_are_encoded_whole(api: respx.MockRouter, run: Runner) -> None:
    api.route().mock(side_effect=any_file_answer)
    run(lambda c: c.files.read("team/proj 1?#", "dir/a b.txt"))
    assert raw_paths(api) == [b"/v1/projects/team%2Fproj%201%3F%23/files/dir/a%20b.txt"]


def test_list_encodes_the_project_id_whole(api: respx.MockRouter, run: Runner) -> None:
    api.route().respond(200, json=ok([]))
    assert run(lambda c: c.files.list("a/../b")) == []
    assert raw_paths(api) == [b"/v1/projects/a%2F..%2Fb/files"]


@pytest.mark.parametrize("project_id", ["", ".", ".."])
@pytest.mark.parametrize("method", ["list", *METHODS])
def test_bad_project_ids_are_refused_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path, method: str, project_id: str
) -> None:
    api.route().mock(side_effect=any_file_answer)
    operations: dict[str, Callable[[Any], Any]] = {
        "list": lambda c: c.files.list(project_id),
        "read": lambda c: c.files.read(project_id, "a.txt"),
        "read_text": lambda c: c.files.read_text(project_id, "a.txt"),
        "write": lambda c: c.files.write(project_id, "a.txt", b"x"),
        "delete": lambda c: c.files.delete(project_id, "a.txt"),
        "download": lambda c: c.files.download(project_id, "a.txt", tmp_path / "o"),
        "write_many": lambda c: c.files.write_many(project_id, {"a.txt": "x"}),
    }
    with pytest.raises(ValueError, match=re.escape("must not be empty, '.' or '..'")):
        run(operations[method])
    assert api.calls.call_count == 0


# --- list ------------------------------------------------------------------------------------


def test_list_reads_the_flat_list(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(FILES).respond(
        200,
        json=ok(
            [
                {"path": "src", "type": "directory"},
                {
                    "path": "src/app/page.tsx",
                    "type": "file",
                    "size": 1234,
                    "updatedAt": "2024-01-15T12:30:00Z",
                },
                {"path": "link", "type": "symlink", "mode": "0644", "updatedAt": "2024-01-16"},
                {"path": "local.txt", "type": "file", "updatedAt": "2024-01-17T08:00:00"},
            ]
        ),
    )
    entries = run(lambda c: c.files.list(PROJECT_ID))
    assert route.call_count == 1
    assert route.calls.last.request.url.params.get("page") is None
    assert all(isinstance(entry, FileEntry) for entry in entries)
    assert [entry.path for entry in entries] == ["src", "src/app/page.tsx", "link", "local.txt"]
    directory, page, link, local = entries
    assert (directory.type, directory.size, directory.updated_at) == ("directory", None, None)
    assert (page.type, page.size) == ("file", 1234)
    assert page.updated_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert link.type == "symlink"  # unknown type kept as a string
    assert link.model_extra == {"mode": "0644"}  # unknown field kept
    assert link.updated_at is not None
    assert link.updated_at.tzinfo is not None
    # A timestamp without an offset is UTC, never local time.
    assert local.updated_at == datetime(2024, 1, 17, 8, tzinfo=timezone.utc)


def test_list_of_no_files(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(FILES).respond(200, json=ok([]))
    assert run(lambda c: c.files.list(PROJECT_ID)) == []
    assert route.call_count == 1


def test_list_follows_pagination_to_the_end(api: respx.MockRouter, run: Runner) -> None:
    pages = {
        1: (["a.txt", "b.txt"], True),
        2: (["c.txt", "d.txt"], True),
        3: (["e.txt"], False),
    }

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        paths, has_more = pages[number]
        return httpx.Response(
            200,
            json=ok(
                [{"path": p, "type": "file"} for p in paths],
                pagination={"page": number, "limit": 2, "total": 5, "hasMore": has_more},
            ),
        )

    route = api.get(FILES).mock(side_effect=answer)
    entries = run(lambda c: c.files.list(PROJECT_ID))
    assert [entry.path for entry in entries] == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    assert [call.request.url.params.get("page") for call in calls_of(route)] == [None, "2", "3"]


@pytest.mark.parametrize("echo_page", [False, True], ids=["says-page-1", "echoes-page"])
def test_list_stops_when_the_server_repeats_a_page(
    api: respx.MockRouter, run: Runner, echo_page: bool
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        asked = int(request.url.params.get("page", "1"))
        return httpx.Response(
            200,
            json=ok(
                [{"path": "a.txt", "type": "file"}, {"path": "b.txt", "type": "file"}],
                pagination={"page": asked if echo_page else 1, "limit": 2, "hasMore": True},
            ),
        )

    route = api.get(FILES).mock(side_effect=answer)
    with pytest.raises(craft_sdk.CraftError, match="does not advance"):
        run(lambda c: c.files.list(PROJECT_ID))
    assert route.call_count == 2


def test_list_raises_the_typed_error(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(FILES).respond(404, json=failure("PROJECT_NOT_FOUND", "Project not found"))
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        run(lambda c: c.files.list(PROJECT_ID))
    assert caught.value.code == "PROJECT_NOT_FOUND"
    assert route.call_count == 1


# --- read ------------------------------------------------------------------------------------

BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe{not json}\n"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain; charset=utf-8", "application/octet-stream", "image/png", "text/html", None],
)
def test_read_returns_a_raw_body_as_it_is(
    api: respx.MockRouter, run: Runner, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = httpx.Response(200, content=BINARY, headers=headers)
    assert ("content-type" in answer.headers) is (content_type is not None)
    route = api.get(f"{FILES}/assets/logo.png").mock(return_value=answer)
    assert run(lambda c: c.files.read(PROJECT_ID, "assets/logo.png")) == BINARY
    assert route.call_count == 1


def test_read_accepts_any_content_type(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(f"{FILES}/a.txt").respond(200, content=b"x")
    run(lambda c: c.files.read(PROJECT_ID, "a.txt"))
    assert route.calls.last.request.headers["accept"] == "*/*"
    assert route.calls.last.request.headers["authorization"] == f"Bearer {API_KEY}"


def test_read_text_and_download_accept_any_content_type(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    route = api.get(f"{FILES}/a.txt").respond(200, content=b"x")
    run(lambda c: c.files.read_text(PROJECT_ID, "a.txt"))
    run(lambda c: c.files.download(PROJECT_ID, "a.txt", tmp_path / "a.txt"))
    assert [call.request.headers["accept"] for call in calls_of(route)] == ["*/*", "*/*"]


def test_read_the_envelope_with_text_content(api: respx.MockRouter, run: Runner) -> None:
    api.get(f"{FILES}/a.txt").respond(
        200, json=ok({"path": "a.txt", "content": "héllo ✓\nline 2\n"})
    )
    assert run(lambda c: c.files.read(PROJECT_ID, "a.txt")) == "héllo ✓\nline 2\n".encode()


@pytest.mark.parametrize("content_type", ["application/json", "application/vnd.craft+json"])
def test_read_the_envelope_with_base64_content(
    api: respx.MockRouter, run: Runner, content_type: str
) -> None:
    body = json.dumps(
        ok({"path": "logo.png", "content": base64.b64encode(BINARY).decode(), "encoding": "base64"})
    ).encode()
    api.get(f"{FILES}/logo.png").respond(200, content=body, headers={"Content-Type": content_type})
    assert run(lambda c: c.files.read(PROJECT_ID, "logo.png")) == BINARY


@pytest.mark.parametrize("content", ["not base64!!", "QUJDRA=", "QUJDR", "QUJDRA==x", "QUJ\nDRA=="])
def test_read_invalid_base64_is_a_validation_error(
    api: respx.MockRouter, run: Runner, content: str
) -> None:
    route = api.get(f"{FILES}/a.bin").respond(
        200, json=ok({"content": content, "encoding": "base64"})
    )
    with pytest.raises(craft_sdk.APIResponseValidationError, match="base64"):
        run(lambda c: c.files.read(PROJECT_ID, "a.bin"))
    assert route.call_count == 1


@pytest.mark.parametrize(
    "data",
    [{"path": "a.txt"}, {"content": None}, {"content": 42}, {"content": ["x"]}, None, "text", []],
)
def test_read_an_envelope_without_content_is_a_validation_error(
    api: respx.MockRouter, run: Runner, data: object
) -> None:
    route = api.get(f"{FILES}/a.txt").respond(200, json=ok(data))
    with pytest.raises(craft_sdk.APIResponseValidationError, match="no content"):
        run(lambda c: c.files.read(PROJECT_ID, "a.txt"))
    assert route.call_count == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {"react": "^18"}\n}\n',
        b"[1, 2,   3]",
        b'{"success": "yes", "data": {"content": "not me"}}',
        b'{"data": {"content": "nor me"}}',
        b'"just a string"',
        b"{not valid json",
    ],
)
def test_read_a_json_file_returns_its_bytes_unchanged(
    api: respx.MockRouter, run: Runner, body: bytes
) -> None:
    api.get(f"{FILES}/package.json").respond(
        200, content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert run(lambda c: c.files.read(PROJECT_ID, "package.json")) == body


@pytest.mark.parametrize(
    ("response", "error_class"),
    [
        (
            httpx.Response(404, json=failure("FILE_NOT_FOUND", "No such file")),
            craft_sdk.NotFoundError,
        ),
        (
            httpx.Response(404, text="Not Found", headers={"Content-Type": "text/plain"}),
            craft_sdk.NotFoundError,
        ),
        (httpx.Response(403, json=failure("FORBIDDEN", "No")), craft_sdk.PermissionDeniedError),
        (httpx.Response(200, json=failure("FILE_NOT_FOUND", "Gone")), craft_sdk.NotFoundError),
    ],
)
def test_read_errors_are_typed(
    api: respx.MockRouter, run: Runner, response: httpx.Response, error_class: type[Exception]
) -> None:
    route = api.get(f"{FILES}/a.txt").mock(return_value=response)
    with pytest.raises(error_class) as caught:
        run(lambda c: c.files.read(PROJECT_ID, "a.txt"))
    assert type(caught.value) is error_class
    assert route.call_count == 1


def test_read_text_decodes_utf8_by_default(api: respx.MockRouter, run: Runner) -> None:
    text = "héllo wörld ✓ 日本"
    api.get(f"{FILES}/a.txt").respond(200, content=text.encode("utf-8"))
    assert run(lambda c: c.files.read_text(PROJECT_ID, "a.txt")) == text


def test_read_text_with_another_encoding(api: respx.MockRouter, run: Runner) -> None:
    api.get(f"{FILES}/a.txt").respond(
        200, content="café ÿ".encode("latin-1"), headers={"Content-Type": "text/plain"}
    )
    assert run(lambda c: c.files.read_text(PROJECT_ID, "a.txt", encoding="latin-1")) == "café ÿ"


def test_read_text_of_an_envelope(api: respx.MockRouter, run: Runner) -> None:
    api.get(f"{FILES}/a.txt").respond(200, json=ok({"content": "déjà vu"}))
    assert run(lambda c: c.files.read_text(PROJECT_ID, "a.txt")) == "déjà vu"


def test_read_text_raises_the_typed_error(api: respx.MockRouter, run: Runner) -> None:
    api.get(f"{FILES}/a.txt").respond(404, json=failure("FILE_NOT_FOUND"))
    with pytest.raises(craft_sdk.NotFoundError):
        run(lambda c: c.files.read_text(PROJECT_ID, "a.txt"))


@pytest.mark.client_options(max_retries=2)
def test_read_is_retried_after_a_503(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(f"{FILES}/a.txt").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, content=b"fine")]
    )
    assert run(lambda c: c.files.read(PROJECT_ID, "a.txt")) == b"fine"
    assert route.call_count == 2
    assert len(sleeps) == 1


# --- write -----------------------------------------------------------------------------------


def test_write_text_sends_utf8_as_text_plain(api: respx.MockRouter, run: Runner) -> None:
    answer = {
        "path": "src/a.txt",
        "type": "file",
        "size": 999,
        "updatedAt": "2024-02-01T10:00:00Z",
        "etag": "abc",
    }
    route = api.put(f"{FILES}/src/a.txt").respond(200, json=ok(answer))
    entry = run(lambda c: c.files.write(PROJECT_ID, "src/a.txt", "héllo ✓\n"))
    request = route.calls.last.request
    assert route.call_count == 1
    assert request.content == "héllo ✓\n".encode()
    assert request.headers["content-type"] == "text/plain; charset=utf-8"
    assert request.headers["content-length"] == str(len("héllo ✓\n".encode()))
    # The answer's data wins over what was sent.
    assert isinstance(entry, FileEntry)
    assert (entry.path, entry.type, entry.size) == ("src/a.txt", "file", 999)
    assert entry.updated_at == datetime(2024, 2, 1, 10, tzinfo=timezone.utc)
    assert entry.model_extra == {"etag": "abc"}


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_write_bytes_like_sends_octet_stream(
    api: respx.MockRouter, run: Runner, kind: Callable[[bytes], Any]
) -> None:
    route = api.put(f"{FILES}/logo.png").respond(204)
    entry = run(lambda c: c.files.write(PROJECT_ID, "logo.png", kind(BINARY)))
    request = route.calls.last.request
    assert request.content == BINARY
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.headers["content-length"] == str(len(BINARY))
    assert (entry.path, entry.type, entry.size) == ("logo.png", "file", len(BINARY))


def test_write_empty_content(api: respx.MockRouter, run: Runner) -> None:
    route = api.put(f"{FILES}/empty.txt").respond(204)
    entry = run(lambda c: c.files.write(PROJECT_ID, "empty.txt", ""))
    assert route.calls.last.request.content == b""
    assert route.calls.last.request.headers["content-length"] == "0"
    assert entry.size == 0


def test_write_a_path_streams_the_file(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = pattern(300_000)
    source.write_bytes(data)
    route = api.put(f"{FILES}/assets/big.bin").respond(204)
    entry = run(lambda c: c.files.write(PROJECT_ID, "assets/big.bin", source))
    request = route.calls.last.request
    assert request.headers["content-length"] == str(source.stat().st_size) == "300000"
    assert request.headers["content-type"] == "application/octet-stream"
    assert "transfer-encoding" not in request.headers
    assert request.content == data
    assert (entry.path, entry.size) == ("assets/big.bin", 300_000)


def test_write_a_str_path_is_text_not_a_file(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    source = tmp_path / "note.txt"
    source.write_bytes(b"file content")
    route = api.put(f"{FILES}/note.txt").respond(204)
    run(lambda c: c.files.write(PROJECT_ID, "note.txt", str(source)))
    assert route.calls.last.request.content == str(source).encode()


def test_write_a_file_object_sends_from_its_position(api: respx.MockRouter, run: Runner) -> None:
    data = pattern(150_000)
    source = io.BytesIO(data)
    source.seek(50_000)
    route = api.put(f"{FILES}/a.bin").respond(204)
    entry = run(lambda c: c.files.write(PROJECT_ID, "a.bin", source))
    request = route.calls.last.request
    assert request.content == data[50_000:]
    assert request.headers["content-length"] == "100000"
    assert request.headers["content-type"] == "application/octet-stream"
    assert entry.size == 100_000


def test_write_an_open_binary_file(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(BIG)
    route = api.put(f"{FILES}/a.bin").respond(204)
    with source.open("rb") as handle:
        run(lambda c: c.files.write(PROJECT_ID, "a.bin", handle))
    assert route.calls.last.request.content == BIG
    assert route.calls.last.request.headers["content-length"] == str(len(BIG))


def test_write_refuses_a_text_mode_file_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    source = tmp_path / "a.txt"
    source.write_text("text", encoding="utf-8")
    route = api.put(f"{FILES}/a.txt").respond(204)
    with source.open("r", encoding="utf-8") as handle, pytest.raises(TypeError, match="binary"):
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", handle))
    with pytest.raises(TypeError, match="binary"):
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", io.StringIO("text")))
    assert route.call_count == 0


def test_write_refuses_a_missing_path_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    route = api.put(f"{FILES}/a.txt").respond(204)
    with pytest.raises(FileNotFoundError):
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", tmp_path / "missing.bin"))
    with pytest.raises(FileNotFoundError):  # a directory is no file to upload either
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", tmp_path))
    assert route.call_count == 0


@pytest.mark.parametrize("content", [42, None, ["a"], {"a": 1}, 1.5])
def test_write_refuses_other_content_types(
    api: respx.MockRouter, run: Runner, content: object
) -> None:
    route = api.put(f"{FILES}/a.txt").respond(204)
    with pytest.raises(TypeError, match="content must be"):
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", content))
    assert route.call_count == 0


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(204),
        httpx.Response(200),
        httpx.Response(201, json=ok(None)),
        httpx.Response(200, json=ok("written")),
        httpx.Response(200, json=ok(["x"])),
        httpx.Response(200, text="OK", headers={"Content-Type": "text/plain"}),
    ],
    ids=["204", "200-empty", "data-null", "data-str", "data-list", "text"],
)
def test_write_result_falls_back_to_what_was_sent(
    api: respx.MockRouter, run: Runner, response: httpx.Response
) -> None:
    route = api.put(f"{FILES}/dir/a.txt").mock(return_value=response)
    entry = run(lambda c: c.files.write(PROJECT_ID, "dir/a.txt", "12345"))
    assert route.call_count == 1
    assert isinstance(entry, FileEntry)
    assert (entry.path, entry.type, entry.size) == ("dir/a.txt", "file", 5)


def test_write_result_merges_partial_data(api: respx.MockRouter, run: Runner) -> None:
    api.put(f"{FILES}/a.txt").respond(200, json=ok({"updatedAt": "2024-03-01T00:00:00Z"}))
    entry = run(lambda c: c.files.write(PROJECT_ID, "a.txt", "abc"))
    assert (entry.path, entry.size) == ("a.txt", 3)
    assert entry.updated_at == datetime(2024, 3, 1, tzinfo=timezone.utc)


@pytest.mark.client_options(max_retries=0)
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, craft_sdk.BadRequestError),
        (404, craft_sdk.NotFoundError),
        (413, craft_sdk.APIError),
        (500, craft_sdk.InternalServerError),
    ],
)
def test_write_errors_are_typed(
    api: respx.MockRouter, run: Runner, status: int, error_class: type[Exception]
) -> None:
    route = api.put(f"{FILES}/a.txt").respond(status, json=failure("NOPE", "refused"))
    with pytest.raises(error_class) as caught:
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", "x"))
    assert type(caught.value) is error_class
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [("INVALID_PATH", craft_sdk.BadRequestError), ("FILE_NOT_FOUND", craft_sdk.NotFoundError)],
)
def test_write_answered_2xx_with_success_false_raises(
    api: respx.MockRouter, run: Runner, code: str, error_class: type[Exception]
) -> None:
    route = api.put(f"{FILES}/a.txt").respond(200, json=failure(code, "No"))
    with pytest.raises(error_class):
        run(lambda c: c.files.write(PROJECT_ID, "a.txt", "x"))
    assert route.call_count == 1


def test_write_a_non_seekable_file_reports_an_unknown_total(
    api: respx.MockRouter, run: Runner
) -> None:
    api.put(f"{FILES}/a.bin").respond(204)
    calls: list[tuple[int, int | None]] = []
    run(
        lambda c: c.files.write(
            PROJECT_ID, "a.bin", OneWayReader(BIG), on_progress=record_progress(calls)
        )
    )
    assert [total for _, total in calls] == [None] * len(calls)
    assert [done for done, _ in calls] == [min(len(BIG), CHUNK * i) for i in range(1, 5)]


@pytest.mark.parametrize("kind", ["str", "bytes", "path", "file"])
def test_write_reports_progress_up_to_the_total(
    api: respx.MockRouter, run: Runner, tmp_path: Path, kind: str
) -> None:
    data = pattern(200_000)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    contents: dict[str, Callable[[], Any]] = {
        "str": lambda: "a" * 200_000,
        "bytes": lambda: data,
        "path": lambda: source,
        "file": lambda: io.BytesIO(data),
    }
    route = api.put(f"{FILES}/big.bin").respond(204)
    calls: list[tuple[int, int | None]] = []
    run(
        lambda c: c.files.write(
            PROJECT_ID, "big.bin", contents[kind](), on_progress=record_progress(calls)
        )
    )
    assert len(route.calls.last.request.content) == 200_000
    assert len(calls) >= 4  # 200,000 bytes go in four 64 KiB chunks
    increasing_to(calls, 200_000)


@pytest.mark.parametrize("kind", ["path", "file", "bytes"])
def test_write_is_retried_with_the_whole_body(
    api: respx.MockRouter, run: Runner, tmp_path: Path, sleeps: list[float], kind: str
) -> None:
    data = pattern(150_000)
    source = tmp_path / "a.bin"
    source.write_bytes(b"HEAD" + data)
    handle = source.open("rb")
    handle.seek(4)  # rewound to where it stood, not to 0
    contents: dict[str, Any] = {"path": source, "file": handle, "bytes": b"HEAD" + data}
    expected = b"HEAD" + data if kind in ("path", "bytes") else data
    route = api.put(f"{FILES}/a.bin").mock(
        side_effect=[
            httpx.Response(503, json=failure("UNAVAILABLE")),
            httpx.Response(200, json=ok({"path": "a.bin"})),
        ]
    )
    with handle:
        entry = run(lambda c: c.files.write(PROJECT_ID, "a.bin", contents[kind]))
    assert route.call_count == 2
    first, second = (call.request for call in calls_of(route))
    assert first.content == second.content == expected
    assert first.headers["content-length"] == second.headers["content-length"] == str(len(expected))
    assert entry.size == len(expected)
    assert len(sleeps) == 1


def test_write_retry_reports_progress_again(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.put(f"{FILES}/a.bin").mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    calls: list[tuple[int, int | None]] = []
    run(lambda c: c.files.write(PROJECT_ID, "a.bin", BIG, on_progress=record_progress(calls)))
    assert route.call_count == 2
    assert calls[-1] == (len(BIG), len(BIG))
    assert len(sleeps) == 1


def test_write_a_non_seekable_file_is_not_retried(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    data = pattern(100_000)
    route = api.put(f"{FILES}/a.bin").mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    with pytest.raises(craft_sdk.InternalServerError):
        run(lambda c: c.files.write(PROJECT_ID, "a.bin", OneWayReader(data)))
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.content == data
    assert "content-length" not in request.headers  # size unknown: sent chunked
    assert request.headers["transfer-encoding"] == "chunked"
    assert sleeps == []


def test_write_from_a_pipe_is_sent_once_and_not_retried(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    data = pattern(20_000)  # fits in a pipe's buffer, so it can be written up front
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    route = api.put(f"{FILES}/a.bin").mock(side_effect=[httpx.Response(503), httpx.Response(204)])
    with open(read_end, "rb") as pipe, pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.files.write(PROJECT_ID, "a.bin", pipe))
    assert caught.value.attempts == 1
    assert route.call_count == 1
    assert route.calls.last.request.content == data
    assert sleeps == []


def test_write_from_a_pipe(api: respx.MockRouter, run: Runner) -> None:
    data = pattern(20_000)
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    route = api.put(f"{FILES}/a.bin").respond(204)
    with open(read_end, "rb") as pipe:
        entry = run(lambda c: c.files.write(PROJECT_ID, "a.bin", pipe))
    assert route.calls.last.request.content == data
    assert (entry.path, entry.size) == ("a.bin", None)  # its size was never known


# --- delete ----------------------------------------------------------------------------------


def test_delete_reads_the_answer(api: respx.MockRouter, run: Runner) -> None:
    route = api.delete(f"{FILES}/src/old file.txt").respond(
        200, json=ok({"path": "src/old file.txt", "deleted": True, "at": "now"})
    )
    gone = run(lambda c: c.files.delete(PROJECT_ID, "src/old file.txt"))
    assert route.call_count == 1
    assert route.calls.last.request.url.raw_path == RAW_FILES + b"/src/old%20file.txt"
    assert isinstance(gone, DeletedFile)
    assert (gone.path, gone.deleted) == ("src/old file.txt", True)
    assert gone.model_extra == {"at": "now"}


@pytest.mark.parametrize(
    "response", [httpx.Response(204), httpx.Response(200), httpx.Response(200, json=ok(None))]
)
def test_delete_without_a_body(
    api: respx.MockRouter, run: Runner, response: httpx.Response
) -> None:
    route = api.delete(f"{FILES}/a.txt").mock(return_value=response)
    gone = run(lambda c: c.files.delete(PROJECT_ID, "a.txt"))
    assert route.call_count == 1
    assert isinstance(gone, DeletedFile)
    assert (gone.path, gone.deleted) == ("a.txt", True)


def test_delete_raises_the_typed_error(api: respx.MockRouter, run: Runner) -> None:
    route = api.delete(f"{FILES}/a.txt").respond(404, json=failure("FILE_NOT_FOUND"))
    with pytest.raises(craft_sdk.NotFoundError):
        run(lambda c: c.files.delete(PROJECT_ID, "a.txt"))
    assert route.call_count == 1


# --- download --------------------------------------------------------------------------------


def test_download_to_a_path(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    data = pattern(300_000)
    route = api.get(f"{FILES}/assets/big.bin").mock(return_value=streamed(data))
    destination = tmp_path / "big.bin"
    calls: list[tuple[int, int | None]] = []
    result = run(
        lambda c: c.files.download(
            PROJECT_ID, "assets/big.bin", destination, on_progress=record_progress(calls)
        )
    )
    assert route.call_count == 1
    assert destination.read_bytes() == data
    assert dir_listing(tmp_path) == ["big.bin"]  # no .part file left
    assert len(calls) == 5  # one per chunk
    increasing_to(calls, 300_000)
    assert isinstance(result, DownloadedFile)
    assert (result.path, result.size, result.destination) == (
        "assets/big.bin",
        300_000,
        str(destination),
    )


def test_download_replaces_an_existing_file(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    destination = tmp_path / "a.bin"
    destination.write_bytes(b"old content that is longer than the new" * 1000)
    api.get(f"{FILES}/a.bin").mock(return_value=streamed(BINARY))
    run(lambda c: c.files.download(PROJECT_ID, "a.bin", destination))
    assert destination.read_bytes() == BINARY
    assert dir_listing(tmp_path) == ["a.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_download_gives_the_file_the_usual_permissions(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    reference = tmp_path / "made-by-open"
    reference.write_bytes(b"")  # what open(path, "wb") gives a new file under this umask
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\n")
    script.chmod(0o755)
    api.get(f"{FILES}/a.bin").mock(side_effect=each_request(lambda: streamed(BINARY)))
    run(lambda c: c.files.download(PROJECT_ID, "a.bin", tmp_path / "new.bin"))
    run(lambda c: c.files.download(PROJECT_ID, "a.bin", script))
    assert script.read_bytes() == BINARY
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    # A new file is made as open() would make it, not with a temporary file's 0o600; a
    # replaced file keeps its own permissions.
    assert modes == {
        "made-by-open": oct(reference.stat().st_mode & 0o777),
        "new.bin": oct(reference.stat().st_mode & 0o777),
        "run.sh": "0o755",
    }


def test_download_an_empty_file(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    api.get(f"{FILES}/empty").respond(200, content=b"")
    result = run(lambda c: c.files.download(PROJECT_ID, "empty", tmp_path / "empty"))
    assert (tmp_path / "empty").read_bytes() == b""
    assert result.size == 0
    assert dir_listing(tmp_path) == ["empty"]


@pytest.mark.parametrize("existed", [False, True])
def test_download_broken_on_the_last_attempt_leaves_nothing_behind(
    api: respx.MockRouter, run: Runner, tmp_path: Path, sleeps: list[float], existed: bool
) -> None:
    data = pattern(300_000)
    destination = tmp_path / "a.bin"
    if existed:
        destination.write_bytes(b"previous")
    streams: list[ChunkStream] = []

    def answer(request: httpx.Request) -> httpx.Response:
        response = streamed(data, fail_after=2)
        assert isinstance(response.stream, ChunkStream)
        streams.append(response.stream)
        return response

    route = api.get(f"{FILES}/a.bin").mock(side_effect=answer)
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", destination))
    assert caught.value.may_have_succeeded is True
    assert route.call_count == 4  # 1 + 3 retries
    assert [stream.sent for stream in streams] == [2, 2, 2, 2]  # each broken after two chunks
    assert len(sleeps) == 3
    if existed:
        assert destination.read_bytes() == b"previous"
        assert dir_listing(tmp_path) == ["a.bin"]
    else:
        assert not destination.exists()
        assert dir_listing(tmp_path) == []


@pytest.mark.client_options(max_retries=0)
@pytest.mark.parametrize("existed", [False, True])
@pytest.mark.parametrize(
    ("response", "error_class"),
    [
        (
            httpx.Response(404, json=failure("FILE_NOT_FOUND", "No such file")),
            craft_sdk.NotFoundError,
        ),
        (httpx.Response(404, text="Not Found"), craft_sdk.NotFoundError),
        (httpx.Response(403, json=failure("FORBIDDEN")), craft_sdk.PermissionDeniedError),
        (httpx.Response(500, content=b"oops"), craft_sdk.InternalServerError),
        (httpx.Response(200, json=ok({"path": "a.bin"})), craft_sdk.APIResponseValidationError),
    ],
)
def test_download_failure_leaves_the_destination_alone(
    api: respx.MockRouter,
    run: Runner,
    tmp_path: Path,
    response: httpx.Response,
    error_class: type[Exception],
    existed: bool,
) -> None:
    destination = tmp_path / "a.bin"
    if existed:
        destination.write_bytes(b"previous")
    route = api.get(f"{FILES}/a.bin").mock(return_value=response)
    with pytest.raises(error_class) as caught:
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", destination))
    assert type(caught.value) is error_class
    assert route.call_count == 1
    if existed:
        assert destination.read_bytes() == b"previous"
        assert dir_listing(tmp_path) == ["a.bin"]
    else:
        assert dir_listing(tmp_path) == []


def test_download_broken_mid_body_is_retried_from_the_start(
    api: respx.MockRouter, run: Runner, tmp_path: Path, sleeps: list[float]
) -> None:
    data = pattern(300_000)
    destination = tmp_path / "a.bin"
    route = api.get(f"{FILES}/a.bin").mock(
        side_effect=[streamed(data, fail_after=3), streamed(data)]
    )
    calls: list[tuple[int, int | None]] = []
    result = run(
        lambda c: c.files.download(
            PROJECT_ID, "a.bin", destination, on_progress=record_progress(calls)
        )
    )
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert destination.read_bytes() == data  # whole, and not twice the first chunks
    assert result.size == 300_000
    assert dir_listing(tmp_path) == ["a.bin"]
    assert calls[-1] == (300_000, 300_000)


def test_download_to_a_file_object(api: respx.MockRouter, run: Runner) -> None:
    data = pattern(200_000)
    api.get(f"{FILES}/a.bin").mock(return_value=streamed(data))
    sink = io.BytesIO()
    calls: list[tuple[int, int | None]] = []
    result = run(
        lambda c: c.files.download(PROJECT_ID, "a.bin", sink, on_progress=record_progress(calls))
    )
    assert sink.getvalue() == data
    assert (result.path, result.size, result.destination) == ("a.bin", 200_000, None)
    increasing_to(calls, 200_000)


def test_download_to_a_file_object_retried_mid_body(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    data = pattern(300_000)
    route = api.get(f"{FILES}/a.bin").mock(
        side_effect=[streamed(data, fail_after=2), streamed(data)]
    )
    sink = io.BytesIO()
    sink.write(b"keep me:")  # what was in the file before stays; the partial body does not
    run(lambda c: c.files.download(PROJECT_ID, "a.bin", sink))
    assert route.call_count == 2
    assert sink.getvalue() == b"keep me:" + data
    assert len(sleeps) == 1


def test_download_to_a_non_seekable_file_is_not_retried(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    data = pattern(300_000)
    route = api.get(f"{FILES}/a.bin").mock(
        side_effect=[streamed(data, fail_after=2), streamed(data)]
    )
    sink = OneWayWriter()
    with pytest.raises(craft_sdk.APIConnectionError):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", sink))
    assert route.call_count == 1
    assert bytes(sink.data) == data[: 2 * CHUNK]  # what arrived cannot be taken back
    assert sleeps == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"content": "héllo ✓"}, "héllo ✓".encode()),
        ({"content": base64.b64encode(BINARY).decode(), "encoding": "base64"}, BINARY),
    ],
)
def test_download_an_enveloped_answer(
    api: respx.MockRouter, run: Runner, tmp_path: Path, data: dict[str, str], expected: bytes
) -> None:
    api.get(f"{FILES}/a.bin").respond(200, json=ok(data))
    destination = tmp_path / "a.bin"
    calls: list[tuple[int, int | None]] = []
    result = run(
        lambda c: c.files.download(
            PROJECT_ID, "a.bin", destination, on_progress=record_progress(calls)
        )
    )
    assert destination.read_bytes() == expected
    assert result.size == len(expected)
    assert calls[-1] == (len(expected), len(expected))
    assert dir_listing(tmp_path) == ["a.bin"]


def test_download_a_json_file(api: respx.MockRouter, run: Runner) -> None:
    body = b'{\n  "name": "app"\n}\n'
    api.get(f"{FILES}/package.json").respond(
        200, content=body, headers={"Content-Type": "application/json"}
    )
    sink = io.BytesIO()
    run(lambda c: c.files.download(PROJECT_ID, "package.json", sink))
    assert sink.getvalue() == body


def test_download_refuses_bad_destinations_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    route = api.get(f"{FILES}/a.bin").respond(200, content=b"x")
    with pytest.raises(FileNotFoundError):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", tmp_path / "no" / "a.bin"))
    with pytest.raises(TypeError, match="binary"):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", io.StringIO()))
    with pytest.raises(TypeError, match="destination"):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", b"a.bin"))
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="parent is not a directory"):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", tmp_path / "file" / "a.bin"))
    assert route.call_count == 0
    assert dir_listing(tmp_path) == ["file"]


@pytest.mark.parametrize("as_str", [False, True])
def test_download_onto_a_directory_is_refused_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path, as_str: bool
) -> None:
    # It used to download the whole body, then fail in os.replace with a bare IsADirectoryError
    # and leave a hidden .part file of the full size behind.
    route = api.get(f"{FILES}/big.bin").mock(return_value=streamed(pattern(300_000)))
    directory = tmp_path / "some_dir"
    directory.mkdir()
    (directory / "inside.txt").write_bytes(b"kept")
    destination = str(directory) if as_str else directory
    with pytest.raises(IsADirectoryError, match="is a directory; name the file") as caught:
        run(lambda c: c.files.download(PROJECT_ID, "big.bin", destination))
    assert caught.value.filename == str(directory)
    assert route.call_count == 0
    assert dir_listing(tmp_path) == ["some_dir"]
    assert dir_listing(directory) == ["inside.txt"]


def test_download_to_a_str_path(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    data = pattern(200_000)
    api.get(f"{FILES}/a.bin").mock(return_value=streamed(data))
    destination = str(tmp_path / "a.bin")
    result = run(lambda c: c.files.download(PROJECT_ID, "a.bin", destination))
    assert (tmp_path / "a.bin").read_bytes() == data
    assert (result.size, result.destination) == (200_000, destination)
    assert dir_listing(tmp_path) == ["a.bin"]


def test_download_into_a_directory_that_is_not_writable_is_refused_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.access stands in for the permission bits, which root (as in CI) would ignore.
    checked: list[tuple[str, int]] = []

    def access(path: str, mode: int) -> bool:
        checked.append((os.fspath(path), mode))
        return False

    route = api.get(f"{FILES}/a.bin").respond(200, content=b"x")
    monkeypatch.setattr(os, "access", access)
    with pytest.raises(PermissionError, match="not writable"):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", tmp_path / "a.bin"))
    assert checked == [(str(tmp_path), os.W_OK | os.X_OK)]
    assert route.call_count == 0


@pytest.mark.parametrize("existed", [False, True])
@pytest.mark.parametrize("failure_kind", [OSError, KeyboardInterrupt])
def test_download_failing_to_commit_leaves_no_temporary_file(
    api: respx.MockRouter,
    run: Runner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    existed: bool,
    failure_kind: type[BaseException],
) -> None:
    destination = tmp_path / "a.bin"
    if existed:
        destination.write_bytes(b"previous")
    api.get(f"{FILES}/a.bin").mock(return_value=streamed(pattern(200_000)))

    def replace(source: str, target: str) -> None:
        assert Path(source).stat().st_size == 200_000  # the whole body was there to commit
        raise failure_kind("the disk said no")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(failure_kind, match="the disk said no"):
        run(lambda c: c.files.download(PROJECT_ID, "a.bin", destination))
    assert dir_listing(tmp_path) == (["a.bin"] if existed else [])
    if existed:
        assert destination.read_bytes() == b"previous"


# --- write_many ------------------------------------------------------------------------------


def echo_write(request: httpx.Request) -> httpx.Response:
    path = unquote(request.url.raw_path.decode()[len(RAW_FILES) + 1 :])
    return httpx.Response(200, json=ok({"path": path, "size": len(request.content)}))


def test_write_many_writes_everything(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    source = tmp_path / "logo.png"
    source.write_bytes(BINARY)
    route = api.put(url__startswith=f"https://api.craft.fast/v1{FILES}/").mock(
        side_effect=echo_write
    )
    files = {
        "index.html": "<h1>hi</h1>",
        "assets/logo.png": source,
        "data.bin": b"\x00\x01",
        "src/app.js": io.BytesIO(b"console.log(1)"),
    }
    calls: list[tuple[int, int]] = []
    written = run(
        lambda c: c.files.write_many(
            PROJECT_ID, files, concurrency=2, on_progress=record_progress(calls)
        )
    )
    assert route.call_count == 4
    assert set(written) == set(files)
    assert all(isinstance(entry, FileEntry) for entry in written.values())
    assert {path: entry.size for path, entry in written.items()} == {
        "index.html": 11,
        "assets/logo.png": len(BINARY),
        "data.bin": 2,
        "src/app.js": 14,
    }
    bodies = {
        call.request.url.raw_path: (call.request.content, call.request.headers["content-type"])
        for call in calls_of(route)
    }
    assert bodies[RAW_FILES + b"/index.html"] == (b"<h1>hi</h1>", "text/plain; charset=utf-8")
    assert bodies[RAW_FILES + b"/assets/logo.png"] == (BINARY, "application/octet-stream")
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_write_many_of_nothing(api: respx.MockRouter, run: Runner) -> None:
    calls: list[tuple[int, int]] = []
    assert (
        run(lambda c: c.files.write_many(PROJECT_ID, {}, on_progress=record_progress(calls))) == {}
    )
    assert api.calls.call_count == 0
    assert calls == []


@pytest.mark.parametrize(
    ("status", "error_class", "attempts"),
    [
        (400, craft_sdk.BadRequestError, 1),
        (500, craft_sdk.InternalServerError, 4),  # a PUT is retried 3 times first
    ],
)
def test_write_many_stops_at_the_first_failure(
    api: respx.MockRouter,
    run: Runner,
    status: int,
    error_class: type[Exception],
    attempts: int,
) -> None:
    paths = ["1.txt", "2.txt", "3.txt", "4.txt", "5.txt"]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.raw_path.endswith(b"/2.txt"):
            return httpx.Response(status, json=failure("NOPE", "refused"))
        return echo_write(request)

    api.route().mock(side_effect=answer)
    progress: list[tuple[int, int]] = []
    with pytest.raises(craft_sdk.WriteManyError) as caught:
        run(
            lambda c: c.files.write_many(
                PROJECT_ID,
                {path: path for path in paths},
                concurrency=1,
                on_progress=record_progress(progress),
            )
        )
    error = caught.value
    assert error.written == ["1.txt"]
    assert list(error.failed) == ["2.txt"]
    assert type(error.failed["2.txt"]) is error_class
    assert error.not_attempted == ["3.txt", "4.txt", "5.txt"]
    assert raw_paths(api) == [RAW_FILES + b"/1.txt"] + [RAW_FILES + b"/2.txt"] * attempts
    assert progress == [(1, 5)]
    assert "1 of 5 files failed" in str(error)


def test_write_many_failure_accounts_for_every_path(api: respx.MockRouter, run: Runner) -> None:
    paths = [f"f{i:02}.txt" for i in range(20)]

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.raw_path.endswith(b"/f05.txt"):
            return httpx.Response(400, json=failure("INVALID_REQUEST"))
        return echo_write(request)

    api.route().mock(side_effect=answer)
    with pytest.raises(craft_sdk.WriteManyError) as caught:
        run(lambda c: c.files.write_many(PROJECT_ID, {p: p for p in paths}, concurrency=3))
    error = caught.value
    accounted = [*error.written, *error.failed, *error.not_attempted]
    assert sorted(accounted) == paths  # each path exactly once
    assert list(error.failed) == ["f05.txt"]
    assert isinstance(error.failed["f05.txt"], craft_sdk.BadRequestError)
    assert error.not_attempted  # writes stopped: 20 files, at most 3 at a time
    sent = {unquote(p.decode()).rsplit("/", 1)[1] for p in raw_paths(api)}
    assert sent == {*error.written, "f05.txt"}  # nothing not attempted was sent
    assert error.not_attempted == [p for p in paths if p not in sent]


@pytest.mark.parametrize("concurrency", [0, -1, 33, 100])
def test_write_many_concurrency_outside_1_to_32(
    api: respx.MockRouter, run: Runner, concurrency: int
) -> None:
    with pytest.raises(ValueError, match="concurrency must be from 1 to 32"):
        run(lambda c: c.files.write_many(PROJECT_ID, {"a.txt": "x"}, concurrency=concurrency))
    assert api.calls.call_count == 0


@pytest.mark.parametrize("concurrency", [1, 32])
def test_write_many_concurrency_limits_are_accepted(
    api: respx.MockRouter, run: Runner, concurrency: int
) -> None:
    api.route().mock(side_effect=echo_write)
    files = {f"{i}.txt": str(i) for i in range(5)}
    written = run(lambda c: c.files.write_many(PROJECT_ID, files, concurrency=concurrency))
    assert set(written) == set(files)
    assert api.calls.call_count == 5


@pytest.mark.parametrize("concurrency", [2.0, "4", True, None])
def test_write_many_concurrency_must_be_an_int(
    api: respx.MockRouter, run: Runner, concurrency: object
) -> None:
    with pytest.raises(TypeError, match="concurrency must be an int"):
        run(lambda c: c.files.write_many(PROJECT_ID, {"a.txt": "x"}, concurrency=concurrency))
    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    "files", [[("a.txt", "x")], "a.txt", None, {"a.txt"}], ids=["pairs", "str", "none", "set"]
)
def test_write_many_needs_a_mapping(api: respx.MockRouter, run: Runner, files: object) -> None:
    with pytest.raises(TypeError, match="mapping"):
        run(lambda c: c.files.write_many(PROJECT_ID, files))
    assert api.calls.call_count == 0


def test_write_many_checks_every_content_before_sending(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    api.route().mock(side_effect=echo_write)
    with pytest.raises(FileNotFoundError):
        run(
            lambda c: c.files.write_many(
                PROJECT_ID, {"a.txt": "a", "b.bin": tmp_path / "missing", "c.txt": "c"}
            )
        )
    with pytest.raises(TypeError):
        run(lambda c: c.files.write_many(PROJECT_ID, {"a.txt": "a", "b.txt": 42}))
    assert api.calls.call_count == 0


class InFlight:
    """A loopback handler that holds each write until `limit` writes are in flight at once (or
    every write has arrived), and records the most that ever overlapped. No timing is involved:
    a client sending fewer at once would leave writes waiting, and the test would fail on
    `timed_out`, not pass slowly."""

    def __init__(self, limit: int, total: int) -> None:
        self._limit = limit
        self._total = total
        self._changed = threading.Condition()
        self.started = 0
        self.now = 0
        self.max = 0
        self.timed_out = 0

    def __call__(self, request: SeenRequest) -> Reply:
        with self._changed:
            self.started += 1
            self.now += 1
            self.max = max(self.max, self.now)
            self._changed.notify_all()
            ready = self._changed.wait_for(
                lambda: self.now >= self._limit or self.started == self._total, timeout=5
            )
            self.timed_out += not ready
        with self._changed:
            self.now -= 1
        path = unquote(request.path.rsplit("/", 1)[1])
        return Reply(200, json=ok({"path": path, "size": len(request.body)}))


CONCURRENT_FILES = {f"file{i:02}.txt": f"content {i}" for i in range(12)}


def test_write_many_bounds_concurrency_with_threads() -> None:
    handler = InFlight(limit=3, total=len(CONCURRENT_FILES))
    with (
        LoopbackServer(handler) as server,
        CraftClient(api_key=API_KEY, base_url=server.url, clock=FakeClock()) as client,
    ):
        written = client.files.write_many(PROJECT_ID, CONCURRENT_FILES, concurrency=3)
    assert set(written) == set(CONCURRENT_FILES)
    assert len(server.requests) == 12
    assert (handler.max, handler.timed_out) == (3, 0)  # reached 3 at once, never more


@pytest.mark.anyio
async def test_write_many_bounds_concurrency_with_tasks() -> None:
    handler = InFlight(limit=3, total=len(CONCURRENT_FILES))
    with LoopbackServer(handler) as server:
        async with AsyncCraftClient(
            api_key=API_KEY, base_url=server.url, clock=FakeClock()
        ) as client:
            written = await client.files.write_many(PROJECT_ID, CONCURRENT_FILES, concurrency=3)
    assert set(written) == set(CONCURRENT_FILES)
    assert len(server.requests) == 12
    assert (handler.max, handler.timed_out) == (3, 0)  # reached 3 at once, never more


# --- the async client over a real socket -----------------------------------------------------


class FakeFileStore:
    """Enough of the files API, over a real socket, to round-trip every method."""

    PREFIX = f"/v1{FILES}"

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def __call__(self, request: SeenRequest) -> Reply:
        if request.path == self.PREFIX:
            listing = [
                {"path": p, "type": "file", "size": len(b), "updatedAt": "2024-01-15T12:30:00Z"}
                for p, b in sorted(self.files.items())
            ]
            return Reply(200, json=ok(listing))
        if not request.path.startswith(self.PREFIX + "/"):
            return Reply(404, json=failure("PROJECT_NOT_FOUND"))
        path = unquote(request.path[len(self.PREFIX) + 1 :])
        if request.method == "PUT":
            self.files[path] = request.body
            return Reply(200, json=ok({"path": path, "type": "file", "size": len(request.body)}))
        if path not in self.files:
            return Reply(404, json=failure("FILE_NOT_FOUND", "No such file"))
        if request.method == "DELETE":
            del self.files[path]
            return Reply(204, headers={"Content-Type": "text/plain"})
        return Reply(200, body=self.files[path], headers={"Content-Type": "text/plain"})


@pytest.fixture
def store() -> Iterator[tuple[FakeFileStore, LoopbackServer]]:
    files = FakeFileStore()
    with LoopbackServer(files) as server:
        yield files, server


def loopback_client(server: LoopbackServer) -> AsyncCraftClient:
    return AsyncCraftClient(api_key=API_KEY, base_url=server.url, clock=FakeClock())


@pytest.mark.anyio
async def test_async_write_over_a_socket(
    store: tuple[FakeFileStore, LoopbackServer], tmp_path: Path
) -> None:
    files, server = store
    source = tmp_path / "big.bin"
    source.write_bytes(BIG)
    calls: list[tuple[int, int | None]] = []
    async with loopback_client(server) as client:
        text = await client.files.write(PROJECT_ID, "docs/read me.md", "héllo")
        big = await client.files.write(
            PROJECT_ID, "big.bin", source, on_progress=record_progress(calls)
        )
    assert files.files == {"docs/read me.md": "héllo".encode(), "big.bin": BIG}
    assert (text.path, text.size, big.size) == ("docs/read me.md", 6, len(BIG))
    assert [r.path for r in server.requests] == [
        "/v1/projects/proj_1/files/docs/read%20me.md",
        "/v1/projects/proj_1/files/big.bin",
    ]
    assert server.requests[0].headers["content-type"] == "text/plain; charset=utf-8"
    assert server.requests[1].headers["content-length"] == str(len(BIG))
    increasing_to(calls, len(BIG))


@pytest.mark.anyio
async def test_async_read_and_read_text_over_a_socket(
    store: tuple[FakeFileStore, LoopbackServer],
) -> None:
    files, server = store
    files.files["a b/ü.txt"] = "ünïcode".encode()
    files.files["logo.png"] = BINARY
    async with loopback_client(server) as client:
        raw = await client.files.read(PROJECT_ID, "logo.png")
        text = await client.files.read_text(PROJECT_ID, "a b/ü.txt")
        with pytest.raises(craft_sdk.NotFoundError):
            await client.files.read(PROJECT_ID, "missing.txt")
    assert raw == BINARY
    assert text == "ünïcode"
    assert [r.path for r in server.requests][1] == "/v1/projects/proj_1/files/a%20b/%C3%BC.txt"
    assert all(r.headers["accept"] == "*/*" for r in server.requests)


@pytest.mark.anyio
async def test_async_list_over_a_socket(store: tuple[FakeFileStore, LoopbackServer]) -> None:
    files, server = store
    files.files.update({"b.txt": b"bb", "a.txt": b"a"})
    async with loopback_client(server) as client:
        entries = await client.files.list(PROJECT_ID)
    assert [(e.path, e.size) for e in entries] == [("a.txt", 1), ("b.txt", 2)]
    assert entries[0].updated_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert [r.path for r in server.requests] == ["/v1/projects/proj_1/files"]


@pytest.mark.anyio
async def test_async_delete_over_a_socket(store: tuple[FakeFileStore, LoopbackServer]) -> None:
    files, server = store
    files.files["old.txt"] = b"x"
    async with loopback_client(server) as client:
        gone = await client.files.delete(PROJECT_ID, "old.txt")
        with pytest.raises(craft_sdk.NotFoundError):
            await client.files.delete(PROJECT_ID, "old.txt")
    assert (gone.path, gone.deleted) == ("old.txt", True)
    assert files.files == {}
    assert [r.method for r in server.requests] == ["DELETE", "DELETE"]


@pytest.mark.anyio
async def test_async_download_over_a_socket(
    store: tuple[FakeFileStore, LoopbackServer], tmp_path: Path
) -> None:
    files, server = store
    data = pattern(1_000_000)
    files.files["assets/video.bin"] = data
    destination = tmp_path / "video.bin"
    calls: list[tuple[int, int | None]] = []
    async with loopback_client(server) as client:
        result = await client.files.download(
            PROJECT_ID, "assets/video.bin", destination, on_progress=record_progress(calls)
        )
        with pytest.raises(craft_sdk.NotFoundError):
            await client.files.download(PROJECT_ID, "missing.bin", tmp_path / "missing.bin")
    assert destination.read_bytes() == data
    assert result.size == len(data)
    assert dir_listing(tmp_path) == ["video.bin"]
    assert len(calls) > 1
    increasing_to(calls, len(data))


@pytest.mark.anyio
async def test_async_write_many_over_a_socket(
    store: tuple[FakeFileStore, LoopbackServer], tmp_path: Path
) -> None:
    files, server = store
    source = tmp_path / "a.bin"
    source.write_bytes(BIG)
    batch: dict[str, Any] = {
        "index.html": "<p>",
        "a.bin": source,
        "b.bin": io.BytesIO(b"bee"),
        "c d": b"c",
    }
    progress: list[tuple[int, int]] = []
    async with loopback_client(server) as client:
        written = await client.files.write_many(
            PROJECT_ID, batch, concurrency=2, on_progress=record_progress(progress)
        )
        roundtrip = await client.files.read(PROJECT_ID, "a.bin")
    assert files.files == {"index.html": b"<p>", "a.bin": BIG, "b.bin": b"bee", "c d": b"c"}
    assert {p: e.size for p, e in written.items()} == {
        "index.html": 3,
        "a.bin": len(BIG),
        "b.bin": 3,
        "c d": 1,
    }
    assert roundtrip == BIG
    assert progress[-1] == (4, 4)


def test_sync_roundtrip_over_a_socket(
    store: tuple[FakeFileStore, LoopbackServer], tmp_path: Path
) -> None:
    files, server = store
    source = tmp_path / "in.bin"
    source.write_bytes(BIG)
    with CraftClient(api_key=API_KEY, base_url=server.url, clock=FakeClock()) as client:
        client.files.write(PROJECT_ID, "x/in.bin", source)
        client.files.download(PROJECT_ID, "x/in.bin", tmp_path / "out.bin")
        assert [e.path for e in client.files.list(PROJECT_ID)] == ["x/in.bin"]
        client.files.delete(PROJECT_ID, "x/in.bin")
    assert (tmp_path / "out.bin").read_bytes() == BIG
    assert files.files == {}
    assert dir_listing(tmp_path) == ["in.bin", "out.bin"]


# --- peak memory of a streamed upload ---------------------------------------------------------


class DiscardingServer:
    """A one-connection-at-a-time server on 127.0.0.1 that reads each PUT's body in 1 MiB
    pieces, counts it and throws it away (tests/loopback.py keeps whole bodies, which would cost
    the test process 200 MB). Serving connections in turn makes `requests` follow the order the
    connections were made in, a request cut short included."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []
        """(path, body bytes received) for every PUT that reached the server."""
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # a client that stops sending cannot hold the test forever

            def do_PUT(self) -> None:
                remaining = int(self.headers.get("Content-Length") or 0)
                count = 0
                while remaining:
                    piece = self.rfile.read(min(remaining, 1024 * 1024))
                    if not piece:
                        break
                    count += len(piece)
                    remaining -= len(piece)
                outer.requests.append((self.path, count))
                body = json.dumps(ok({"size": count})).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up on this request
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class _Server(HTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a connection the client dropped is what some tests are about

        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def __enter__(self) -> DiscardingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def text_mode_temporary_file() -> Any:
    """`tempfile.NamedTemporaryFile("w+")`: a text-mode file, though not an io.TextIOBase."""
    handle = tempfile.NamedTemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
    handle.write("text, not bytes")
    handle.flush()
    handle.seek(0)
    assert not isinstance(handle, io.TextIOBase)
    return handle


def test_write_refuses_a_text_mode_temporary_file_before_sending_sync() -> None:
    with (
        DiscardingServer() as server,
        CraftClient(api_key=API_KEY, base_url=server.url, clock=FakeClock()) as client,
        text_mode_temporary_file() as handle,
    ):
        with pytest.raises(TypeError, match="binary"):
            client.files.write(PROJECT_ID, "a.txt", handle)
        client.files.write(PROJECT_ID, "after.txt", b"ok")  # served after any earlier request
    assert server.requests == [(f"/v1{FILES}/after.txt", 2)]


@pytest.mark.anyio
async def test_write_refuses_a_text_mode_temporary_file_before_sending_async() -> None:
    with DiscardingServer() as server, text_mode_temporary_file() as handle:
        async with AsyncCraftClient(
            api_key=API_KEY, base_url=server.url, clock=FakeClock()
        ) as client:
            with pytest.raises(TypeError, match="binary"):
                await client.files.write(PROJECT_ID, "a.txt", handle)
            await client.files.write(PROJECT_ID, "after.txt", b"ok")
    assert server.requests == [(f"/v1{FILES}/after.txt", 2)]


UPLOAD_SCRIPT = """
import resource, sys, tempfile
from pathlib import Path
from craft_sdk import CraftClient

url, size = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as directory:
    path = Path(directory) / "big.bin"
    with path.open("wb") as f:
        f.truncate(size)  # sparse: no disk, and no memory until read
    with CraftClient(api_key="k", base_url=url) as client:
        entry = client.files.write("p", "big.bin", path)
    assert entry.size == size, entry
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

MB = 1024 * 1024


def peak_rss_kib(url: str, size: int) -> int:
    finished = subprocess.run(
        [sys.executable, "-c", UPLOAD_SCRIPT, url, str(size)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return int(finished.stdout.strip())


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_streamed_upload_does_not_hold_the_file_in_memory() -> None:
    # Measured under pytest here: 1 KB upload 64,940 KiB, 200 MB upload 64,940 KiB (+0 KiB: the
    # peak is the imports). The same script sending `path.read_bytes()` instead peaks ~196 MB
    # higher (48,364 KiB against 244,760 KiB when run outside pytest).
    with DiscardingServer() as server:
        baseline = peak_rss_kib(server.url, 1024)
        big = peak_rss_kib(server.url, 200 * MB)
    growth = big - baseline
    print(f"peak RSS: 1 KB upload {baseline} KiB, 200 MB upload {big} KiB, +{growth} KiB")  # noqa: T201
    assert server.requests == [("/v1/projects/p/files/big.bin", n) for n in (1024, 200 * MB)]
    assert growth < 20 * 1024
