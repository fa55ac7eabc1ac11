"""A fast stand-in for the Craft API, for the bench: run in its own process on 127.0.0.1.

`python bench/server.py` prints the port it listens on, then serves until its standard input
closes (so it never outlives the bench). `BenchServer` starts it from the bench and stops it.

It is an asyncio protocol speaking just enough HTTP/1.1: keep-alive, `Content-Length` request
bodies (read in chunks and dropped, so a 200 MiB upload costs it no memory), any number of
connections. Every answer body but a file listing is serialised before it is asked for, so the
client, not the server, is what the bench measures. Answers are shaped like the Craft API's:

    GET /v1/me                            the key's user
    GET /v1/projects/proj_000001          one project, with settings and stats
    GET /v1/projects?page=P&limit=L       page P of 100,000 projects (L from 1 to 100)
    PUT /v1/projects/<id>/files/<path>    the body counted and dropped; the file's entry
                                          (its size, and the time of the write as updatedAt)
                                          remembered, and answered
    GET /v1/projects/<id>/files           the entries of every file written to the project,
                                          sorted by path (any project id; none written: [])
    GET /_bench/stats                     requests served and the server's CPU seconds

Every request but the last must carry `Authorization: Bearer <API_KEY>` (else 401), and every
answer carries the rate-limit headers (a limit no bench comes near) and an `X-Request-Id`.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import math
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

API_PREFIX: Final = "/v1"
STATS_PATH: Final = "/_bench/stats"
PROJECT_ID: Final = "proj_000001"
API_KEY: Final = "craft_bench_0123456789abcdef"
AUTHORIZATION: Final = f"Bearer {API_KEY}"
TOTAL_PROJECTS: Final = 100_000
MAX_LIMIT: Final = 100
RATE_LIMIT: Final = 1_000_000
MAX_HEAD: Final = 64 * 1024  # the longest request line and headers accepted
WARM_PAGES: Final = ((1, 20), *((page, 100) for page in range(1, TOTAL_PROJECTS // 100 + 1)))
"""(page, limit) of every page the bench asks for, serialised at start-up."""

_TIMESTAMP: Final = "2025-01-15T10:30:00Z"
_REASONS: Final = {
    200: b"OK",
    400: b"Bad Request",
    401: b"Unauthorized",
    404: b"Not Found",
    411: b"Length Required",
}


def project(number: int, *, full: bool = False) -> dict[str, Any]:
    """Project number `number` as the API spells it; `full` adds what `projects.get` adds."""
    project_id = f"proj_{number:06d}"
    item: dict[str, Any] = {
        "id": project_id,
        "name": f"Landing page {number}",
        "description": "A landing page for the spring launch, with a signup form.",
        "status": "active",
        "template": "landing-page",
        "previewUrl": f"https://preview.craft.fast/{project_id}",
        "createdAt": _TIMESTAMP,
        "updatedAt": _TIMESTAMP,
    }
    if full:
        item["settings"] = {"framework": "nextjs", "styling": "tailwind"}
        item["stats"] = {"files": 12, "lastEditedAt": _TIMESTAMP}
    return item


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@functools.cache
def _item(number: int) -> bytes:
    return _json(project(number))


PROJECT_BODY: Final = _json({"success": True, "data": project(1, full=True)})
USER_BODY: Final = _json(
    {"success": True, "data": {"id": "user_bench", "email": "bench@craft.fast", "name": "Bench"}}
)


@functools.cache
def page_body(page: int, limit: int) -> bytes:
    """Page `page` of `limit` projects, with the pagination block the API sends."""
    total_pages = math.ceil(TOTAL_PROJECTS / limit)
    first = (page - 1) * limit + 1
    items = b",".join(_item(n) for n in range(first, min(first + limit, TOTAL_PROJECTS + 1)))
    pagination = {
        "page": page,
        "limit": limit,
        "total": TOTAL_PROJECTS,
        "totalPages": total_pages,
        "hasMore": page < total_pages,
    }
    return b'{"success":true,"data":[%s],"pagination":%s}' % (items, _json(pagination))


def error_body(code: str, message: str) -> bytes:
    return _json({"success": False, "error": {"code": code, "message": message}})


class Files:
    """The files written to each project: per path, its entry, serialised once at the write."""

    def __init__(self) -> None:
        self._projects: dict[str, dict[str, bytes]] = {}

    def write(self, project_id: str, path: str, size: int) -> bytes:
        """Remember a write of `size` bytes; the answer's body, the file's entry."""
        # Whole seconds, as the API spells its timestamps: the entry stays as it was written
        # until the file is written again, so a listing shows what the write answered.
        updated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entry = _json({"path": path, "type": "file", "size": size, "updatedAt": updated_at})
        self._projects.setdefault(project_id, {})[path] = entry
        return b'{"success":true,"data":%s}' % entry

    def listing(self, project_id: str) -> bytes:
        """Every file written to the project, sorted by path (no pagination, as documented)."""
        files = self._projects.get(project_id, {})
        return b'{"success":true,"data":[%s]}' % b",".join(files[path] for path in sorted(files))


def is_listing(target: str) -> bool:
    return target.partition("?")[0].endswith("/files")


@functools.lru_cache(maxsize=4096)  # a GET's answer depends on nothing else, a listing aside
def route_get(target: str, authorization: str) -> tuple[int, bytes]:
    return route("GET", target, authorization, 0)


def route(
    method: str, target: str, authorization: str, body_size: int, files: Files | None = None
) -> tuple[int, bytes]:
    """The status and body of the answer to a request (whose body of `body_size` was read).

    `files` holds what was written; without it (the cached GETs), files are not answered.
    """
    url = urlsplit(target)
    if url.path == STATS_PATH:
        return 200, b""  # filled in by `Api.answer`
    if authorization != AUTHORIZATION:
        return 401, error_body("UNAUTHORIZED", f"Send Authorization: {AUTHORIZATION}")
    parts = url.path.removeprefix(API_PREFIX).strip("/").split("/")
    if method == "GET" and parts == ["me"]:
        return 200, USER_BODY
    if parts[0] == "projects":
        if method == "GET" and len(parts) == 1:
            query = dict(parse_qsl(url.query))
            try:
                page, limit = int(query.get("page", 1)), int(query.get("limit", 20))
            except ValueError:
                return 400, error_body("INVALID_PARAMETERS", "page and limit are numbers")
            if page >= 1 and 1 <= limit <= MAX_LIMIT:
                return 200, page_body(page, limit)
        elif method == "GET" and parts[1:] == [PROJECT_ID]:
            return 200, PROJECT_BODY
        elif files is not None and parts[2:3] == ["files"]:
            project_id = unquote(parts[1])
            if method == "PUT" and len(parts) > 3:
                return 200, files.write(project_id, unquote("/".join(parts[3:])), body_size)
            if method == "GET" and len(parts) == 3:
                return 200, files.listing(project_id)
    return 404, error_body("NOT_FOUND", f"No bench answer for {method} {url.path}")


class Api:
    """Whole answers: status line, headers and body. The headers every answer shares are
    refreshed once a second (`Date`, the rate-limit reset)."""

    def __init__(self) -> None:
        self.shared_headers = b""
        self.requests = 0
        self.files = Files()
        self.refresh()

    def refresh(self) -> None:
        now = time.time()
        self.shared_headers = (
            f"Content-Type: application/json\r\n"
            f"Date: {email.utils.formatdate(now, usegmt=True)}\r\n"
            f"X-RateLimit-Limit: {RATE_LIMIT}\r\n"
            f"X-RateLimit-Remaining: {RATE_LIMIT - 1}\r\n"
            f"X-RateLimit-Reset: {math.ceil(now) + 60}\r\n"
            f"X-RateLimit-RetryAfter: 0\r\n"
        ).encode()

    def answer(self, method: str, target: str, authorization: str, body_size: int) -> bytes:
        if method == "GET" and not is_listing(target):
            status, body = route_get(target, authorization)
        else:
            status, body = route(method, target, authorization, body_size, self.files)
        if target == STATS_PATH:
            body = _json({"requests": self.requests, "cpu_seconds": time.process_time()})
        else:
            self.requests += 1
        return b"HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\nX-Request-Id: req_%08d\r\n\r\n%s" % (
            status,
            _REASONS[status],
            self.shared_headers,
            len(body),
            self.requests,
            body,
        )


class Connection(asyncio.Protocol):
    """One keep-alive connection: requests parsed from the byte stream, answered in order."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._body_left = 0  # bytes of the current request's body still to drop
        self._pending: tuple[str, str, str, int, bool] | None = None  # answered once it is in

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._body_left:
            taken = min(len(data), self._body_left)
            self._body_left -= taken
            if self._body_left:
                return  # the chunk is dropped right here, never buffered
            data = data[taken:]
            assert self._pending is not None
            if not self._respond(*self._pending):
                return
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).decode("latin-1")
            del self._buffer[: end + 4]
            if not self._request(head):
                return
        if len(self._buffer) > MAX_HEAD:
            self._close()

    def _request(self, head: str) -> bool:
        """Handle one request; False when what follows it in the buffer is not a request."""
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close"
        if "chunked" in headers.get("transfer-encoding", ""):
            self._write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n\r\n")
            self._close()
            return False
        authorization = headers.get("authorization", "")
        size = int(headers.get("content-length", 0))
        if len(self._buffer) >= size:
            del self._buffer[:size]
            return self._respond(method, target, authorization, size, close)
        self._body_left = size - len(self._buffer)
        self._buffer.clear()
        self._pending = (method, target, authorization, size, close)
        return False

    def _respond(
        self, method: str, target: str, authorization: str, size: int, close: bool
    ) -> bool:
        self._write(self._api.answer(method, target, authorization, size))
        if close:
            self._close()
        return not close

    def _write(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(announce: Callable[[int], None]) -> None:
    for page, limit in WARM_PAGES:
        page_body(page, limit)
    loop = asyncio.get_running_loop()
    api = Api()

    def tick() -> None:
        api.refresh()
        loop.call_later(1.0, tick)

    tick()
    server = await loop.create_server(
        lambda: Connection(api), "127.0.0.1", 0, backlog=1024, reuse_address=True
    )
    announce(server.sockets[0].getsockname()[1])
    # Serve until whoever started us closes our standard input (or dies).
    stdin_closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stdin_closed.set)
    async with server:
        await stdin_closed.wait()
    loop.remove_reader(sys.stdin.fileno())


class BenchServer:
    """The server in a child process: `with BenchServer() as server: server.base_url`."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.origin = ""
        self.base_url = ""

    def __enter__(self) -> BenchServer:
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.strip().isdigit():
            self._process.kill()
            raise RuntimeError(f"the bench server did not start (it said {line!r})")
        self.origin = f"http://127.0.0.1:{int(line)}"
        self.base_url = self.origin + API_PREFIX
        return self

    def stats(self) -> dict[str, float]:
        """Requests served so far, and the server's CPU seconds."""
        with urllib.request.urlopen(self.origin + STATS_PATH) as answer:
            stats: dict[str, float] = json.load(answer)
        return stats

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main() -> None:
    def announce(port: int) -> None:
        print(port, flush=True)

    asyncio.run(serve(announce))


if __name__ == "__main__":
    main()
