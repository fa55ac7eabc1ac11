"""`CraftEmulator`: the whole Craft API, in memory, as a pure function from request to response.

One emulator holds one account's state behind one lock, so the sync client's worker threads and
the threaded server can share it. It is put together from parts that each read alone:

    _api.Account       the API's rules over the account's state (routes, keys, projects, files,
                       deployments that build on the clock, OAuth tokens)
    _limits.RateLimits the tier's windows and per-endpoint limits, and the headers they give
    _faults.Faults     injected statuses, delays and dropped connections
    _delivery          webhook bodies POSTed, signed, to a URL, retried with backoff
    _server, _control  the loopback HTTP server, and its emulator-only control endpoint

Everything a request does happens in `handle`, in this order:

    an injected fault, if one strikes (before anything else, so it has no effect)
    find the route; check the key (401), spend the rate limit (429), check read-only keys (403)
    move deployments along by the clock, then run the route's handler
    add X-Request-Id, Date and the rate-limit headers; deliver webhooks (outside the lock)
"""

from __future__ import annotations

import email.utils
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qsl

from .._checks import check_int, check_seconds
from .._client import AsyncCraftClient, CraftClient
from .._clock import Clock
from .._config import DEFAULT_TIMEOUT
from .._http import httpx
from ._api import Account
from ._clock import FakeClock
from ._delivery import KEPT_DELIVERIES, Delivery, WebhookSender, signed_headers
from ._faults import Fault, Faults
from ._limits import RateLimits, Tier
from ._server import EmulatorServer
from ._wire import Answer, Reject, Request, injected

C = TypeVar("C", CraftClient, AsyncCraftClient)

WebhookCallback: TypeAlias = Callable[[bytes, dict[str, str]], object]
"""`callback(raw_body, headers)`: receives every webhook delivery (what it returns is ignored,
so `router.handle` of a `craft_sdk.webhooks.WebhookRouter` is one)."""


