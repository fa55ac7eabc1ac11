"""What both clients put on, and take off, every request: the one shared transport layer.

* a `Channel` turns a `Call` into an `httpx.Request` on the configured base URL and sends it:
  through the caller's own httpx client, or (`PoolChannel`) from the client the SDK made straight
  to its connection pool;
* `ApiKeyAuth` adds the key through a caller's client (httpx runs the same `auth_flow` for sync
  and async clients);
* `ConnectionSlots` keeps no more requests in flight than the connection pool holds;
* `transport_errors` translates httpx's exceptions into ours, at exactly this one boundary, and
  takes the key back off the request so that no exception, response or log carries it;
* `read_head` picks out, in one pass, the answer's headers that the SDK reads;
* `bound_by` and `read_body` keep an answer's body within the call's deadline and size limit;
* `log_response` writes the one line per request that `CRAFT_LOG` turns on.
"""

from __future__ import annotations

import logging
import platform
import threading
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Final

from ._call import Call
from ._clock import Deadline
from ._config import ClientConfig, Secret
from ._envelope import request_id_of
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    CraftError,
    ResponseTooLargeError,
    error_chain,
)
from ._http import httpx
from ._rate_limit import RATE_LIMIT_HEADERS
from ._version import __version__

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger("craft_sdk")

USER_AGENT: Final = (
    f"craft-sdk-python/{__version__} "
    f"{platform.python_implementation()}/{platform.python_version()} httpx/{httpx.__version__}"
)
REDACTED: Final = "[redacted]"

# The SDK's own connection pool: 16 connections, all kept alive. httpcore's pool rescans its idle
# connections against all of its connections at every change, so its CPU per request grows with
# how many it keeps: after a burst of 64 tasks, a pool keeping 64 alive spent about 7 ms per
# request, one keeping 16 about 2 ms (docs/performance.md, the pool table). Keeping alive as many
# as it may open means a busy client never closes a connection only to open (and handshake) a
# new one. 16 in flight is as many as the API's highest rate limit (1,000 a minute) can use at
# up to a second per request; more requests wait in the SDK's connection slots.
DEFAULT_POOL_LIMITS: Final = httpx.Limits(max_connections=16, max_keepalive_connections=16)

# httpx failures that happen before a single byte of the request is written: the server cannot
# have seen the request, so any method may be retried. (A ProxyError is a proxy refusing to open
# the tunnel to the API; the request itself was never sent through it.)
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class ApiKeyAuth(httpx.Auth):
    """Sends the key as `Authorization: Bearer <key>` (OAuth access tokens go the same way)."""

    def __init__(self, api_key: Secret) -> None:
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        response = yield request
        # For a redirect, httpx prepares the request it would send next, even though the SDK
        # never follows it, and copies the key into it when the target is the same origin.
        upcoming = response.next_request
        if upcoming is not None and "Authorization" in upcoming.headers:
            upcoming.headers["Authorization"] = REDACTED

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=Secret('**********'))"


class ConnectionSlots:
    """At most as many requests in flight as the connection pool has connections.

    httpcore's pool misbehaves when requests queue inside it: with more threads than connections
    it can give a request a connection it is closing ("Bad file descriptor", encode/httpcore#1110),
    and with many tasks it rescans every queued request at each change, so the CPU each request
    costs grows with the queue. Requests beyond the pool's size wait here instead, for as long as
    their pool timeout allows. Shared by a client and its `with_options` copies, as the pool is.
    """

    def __init__(self, size: int | None) -> None:
        self._size = size
        self._for_threads = threading.BoundedSemaphore(size) if size else None
        self._for_tasks: asyncio.Semaphore | None = None

    def for_thread(self, request: httpx.Request) -> AbstractContextManager[None]:
        """Hold a slot while a sync client sends `request` and reads its answer."""
        if self._for_threads is None:
            return nullcontext()
        return _ThreadSlot(self._for_threads, request)

    def for_task(self, request: httpx.Request) -> AbstractAsyncContextManager[None]:
        """Hold a slot while an async client (on its one event loop) sends `request`."""
        if self._for_tasks is None:
            if not self._size or running_loop() is None:
                return nullcontext()  # no known size; or trio, through anyio
            import asyncio  # loaded already: running_loop() found one

            self._for_tasks = asyncio.Semaphore(self._size)
        return _TaskSlot(self._for_tasks, request)


