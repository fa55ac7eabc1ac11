"""Receiving webhooks: `WebhookRouter` verifies a delivery, deduplicates it, runs the handlers
registered for its event and decides the HTTP answer; its ASGI and WSGI apps only read the
request and write that answer.

The steps are written once, as a generator (`_flow`) that yields each call it needs made: a
handler, or a dedup store method. Two short drivers make them: `handle` in the calling thread
(async handlers on the router's own event loop), `ahandle` on the running loop (sync handlers
and the store in worker threads, so that the loop is never blocked).

    verify (400) -> claim (done: 200 duplicate, busy: 409, store down: 503)
        -> every handler, even after one failed -> complete (200) / release (500)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import http
import inspect
import json
import logging
import os
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar, overload

from typing_extensions import Self

from ._checks import check_int, check_seconds
from ._dedup import Dedup
from ._errors import (
    WebhookPayloadError,
    WebhookSignatureMismatchError,
    WebhookSignatureMissingError,
    WebhookTimestampError,
    WebhookVerificationError,
)
from .models.events import (
    KNOWN_EVENTS,
    BuildCompletedEvent,
    BuildFailedEvent,
    BuildStartedEvent,
    ProjectCreatedEvent,
    ProjectDeletedEvent,
    ProjectUpdatedEvent,
    WebhookEvent,
)
from .webhooks import (
    SECRET_ENV,
    HeaderItems,
    Secrets,
    construct_event,
    verify_webhook,
)

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger: Final = logging.getLogger("craft_sdk.webhooks")

ASGIScope: TypeAlias = MutableMapping[str, Any]
ASGIMessage: TypeAlias = MutableMapping[str, Any]
ASGIApp: TypeAlias = Callable[
    [ASGIScope, Callable[[], Awaitable[ASGIMessage]], Callable[[ASGIMessage], Awaitable[None]]],
    Awaitable[None],
]
"""An ASGI 3 application, typed as Starlette types one (so FastAPI's `mount` takes it)."""

DEFAULT_MAX_BODY: Final = 1 << 20
"""The largest body a router reads by default: 1 MiB."""
RETRY_AFTER: Final = 5
"""Seconds, in `Retry-After`, before a delivery answered 409 or 503 should be sent again."""

_R = TypeVar("_R")
_Handler = TypeVar("_Handler", bound=Callable[..., object])
# A handler keeps its own type through the decorators; the bound is what a type checker checks.
_OnProjectCreated = TypeVar("_OnProjectCreated", bound=Callable[[ProjectCreatedEvent], object])
_OnProjectUpdated = TypeVar("_OnProjectUpdated", bound=Callable[[ProjectUpdatedEvent], object])
_OnProjectDeleted = TypeVar("_OnProjectDeleted", bound=Callable[[ProjectDeletedEvent], object])
_OnBuildStarted = TypeVar("_OnBuildStarted", bound=Callable[[BuildStartedEvent], object])
_OnBuildCompleted = TypeVar("_OnBuildCompleted", bound=Callable[[BuildCompletedEvent], object])
_OnBuildFailed = TypeVar("_OnBuildFailed", bound=Callable[[BuildFailedEvent], object])
_OnAny = TypeVar("_OnAny", bound=Callable[[WebhookEvent], object])
_OnError = TypeVar("_OnError", bound="Callable[[WebhookHandlerError], object]")
_Step: TypeAlias = tuple[Callable[[Any], object], object]  # a call to make: (function, argument)
_Flow: TypeAlias = "Generator[_Step, object, WebhookResult]"


@dataclasses.dataclass(frozen=True)
class WebhookResult:
    """The answer to a delivery: send `body` with `status` and `headers`.

    Attributes:
        status: The HTTP status: 200, 400, 405, 409, 413, 500 or 503.
        body: A small JSON object, such as `{"ok": true}`.
        headers: The headers to answer with (`Content-Type`, and `Retry-After` or `Allow`).
        event: The verified event, or None when the delivery was not verified.
    """

    status: int
    body: bytes
    headers: dict[str, str]
    event: WebhookEvent | None = None


class WebhookHandlerError(ExceptionGroup[Exception]):
    """Handlers of an event failed: each one's exception is in `exceptions`, its name at the
    same place in `handlers`. Passed to the `on_error` handlers, and logged.

    Args:
        event: The event the handlers failed on.
        failures: (handler name, exception) for each failed handler, in the order run.
    """

    event: WebhookEvent
    """The event the handlers failed on."""
    handlers: tuple[str, ...]
    """The names of the handlers that failed, in the order of `exceptions`."""

    def __new__(cls, event: WebhookEvent, failures: Sequence[tuple[str, Exception]]) -> Self:
        names = tuple(name for name, _ in failures)
        message = f"{len(names)} handler(s) of a {event.event} webhook failed: {', '.join(names)}"
        group = super().__new__(cls, message, [error for _, error in failures])
        group.event, group.handlers = event, names
        return group

    def __init__(self, event: WebhookEvent, failures: Sequence[tuple[str, Exception]]) -> None:
        super().__init__(self.message, self.exceptions)


class WebhookRouter:
    """Receives Craft webhooks: verifies each delivery, runs it once, and answers it.

    Args:
        secret: The webhook secret, or several while rotating. Defaults to the
            `CRAFT_WEBHOOK_SECRET` environment variable, read now.
        tolerance: Seconds a body's signed `timestamp` may be away from now; None turns the
            check off.
        dedup: Where handled deliveries are remembered (see `Dedup`); None runs every copy.
        max_body: The largest body read, in bytes; a larger one is answered 413.

    Raises:
        ValueError: No secret was given or set, a secret is empty, or a number is out of range.
        TypeError: An argument has the wrong type.
    """

    def __init__(
        self,
        secret: Secrets | None = None,
        *,
        tolerance: float | None = 300,
        dedup: Dedup | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        secret = secret if secret is not None else os.environ.get(SECRET_ENV) or ""
        if not secret:
            raise ValueError(f"No webhook secret: pass secret=... or set {SECRET_ENV}.")
        verify_webhook(b"", None, secret)  # raises construct_event's TypeError or ValueError
        self._secret = secret
        self._keys = [
            one.encode() if isinstance(one, str) else one
            for one in ([secret] if isinstance(secret, (str, bytes)) else secret)
        ]
        if tolerance is not None:
            check_seconds("tolerance", tolerance, zero_allowed=True)
        self._tolerance = tolerance
        if dedup is not None and not all(
            callable(getattr(dedup, name, None)) for name in ("claim", "complete", "release")
        ):
            raise TypeError(f"dedup must have claim, complete and release, like Dedup: {dedup!r}")
        self._dedup = dedup
        self._max_body = check_int("max_body", max_body, minimum=1)
        self._handlers: dict[str, list[Callable[[Any], object]]] = {}
        self._any: list[Callable[[Any], object]] = []
        self._on_error: list[Callable[[Any], object]] = []
        self._loop = _LoopThread()

    def __repr__(self) -> str:
        return (
            f"WebhookRouter(events={sorted(self._handlers)}, on_any={len(self._any)}, "
            f"tolerance={self._tolerance}, dedup={self._dedup!r}, max_body={self._max_body})"
        )

    # ---- registration ---------------------------------------------------------------------

    @overload
    def on(
        self, event: Literal["project.created"]
    ) -> Callable[[_OnProjectCreated], _OnProjectCreated]: ...
    @overload
    def on(
        self, event: Literal["project.updated"]
    ) -> Callable[[_OnProjectUpdated], _OnProjectUpdated]: ...
    @overload
    def on(
        self, event: Literal["project.deleted"]
    ) -> Callable[[_OnProjectDeleted], _OnProjectDeleted]: ...
    @overload
    def on(
        self, event: Literal["build.started"]
    ) -> Callable[[_OnBuildStarted], _OnBuildStarted]: ...
    @overload
    def on(
        self, event: Literal["build.completed"]
    ) -> Callable[[_OnBuildCompleted], _OnBuildCompleted]: ...
    @overload
    def on(self, event: Literal["build.failed"]) -> Callable[[_OnBuildFailed], _OnBuildFailed]: ...
    def on(self, event: str) -> Callable[[_Handler], _Handler]:
        """A decorator that runs the handler for every `event` delivery; it may be sync or async,
        and gets the event's own class (`on("build.failed")`: a `BuildFailedEvent`).

        Args:
            event: One of the six event names Craft documents.

        Returns:
            A decorator that registers the handler and returns it unchanged.

        Raises:
            ValueError: `event` is not a known name (use `on_any` for the others).
        """
        if event not in KNOWN_EVENTS:
            raise ValueError(
                f"Unknown webhook event {event!r}: the known ones are "
                f"{', '.join(KNOWN_EVENTS)}; on_any receives every event, unknown ones too."
            )
        return lambda handler: _register(self._handlers.setdefault(event, []), handler)

    def on_any(self, handler: _OnAny) -> _OnAny:
        """Runs `handler` for every delivery, after the event's own handlers; an event this
        version does not know comes as an `UnknownWebhookEvent`.

        Args:
            handler: A sync or async function of the event.

        Returns:
            `handler`, unchanged.
        """
        return _register(self._any, handler)

    def on_error(self, handler: _OnError) -> _OnError:
        """Runs `handler` with the `WebhookHandlerError` of a delivery whose handlers failed;
        what it raises is logged, never raised.

        Args:
            handler: A sync or async function of the error.

        Returns:
            `handler`, unchanged.
        """
        return _register(self._on_error, handler)

    # ---- the answer ---------------------------------------------------------------------

    def handle(self, body: bytes, headers: HeaderItems) -> WebhookResult:
        """Answer one delivery, in this thread; async handlers run on the router's own event
        loop (one for the router's life, so they may share loop-bound objects).

        Args:
            body: The raw request body, exactly as received.
            headers: The request's headers (see `HeaderItems`).

        Returns:
            The answer to send.

        Raises:
            TypeError: `body` is not the raw body (a dict or model: it was parsed already).
        """
        flow, reply, error = self._flow(body, headers), None, None
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]  # pyright knows, mypy not
            try:
                function, argument = step
                reply, error = function(argument), None
                if inspect.isawaitable(reply):
                    reply = self._loop.run(reply)
            except BaseException as exc:  # given to the flow, which knows what each means
                reply, error = None, exc

    async def ahandle(self, body: bytes, headers: HeaderItems) -> WebhookResult:
        """Answer one delivery from async code: async handlers are awaited on the running loop,
        sync ones and the dedup store run in worker threads.

        Args:
            body: The raw request body, exactly as received.
            headers: The request's headers (see `HeaderItems`).

        Returns:
            The answer to send.

        Raises:
            TypeError: `body` is not the raw body (a dict or model: it was parsed already).
        """
        flow, reply, error = self._flow(body, headers), None, None
        while True:
            try:
                step = flow.send(reply) if error is None else flow.throw(error)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            try:
                function, argument = step
                if inspect.iscoroutinefunction(function):
                    reply = await function(argument)
                else:
                    reply = await asyncio.to_thread(function, argument)
                    if inspect.isawaitable(reply):
                        reply = await reply
                error = None
            except BaseException as exc:
                reply, error = None, exc

    def _flow(self, body: bytes, headers: HeaderItems) -> _Flow:
        if len(body) > self._max_body:
            return _answer(413, "body too large")
        try:
            event = construct_event(
                body, secret=self._secret, headers=headers, tolerance=self._tolerance
            )
        except WebhookVerificationError as error:
            return _answer(400, _reason(error))
        dedup = self._dedup
        if dedup is None:
            return (yield from self._dispatch(event))
        key = self._identity(body)
        try:
            claim = yield dedup.claim, key
            if claim not in ("new", "done", "busy"):
                raise ValueError(f"claim answered {claim!r}, not new, done or busy")
        except Exception:
            logger.exception("The webhook dedup store failed to claim a %s delivery", event.event)
            return _answer(503, "deduplication store unavailable", event, retry=True)
        if claim == "done":
            return _answer(200, None, event, duplicate=True)
        if claim == "busy":
            return _answer(409, "delivery being handled", event, retry=True)
        try:
            result = yield from self._dispatch(event)
        except BaseException:  # interrupted (cancelled): forget the claim, so a retry runs it
            with contextlib.suppress(Exception):
                dedup.release(key)
            raise
        try:
            yield (dedup.complete if result.status == 200 else dedup.release), key
        except Exception:
            logger.exception("The webhook dedup store failed after a %s delivery", event.event)
        return result

    def _dispatch(self, event: WebhookEvent) -> _Flow:
        failures: list[tuple[str, Exception]] = []
        for handler in [*self._handlers.get(event.event, ()), *self._any]:
            try:
                yield handler, event
            except Exception as error:
                failures.append((_name(handler), error))
        if not failures:
            return _answer(200, None, event)
        group = WebhookHandlerError(event, failures)
        logger.error("%s", group, exc_info=group)
        for on_error in self._on_error:
            try:
                yield on_error, group
            except Exception:
                logger.exception("The webhook on_error handler %s failed", _name(on_error))
        return _answer(500, "handler failed", event)

    def _identity(self, body: bytes) -> str:
        """The delivery's HMAC under the router's first secret: the same body is one delivery
        whichever of the secrets signed it (a redelivery after a rotation included), and the
        store sees a digest no one can compute without the secret."""
        return hmac.new(self._keys[0], body, hashlib.sha256).hexdigest()

    # ---- the apps -----------------------------------------------------------------------

    def asgi(self) -> ASGIApp:
        """An ASGI 3 app that answers deliveries POSTed to it (no framework needed): serve it
        alone, or mount it in FastAPI or Starlette with `api.mount("/webhooks/craft",
        router.asgi())` (a mount answers under `/webhooks/craft/`, with the trailing slash, and
        redirects the path without it: give Craft the URL with the slash).

        Returns:
            The app: it reads at most `max_body` bytes, and runs sync handlers and the dedup
            store in worker threads.
        """
        return _ASGIApp(self)

    def wsgi(self) -> WSGIApplication:
        """A WSGI app that answers deliveries POSTed to it: mount it in Flask or Django, or
        serve it alone. Async handlers run on the router's own event loop.

        Returns:
            The app: it reads at most `max_body` bytes.
        """
        return self._wsgi

    async def _asgi(
        self,
        scope: ASGIScope,
        receive: Callable[[], Awaitable[ASGIMessage]],
        send: Callable[[ASGIMessage], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            raise ValueError(f"The webhook app serves HTTP, not {scope['type']!r}.")
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        result = self._before_body(scope["method"], headers.get("content-length"))
        if result is None:
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # no one left to answer
                chunk: bytes = message.get("body", b"")
                if len(body) + len(chunk) > self._max_body:
                    result = _answer(413, "body too large")
                    break
                body += chunk
                if not message.get("more_body", False):
                    result = await self.ahandle(bytes(body), headers)
                    break
        head = [(name.lower().encode(), value.encode()) for name, value in result.headers.items()]
        await send({"type": "http.response.start", "status": result.status, "headers": head})
        await send({"type": "http.response.body", "body": result.body})

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH") or None
        result = self._before_body(environ["REQUEST_METHOD"], length)
        if result is None:
            headers = {
                name[5:].replace("_", "-"): value
                for name, value in environ.items()
                if name.startswith("HTTP_")
            }
            headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
            # Without a length, only a server that ends the input itself (chunked bodies) can be
            # read: reading a raw socket to its end would wait for the client to hang up.
            limit = int(length) if length else self._max_body + 1
            if length is None and not environ.get("wsgi.input_terminated"):
                limit = 0
            result = self.handle(_read(environ["wsgi.input"], limit), headers)
        status = f"{result.status} {http.HTTPStatus(result.status).phrase}"
        start_response(status, [*result.headers.items(), ("Content-Length", str(len(result.body)))])
        return [result.body]

    def _before_body(self, method: str, length: str | None) -> WebhookResult | None:
        """The answer known from the request line and headers alone, if any."""
        if method != "POST":
            return _answer(405, "only POST", allow=True)
        if length is not None and not (length.isascii() and length.isdigit()):
            return _answer(400, "bad Content-Length")
        if length is not None and int(length) > self._max_body:
            return _answer(413, "body too large")
        return None


class _ASGIApp:
    """The router's ASGI app: an object with an async `__call__`, which servers (uvicorn) take
    for ASGI 3 and Starlette's `Route` for an app rather than an endpoint function."""

    def __init__(self, router: WebhookRouter) -> None:
        self._router = router

    async def __call__(
        self,
        scope: ASGIScope,
        receive: Callable[[], Awaitable[ASGIMessage]],
        send: Callable[[ASGIMessage], Awaitable[None]],
    ) -> None:
        await self._router._asgi(scope, receive, send)  # pyright: ignore[reportPrivateUsage]

    def __repr__(self) -> str:
        return f"<ASGI app of {self._router!r}>"


class _LoopThread:
    """One event loop in a daemon thread, started on first use: the async handlers of sync
    code all run there, so that loop-bound objects they share (an `AsyncCraftClient`) keep
    working from one request to the next, as a new loop per request would not let them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, awaitable: Awaitable[_R]) -> _R:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(
                    target=_run_forever, args=(self._loop,), name="craft-webhooks", daemon=True
                ).start()
                weakref.finalize(self, self._loop.call_soon_threadsafe, self._loop.stop)
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(_awaited(awaitable), loop).result()


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:  # stopped once the router is gone
        loop.close()


async def _awaited(awaitable: Awaitable[_R]) -> _R:
    return await awaitable


def _register(handlers: list[Callable[[Any], object]], handler: _Handler) -> _Handler:
    if not callable(handler):
        raise TypeError(f"A webhook handler must be callable, not {type(handler).__name__}.")
    handlers.append(handler)
    return handler


def _answer(
    status: int,
    error: str | None,
    event: WebhookEvent | None = None,
    *,
    duplicate: bool = False,
    retry: bool = False,
    allow: bool = False,
) -> WebhookResult:
    body: dict[str, object] = {"ok": error is None}
    if error is not None:
        body["error"] = error
    if duplicate:
        body["duplicate"] = True
    headers = {"Content-Type": "application/json"}
    if retry:
        headers["Retry-After"] = str(RETRY_AFTER)
    if allow:
        headers["Allow"] = "POST"
    return WebhookResult(status, json.dumps(body).encode(), headers, event)


def _reason(error: WebhookVerificationError) -> str:
    """Which check failed, in a few words (never the error's message: it is not for senders)."""
    if isinstance(error, WebhookSignatureMissingError):
        return "missing signature"
    if isinstance(error, WebhookSignatureMismatchError):
        return "bad signature"
    if isinstance(error, WebhookPayloadError):
        return "malformed body"
    if isinstance(error, WebhookTimestampError) and error.age is not None:
        return "stale timestamp" if error.age > 0 else "future timestamp"
    return "missing timestamp"


def _name(handler: Callable[..., object]) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__qualname__


def _read(stream: Any, limit: int) -> bytes:
    """Up to `limit` bytes of a WSGI input, in pieces, so a short read does not end it early."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and (chunk := stream.read(min(limit - size, 1 << 16))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


__all__ = [
    "DEFAULT_MAX_BODY",
    "RETRY_AFTER",
    "WebhookHandlerError",
    "WebhookResult",
    "WebhookRouter",
]