class CraftEmulator:
    """A stateful in-memory Craft API, for tests and local development.

    ```python
    emu = CraftEmulator()
    with emu.client() as client:            # a CraftClient wired to the emulator, no sockets
        project = client.projects.create(name="Demo")
    assert project.id in emu.projects
    ```

    Its state (`projects`, `files`, `deployments`, `requests`, `user`) is for tests to
    inspect: read it freely, but change it through the API, since the emulator keeps private
    bookkeeping beside it.

    Every answer carries the rate-limit headers. With neither `tier` nor `rate_limit`, the
    limit is one window of 10,000 requests per minute, which no ordinary test comes near.

    Args:
        rate_limit: A custom limit: requests per minute of the clock (windows start at whole
            minutes of `clock.time()`), and no other window.
        tier: "free", "pro" or "enterprise": the tier's windows per minute, hour and day as the
            reference documents them, and the per-endpoint limits (`POST /projects` 10 a
            minute, `GET /projects` 100, file writes 100). Not with `rate_limit`.
        api_key: The key that may do everything.
        read_only_keys: Keys that may read but get 403 FORBIDDEN on any write.
        clock: Where timestamps, the rate-limit windows and build progress come from; a
            `FakeClock` by default, which the clients from `client()` share.
        base_url: The URL the emulator answers under (its path is the API's prefix).
        build_seconds: How long a deployment takes on the clock: building after half of it,
            final after it.
        advance_on_poll: Also move a deployment one step each time it is read, so that waiting
            for one finishes without time passing. By default, only on a `FakeClock`: on a
            real clock a build takes `build_seconds`, as it would on the real API.

    Raises:
        ValueError: Both `tier` and `rate_limit`, an unknown tier, or a value out of range.
    """

    def __init__(
        self,
        *,
        rate_limit: int | None = None,
        tier: Tier | None = None,
        api_key: str = "test_key",
        read_only_keys: Iterable[str] = (),
        clock: Clock | None = None,
        base_url: str = "http://craft.localhost/v1",
        build_seconds: float = 4.0,
        advance_on_poll: bool | None = None,
    ) -> None:
        check_seconds("build_seconds", build_seconds, zero_allowed=True)
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.base_url = base_url
        """The URL the emulator answers under."""
        # A fake clock, so nothing waits for real, starting at the real time, so that the
        # timestamps it stamps (webhooks, tokens) look current to code that checks them.
        self.clock: Clock = clock if clock is not None else FakeClock(start=float(int(time.time())))
        """Where timestamps, the rate-limit windows and build progress come from; by default a
        `FakeClock` starting at the current time, which the clients from `client()` share."""
        self.requests: list[tuple[str, str, int]] = []
        """(method, path and query relative to the base URL, status) of every request handled,
        in order; a dropped connection has status 0."""

        self._prefix = httpx.URL(base_url).path.rstrip("/")
        self._lock = threading.Lock()
        self._account = Account(
            api_key=api_key,
            read_only_keys=read_only_keys,
            clock=self.clock,
            prefix=self._prefix,
            build_seconds=float(build_seconds),
            advance_on_poll=(
                isinstance(self.clock, FakeClock) if advance_on_poll is None else advance_on_poll
            ),
        )
        self._limits = RateLimits(tier=tier, rate_limit=rate_limit)
        self._faults = Faults()
        self._callbacks: list[tuple[WebhookCallback, str]] = []
        self._sender: WebhookSender | None = None
        self._past_deliveries: list[Delivery] = []  # those of the URLs delivered to before

    # ---- the state, for tests to read -------------------------------------------------------

    @property
    def api_key(self) -> str:
        """The key that may do everything (the clients from `client()` send it)."""
        return self._account.api_key

    @property
    def user(self) -> dict[str, Any]:
        """What `GET /me` answers (wire names)."""
        return self._account.user

    @property
    def projects(self) -> dict[str, dict[str, Any]]:
        """Project id -> the project as `GET /projects/{id}` answers it (wire names)."""
        return self._account.projects

    @property
    def files(self) -> dict[str, dict[str, bytes]]:
        """Project id -> {path: content bytes}."""
        return self._account.files

    @property
    def deployments(self) -> dict[str, dict[str, Any]]:
        """Deployment id -> the deployment as `GET .../deployments/{id}` answers it (wire
        names)."""
        return self._account.deployments

    @property
    def tier(self) -> Tier | None:
        """The tier whose limits apply, or None for one window of `rate_limit` a minute."""
        return self._limits.tier

    @property
    def rate_limit(self) -> int | None:
        """Requests per minute of the one window, or None when a tier's limits apply."""
        return self._limits.rate_limit

    @property
    def build_seconds(self) -> float:
        """How long a deployment takes on the clock (settable, for the builds to come and
        those under way)."""
        return self._account.build_seconds

    @build_seconds.setter
    def build_seconds(self, seconds: float) -> None:
        seconds = check_seconds("build_seconds", seconds, zero_allowed=True)
        with self._lock:
            self._account.build_seconds = seconds

    @property
    def advance_on_poll(self) -> bool:
        """Whether each read of a deployment also moves it one step on (settable)."""
        return self._account.advance_on_poll

    @advance_on_poll.setter
    def advance_on_poll(self, advance: bool) -> None:
        with self._lock:
            self._account.advance_on_poll = bool(advance)

    # ---- serving requests -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, as the API would (the function behind `transport()`).

        Args:
            request: The request; its path is read relative to `base_url`'s path (the host
                is not checked).

        Returns:
            The answer, with `X-Request-Id`, `Date` and the rate-limit headers.

        Raises:
            httpx.RemoteProtocolError: An injected dropped connection (`fail_next(drop=True)`).
            Exception: What a webhook callback raised, after every delivery was made (the
                request's effect has already happened).
        """
        method = request.method.upper()
        raw_path, _, query = request.url.raw_path.decode("ascii", "replace").partition("?")
        api_path = self._relative(raw_path)
        logged = api_path + (f"?{query}" if query else "")

        with self._lock:
            fault = self._faults.take(method, api_path)
        if fault is not None:
            if fault.delay > 0:
                self.clock.sleep(fault.delay)  # outside the lock: other requests go on
            if fault.drop:
                with self._lock:
                    self.requests.append((method, logged, 0))
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response (injected).", request=request
                )
            if fault.status is not None:
                with self._lock:
                    response = self._respond(request, injected(fault.status))
                    self.requests.append((method, logged, fault.status))
                return response

        try:
            body = request.content
        except httpx.RequestNotRead:
            body = request.read()
        with self._lock:
            answer = self._answer(request, method, raw_path, query, body)
            response = self._respond(request, answer)
            self.requests.append((method, logged, answer.status))
            outbox, self._account.outbox = self._account.outbox, []
            callbacks, sender = list(self._callbacks), self._sender
        self._deliver(outbox, callbacks, sender)
        return response

    def transport(self) -> httpx.MockTransport:
        """An httpx transport that answers from this emulator (for `httpx.Client` and
        `httpx.AsyncClient` alike)."""
        return httpx.MockTransport(self.handle)

    def client(self, **options: Any) -> CraftClient:
        """A `CraftClient` wired to this emulator (its key, base URL and clock), with no sockets.

        Args:
            **options: Override any argument of the `CraftClient` constructor. Without
                `http_client`, the client gets an httpx client on `transport()`, which closing
                the client closes.
        """
        return self._wired(CraftClient, httpx.Client, options)

    def async_client(self, **options: Any) -> AsyncCraftClient:
        """An `AsyncCraftClient` wired to this emulator, like `client()`.

        Args:
            **options: Override any argument of the `AsyncCraftClient` constructor.
        """
        return self._wired(AsyncCraftClient, httpx.AsyncClient, options)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Serve this emulator over real HTTP on a loopback address, in a background thread.

        The server also answers the emulator's control endpoint, under `/_emulator` (see
        `docs/testing.md`), which the real API does not have.

        Args:
            host: A loopback address, such as "127.0.0.1", "::1" or "localhost".
            port: The port; 0 picks a free one.

        Returns:
            The running server; its `url` is the base URL to give a client. Use it as a context
            manager, or call `close()`.

        Raises:
            ValueError: `host` is not a loopback address.
            OSError: The port cannot be bound.
        """
        return EmulatorServer(self, host=host, port=port)

    # ---- steering ---------------------------------------------------------------------------

    def fail_next(
        self,
        count: int | None = None,
        *,
        status: int | None = 503,
        delay: float = 0.0,
        drop: bool = False,
        fraction: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make requests that match `method` and `path` fail: the next `count` of them, or a
        `fraction` of them.

        Each waits `delay` seconds on the emulator's clock, then is dropped or answered with
        `status` and an error envelope. A failed request has no effect at all. Faults are
        matched in the order they were added; `clear_faults()` removes those still waiting.

        Args:
            count: How many matching requests fail, at least 1; by default 1, or, with a
                `fraction`, every one the fraction picks until `clear_faults()`.
            status: The error status to answer with, 400 to 599 (a 429 carries
                `Retry-After: 1`). None, with no drop, only slows the request down by `delay`;
                it is then handled normally.
            delay: Seconds each request waits on the emulator's clock first, at least 0.
            drop: Close the connection with no answer at all, instead of answering.
            fraction: Fail this share of the matching requests (above 0, at most 1), spread
                evenly rather than at random, so that every run fails the same requests: with
                0.25, the 4th, 8th, 12th and so on.
            method: Only requests with this method ("GET", any case); None for any.
            path: Only requests to this path, relative to the base URL and without the query,
                such as "/projects"; None for any.

        Raises:
            TypeError: A value has the wrong type.
            ValueError: A value is out of range, or the fault would do nothing (no status, no
                delay, no drop).
        """
        if path is not None:
            path = self._relative(path.partition("?")[0])
        fault = Fault.make(
            count,
            status=status,
            delay=delay,
            drop=drop,
            fraction=fraction,
            method=method,
            path=path,
        )
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every injected fault still waiting."""
        with self._lock:
            self._faults.clear()

    def fail_next_deployment(self, error: str = "Build failed", *, count: int = 1) -> None:
        """Make the next `count` deployments created end as "failed" (on top of any already
        doomed).

        Args:
            error: The deployments' `error` message.
            count: How many of the next deployments fail, at least 1.
        """
        check_int("count", count, minimum=1)
        if not isinstance(error, str) or not error:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("error must be a non-empty string")
        with self._lock:
            self._account.doomed.extend([error] * count)

    def set_rate_limit(self, rate_limit: int | None = None, *, tier: Tier | None = None) -> None:
        """Change the limits, as the constructor's `rate_limit` and `tier` would set them,
        with every window starting afresh.

        Args:
            rate_limit: A custom limit per minute, alone.
            tier: "free", "pro" or "enterprise". With neither, the default window.

        Raises:
            ValueError: Both, an unknown tier, or a limit below 1.
        """
        limits = RateLimits(tier=tier, rate_limit=rate_limit)
        with self._lock:
            self._limits = limits

    def on_webhook(self, callback: WebhookCallback, *, secret: str) -> None:
        """Deliver every event from now on to `callback`, synchronously, after the request that
        caused it is answered.

        An exception from the callback propagates out of the request that caused the event
        (whose effect has already happened); the other deliveries are still made.

        Args:
            callback: Called as `callback(raw_body, headers)`, with the body as bytes and the
                headers of the delivery, `X-Craft-Signature` among them.
            secret: The webhook secret to sign with, not empty.
        """
        if not secret:
            raise ValueError("secret must not be empty")
        with self._lock:
            self._callbacks.append((callback, secret))

    def deliver_webhooks(
        self, url: str | None, *, secret: str = "", attempts: int = 4, backoff: float = 0.5
    ) -> None:
        """POST every event from now on to `url`, signed with `secret`, as the real API would.

        Deliveries go out in order from a background thread, after the request that caused
        them is answered; a failed one (no answer, or not a 2xx) is tried again after
        `backoff`, then twice as long each time, `attempts` times in all, then given up.
        Every attempt is logged on the `craft_sdk.testing` logger and kept in
        `webhook_deliveries`. Replaces the URL given before, if any.

        Args:
            url: An http or https URL; None stops delivering (events not yet sent are dropped).
            secret: The webhook secret to sign with, not empty (with a URL).
            attempts: Attempts per event, at least 1.
            backoff: Seconds before the second attempt, at least 0.

        Raises:
            ValueError: A bad URL, an empty secret, or a value out of range.
        """
        sender = (
            None if url is None else WebhookSender(url, secret, attempts=attempts, backoff=backoff)
        )
        with self._lock:
            previous, self._sender = self._sender, sender
        if previous is not None:
            previous.close()
            with self._lock:
                kept = self._past_deliveries + previous.deliveries
                self._past_deliveries = kept[-KEPT_DELIVERIES:]

    @property
    def webhook_url(self) -> str | None:
        """The URL events are POSTed to, or None."""
        sender = self._sender
        return None if sender is None else sender.url

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """The attempts to deliver an event to a URL (the latest 1,000), in order, the URLs
        delivered to before included."""
        with self._lock:
            past, sender = list(self._past_deliveries), self._sender
        return (past + ([] if sender is None else sender.deliveries))[-KEPT_DELIVERIES:]

    def flush_webhooks(self, timeout: float | None = 10.0) -> bool:
        """Wait until every event so far was delivered to `webhook_url` or given up.

        Args:
            timeout: The longest real-time wait, in seconds; None for no bound.

        Returns:
            True once nothing is left to send; False if `timeout` passed first.
        """
        sender = self._sender
        return True if sender is None else sender.flush(timeout)

    def close(self) -> None:
        """Stop delivering webhooks to a URL (events not yet sent are dropped). Safe to call
        twice; the emulator still answers requests."""
        self.deliver_webhooks(None)

    def settings(self) -> dict[str, Any]:
        """What can be steered, as it stands: what the control endpoint's `GET /_emulator`
        answers (camelCase, JSON-ready)."""
        with self._lock:
            return {
                **self._limits.wire(),
                "buildSeconds": self._account.build_seconds,
                "advanceOnPoll": self._account.advance_on_poll,
                "failingBuilds": len(self._account.doomed),
                "faults": self._faults.wire(),
                "webhookUrl": None if self._sender is None else self._sender.url,
            }

    def __repr__(self) -> str:
        return (
            f"CraftEmulator(base_url={self.base_url!r}, projects={len(self.projects)}, "
            f"deployments={len(self.deployments)}, requests={len(self.requests)})"
        )

    # ---- the request pipeline ---------------------------------------------------------------

    def _answer(
        self, request: httpx.Request, method: str, raw_path: str, query: str, body: bytes
    ) -> Answer:
        spent: dict[str, str] = {}  # the rate-limit headers, once the request has counted
        try:
            try:
                route, bad_path = self._account.route(method, raw_path), None
            except Reject as rejection:  # answered only once the key has been checked
                route, bad_path = None, rejection
            needs_key = route is None or route.needs_key
            key = self._account.authenticate(request.headers) if needs_key else None
            endpoint = None if route is None else route.endpoint
            spent = self._limits.spend(self.clock.time(), endpoint)  # a 429 has its own
            if bad_path is not None:
                raise bad_path
            if route is None:
                raise Reject(404, "NOT_FOUND", f"No such endpoint: {method} {raw_path}")
            parsed = Request(
                method=method,
                query=dict(parse_qsl(query, keep_blank_values=True)[::-1]),  # first one wins
                headers=request.headers,
                body=body,
            )
            answer = self._account.answer(route, key, parsed)
        except Reject as rejection:
            answer = rejection.answer()
        answer.headers = {**spent, **answer.headers}
        return answer

    def _respond(self, request: httpx.Request, answer: Answer) -> httpx.Response:
        now = self.clock.time()
        # An answer that spent no rate (a fault, a 401) shows the key's window as it stands.
        limits = {} if "X-RateLimit-Limit" in answer.headers else self._limits.look(now)
        headers = {
            "Content-Type": answer.content_type,
            "X-Request-Id": "req_" + secrets.token_hex(8),
            "Date": email.utils.formatdate(now, usegmt=True),
            **limits,
            **answer.headers,
        }
        return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)

    def _deliver(
        self,
        outbox: list[bytes],
        callbacks: list[tuple[WebhookCallback, str]],
        sender: WebhookSender | None,
    ) -> None:
        """Deliver webhook bodies, outside the lock, so that a callback may call the API itself.
        A callback that raises does not stop the other deliveries; its error comes out after
        them."""
        failures: list[BaseException] = []
        for payload in outbox:
            if sender is not None:
                sender.send(payload)
            for callback, secret in callbacks:
                try:
                    callback(payload, signed_headers(payload, secret))
                except Exception as error:
                    failures.append(error)
        if failures:
            raise failures[0]

    def _relative(self, path: str) -> str:
        """A path relative to the base URL's path, or the path itself if outside it."""
        if self._prefix and (path == self._prefix or path.startswith(self._prefix + "/")):
            return path[len(self._prefix) :] or "/"
        return path

    def _wired(self, client_class: type[C], http_class: type[Any], options: dict[str, Any]) -> C:
        own_http = "http_client" not in options
        if own_http:
            options["http_client"] = http_class(transport=self.transport(), timeout=DEFAULT_TIMEOUT)
        client = client_class(**{**self._client_defaults(), **options})
        # The pool was made for this client alone, so closing the client closes it, as it would
        # without http_client. (The SDK's own private state, set by the SDK's own test double.)
        client._owns_http = own_http  # pyright: ignore[reportPrivateUsage]
        return client

    def _client_defaults(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "base_url": self.base_url, "clock": self.clock}


__all__ = ["CraftEmulator", "WebhookCallback"]