class _ThreadSlot:
    __slots__ = ("_request", "_semaphore")

    def __init__(self, semaphore: threading.BoundedSemaphore, request: httpx.Request) -> None:
        self._semaphore = semaphore
        self._request = request

    def __enter__(self) -> None:
        wait = _pool_timeout(self._request)
        if not self._semaphore.acquire(timeout=wait):
            raise _no_free_connection(self._request)

    def __exit__(self, *exc_info: object) -> None:
        self._semaphore.release()


class _TaskSlot:
    __slots__ = ("_request", "_semaphore")

    def __init__(self, semaphore: asyncio.Semaphore, request: httpx.Request) -> None:
        self._semaphore = semaphore
        self._request = request

    async def __aenter__(self) -> None:
        if not self._semaphore.locked():  # the usual case: a slot is free, take it at once
            await self._semaphore.acquire()
            return
        import asyncio

        wait = _pool_timeout(self._request)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), wait)
        except asyncio.TimeoutError:
            raise _no_free_connection(self._request) from None

    async def __aexit__(self, *exc_info: object) -> None:
        self._semaphore.release()


def _pool_timeout(request: httpx.Request) -> float | None:
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeouts.get("pool")


def _no_free_connection(request: httpx.Request) -> APITimeoutError:
    """Our own pool timeout (`ConnectionSlots`), worded as httpx's is."""
    return APITimeoutError(
        f"{describe_request(request)} {_what_timed_out(httpx.PoolTimeout, request)}",
        may_have_succeeded=False,
    )


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio event loop running this code, or None (no loop; or trio, through anyio)."""
    import asyncio  # loaded already in any program that awaits

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def pool_size(http: httpx.Client | httpx.AsyncClient, *, made_by_sdk: bool) -> int | None:
    """How many connections `http` may open, when that is known."""
    if made_by_sdk:
        return DEFAULT_POOL_LIMITS.max_connections
    # A caller's own client: httpx does not say publicly, so ask its default transport's pool;
    # a custom transport has no such pool, and then nothing is gated.
    pool = getattr(getattr(http, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    return size if isinstance(size, int) and size > 0 else None


def sdk_headers(config: ClientConfig) -> dict[str, str]:
    """The headers every request carries, whatever it is."""
    return {
        "Accept": "application/json",
        # Named, not left to httpx: it would add br and zstd when their packages are installed,
        # and read_body's size limit is only known to hold within a bounded step for these two.
        "Accept-Encoding": "gzip, deflate",
        "User-Agent": USER_AGENT,
        **config.default_headers,
    }


class Channel:
    """How a client's requests are built and sent: through the caller's own httpx client, with
    everything it was set up to do (its default headers and cookies, auth, event hooks, mounts),
    never following a redirect.

    Shared by a client and its `with_options` copies: it depends only on what those cannot
    change (the httpx client, the base URL, the key and the default headers).
    """

    def __init__(self, http: httpx.Client | httpx.AsyncClient, config: ClientConfig) -> None:
        self.http = http
        self._base_url = config.base_url_text
        self._auth = ApiKeyAuth(config.api_key)
        self._headers = sdk_headers(config)

    def request(self, call: Call[Any], timeout: httpx.Timeout, deadline: Deadline) -> httpx.Request:
        """The request for `call`, its timeouts `timeout` (already cut to the deadline). The URL
        is the base URL plus the call's encoded path, so no argument can point the client at
        another host or outside the base path."""
        headers = {**self._headers, **call.headers}
        return self.http.build_request(
            call.method,
            self._base_url + call.path,  # both already encoded: httpx parses this once
            params=dict(call.params) if call.params else None,
            json=call.json,
            content=self._content(call, headers, deadline),
            headers=headers,
            # The client's own timeout needs no converting again for every request.
            timeout=httpx.USE_CLIENT_DEFAULT if timeout == self.http.timeout else timeout,
        )

    def send(self, request: httpx.Request, call: Call[Any]) -> httpx.Response:
        """Send `request`; the answer's body is left to be read."""
        assert isinstance(self.http, httpx.Client)
        return self.http.send(
            request, auth=self._auth_for(call), follow_redirects=False, stream=True
        )

    async def asend(self, request: httpx.Request, call: Call[Any]) -> httpx.Response:
        """`send`, for an `httpx.AsyncClient`."""
        assert isinstance(self.http, httpx.AsyncClient)
        return await self.http.send(
            request, auth=self._auth_for(call), follow_redirects=False, stream=True
        )

    def describe_call(self, call: Call[Any]) -> str:
        """How errors name `call`'s request, built or not: `GET https://host:443/v1/me`."""
        return describe(call.method, httpx.URL(self._base_url + call.path))

    def _auth_for(self, call: Call[Any]) -> ApiKeyAuth | None:
        return self._auth if call.authenticated else None

    def _content(
        self, call: Call[Any], headers: dict[str, str], deadline: Deadline
    ) -> Iterator[bytes] | AsyncIterator[bytes] | None:
        """The body of a file write, as a fresh stream for every attempt, of the kind this
        flavour of httpx reads, paced by the call's deadline; its headers go into `headers`."""
        upload = call.content
        if upload is None:
            return None
        headers["Content-Type"] = upload.content_type
        if upload.size is not None:  # else httpx sends it chunked
            headers["Content-Length"] = str(upload.size)

        def pace(sent: int) -> None:
            # Each chunk either renews the deadline, or finds that a hard one has passed: then
            # the error says it was the upload that was slow, not the answer.
            if not deadline.progressed():
                total = "" if upload.size is None else f" of {upload.size:,}"
                raise deadline_error(
                    self.describe_call(call),
                    deadline,
                    f"while the request body was still being sent ({sent:,}{total} bytes sent)",
                    may_have_succeeded=False,
                )

        if isinstance(self.http, httpx.Client):
            return upload.chunks(pace)
        return upload.achunks(pace)


