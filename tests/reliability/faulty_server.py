"""A misbehaving HTTP/1.1 server on 127.0.0.1, scripted request by request.

    with FaultyServer(CloseAfterHead(), Json(200, ok(USER))) as server:
        CraftClient(api_key=..., base_url=server.url).me()
    assert len(server.requests) == 2

Each request that arrives takes the next `Behaviour` of the script; once the script is used up,
`route(request)` (if given) or `default` answers. A behaviour writes raw bytes to the socket, so
it can do what no well-behaved server (and no respx mock) does: hang up before answering, reset
the connection in the middle of a body, send fewer bytes than it announced, leave a chunked body
unfinished, drip one byte at a time, answer with something that is not HTTP, or answer as an
nginx gateway would. The server records every request that reached it (method, path, headers,
body), how many connections it accepted and how many body bytes it sent.

Everything is bounded: every wait is interruptible by `close()`, every socket is closed, every
thread is joined. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from typing_extensions import Self

from ..loopback import SeenRequest

_MAX_HEAD = 64 * 1024
_RECV = 64 * 1024


class Exchange:
    """One request on one connection, as a behaviour sees it."""

    def __init__(self, server: FaultyServer, connection: socket.socket, request: SeenRequest):
        self.server = server
        self.connection = connection
        self.request = request

    def send(self, data: bytes, *, body_bytes: int = 0) -> None:
        self.connection.sendall(data)
        self.server._count_sent(body_bytes)

    def wait(self, seconds: float) -> bool:
        """Sleep, unless the server is closing; True when it is."""
        return self.server._stop.wait(seconds)

    def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER on, with a zero timeout)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def head(status: int, headers: dict[str, str] | None = None) -> bytes:
    """A status line and headers, ending with the blank line."""
    phrase = http.client.responses.get(status, "Whatever")
    lines = [f"HTTP/1.1 {status} {phrase}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Behaviour:
    """What the server does with one request. `run` returns whether to keep the connection."""

    reads_request = True
    """False for a behaviour that acts as soon as the connection is accepted."""

    def run(self, exchange: Exchange) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__


class CloseAtOnce(Behaviour):
    """Accept the connection and close it before reading or answering anything."""

    reads_request = False

    def run(self, exchange: Exchange) -> bool:
        return False


class CloseAfterHead(Behaviour):
    """Read the request, then hang up without a byte of answer (a crashed worker)."""

    def run(self, exchange: Exchange) -> bool:
        return False


class Json(Behaviour):
    """A normal JSON answer, with Content-Length, keeping the connection alive."""

    def __init__(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()

    def run(self, exchange: Exchange) -> bool:
        payload = self.payload()
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(payload)),
            **self.headers,
        }
        exchange.send(head(self.status, headers) + payload, body_bytes=len(payload))
        return True

    def __repr__(self) -> str:
        return f"Json({self.status})"


class ResetMidBody(Behaviour):
    """Announce a body, send part of it, then reset the connection (RST)."""

    def __init__(self, body: bytes, sent: int) -> None:
        self.body = body
        self.sent = sent

    def run(self, exchange: Exchange) -> bool:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(self.body))}
        exchange.send(head(200, headers) + self.body[: self.sent], body_bytes=self.sent)
        exchange.wait(0.02)  # let the partial body arrive before the RST overtakes it
        exchange.reset()
        return False


class ShortBody(Behaviour):
    """Announce `len(body)` bytes, send only `sent` of them, then close normally (FIN)."""

    def __init__(self, body: bytes, sent: int) -> None:
        self.body = body
        self.sent = sent

    def run(self, exchange: Exchange) -> bool:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(self.body))}
        exchange.send(head(200, headers) + self.body[: self.sent], body_bytes=self.sent)
        return False


class Chunked(Behaviour):
    """A complete chunked body (no Content-Length), keeping the connection alive."""

    complete = True

    def __init__(self, chunks: Iterable[bytes], headers: dict[str, str] | None = None) -> None:
        self.chunks = [chunk for chunk in chunks if chunk]  # an empty chunk would end the body
        self.headers = headers or {}

    def run(self, exchange: Exchange) -> bool:
        headers = {
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
            **self.headers,
        }
        exchange.send(head(200, headers))
        for chunk in self.chunks:
            exchange.send(b"%x\r\n%s\r\n" % (len(chunk), chunk), body_bytes=len(chunk))
        if self.complete:
            exchange.send(b"0\r\n\r\n")
        return self.complete


class IncompleteChunked(Chunked):
    """A chunked body that stops before its last (zero-length) chunk, then the close."""

    complete = False


class Drip(Behaviour):
    """Headers at once, then the body one byte every `interval` seconds."""

    def __init__(self, body: bytes, interval: float, status: int = 200) -> None:
        self.body = body
        self.interval = interval
        self.status = status

    def run(self, exchange: Exchange) -> bool:
        headers = {"Content-Type": "application/json", "Content-Length": str(len(self.body))}
        exchange.send(head(self.status, headers))
        for byte in self.body:
            if exchange.wait(self.interval):
                return False
            exchange.send(bytes([byte]), body_bytes=1)
        return True


class Garbage(Behaviour):
    """Answer with bytes that are not HTTP at all, then close."""

    def __init__(self, data: bytes = b"NOT HTTP AT ALL\r\n\r\n") -> None:
        self.data = data

    def run(self, exchange: Exchange) -> bool:
        exchange.send(self.data)
        return False


GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class GatewayPage(Behaviour):
    """The HTML error page a gateway (nginx) serves when the API behind it is down."""

    def __init__(self, status: int = 502) -> None:
        self.status = status

    def run(self, exchange: Exchange) -> bool:
        page = GATEWAY_PAGE.replace(b"502 Bad Gateway", f"{self.status} Bad Gateway".encode())
        headers = {
            "Server": "nginx/1.25.3",
            "Content-Type": "text/html",
            "Content-Length": str(len(page)),
            "Connection": "close",
        }
        exchange.send(head(self.status, headers) + page, body_bytes=len(page))
        return False

    def __repr__(self) -> str:
        return f"GatewayPage({self.status})"


class SlowHeaders(Behaviour):
    """Say nothing for `delay` seconds, then behave as `then` (or hang up)."""

    def __init__(self, delay: float, then: Behaviour | None = None) -> None:
        self.delay = delay
        self.then = then

    def run(self, exchange: Exchange) -> bool:
        if exchange.wait(self.delay) or self.then is None:
            return False
        return self.then.run(exchange)


class WaitFor(Behaviour):
    """Say nothing until `event` is set, then behave as `then` (hang up if the server closes
    first)."""

    def __init__(self, event: threading.Event, then: Behaviour) -> None:
        self.event = event
        self.then = then

    def run(self, exchange: Exchange) -> bool:
        while not self.event.wait(0.01):
            if exchange.wait(0):
                return False
        return self.then.run(exchange)


class HeadThenHold(Behaviour):
    """Send a head (and maybe the start of a body), then hold the connection open, sending
    nothing more, until the client hangs up or the server closes."""

    def __init__(self, raw_head: bytes, body_start: bytes = b"") -> None:
        self.raw_head = raw_head
        self.body_start = body_start

    def run(self, exchange: Exchange) -> bool:
        exchange.send(self.raw_head + self.body_start, body_bytes=len(self.body_start))
        exchange.connection.settimeout(0.05)
        while not exchange.wait(0):
            try:
                if not exchange.connection.recv(_RECV):
                    break  # the client hung up
            except TimeoutError:
                continue
            except OSError:
                break
        return False


class Raw(Behaviour):
    """Send these bytes as the whole answer (head and body), in one write."""

    def __init__(self, data: bytes, *, keep_alive: bool = False, body_bytes: int = 0) -> None:
        self.data = data
        self.keep_alive = keep_alive
        self.body_bytes = body_bytes

    def run(self, exchange: Exchange) -> bool:
        exchange.send(self.data, body_bytes=self.body_bytes)
        return self.keep_alive


class Redirect(Behaviour):
    def __init__(self, status: int, location: str) -> None:
        self.status = status
        self.location = location

    def run(self, exchange: Exchange) -> bool:
        headers = {"Location": self.location, "Content-Length": "0"}
        exchange.send(head(self.status, headers))
        return True

    def __repr__(self) -> str:
        return f"Redirect({self.status})"


class FaultyServer:
    """A raw-socket HTTP/1.1 server on 127.0.0.1 whose answers follow a script."""

    def __init__(
        self,
        *script: Behaviour,
        default: Behaviour | None = None,
        route: Callable[[SeenRequest], Behaviour] | None = None,
        tls: ssl.SSLContext | None = None,
        path: str = "/v1",
    ) -> None:
        self.requests: list[SeenRequest] = []
        self.connections = 0
        """Connections accepted."""
        self.closed = 0
        """Connections the server has closed (or seen closed) and is done with."""
        self.body_bytes_sent = 0
        self.errors: list[BaseException] = []
        """Unexpected errors on the server's own threads (a broken behaviour, not a client);
        leaving the `with` block fails the case if there are any."""
        self._script = list(script)
        self._default = default
        self._route = route
        self._tls = tls
        self._path = path
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self._listener.settimeout(0.05)
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def origin(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + self._path

    def __enter__(self) -> Self:
        self._acceptor.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc_type is None:  # a failing case keeps its own error
            assert self.errors == [], f"a behaviour broke on the server: {self.errors!r}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the acceptor at once (Linux)
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            connections = list(self._open)
            threads = list(self._threads)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the other side
                connection.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked in recv
        for thread in threads:
            thread.join(timeout=5)
        assert not any(thread.is_alive() for thread in threads), "a handler thread hung"

    # ---- internals ------------------------------------------------------------------------

    def _count_sent(self, body_bytes: int) -> None:
        if body_bytes:
            with self._lock:
                self.body_bytes_sent += body_bytes

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            with self._lock:
                self.connections += 1
                self._open.add(connection)
                self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        connection = raw
        try:
            with raw:
                raw.settimeout(10)
                if self._take_if_immediate():
                    return
                if self._tls is not None:
                    try:
                        connection = self._tls.wrap_socket(raw, server_side=True)
                    except (ssl.SSLError, OSError):
                        return  # the client refused the certificate: what TLS tests count
                buffer = b""
                while not self._stop.is_set():
                    parsed = _read_request(connection, buffer)
                    if parsed is None:
                        return
                    request, buffer = parsed
                    with self._lock:
                        self.requests.append(request)
                    behaviour = self._next(request)
                    if not behaviour.run(Exchange(self, connection, request)):
                        return
        except OSError:
            return  # the client went away mid-answer: part of what is tested
        except Exception as error:  # a bug in a behaviour: keep it for the test to see
            self.errors.append(error)
        finally:
            if connection is not raw:
                connection.close()
            with self._lock:
                self._open.discard(raw)
                self.closed += 1

    def _take_if_immediate(self) -> bool:
        with self._lock:
            if self._script and not self._script[0].reads_request:
                self._script.pop(0)
                return True
        return False

    def _next(self, request: SeenRequest) -> Behaviour:
        with self._lock:
            if self._script:
                return self._script.pop(0)
        if self._route is not None:
            return self._route(request)
        if self._default is not None:
            return self._default
        return Json(404, {"success": False, "error": {"code": "NOT_FOUND", "message": "none"}})


def _read_request(connection: socket.socket, buffer: bytes) -> tuple[SeenRequest, bytes] | None:
    """The next request on the connection, and what was read past it; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > _MAX_HEAD:
            return None
        chunk = connection.recv(_RECV)
        if not chunk:
            return None
        buffer += chunk
    raw_head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, buffer = _read_chunked(connection, buffer)
    else:
        length = int(headers.get("content-length", "0") or 0)
        while len(buffer) < length:
            chunk = connection.recv(_RECV)
            if not chunk:
                return None
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
    return SeenRequest(method, target, headers, body), buffer


def _read_chunked(connection: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    body = b""

    def line() -> bytes:
        nonlocal buffer
        while b"\r\n" not in buffer:
            chunk = connection.recv(_RECV)
            if not chunk:
                raise OSError("EOF in a chunked request")
            buffer += chunk
        text, _, buffer = buffer.partition(b"\r\n")
        return text

    while True:
        size = int(line().split(b";")[0].strip(), 16)
        if size == 0:
            while line():  # trailers up to the blank line
                pass
            return body, buffer
        while len(buffer) < size + 2:
            chunk = connection.recv(_RECV)
            if not chunk:
                raise OSError("EOF in a chunked request")
            buffer += chunk
        body += buffer[:size]
        buffer = buffer[size + 2 :]
