"""`CraftEmulator`: the whole Craft API, in memory, as a pure function from request to response.

One emulator holds one account's state (projects, files, deployments, OAuth tokens, the rate
limit window) behind one lock, so the sync client's worker threads and the threaded server can
share it. Everything a request does happens in `handle`, in this order:

    an injected fault, if one matches (before anything else, so it has no effect)
    find the route; check the key (401), spend the rate limit (429), check read-only keys (403)
    move deployments along by the clock, then run the route's handler
    add X-Request-Id, Date and the rate-limit headers; deliver webhooks (outside the lock)

Where craft-api.md marks something as assumed, the emulator does what the SDK assumes.
"""

from __future__ import annotations

import dataclasses
import email.utils
import itertools
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Final, TypeAlias, TypeVar
from urllib.parse import parse_qsl, unquote

from typing_extensions import Self

from .._checks import check_int, check_seconds
from .._client import AsyncCraftClient, CraftClient
from .._clock import Clock
from .._config import DEFAULT_TIMEOUT
from .._http import httpx
from .._types import json_object
from ..webhooks import SIGNATURE_HEADER, sign_webhook
from ._clock import FakeClock
from ._server import EmulatorServer

C = TypeVar("C", CraftClient, AsyncCraftClient)

TEMPLATES: Final = ("blank", "dashboard", "landing-page", "portfolio")
PROJECT_STATUSES: Final = ("active", "archived")
SORT_FIELDS: Final = ("name", "createdAt", "updatedAt")
SORT_ORDERS: Final = ("asc", "desc")
ENVIRONMENTS: Final = ("preview", "production")
NAME_MAX_LENGTH: Final = 100
DESCRIPTION_MAX_LENGTH: Final = 500
PAGE_SIZE_DEFAULT: Final = 20
PAGE_SIZE_MAX: Final = 100
RATE_LIMIT_WINDOW: Final = 60.0
TOKEN_LIFETIME: Final = 3600
# Every template builds the same way here; the real API may differ per template.
PROJECT_SETTINGS: Final = {"framework": "react", "styling": "tailwind"}
USER: Final = {
    "id": "user_emulator",
    "email": "developer@craft.localhost",
    "name": "Craft Emulator",
}

# A deployment's phases; `phase` only ever grows.
_QUEUED, _BUILDING, _FINAL = 0, 1, 2
_FINAL_STATUSES: Final = frozenset({"completed", "failed", "canceled"})
_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})

WebhookCallback: TypeAlias = Callable[[bytes, dict[str, str]], None]
"""`callback(raw_body, headers)`: receives every webhook delivery."""


@dataclasses.dataclass
class _Answer:
    """A response before the headers every response shares are added."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict[str, str])


class _Reject(Exception):
    """Raised anywhere in a handler to answer with an error envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def answer(self) -> _Answer:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = dict(self.details)
        headers: dict[str, str] = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="craft"'
        if self.retry_after is not None:
            error["retryAfter"] = self.retry_after
            headers["Retry-After"] = str(self.retry_after)
        return _Answer(self.status, _dumps({"success": False, "error": error}), headers=headers)


@dataclasses.dataclass
class _Fault:
    count: int
    status: int | None
    delay: float
    drop: bool
    method: str | None
    path: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )


@dataclasses.dataclass
class _Build:
    """What drives one deployment: when it started, how far it got, and how it will end."""

    started: float  # clock.monotonic() at creation
    phase: int = _QUEUED
    error: str | None = None  # set: the build ends as "failed" with this message


@dataclasses.dataclass(frozen=True)
class _Request:
    """What a handler needs from the request, already taken apart."""

    method: str
    query: dict[str, str]
    headers: httpx.Headers
    body: bytes