class PoolChannel(Channel):
    """The channel of an httpx client the SDK made itself: requests go straight to the transport
    that client would pick for the base URL (its connection pool, or a proxy's).

    `httpx.Client.send` spends about a fifth of a small request's CPU on what such a client
    never needs: merging default headers and cookies, an auth flow, the redirect loop, event
    hooks, and storing the answer's cookies (docs/performance.md). What the SDK does need of it,
    it does itself: the key goes in as the request is built, `transport_errors` attaches the
    request to httpx's errors, and the SDK logs each request on its own logger. Cookies an
    answer sets are not kept: the API authenticates every request by its key.
    """

    def __init__(
        self,
        http: httpx.Client | httpx.AsyncClient,
        config: ClientConfig,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport,
    ) -> None:
        super().__init__(http, config)
        self._transport = transport
        self._api_key = config.api_key
        # What httpx's client adds to the SDK's headers, so that the same request goes out.
        self._headers = {"Connection": "keep-alive", **self._headers}

    @classmethod
    def of(cls, http: httpx.Client | httpx.AsyncClient, config: ClientConfig) -> Channel:
        """The channel for `http`, made by the SDK: a `PoolChannel`, unless this httpx does not
        say which transport it would use (then a `Channel`, which is slower but does the same)."""
        # httpx's own choice, from its mounts (proxies from the environment, NO_PROXY): the one
        # private method the SDK relies on, looked up once. Every request goes to the base URL's
        # scheme, host and port, so one lookup holds for all of them.
        pick = getattr(http, "_transport_for_url", None)
        transport: object = pick(config.base_url) if callable(pick) else None
        if isinstance(transport, httpx.BaseTransport | httpx.AsyncBaseTransport):
            return cls(http, config, transport)
        return Channel(http, config)

    def request(self, call: Call[Any], timeout: httpx.Timeout, deadline: Deadline) -> httpx.Request:
        headers = {**self._headers, **call.headers}
        if call.authenticated:
            headers["Authorization"] = f"Bearer {self._api_key.reveal()}"
        return httpx.Request(
            call.method,
            self._base_url + call.path,
            params=call.params or None,
            json=call.json,
            content=self._content(call, headers, deadline),
            headers=headers,
            extensions={"timeout": timeout.as_dict()},
        )

    def send(self, request: httpx.Request, call: Call[Any]) -> httpx.Response:
        assert isinstance(self._transport, httpx.BaseTransport)
        response = self._transport.handle_request(request)
        response.request = request
        return response

    async def asend(self, request: httpx.Request, call: Call[Any]) -> httpx.Response:
        assert isinstance(self._transport, httpx.AsyncBaseTransport)
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response


