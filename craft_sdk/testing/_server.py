"""`EmulatorServer`: a `CraftEmulator` behind a real HTTP/1.1 socket on a loopback address.

Each request is read off the wire (its body by Content-Length or chunked), handed to
`emulator.handle` as an `httpx.Request`, and the answer written back with keep-alive. Requests
under `/_emulator` go to the control endpoint (`_control.py`) instead. An injected
drop closes the connection with no answer at all, as a crashed server or a proxy would.

Only loopback addresses are ever bound: the emulator accepts a fixed, well-known key.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, cast

from typing_extensions import Self

from .._http import httpx
from ._control import CONTROL_PATH, control, is_control

if TYPE_CHECKING:
    from ._emulator import CraftEmulator

# Headers that describe one hop's framing; the emulator sees the body already de-framed.
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer"}
)
_MAX_LINE: Final = 65536
# The errors of a client that went away (it gave up mid-transfer, or was killed): its business,
# not the server's, so one line at INFO instead of socketserver's traceback on stderr.
_CLIENT_GONE: Final = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
logger = logging.getLogger("craft_sdk.testing")
_INTERNAL_ERROR: Final = (
    b'{"success":false,"error":{"code":"INTERNAL_ERROR","message":"The emulator failed."}}'
)


def loopback_address(host: str) -> str:
    """`host` as an IP address to bind, if it is loopback; else `ValueError`."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(
            f"The emulator only listens on loopback addresses (127.0.0.1, ::1), not {host!r}: "
            "it accepts a fixed, well-known API key."
        )
    return str(address)


class EmulatorServer:
    """A running emulator server; `url` is the base URL to give a client.

    Made by `CraftEmulator.serve()`, which has already started it. Use it as a context manager,
    or call `close()`, to stop it and close every connection.

    Args:
        emulator: The emulator to serve.
        host: A loopback address to listen on, such as "127.0.0.1", "::1" or "localhost";
            anything else raises `ValueError`, since the emulator accepts a fixed, well-known
            key.
        port: The port to listen on; 0 picks a free one.
    """

    def __init__(self, emulator: CraftEmulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        address = loopback_address(host)
        server_class = _Server6 if ":" in address else _Server
        self.emulator = emulator
        """The emulator that answers the requests."""
        self._httpd = server_class((address, port), _Handler)
        self._httpd.emulator = emulator
        self._closed = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"craft-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def host(self) -> str:
        """The IP address listened on, such as "127.0.0.1" ("localhost" becomes that)."""
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        """The port listened on (the one picked, when 0 was asked for)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL: `http://127.0.0.1:<port>/v1` (the emulator's own path prefix)."""
        path = httpx.URL(self.emulator.base_url).path.rstrip("/")
        return f"{self._origin}{path}"

    @property
    def control_url(self) -> str:
        """The emulator-only control endpoint: `http://127.0.0.1:<port>/_emulator` (see
        docs/testing.md)."""
        return f"{self._origin}{CONTROL_PATH}"

    @property
    def _origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving and close every open connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r}, closed={self._closed})"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of clients connecting at once (an
    # async client's first 64 requests) would wait on the kernel's SYN retries, or be reset.
    request_queue_size = 128
    emulator: CraftEmulator

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, connection: socket.socket, *, open: bool) -> None:
        with self._connections_lock:
            if open:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _CLIENT_GONE):
            logger.info(
                "Craft emulator: the client at %s went away mid-request (%s)",
                _address(client_address),
                type(error).__name__,
            )
            return
        super().handle_error(request, client_address)  # a fault of the emulator's: traceback

    def close_connections(self) -> None:
        """Wake every handler thread blocked on a kept-alive connection, so that it ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the other side
                connection.shutdown(socket.SHUT_RDWR)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    @property
    def _server(self) -> _Server:
        # socketserver types `server` as any BaseServer; this handler only ever runs in a _Server.
        return cast(_Server, self.server)

    def setup(self) -> None:
        super().setup()
        self._server.track(self.connection, open=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._server.track(self.connection, open=False)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True  # the framing is lost, so is the connection
            self._write(400, {"Content-Type": "text/plain"}, b"Malformed request body")
            return
        path = self.path.partition("?")[0]
        if is_control(path):  # the emulator's own endpoint, not the API's
            answer = control(self._server.emulator, self.command, path, body)
            self._write(answer.status, {"Content-Type": answer.content_type}, answer.body)
            return
        request = httpx.Request(
            self.command,
            self._url(),
            headers=[(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP],
            content=body,
        )
        try:
            response = self._server.emulator.handle(request)
        except httpx.TransportError:
            self.close_connection = True  # an injected drop: no answer at all
            return
        except Exception:  # a webhook callback (or the emulator) failed: answer as a server
            self._write(500, {"Content-Type": "application/json"}, _INTERNAL_ERROR)
            raise  # socketserver reports it on stderr, and the connection closes
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        self._write(response.status_code, headers, response.content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _url(self) -> str:
        address, port = self._server.server_address[:2]
        host = str(address)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.path}"

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)  # ValueError if malformed
        if length < 0:
            raise ValueError("negative Content-Length")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ValueError("the body ended early")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(_MAX_LINE).split(b";")[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            if self.rfile.readline(_MAX_LINE).strip():
                raise ValueError("a chunk is longer than its size")
        while self.rfile.readline(_MAX_LINE).strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
        # send_response_only: no Server or Date header of its own; Date comes from the clock.
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the CLI read `emulator.requests` instead


def _address(client_address: object) -> str:
    """`host:port` of a client's (host, port, ...) address."""
    if isinstance(client_address, tuple):
        parts = cast(tuple[object, ...], client_address)
        return ":".join(str(part) for part in parts[:2])
    return str(client_address)


__all__ = ["EmulatorServer", "loopback_address"]