E = TypeVar("E", bound="CraftEmulator")
# What a route names: a method of the emulator, taken from the class body, so generic in the
# emulator's type (in a method, `self` is any subclass).
Handler: TypeAlias = Callable[[E, _Request, list[str]], _Answer]


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

    Args:
        rate_limit: Requests per minute of the clock (windows start at whole minutes of
            `clock.time()`); None for no limit and no rate-limit headers.
        api_key: The key that may do everything.
        read_only_keys: Keys that may read but get 403 FORBIDDEN on any write.
        clock: Where timestamps, the rate-limit window and build progress come from; a
            `FakeClock` by default, which the clients from `client()` share.
        base_url: The URL the emulator answers under (its path is the API's prefix).
        build_seconds: How long a deployment takes: building after half of it, final after it.
        advance_on_poll: Also move a deployment one step each time it is read (the default),
            so that waiting for one finishes without time passing; False leaves it to the
            clock and `build_seconds` alone (to test timeouts of `deployments.wait`).
    """

    def __init__(
        self,
        *,
        rate_limit: int | None = None,
        api_key: str = "test_key",
        read_only_keys: Iterable[str] = (),
        clock: Clock | None = None,
        base_url: str = "http://craft.localhost/v1",
        build_seconds: float = 4.0,
        advance_on_poll: bool = True,
    ) -> None:
        if rate_limit is not None:
            check_int("rate_limit", rate_limit, minimum=1)
        check_seconds("build_seconds", build_seconds, zero_allowed=True)
        if not api_key:
            raise ValueError("api_key must not be empty")
        self.api_key = api_key
        """The key that may do everything (the clients from `client()` send it)."""
        self.base_url = base_url
        """The URL the emulator answers under."""
        # A fake clock, so nothing waits for real, starting at the real time, so that the
        # timestamps it stamps (webhooks, tokens) look current to code that checks them.
        self.clock: Clock = clock if clock is not None else FakeClock(start=float(int(time.time())))
        """Where timestamps, the rate-limit window and build progress come from; by default a
        `FakeClock` starting at the current time, which the clients from `client()` share."""
        self.rate_limit = rate_limit
        """Requests per minute, or None for no limit."""
        self.build_seconds: float = float(build_seconds)
        """How long a deployment takes on the clock."""
        self.advance_on_poll = advance_on_poll
        """Whether each read of a deployment also moves it one step on."""
        self.user: dict[str, Any] = dict(USER)
        """What `GET /me` answers (wire names)."""
        self.projects: dict[str, dict[str, Any]] = {}
        """Project id -> the project as `GET /projects/{id}` answers it (wire names)."""
        self.files: dict[str, dict[str, bytes]] = {}
        """Project id -> {path: content bytes}."""
        self.deployments: dict[str, dict[str, Any]] = {}
        """Deployment id -> the deployment as `GET .../deployments/{id}` answers it (wire
        names)."""
        self.requests: list[tuple[str, str, int]] = []
        """(method, path and query relative to the base URL, status) of every request handled,
        in order; a dropped connection has status 0."""

        self._prefix = httpx.URL(base_url).path.rstrip("/")
        self._read_only_keys = frozenset(read_only_keys)
        self._lock = threading.Lock()
        self._sequence = itertools.count()
        # Private bookkeeping beside the public state.
        self._created_order: dict[str, int] = {}  # project id -> creation number
        self._updated_order: dict[str, int] = {}  # project id -> number of its last update
        self._file_times: dict[str, dict[str, str]] = {}  # project id -> {path: updatedAt}
        self._builds: dict[str, _Build] = {}
        self._doomed: list[str] = []  # errors for the next deployments created, in order
        self._faults: list[_Fault] = []
        self._webhooks: list[tuple[WebhookCallback, str]] = []
        self._outbox: list[bytes] = []  # webhook bodies to deliver once the lock is released
        self._access_tokens: dict[str, float] = {}  # token -> expiry (clock.time())
        self._refresh_tokens: set[str] = set()
        self._used_codes: set[str] = set()
        self._window_start: float | None = None
        self._window_used = 0

    # ---- public interface -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request, as the API would (the function behind `transport()`).

        Args:
            request: The request; its path is read relative to `base_url`'s path (the host
                is not checked).

        Returns:
            The answer, with `X-Request-Id`, `Date` and (with a rate limit) the rate-limit
            headers.

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
            fault = self._take_fault(method, api_path)
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
                    response = self._respond(request, _injected(fault.status))
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
            outbox, self._outbox = self._outbox, []
            subscribers = list(self._webhooks)
        # Delivered outside the lock, so that a callback may call the API itself. A callback
        # that raises does not stop the other deliveries; its error comes out after them.
        failures: list[BaseException] = []
        for payload in outbox:
            for callback, secret in subscribers:
                try:
                    callback(payload, _webhook_headers(payload, secret))
                except Exception as error:
                    failures.append(error)
        if failures:
            raise failures[0]
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

    def _wired(self, client_class: type[C], http_class: type[Any], options: dict[str, Any]) -> C:
        own_http = "http_client" not in options
        if own_http:
            options["http_client"] = http_class(transport=self.transport(), timeout=DEFAULT_TIMEOUT)
        client = client_class(**{**self._client_defaults(), **options})
        # The pool was made for this client alone, so closing the client closes it, as it would
        # without http_client. (The SDK's own private state, set by the SDK's own test double.)
        client._owns_http = own_http  # pyright: ignore[reportPrivateUsage]
        return client

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int | None = 503,
        delay: float = 0.0,
        drop: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the next `count` requests that match `method` and `path` fail.

        Each waits `delay` seconds on the emulator's clock, then is dropped or answered with
        `status` and an error envelope. A failed request has no effect at all. Faults are
        matched in the order they were added.

        Args:
            count: How many matching requests fail, at least 1.
            status: The error status to answer with, 400 to 599 (a 429 carries
                `Retry-After: 1`). None, with no drop, only slows the request down by `delay`;
                it is then handled normally.
            delay: Seconds each request waits on the emulator's clock first, at least 0.
            drop: Close the connection with no answer at all, instead of answering.
            method: Only requests with this method ("GET", any case); None for any.
            path: Only requests to this path, relative to the base URL and without the query,
                such as "/projects"; None for any.

        Raises:
            TypeError: `count` or `status` is not an int, or `delay` not a number.
            ValueError: `count`, `status` or `delay` is out of range.
        """
        check_int("count", count, minimum=1)
        if status is not None:
            check_int("status", status, minimum=400, maximum=599)
        check_seconds("delay", delay, zero_allowed=True)
        if path is not None:
            path = self._relative(path.partition("?")[0])
        fault = _Fault(count, status, delay, drop, method and method.upper(), path)
        with self._lock:
            self._faults.append(fault)

    def fail_next_deployment(self, error: str = "Build failed") -> None:
        """Make the next deployment created end as "failed" (each call dooms one more).

        Args:
            error: The deployment's `error` message.
        """
        with self._lock:
            self._doomed.append(error)

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
            self._webhooks.append((callback, secret))

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        """Serve this emulator over real HTTP on a loopback address, in a background thread.

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

    def __repr__(self) -> str:
        return (
            f"CraftEmulator(base_url={self.base_url!r}, projects={len(self.projects)}, "
            f"deployments={len(self.deployments)}, requests={len(self.requests)})"
        )

    # ---- the request pipeline (all under the lock) ------------------------------------------

    def _answer(
        self, request: httpx.Request, method: str, raw_path: str, query: str, body: bytes
    ) -> _Answer:
        try:
            try:
                route, bad_path = self._route(method, raw_path), None
            except _Reject as rejection:  # answered only once the key has been checked
                route, bad_path = None, rejection
            if route is None or route[0] is not CraftEmulator._token:
                key = self._authenticate(request.headers)
            else:
                key = None  # the token endpoint takes the app's credentials in its body
            self._spend_rate_limit()
            if bad_path is not None:
                raise bad_path
            if route is None:
                raise _Reject(404, "NOT_FOUND", f"No such endpoint: {method} {raw_path}")
            if key in self._read_only_keys and method in _WRITE_METHODS:
                raise _Reject(403, "FORBIDDEN", "This API key is read-only.")
            self._advance_by_clock()
            handler, arguments = route
            parsed = _Request(
                method=method,
                query=dict(parse_qsl(query, keep_blank_values=True)[::-1]),  # first one wins
                headers=request.headers,
                body=body,
            )
            return handler(self, parsed, arguments)
        except _Reject as rejection:
            return rejection.answer()

    def _respond(self, request: httpx.Request, answer: _Answer) -> httpx.Response:
        now = self.clock.time()
        headers = {
            "Content-Type": answer.content_type,
            "X-Request-Id": "req_" + secrets.token_hex(8),
            "Date": email.utils.formatdate(now, usegmt=True),
            **self._rate_limit_headers(now),
            **answer.headers,
        }
        return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)

    def _relative(self, path: str) -> str:
        """A path relative to the base URL's path, or the path itself if outside it."""
        if self._prefix and (path == self._prefix or path.startswith(self._prefix + "/")):
            return path[len(self._prefix) :] or "/"
        return path

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _route(self, method: str, raw_path: str) -> tuple[Handler[Self], list[str]] | None:
        if not raw_path.startswith(self._prefix + "/"):
            return None
        segments = [_decode(segment) for segment in raw_path[len(self._prefix) + 1 :].split("/")]
        for route_method, pattern, handler in self._ROUTES:
            if route_method != method:
                continue
            arguments = _match(pattern, segments)
            if arguments is not None:
                return handler, arguments
        return None

    def _authenticate(self, headers: httpx.Headers) -> str:
        header: str = headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _Reject(
                401, "UNAUTHORIZED", "Missing API key: send 'Authorization: Bearer <key>'."
            )
        if key == self.api_key or key in self._read_only_keys:
            return key
        expiry = self._access_tokens.get(key)
        if expiry is not None and self.clock.time() < expiry:
            return key
        message = "The access token has expired." if expiry is not None else "Invalid API key."
        raise _Reject(401, "UNAUTHORIZED", message)

    def _window(self, now: float) -> tuple[float, int]:
        """The start of the rate-limit window at `now`, and how much of it is used."""
        start = math.floor(now / RATE_LIMIT_WINDOW) * RATE_LIMIT_WINDOW
        return start, self._window_used if start == self._window_start else 0

    def _spend_rate_limit(self) -> None:
        if self.rate_limit is None:
            return
        now = self.clock.time()
        self._window_start, self._window_used = self._window(now)
        if self._window_used >= self.rate_limit:
            wait = max(1, math.ceil(self._window_start + RATE_LIMIT_WINDOW - now))
            raise _Reject(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Rate limit of {self.rate_limit} requests per minute exceeded.",
                retry_after=wait,
            )
        self._window_used += 1

    def _rate_limit_headers(self, now: float) -> dict[str, str]:
        if self.rate_limit is None:
            return {}
        start, used = self._window(now)  # looks only, for answers that were not counted
        end = start + RATE_LIMIT_WINDOW
        remaining = max(0, self.rate_limit - used)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(end)),
            "X-RateLimit-RetryAfter": "0" if remaining else str(max(1, math.ceil(end - now))),
        }

    # ---- helpers shared by the handlers -----------------------------------------------------

    def _now(self) -> str:
        return _iso(self.clock.time())

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        if self._webhooks:
            self._outbox.append(_dumps({"event": event, "timestamp": self._now(), "data": data}))

    def _project(self, project_id: str) -> dict[str, Any]:
        project = self.projects.get(project_id)
        if project is None:
            raise _Reject(
                404,
                "PROJECT_NOT_FOUND",
                f"Project {project_id} not found.",
                {"projectId": project_id},
            )
        return project

    def _new_id(self, prefix: str, taken: Mapping[str, object]) -> str:
        while (new_id := f"{prefix}_{secrets.token_hex(6)}") in taken:
            pass
        return new_id

    # ---- /me and /oauth/token ---------------------------------------------------------------

    def _me(self, request: _Request, arguments: list[str]) -> _Answer:
        return _ok(dict(self.user))

    def _token(self, request: _Request, arguments: list[str]) -> _Answer:
        """RFC 6749 section 5: answers and errors unwrapped, as OAuth clients expect."""
        fields = _token_request_fields(request)
        if fields is None:
            return _oauth_error("invalid_request", "The body must be a JSON object.")
        grant = fields.get("grant_type")
        wanted: tuple[str, ...]
        if grant == "authorization_code":
            wanted = ("code", "redirect_uri", "client_id", "client_secret")
        elif grant == "refresh_token":
            wanted = ("refresh_token", "client_id", "client_secret")
        else:
            return _oauth_error("unsupported_grant_type", f"Unsupported grant_type: {grant!r}.")
        missing = [name for name in wanted if not isinstance(fields.get(name), str)]
        if missing or not all(fields[name].strip() for name in wanted):
            return _oauth_error("invalid_request", f"Missing or empty: {', '.join(wanted)}.")
        if grant == "authorization_code":
            if fields["code"] in self._used_codes:
                return _oauth_error("invalid_grant", "The authorization code was already used.")
            self._used_codes.add(fields["code"])
        else:
            if fields["refresh_token"] not in self._refresh_tokens:
                return _oauth_error("invalid_grant", "The refresh token is invalid or used.")
            self._refresh_tokens.discard(fields["refresh_token"])  # rotated: each works once
        access_token = "craft_at_" + secrets.token_hex(16)
        refresh_token = "craft_rt_" + secrets.token_hex(16)
        self._access_tokens[access_token] = self.clock.time() + TOKEN_LIFETIME
        self._refresh_tokens.add(refresh_token)
        token = {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": "read write",
        }
        return _Answer(200, _dumps(token), headers={"Cache-Control": "no-store"})

    # ---- projects ---------------------------------------------------------------------------

    def _list_projects(self, request: _Request, arguments: list[str]) -> _Answer:
        page, limit = _page_params(request.query)
        status = _choice(request.query, "status", PROJECT_STATUSES)
        sort = _choice(request.query, "sort", SORT_FIELDS) or "createdAt"
        order = _choice(request.query, "order", SORT_ORDERS) or "desc"

        def key(project: dict[str, Any]) -> tuple[Any, ...]:
            project_id = project["id"]
            if sort == "name":
                return (project["name"].casefold(), self._created_order[project_id])
            if sort == "updatedAt":
                return (project["updatedAt"], self._updated_order[project_id])
            return (project["createdAt"], self._created_order[project_id])

        chosen = [p for p in self.projects.values() if status is None or p["status"] == status]
        chosen.sort(key=key, reverse=order == "desc")
        listed = [{k: v for k, v in p.items() if k not in ("settings", "stats")} for p in chosen]
        return _page(listed, page=page, limit=limit)

    def _create_project(self, request: _Request, arguments: list[str]) -> _Answer:
        body = _json_object(request.body, fields=("name", "description", "template"))
        name = _check_name(body.get("name"))
        # Absent is fine, null is not: only an update clears a description with null.
        if "description" in body and body["description"] is None:
            raise _invalid("description", "description must be a string.")
        description = _check_description(body.get("description"))
        template = body.get("template")
        if "template" in body:
            if not isinstance(template, str):
                raise _invalid("template", "template must be a string.")
            if template not in TEMPLATES:
                raise _Reject(
                    400,
                    "TEMPLATE_NOT_FOUND",
                    f"Template {template!r} not found.",
                    {"template": template, "available": list(TEMPLATES)},
                )
        project_id = self._new_id("proj", self.projects)
        now = self._now()
        project = {
            "id": project_id,
            "name": name,
            "description": description,
            "status": "active",
            "template": template,
            "previewUrl": f"https://preview.craft.fast/{project_id}",
            "createdAt": now,
            "updatedAt": now,
            "settings": dict(PROJECT_SETTINGS),
            # No lastEditedAt until a file changes: the contract's timestamps are never null.
            "stats": {"files": 0},
        }
        self.projects[project_id] = project
        self.files[project_id] = {}
        self._file_times[project_id] = {}
        self._created_order[project_id] = self._updated_order[project_id] = next(self._sequence)
        self._emit("project.created", {"projectId": project_id})
        return _ok(_copy(project), status=201)

    def _get_project(self, request: _Request, arguments: list[str]) -> _Answer:
        return _ok(_copy(self._project(arguments[0])))

    def _update_project(self, request: _Request, arguments: list[str]) -> _Answer:
        project = self._project(arguments[0])
        body = _json_object(request.body, fields=("name", "description", "status"))
        # Everything is checked before anything changes.
        updates: dict[str, Any] = {}
        if "name" in body:
            updates["name"] = _check_name(body["name"])
        if "description" in body:
            updates["description"] = _check_description(body["description"])
        if "status" in body:
            if body["status"] not in PROJECT_STATUSES:
                raise _invalid("status", "status must be 'active' or 'archived'.")
            updates["status"] = body["status"]
        if not updates:
            raise _Reject(
                400, "INVALID_REQUEST", "Nothing to update: give name, description or status."
            )
        changes = [field for field, value in updates.items() if project[field] != value]
        if changes:
            project.update(updates)
            project["updatedAt"] = self._now()
            self._updated_order[project["id"]] = next(self._sequence)
            self._emit("project.updated", {"projectId": project["id"], "changes": changes})
        # Partial, as the reference allows: what was asked for, plus id and updatedAt.
        return _ok({"id": project["id"], **updates, "updatedAt": project["updatedAt"]})

    def _delete_project(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id = self._project(arguments[0])["id"]
        del self.projects[project_id]
        self.files.pop(project_id, None)
        self._file_times.pop(project_id, None)
        self._created_order.pop(project_id, None)
        self._updated_order.pop(project_id, None)
        for deployment_id in [
            d for d, deployment in self.deployments.items() if deployment["projectId"] == project_id
        ]:
            del self.deployments[deployment_id]
            del self._builds[deployment_id]
        self._emit("project.deleted", {"projectId": project_id})
        return _ok({"id": project_id, "deleted": True})

    # ---- files ------------------------------------------------------------------------------

    def _list_files(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id = self._project(arguments[0])["id"]
        # Not paginated: the whole list answers any page; a page that is no page is refused.
        _int_param(request.query, "page", 1, minimum=1)
        files = self.files.get(project_id, {})
        directories = {parent for path in files for parent in _parents(path)}
        entries = [{"path": d, "type": "directory"} for d in directories]
        entries += [self._file_entry(project_id, path) for path in files]
        entries.sort(key=lambda entry: entry["path"])
        return _ok(entries)

    def _read_file(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id, path = arguments
        self._project(project_id)
        content = self.files.get(project_id, {}).get(path)
        if content is None:
            raise _file_not_found(path)
        return _Answer(200, content, content_type=_content_type(content))

    def _write_file(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id, path = arguments
        project = self._project(project_id)
        files = self.files.setdefault(project_id, {})
        if any(other.startswith(path + "/") for other in files):
            raise _Reject(409, "CONFLICT", f"{path} is a directory.", {"path": path})
        if clash := next((parent for parent in _parents(path) if parent in files), None):
            raise _Reject(409, "CONFLICT", f"{clash} is a file, not a directory.", {"path": path})
        created = path not in files
        now = self._now()
        files[path] = request.body
        self._file_times.setdefault(project_id, {})[path] = now
        project["stats"] = {"files": len(files), "lastEditedAt": now}
        return _ok(self._file_entry(project_id, path), status=201 if created else 200)

    def _delete_file(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id, path = arguments
        project = self._project(project_id)
        files = self.files.get(project_id, {})
        if path not in files:
            raise _file_not_found(path)
        del files[path]
        self._file_times.get(project_id, {}).pop(path, None)
        project["stats"] = {"files": len(files), "lastEditedAt": self._now()}
        return _ok({"path": path, "deleted": True})

    def _file_entry(self, project_id: str, path: str) -> dict[str, Any]:
        updated_at = self._file_times.get(project_id, {}).get(path)
        return {
            "path": path,
            "type": "file",
            "size": len(self.files[project_id][path]),
            "updatedAt": updated_at or self.projects[project_id]["createdAt"],
        }

    # ---- deployments ------------------------------------------------------------------------

    def _list_deployments(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id = self._project(arguments[0])["id"]
        page, limit = _page_params(request.query)
        mine = [_copy(d) for d in self.deployments.values() if d["projectId"] == project_id]
        return _page(mine[::-1], page=page, limit=limit)  # newest first

    def _create_deployment(self, request: _Request, arguments: list[str]) -> _Answer:
        project_id = self._project(arguments[0])["id"]
        body = _json_object(request.body, optional=True, fields=("environment",))
        environment = body.get("environment", "preview")
        if environment not in ENVIRONMENTS:
            raise _invalid("environment", "environment must be 'preview' or 'production'.")
        deployment_id = self._new_id("dep", self.deployments)
        now = self._now()
        deployment = {
            "id": deployment_id,
            "projectId": project_id,
            "status": "queued",
            "environment": environment,
            "url": None,
            "error": None,
            "createdAt": now,
            "updatedAt": now,
            "completedAt": None,
        }
        self.deployments[deployment_id] = deployment
        error = self._doomed.pop(0) if self._doomed else None
        self._builds[deployment_id] = _Build(started=self.clock.monotonic(), error=error)
        return _ok(_copy(deployment), status=201)

    def _get_deployment(self, request: _Request, arguments: list[str]) -> _Answer:
        deployment = self._deployment(*arguments)
        if self.advance_on_poll:
            # Each look moves it one step on, so that polling finishes without time passing.
            self._advance(deployment["id"], self._builds[deployment["id"]].phase + 1)
        return _ok(_copy(deployment))

    def _cancel_deployment(self, request: _Request, arguments: list[str]) -> _Answer:
        deployment = self._deployment(*arguments)
        if deployment["status"] in _FINAL_STATUSES:
            raise _Reject(
                409,
                "CONFLICT",
                f"Deployment {deployment['id']} is already {deployment['status']}.",
                {"status": deployment["status"]},
            )
        now = self._now()
        deployment.update(status="canceled", updatedAt=now, completedAt=now)
        self._builds[deployment["id"]].phase = _FINAL
        return _ok(_copy(deployment))

    def _deployment(self, project_id: str, deployment_id: str) -> dict[str, Any]:
        self._project(project_id)
        deployment = self.deployments.get(deployment_id)
        if deployment is None or deployment["projectId"] != project_id:
            raise _Reject(
                404,
                "DEPLOYMENT_NOT_FOUND",
                f"Deployment {deployment_id} not found.",
                {"deploymentId": deployment_id},
            )
        return deployment

    def _advance_by_clock(self) -> None:
        """Move every deployment to where the clock says it should be by now."""
        now = self.clock.monotonic()
        for deployment_id, build in self._builds.items():
            if build.phase >= _FINAL:
                continue  # finished builds (most of them, in a long test) have nothing to do
            elapsed = now - build.started
            if elapsed >= self.build_seconds:
                self._advance(deployment_id, _FINAL)
            elif elapsed >= self.build_seconds / 2:
                self._advance(deployment_id, _BUILDING)

    def _advance(self, deployment_id: str, phase: int) -> None:
        """Step a deployment up to `phase`, one phase at a time, with a webhook for each."""
        build = self._builds[deployment_id]
        deployment = self.deployments[deployment_id]
        event_data = {"projectId": deployment["projectId"], "deploymentId": deployment_id}
        while build.phase < min(phase, _FINAL):
            build.phase += 1
            now = self._now()
            deployment["updatedAt"] = now
            if build.phase == _BUILDING:
                deployment["status"] = "building"
                self._emit("build.started", {**event_data, "status": "building"})
            elif build.error is None:
                url = f"https://{deployment_id}.craft.app"
                deployment.update(status="completed", url=url, completedAt=now)
                self._emit("build.completed", {**event_data, "status": "completed", "url": url})
            else:
                deployment.update(status="failed", error=build.error, completedAt=now)
                self._emit("build.failed", {**event_data, "status": "failed", "error": build.error})

    def _client_defaults(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "base_url": self.base_url, "clock": self.clock}

    # ---- routes (after the handlers they name) ----------------------------------------------

    # A route is (method, pattern, handler); in a pattern "*" is one path parameter and "**" the
    # rest of the path (a file path, one or more segments).
    _ROUTES: Final = (
        ("GET", ("me",), _me),
        ("POST", ("oauth", "token"), _token),
        ("GET", ("projects",), _list_projects),
        ("POST", ("projects",), _create_project),
        ("GET", ("projects", "*"), _get_project),
        ("PATCH", ("projects", "*"), _update_project),
        ("DELETE", ("projects", "*"), _delete_project),
        ("GET", ("projects", "*", "files"), _list_files),
        ("GET", ("projects", "*", "files", "**"), _read_file),
        ("PUT", ("projects", "*", "files", "**"), _write_file),
        ("DELETE", ("projects", "*", "files", "**"), _delete_file),
        ("GET", ("projects", "*", "deployments"), _list_deployments),
        ("POST", ("projects", "*", "deployments"), _create_deployment),
        ("GET", ("projects", "*", "deployments", "*"), _get_deployment),
        ("POST", ("projects", "*", "deployments", "*", "cancel"), _cancel_deployment),
    )


def _match(pattern: tuple[str, ...], segments: list[str]) -> list[str] | None:
    """The path parameters if `segments` fit `pattern`, else None."""
    takes_rest = pattern[-1] == "**"
    fixed = pattern[:-1] if takes_rest else pattern
    if len(segments) < len(fixed) + takes_rest or (not takes_rest and len(segments) > len(fixed)):
        return None
    arguments: list[str] = []
    for expected, segment in zip(fixed, segments[: len(fixed)], strict=True):
        if expected == "*" and segment:  # an empty segment is no id: /projects/ is no route
            arguments.append(segment)
        elif expected != segment:
            return None
    if takes_rest:
        arguments.append(_file_path(segments[len(fixed) :]))
    return arguments


def _decode(segment: str) -> str:
    """One path segment, percent-decoded on its own (so %2F in an id stays in the id)."""
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise _Reject(400, "INVALID_REQUEST", "The path is not valid UTF-8.") from None


def _file_path(segments: list[str]) -> str:
    """The file path from its (decoded) segments. A `%2F` is read as the separator it encodes,
    as generic OpenAPI clients percent-encode the whole parameter; the parts it makes are
    checked like any other."""
    parts = [part for segment in segments for part in segment.split("/")]
    for segment in parts:
        if segment in ("", ".", "..") or "\\" in segment:
            raise _Reject(
                400,
                "INVALID_REQUEST",
                "A file path may not hold empty, '.' or '..' parts, or backslashes.",
                {"field": "path"},
            )
    return "/".join(parts)


def _parents(path: str) -> list[str]:
    """The directories above a file: "a/b/c.txt" -> ["a", "a/b"]."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _content_type(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "application/octet-stream" if "\x00" in text else "text/plain; charset=utf-8"


def _json_object(
    body: bytes, *, optional: bool = False, fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The body as a JSON object; with `fields`, a field not among them is refused (the
    contract's request bodies allow no others)."""
    if optional and not body.strip():
        return {}
    try:
        value = json_object(json.loads(body))
    except (ValueError, RecursionError):
        raise _Reject(400, "INVALID_REQUEST", "The request body is not valid JSON.") from None
    if value is None:
        raise _Reject(400, "INVALID_REQUEST", "The request body must be a JSON object.")
    unknown = [field for field in value if fields is not None and field not in fields]
    if unknown:
        raise _invalid(
            unknown[0], f"Unknown field {unknown[0]!r}; expected {', '.join(fields or ())}."
        )
    return value


def _token_request_fields(request: _Request) -> dict[str, Any] | None:
    """The token request's fields: JSON (what the SDK sends) or a form (what RFC 6749 says)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(request.body.decode("utf-8", "replace")))
    try:
        return _json_object(request.body)
    except _Reject:
        return None


def _check_name(name: object) -> str:
    # Blank as the SDK counts it (str.strip); the length is the name's as sent.
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX_LENGTH:
        raise _Reject(
            400,
            "INVALID_PROJECT_NAME",
            f"name must be a string of 1 to {NAME_MAX_LENGTH} characters.",
            {"field": "name"},
        )
    return name.strip()


def _check_description(description: object) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_LENGTH:
        raise _invalid(
            "description", f"description must be a string of at most {DESCRIPTION_MAX_LENGTH}."
        )
    return description


def _page_params(query: Mapping[str, str]) -> tuple[int, int]:
    page = _int_param(query, "page", 1, minimum=1)
    limit = _int_param(query, "limit", PAGE_SIZE_DEFAULT, minimum=1, maximum=PAGE_SIZE_MAX)
    return page, limit


def _int_param(
    query: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    if name not in query:
        return default
    raw = query[name].strip()
    # ASCII digits only: no sign, no spaces, no "1e3", no "²" (which isdigit() accepts).
    number = int(raw) if raw.isascii() and raw.isdigit() else None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        bounds = f"{minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise _invalid(name, f"{name} must be a whole number, {bounds}.")
    return number


def _choice(query: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise _invalid(name, f"{name} must be one of {', '.join(allowed)}.")
    return value


def _page(items: list[dict[str, Any]], *, page: int, limit: int) -> _Answer:
    total = len(items)
    total_pages = math.ceil(total / limit)
    pagination = {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": total_pages,
        "hasMore": page < total_pages,
    }
    data = items[(page - 1) * limit : page * limit]
    return _Answer(200, _dumps({"success": True, "data": data, "pagination": pagination}))


def _ok(data: Any, *, status: int = 200) -> _Answer:
    return _Answer(status, _dumps({"success": True, "data": data}))


def _invalid(field: str, message: str) -> _Reject:
    return _Reject(400, "INVALID_REQUEST", message, {"field": field})


def _file_not_found(path: str) -> _Reject:
    return _Reject(404, "FILE_NOT_FOUND", f"File {path} not found.", {"path": path})


def _oauth_error(error: str, description: str) -> _Answer:
    body = {"error": error, "error_description": description}
    return _Answer(400, _dumps(body), headers={"Cache-Control": "no-store"})


def _injected(status: int) -> _Answer:
    """The answer of an injected fault: an error envelope named after its status."""
    codes = {429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR"}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = codes.get(status, phrase.upper().replace(" ", "_").replace("-", "_"))
    return _Reject(
        status, code, f"{phrase} (injected).", retry_after=1 if status == 429 else None
    ).answer()


def _webhook_headers(payload: bytes, secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(payload, secret)}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that no answer shares a dict with the state."""
    copied = dict(value)
    for key, inner in value.items():
        if (nested := json_object(inner)) is not None:
            copied[key] = dict(nested)
    return copied


__all__ = ["CraftEmulator", "WebhookCallback"]