class transport_errors:
    """Translate httpx's failures into `APIConnectionError` / `APITimeoutError`, and redact the
    request's credentials once it has been sent, whether it succeeded or not.

    `with transport_errors(request, authenticated=...):` around sending `request` and reading
    its answer. A class rather than a @contextmanager generator: it runs on every request."""

    __slots__ = ("_authenticated", "_request")

    def __init__(self, request: httpx.Request, *, authenticated: bool) -> None:
        self._request = request
        self._authenticated = authenticated

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        request = self._request
        if error is not None:
            _scrub_credential(error, _sent_secret(request))
            if isinstance(error, httpx.RequestError):
                _attach(error, request)
        # httpx adds the header to this very object, and every response and httpx exception
        # keeps a reference to it. (A caller's own http_client may add one to any request.)
        if self._authenticated or "Authorization" in request.headers:
            request.headers["Authorization"] = REDACTED
        if isinstance(error, httpx.TimeoutException):
            raise APITimeoutError(
                f"{describe_request(request)} {_what_timed_out(type(error), request)}",
                may_have_succeeded=not isinstance(error, _NOT_SENT),
            ) from error
        if isinstance(error, httpx.RequestError):
            raise APIConnectionError(
                f"{describe_request(request)} failed: {type(error).__name__}: {error}",
                may_have_succeeded=not isinstance(error, _NOT_SENT),
            ) from error


# httpx's timeouts, by the phase of the request each bounds: (the limit's name, what waited).
_TIMEOUT_PHASES: Final[dict[type[httpx.TimeoutException], tuple[str, str]]] = {
    httpx.ConnectTimeout: ("connect", "connecting"),
    httpx.WriteTimeout: ("write", "sending the request body: no byte could be sent"),
    httpx.ReadTimeout: ("read", "waiting for the answer: no byte arrived"),
    httpx.PoolTimeout: ("pool", "waiting for a free connection"),
}


def _what_timed_out(kind: type[httpx.TimeoutException], request: httpx.Request) -> str:
    """Which direction was slow, and for how long: `timed out sending the request body: no
    byte could be sent for 60 s (WriteTimeout)`."""
    limit_name, waiting = _TIMEOUT_PHASES.get(kind, ("", "waiting"))
    limit = request.extensions.get("timeout", {}).get(limit_name)
    within = "" if limit is None else f" for {limit:g} s"
    return f"timed out {waiting}{within} ({kind.__name__})"


def _attach(error: httpx.RequestError, request: httpx.Request) -> None:
    """Give `error` its `.request`, as `httpx.Client.send` does (a `PoolChannel` bypasses it)."""
    try:
        error.request  # noqa: B018 - set already?
    except RuntimeError:
        error.request = request


def _sent_secret(request: httpx.Request) -> str:
    """The key `request` carries (before `transport_errors` redacts it), or "" when it carries
    none worth searching for: too short to replace without mangling other text."""
    credential = request.headers.get("Authorization")
    secret = credential.partition(" ")[2] if credential else ""
    return secret if len(secret) >= 8 else ""


def _scrub_credential(error: BaseException, secret: str) -> None:
    """Take `secret` out of the messages of `error` and of the errors it came from.

    An exception below httpx may quote what was sent: h11 refuses a malformed header by quoting
    its whole value, which for `Authorization` is the key.
    """
    if not secret:
        return
    for link in error_chain(error):
        if any(isinstance(arg, str) and secret in arg for arg in link.args):
            link.args = tuple(
                arg.replace(secret, REDACTED) if isinstance(arg, str) else arg for arg in link.args
            )


def read_head(response: httpx.Response) -> dict[str, str]:
    """The answer's headers that the SDK reads (the rate limit's, `Date`, and the body's framing),
    under lower-case names: one pass over the raw headers, decoding only those, where each
    `httpx.Headers` lookup is a pass over every header of its own. Runs on every answer."""
    return {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in ((name.lower(), value) for name, value in response.headers.raw)
        if name in _HEAD
    }


_HEAD: Final = frozenset(
    name.encode() for name in (*RATE_LIMIT_HEADERS, "content-length", "content-encoding")
)


class BoundedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that stops arriving at the call's deadline, or past `max_bytes`.

    httpx's read timeout bounds each read, not the whole body: a server sending a byte every few
    seconds would hold a call open forever. Checking the deadline between chunks bounds a call at
    its deadline plus one read timeout (itself cut to the time that was left). A download under
    the default deadline renews it with each chunk instead (`Deadline.progressed`).

    The bytes received count against `max_bytes` here; the decoded bytes are counted by
    `read_body`. A compressed chunk is handed on in small slices so that httpx's decoder never
    expands more than a few MiB at once, however well a gzip bomb compresses.
    """

    def __init__(
        self,
        inner: httpx.SyncByteStream | httpx.AsyncByteStream,
        deadline: Deadline,
        *,
        max_bytes: int | None,
        request: httpx.Request,
        status_code: int,
        head: Mapping[str, str],
        receiving: str,
    ) -> None:
        self._inner = inner
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._request = request
        self._status_code = status_code
        self._receiving = receiving
        self._received = 0
        declared = head.get("content-length", "")
        self._declared = int(declared) if declared.isascii() and declared.isdigit() else 0
        self._compressed = head.get("content-encoding", "identity") != "identity"

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._inner, httpx.SyncByteStream)
        if problem := self._too_large(self._declared):  # declared over the limit: read none
            self._inner.close()
            raise problem
        for chunk in self._inner:
            if problem := self._problem(chunk):
                self._inner.close()  # the connection cannot be reused with a body half read
                raise problem
            yield from self._slices(chunk)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._inner, httpx.AsyncByteStream)
        if problem := self._too_large(self._declared):  # declared over the limit: read none
            await self._inner.aclose()
            raise problem
        async for chunk in self._inner:
            if problem := self._problem(chunk):
                await self._inner.aclose()
                raise problem
            for piece in self._slices(chunk):
                yield piece

    def close(self) -> None:
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._inner.close()

    async def aclose(self) -> None:
        assert isinstance(self._inner, httpx.AsyncByteStream)
        await self._inner.aclose()

    def _problem(self, chunk: bytes) -> CraftError | None:
        self._received += len(chunk)
        if too_large := self._too_large(self._received):
            return too_large
        if not self._deadline.progressed():
            return deadline_error(
                describe_request(self._request),
                self._deadline,
                f"while {self._receiving} was still arriving ({self._received:,} bytes received)",
                may_have_succeeded=True,
            )
        return None

    def _too_large(self, size: int) -> CraftError | None:
        if self._max_bytes is not None and size > self._max_bytes:
            return ResponseTooLargeError(limit=self._max_bytes, status_code=self._status_code)
        return None

    def _slices(self, chunk: bytes) -> Sequence[bytes]:
        if not self._compressed or len(chunk) <= _COMPRESSED_SLICE:
            return (chunk,)  # the usual case: no generator to make for it
        return [
            chunk[start : start + _COMPRESSED_SLICE]
            for start in range(0, len(chunk), _COMPRESSED_SLICE)
        ]


# deflate expands at most about 1,032 times, so a 4 KiB slice decodes to at most about 4 MiB.
_COMPRESSED_SLICE: Final = 4096


def bound_by(
    deadline: Deadline,
    response: httpx.Response,
    head: Mapping[str, str],
    *,
    to_file: bool,
    max_bytes: int | None,
) -> None:
    """Have `response`'s body read through a `BoundedStream` (`head` is its `read_head`);
    `to_file` when it streams to a download."""
    response.stream = BoundedStream(
        response.stream,
        deadline,
        max_bytes=max_bytes,
        request=response.request,
        status_code=response.status_code,
        head=head,
        receiving="the file being downloaded" if to_file else "the answer",
    )


def read_body(response: httpx.Response, max_bytes: int) -> None:
    """`response.read()`, refusing a body that decodes to more than `max_bytes`."""
    size = _DecodedSize(response, max_bytes)
    try:
        _keep_body(response, b"".join(map(size.count, response.iter_bytes())))
    finally:
        # Closed whichever way the read ended: a body left half read cannot share the connection
        # again.
        response.close()


async def aread_body(response: httpx.Response, max_bytes: int) -> None:
    """`response.aread()`, refusing a body that decodes to more than `max_bytes`."""
    size = _DecodedSize(response, max_bytes)
    try:
        _keep_body(
            response, b"".join([size.count(chunk) async for chunk in response.aiter_bytes()])
        )
    finally:
        await response.aclose()


def _keep_body(response: httpx.Response, body: bytes) -> None:
    """Keep `body` where read() keeps it, for `response.content` (httpx has no public setter).

    An error answer that quotes the key back ("Invalid API key: sk_...") is kept without it, so
    that neither the error made from it nor the response the error holds carries the key. The
    request still carries it here: `transport_errors` redacts it only after the body is read.
    """
    if not response.is_success and (secret := _sent_secret(response.request).encode()):
        body = body.replace(secret, REDACTED.encode())
    response._content = body  # pyright: ignore[reportPrivateUsage]


class _DecodedSize:
    # httpx's read() has no size limit, so the body is read the way it reads it (into the same
    # private `_content`, which `response.content` returns), with a count on the way.
    def __init__(self, response: httpx.Response, max_bytes: int) -> None:
        self._status_code = response.status_code
        self._max_bytes = max_bytes
        self._size = 0

    def count(self, chunk: bytes) -> bytes:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise ResponseTooLargeError(limit=self._max_bytes, status_code=self._status_code)
        return chunk


def log_response(response: httpx.Response, elapsed: float) -> None:
    """The line `CRAFT_LOG` turns on; `elapsed` is the seconds from sending to the body read."""
    request = response.request
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "%s %s -> %d in %.0f ms (request_id: %s)",
            request.method,
            request.url.raw_path.decode("ascii", "replace"),
            response.status_code,
            elapsed * 1000,
            request_id_of(response) or "-",
        )
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "request headers: %s; response headers: %s",
            redacted_headers(request.headers),
            redacted_headers(response.headers),
        )


def redacted_headers(headers: httpx.Headers) -> dict[str, str]:
    return {
        name: REDACTED if name.lower() in ("authorization", "proxy-authorization") else value
        for name, value in headers.items()
    }


def describe(method: str, url: httpx.URL) -> str:
    """`GET https://api.craft.fast:443/v1/me`: the method, then the origin with its port
    (where a connection failed is half of why), then the path; never the query."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    path = url.raw_path.partition(b"?")[0].decode("ascii", "replace")
    return f"{method} {url.scheme}://{host}:{port}{path}"


def describe_request(request: httpx.Request) -> str:
    """`describe` for a request that was built."""
    return describe(request.method, request.url)


def deadline_error(
    line: str, deadline: Deadline, when: str, *, may_have_succeeded: bool
) -> APITimeoutError:
    """The error of a call whose deadline ran out `when` (such as "before it could be sent")."""
    return APITimeoutError(
        f"{line}: the call's deadline of {deadline.seconds:g} s ran out {when} (deadline= on "
        "the client, or with_options(deadline=...) for one call, changes it)",
        may_have_succeeded=may_have_succeeded,
    )
