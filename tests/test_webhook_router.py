"""WebhookRouter in process (issue #18): typed dispatch, the answers, deduplication, and the
sync and async drivers. Deliveries are signed by `sign_webhook` or made by the emulator."""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import math
import sys
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any, cast

import pytest

from craft_sdk import (
    BuildFailedEvent,
    ProjectCreatedEvent,
    ProjectUpdatedEvent,
    UnknownWebhookEvent,
    WebhookEvent,
    sign_webhook,
)
from craft_sdk.testing import CraftEmulator
from craft_sdk.webhooks import (
    Claim,
    Dedup,
    WebhookHandlerError,
    WebhookResult,
    WebhookRouter,
)

from .conftest import wait_until
from .webhook_helpers import SECRET, body_of, headers_for, identity

OLD_SECRET = "whsec_router_old_44a0c1"


class StandInDedup:
    """A store of one's own, following the `Dedup` protocol as a user's would: it records every
    call, and `fail_on` makes a method raise (the real stores are tested in test_dedup.py)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.states: dict[str, Claim] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def claim(self, key: str) -> Claim:
        self._record("claim", key)
        with self._lock:
            if key in self.states:
                return self.states[key]
            self.states[key] = "busy"
            return "new"

    def complete(self, key: str) -> None:
        self._record("complete", key)
        with self._lock:
            self.states[key] = "done"

    def release(self, key: str) -> None:
        self._record("release", key)
        with self._lock:
            self.states.pop(key, None)

    def _record(self, method: str, key: str) -> None:
        with self._lock:
            self.calls.append((method, key))
        if method == self.fail_on:
            raise ConnectionError("the store is down")


def answer(result: WebhookResult) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.body)
    return parsed


def must_not_run(event: WebhookEvent) -> None:
    pytest.fail(f"a handler ran for {event.event}")


def deliver(router: WebhookRouter, body: bytes, secret: str = SECRET) -> WebhookResult:
    return router.handle(body, headers_for(body, secret))


# ---- dispatch ---------------------------------------------------------------------------------


def test_an_event_runs_its_own_handlers_in_order_then_the_on_any_ones() -> None:
    router = WebhookRouter(SECRET)
    ran: list[tuple[str, str]] = []

    @router.on("build.failed")
    def first(event: BuildFailedEvent) -> None:
        ran.append(("first", f"{event.data.project_id}: {event.data.error}"))

    @router.on("build.failed")
    def second(event: WebhookEvent) -> None:
        ran.append(("second", type(event).__name__))

    @router.on("project.created")
    def other(event: ProjectCreatedEvent) -> None:
        ran.append(("other", event.event))

    @router.on_any
    def audit(event: WebhookEvent) -> None:
        ran.append(("audit", event.event))

    result = deliver(router, body_of(projectId="proj_1", error="Type error"))

    assert (result.status, answer(result)) == (200, {"ok": True})
    assert result.headers["Content-Type"] == "application/json"
    assert isinstance(result.event, BuildFailedEvent)
    assert ran == [
        ("first", "proj_1: Type error"),
        ("second", "BuildFailedEvent"),
        ("audit", "build.failed"),
    ]
    assert first.__name__ == "first"  # the decorators return the handler itself


def test_an_unknown_event_reaches_on_any_and_is_answered_200() -> None:
    router = WebhookRouter(SECRET)
    seen: list[WebhookEvent] = []
    router.on_any(seen.append)
    router.on("build.failed")(must_not_run)

    result = deliver(router, body_of("database.created", databaseId="db_1"))

    assert (result.status, answer(result)) == (200, {"ok": True})
    assert [type(event) for event in seen] == [UnknownWebhookEvent]
    assert cast(UnknownWebhookEvent, seen[0]).data == {"databaseId": "db_1"}


def test_an_event_no_handler_wants_is_answered_200() -> None:
    result = deliver(WebhookRouter(SECRET), body_of("project.deleted", projectId="proj_1"))
    assert (result.status, answer(result)) == (200, {"ok": True})


def test_an_unknown_name_is_refused_at_registration() -> None:
    router = WebhookRouter(SECRET)
    with pytest.raises(ValueError, match=r"build\.faild") as raised:
        router.on(cast(Any, "build.faild"))
    assert "build.failed" in str(raised.value)
    assert "on_any" in str(raised.value)


def test_a_handler_must_be_callable() -> None:
    router = WebhookRouter(SECRET)
    with pytest.raises(TypeError, match="callable"):
        router.on_any(cast(Any, "audit"))


def test_emulator_deliveries_reach_handlers_typed() -> None:
    router = WebhookRouter(SECRET)
    updates: list[ProjectUpdatedEvent] = []
    router.on("project.updated")(updates.append)
    results: list[WebhookResult] = []
    emulator = CraftEmulator()
    emulator.on_webhook(
        lambda body, headers: results.append(router.handle(body, headers)), secret=SECRET
    )
    with emulator.client() as client:
        project = client.projects.create(name="Hooks")
        client.projects.update(project.id, name="Hooked")

    assert [(result.status, type(result.event)) for result in results] == [
        (200, ProjectCreatedEvent),
        (200, ProjectUpdatedEvent),
    ]
    assert [(event.data.project_id, event.data.changes) for event in updates] == [
        (project.id, ["name"])
    ]


# ---- refusals ---------------------------------------------------------------------------------


def refusals() -> list[Any]:
    good = body_of(projectId="proj_1")
    stale = body_of(at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    future = body_of(at=datetime(2999, 1, 1, tzinfo=timezone.utc))
    untimed = json.dumps({"event": "build.failed", "data": {}}).encode()
    cases: list[tuple[str, bytes, dict[str, str], str]] = [
        ("unsigned", good, {}, "missing signature"),
        ("tampered", good.replace(b"proj_1", b"proj_2"), headers_for(good), "bad signature"),
        ("wrong secret", good, headers_for(good, "whsec_wrong"), "bad signature"),
        (
            "reserialised",
            json.dumps(json.loads(good), indent=1).encode(),
            headers_for(good),
            "bad signature",
        ),
        ("stale", stale, headers_for(stale), "stale timestamp"),
        ("future", future, headers_for(future), "future timestamp"),
        ("untimed", untimed, headers_for(untimed), "missing timestamp"),
        ("not json", b"{oops", headers_for(b"{oops"), "malformed body"),
        ("not an object", b"[1]", headers_for(b"[1]"), "malformed body"),
        ("no event name", b'{"data": {}}', headers_for(b'{"data": {}}'), "malformed body"),
        (
            "misfit",
            b'{"event": "project.updated", "data": 1}',
            headers_for(b'{"event": "project.updated", "data": 1}'),
            "malformed body",
        ),
    ]
    return [pytest.param(body, headers, reason, id=name) for name, body, headers, reason in cases]


@pytest.mark.parametrize(("body", "headers", "reason"), refusals())
def test_a_delivery_that_fails_verification_is_answered_400_and_runs_nothing(
    body: bytes, headers: dict[str, str], reason: str
) -> None:
    dedup = StandInDedup()
    router = WebhookRouter(SECRET, dedup=dedup)
    router.on_any(must_not_run)

    result = router.handle(body, headers)

    assert (result.status, answer(result)) == (400, {"ok": False, "error": reason})
    assert result.event is None
    assert dedup.calls == []


def test_a_parsed_body_is_a_mistake_in_the_calling_code() -> None:
    body = body_of()
    with pytest.raises(TypeError, match="raw request body"):
        WebhookRouter(SECRET).handle(json.loads(body), headers_for(body))


def test_tolerance_none_turns_the_timestamp_check_off() -> None:
    stale = body_of(at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    assert deliver(WebhookRouter(SECRET, tolerance=None), stale).status == 200
    assert deliver(WebhookRouter(SECRET, tolerance=300), stale).status == 400


def test_a_body_past_max_body_is_answered_413() -> None:
    body = body_of(padding="x" * 200)
    router = WebhookRouter(SECRET, max_body=len(body) - 1)
    router.on_any(must_not_run)
    result = deliver(router, body)
    assert (result.status, answer(result)) == (413, {"ok": False, "error": "body too large"})
    assert deliver(WebhookRouter(SECRET, max_body=len(body)), body).status == 200


# ---- handler failures -------------------------------------------------------------------------


def test_failures_are_collected_passed_to_on_error_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = WebhookRouter(SECRET)
    ran: list[str] = []
    errors: list[WebhookHandlerError] = []

    @router.on("build.failed")
    def breaks(event: BuildFailedEvent) -> None:
        raise ValueError("first broke")

    @router.on("build.failed")
    def works(event: BuildFailedEvent) -> None:
        ran.append("works")

    @router.on_any
    async def also_breaks(event: WebhookEvent) -> None:
        raise KeyError("second broke")

    router.on_error(errors.append)

    @router.on_error
    async def alert(error: WebhookHandlerError) -> None:
        raise RuntimeError("the alert broke too")

    with caplog.at_level(logging.ERROR, logger="craft_sdk.webhooks"):
        result = deliver(router, body_of(projectId="proj_1"))

    assert (result.status, answer(result)) == (500, {"ok": False, "error": "handler failed"})
    assert ran == ["works"]  # a failure does not stop the handlers after it
    (group,) = errors
    assert isinstance(group.event, BuildFailedEvent)
    assert group.event is result.event
    assert group.handlers == (
        "test_failures_are_collected_passed_to_on_error_and_logged.<locals>.breaks",
        "test_failures_are_collected_passed_to_on_error_and_logged.<locals>.also_breaks",
    )
    assert [type(error) for error in group.exceptions] == [ValueError, KeyError]
    if sys.version_info >= (3, 11):
        assert isinstance(group, builtins.ExceptionGroup)
    failed, alert_failed = caplog.records
    assert failed.levelno == logging.ERROR
    assert failed.exc_info is not None
    assert failed.exc_info[1] is group
    assert "first broke" in caplog.text  # the tracebacks of each
    assert "second broke" in caplog.text
    assert "alert" in alert_failed.getMessage()
    assert alert_failed.exc_info is not None


def test_a_failed_delivery_is_released_so_the_retry_runs_and_then_a_duplicate_is_ignored() -> None:
    dedup = StandInDedup()
    router = WebhookRouter(SECRET, dedup=dedup)
    calls: list[str] = []

    @router.on("project.created")
    def flaky(event: ProjectCreatedEvent) -> None:
        calls.append(event.data.project_id or "")
        if len(calls) == 1:
            raise ConnectionError("the database blinked")

    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emulator = CraftEmulator()
    emulator.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=SECRET)
    with emulator.client() as client:
        project = client.projects.create(name="Hooks")
    ((body, headers),) = deliveries

    first, retry, duplicate = (router.handle(body, headers) for _ in range(3))

    assert (first.status, retry.status) == (500, 200)
    assert (duplicate.status, answer(duplicate)) == (200, {"ok": True, "duplicate": True})
    assert isinstance(duplicate.event, ProjectCreatedEvent)
    assert calls == [project.id, project.id]  # the duplicate ran nothing
    key = identity(body)
    assert dedup.calls == [
        ("claim", key),
        ("release", key),
        ("claim", key),
        ("complete", key),
        ("claim", key),
    ]


# ---- deduplication ----------------------------------------------------------------------------


def test_the_identity_is_the_bodys_hmac_under_the_first_secret_whichever_signed_it() -> None:
    # While rotating, Craft may sign a delivery with the old secret and its redelivery with the
    # new one: it is still one delivery, and runs once.
    dedup = StandInDedup()
    router = WebhookRouter([SECRET, OLD_SECRET], dedup=dedup)
    handled = Counter[str]()

    @router.on_any
    def count(event: WebhookEvent) -> None:
        handled.update([event.event])

    body = body_of()
    old_only = f"{sign_webhook(body, 'whsec_other')}, {sign_webhook(body, OLD_SECRET)}"
    first = router.handle(body, {"x-craft-signature": old_only})
    again = router.handle(body, {"x-craft-signature": sign_webhook(body, SECRET)})
    assert (first.status, answer(first)) == (200, {"ok": True})
    assert (again.status, answer(again)) == (200, {"ok": True, "duplicate": True})
    assert handled == {"build.failed": 1}
    key = identity(body, SECRET)
    assert dedup.calls == [("claim", key), ("complete", key), ("claim", key)]


def test_a_delivery_being_handled_elsewhere_is_answered_409_and_runs_nothing() -> None:
    dedup = StandInDedup()
    router = WebhookRouter(SECRET, dedup=dedup)
    router.on_any(must_not_run)
    body = body_of()
    assert dedup.claim(identity(body)) == "new"  # another worker holds it

    result = deliver(router, body)

    assert (result.status, answer(result)) == (
        409,
        {"ok": False, "error": "delivery being handled"},
    )
    assert result.headers["Retry-After"] == "5"


def test_a_store_failing_on_claim_is_answered_503_and_runs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = WebhookRouter(SECRET, dedup=StandInDedup(fail_on="claim"))
    router.on_any(must_not_run)
    with caplog.at_level(logging.ERROR, logger="craft_sdk.webhooks"):
        result = deliver(router, body_of())
    assert (result.status, result.headers["Retry-After"]) == (503, "5")
    assert answer(result) == {"ok": False, "error": "deduplication store unavailable"}
    assert "the store is down" in caplog.text


def test_a_claim_that_is_no_claim_is_a_store_failure() -> None:
    class Odd(StandInDedup):
        def claim(self, key: str) -> Claim:
            return cast(Claim, "maybe")

    assert deliver(WebhookRouter(SECRET, dedup=Odd()), body_of()).status == 503


def test_a_store_failing_on_complete_is_logged_and_the_delivery_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[WebhookEvent] = []
    router = WebhookRouter(SECRET, dedup=StandInDedup(fail_on="complete"))
    router.on_any(ran.append)
    with caplog.at_level(logging.ERROR, logger="craft_sdk.webhooks"):
        result = deliver(router, body_of())
    assert (result.status, len(ran)) == (200, 1)
    assert "failed after a build.failed delivery" in caplog.text


@pytest.mark.anyio
async def test_a_cancelled_delivery_releases_its_claim() -> None:
    dedup = StandInDedup()
    router = WebhookRouter(SECRET, dedup=dedup)
    started = asyncio.Event()

    @router.on_any
    async def forever(event: WebhookEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    body = body_of()
    task = asyncio.create_task(router.ahandle(body, headers_for(body)))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert dedup.calls[-1] == ("release", identity(body))
    assert dedup.claim(identity(body)) == "new"  # the sender's retry will run it


# ---- sync and async drivers -------------------------------------------------------------------


def test_handle_runs_sync_handlers_here_and_async_ones_on_one_loop_of_the_routers() -> None:
    router = WebhookRouter(SECRET)
    sync_threads: list[int] = []
    loops: list[asyncio.AbstractEventLoop] = []
    loop_threads: list[int] = []

    @router.on_any
    def sync_handler(event: WebhookEvent) -> None:
        sync_threads.append(threading.get_ident())

    @router.on_any
    async def async_handler(event: WebhookEvent) -> None:
        loops.append(asyncio.get_running_loop())
        loop_threads.append(threading.get_ident())

    results = [deliver(router, body_of(n=n)) for n in range(2)]

    assert [result.status for result in results] == [200, 200]
    assert sync_threads == [threading.get_ident()] * 2
    assert loops[0] is loops[1]
    assert loops[0].is_running()
    assert loop_threads[0] == loop_threads[1] != threading.get_ident()


@pytest.mark.anyio
async def test_ahandle_awaits_async_handlers_here_and_runs_sync_ones_in_threads() -> None:
    router = WebhookRouter(SECRET, dedup=StandInDedup())
    seen: list[tuple[str, object]] = []
    here = asyncio.get_running_loop()

    @router.on("build.failed")
    async def async_handler(event: BuildFailedEvent) -> None:
        seen.append(("async", asyncio.get_running_loop() is here))

    @router.on_any
    def sync_handler(event: WebhookEvent) -> None:
        seen.append(("sync", threading.get_ident() != loop_thread))

    loop_thread = threading.get_ident()
    body = body_of()
    result = await router.ahandle(body, headers_for(body))
    duplicate = await router.ahandle(body, headers_for(body))

    assert (result.status, answer(duplicate)) == (200, {"ok": True, "duplicate": True})
    assert seen == [("async", True), ("sync", True)]


def test_the_routers_loop_stops_when_the_router_is_gone() -> None:
    router = WebhookRouter(SECRET)
    loops: list[asyncio.AbstractEventLoop] = []

    async def remember(event: WebhookEvent) -> None:
        loops.append(asyncio.get_running_loop())

    router.on_any(remember)
    deliver(router, body_of())
    del router
    wait_until(loops[0].is_closed)


# ---- the ASGI app in process ------------------------------------------------------------------


async def awaited(app_call: Awaitable[None]) -> None:
    await app_call


def run_asgi(
    router: WebhookRouter,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    chunks: Callable[[], bytes | None],
) -> tuple[int, dict[str, str], bytes]:
    """Call the ASGI app with `chunks()` giving each body chunk (None: the last was sent)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks()
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(awaited(router.asgi()(scope, receive, send)))
    start, body = sent
    head = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], head, body["body"]


def test_asgi_a_sender_gone_mid_body_is_answered_nothing_and_runs_nothing() -> None:
    router = WebhookRouter(SECRET)
    router.on_any(must_not_run)
    body = body_of()
    messages = iter(
        [
            {"type": "http.request", "body": body[:10], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[Any] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    head = [(name.lower().encode(), value.encode()) for name, value in headers_for(body).items()]
    scope = {"type": "http", "method": "POST", "headers": head}
    asyncio.run(awaited(router.asgi()(scope, receive, send)))
    assert sent == []  # no one is left to answer


def test_asgi_stops_reading_a_long_body_past_max_body() -> None:
    read: list[int] = []

    def long_stream() -> bytes | None:  # 100 chunks of 1000 bytes, then the end
        read.append(1000)
        return b"x" * 1000 if len(read) <= 100 else None

    status, _, body = run_asgi(WebhookRouter(SECRET, max_body=4500), chunks=long_stream)
    assert (status, json.loads(body)) == (413, {"ok": False, "error": "body too large"})
    assert sum(read) == 5000  # the fifth chunk was refused, and nothing after it read


def test_asgi_answers_a_declared_length_past_max_body_before_reading() -> None:
    status, _, _ = run_asgi(
        WebhookRouter(SECRET, max_body=10),
        headers={"Content-Length": "11"},
        chunks=lambda: pytest.fail("the body was read"),
    )
    assert status == 413


def test_asgi_answers_another_method_405_with_allow() -> None:
    status, headers, body = run_asgi(
        WebhookRouter(SECRET), method="GET", chunks=lambda: pytest.fail("the body was read")
    )
    assert (status, headers["allow"], json.loads(body)["ok"]) == (405, "POST", False)


def test_asgi_joins_the_chunks_of_a_delivery() -> None:
    body = body_of()
    pieces: list[bytes | None] = [body[:10], body[10:], None]
    status, _, _ = run_asgi(
        WebhookRouter(SECRET), headers=headers_for(body), chunks=lambda: pieces.pop(0)
    )
    assert status == 200


def test_asgi_answers_lifespan_and_refuses_other_protocols() -> None:
    app = WebhookRouter(SECRET).asgi()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    asyncio.run(awaited(app({"type": "lifespan"}, receive, send)))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with pytest.raises(ValueError, match="websocket"):
        asyncio.run(awaited(app({"type": "websocket"}, receive, send)))


# ---- the WSGI app in process ------------------------------------------------------------------


class Input:
    """A `wsgi.input` that records how much was asked of it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def run_wsgi(
    router: WebhookRouter, stream: Input, *, method: str = "POST", **environ: Any
) -> tuple[str, dict[str, str], bytes]:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))

    body = b"".join(
        router.wsgi()({"REQUEST_METHOD": method, "wsgi.input": stream, **environ}, start_response)
    )
    ((status, headers),) = started
    return status, dict(headers), body


def test_wsgi_reads_the_declared_length_and_takes_headers_from_the_environ() -> None:
    body = body_of()
    stream = Input(body + b"trailing bytes of the next request")
    status, headers, answered = run_wsgi(
        WebhookRouter(SECRET),
        stream,
        CONTENT_LENGTH=str(len(body)),
        CONTENT_TYPE="application/json",
        HTTP_X_CRAFT_SIGNATURE=sign_webhook(body, SECRET),
    )
    assert (status, json.loads(answered)) == ("200 OK", {"ok": True})
    assert headers == {"Content-Type": "application/json", "Content-Length": str(len(answered))}
    assert sum(stream.asked) == len(body)  # not a byte past the length


def test_wsgi_answers_a_declared_length_past_max_body_before_reading() -> None:
    stream = Input(b"x" * 100)
    status, _, _ = run_wsgi(WebhookRouter(SECRET, max_body=10), stream, CONTENT_LENGTH="11")
    assert (status, stream.asked) == ("413 Request Entity Too Large", [])


def test_wsgi_reads_at_most_max_body_plus_one_of_a_body_of_unknown_length() -> None:
    stream = Input(b"x" * 100_000)
    terminated: dict[str, Any] = {"wsgi.input_terminated": True}  # it ends a chunked body
    status, _, _ = run_wsgi(WebhookRouter(SECRET, max_body=1000), stream, **terminated)
    assert (status, sum(stream.asked)) == ("413 Request Entity Too Large", 1001)


def test_wsgi_reads_nothing_of_a_body_with_no_length_the_server_does_not_end() -> None:
    stream = Input(b"x" * 100)  # a raw socket: reading to its end would wait for the client
    status, _, _ = run_wsgi(WebhookRouter(SECRET), stream)
    assert (status, stream.asked) == ("400 Bad Request", [])


@pytest.mark.parametrize("length", ["-1", "ten", "1e3"])
def test_wsgi_refuses_a_content_length_that_is_no_number(length: str) -> None:
    stream = Input(b"x" * 100)
    status, _, _ = run_wsgi(WebhookRouter(SECRET), stream, CONTENT_LENGTH=length)
    assert (status, stream.asked) == ("400 Bad Request", [])


def test_wsgi_answers_another_method_405_with_allow() -> None:
    stream = Input(b"")
    status, headers, _ = run_wsgi(WebhookRouter(SECRET), stream, method="GET")
    assert (status, headers["Allow"], stream.asked) == ("405 Method Not Allowed", "POST", [])


# ---- configuration ----------------------------------------------------------------------------


def test_the_secret_defaults_to_the_environment_read_when_the_router_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", SECRET)
    router = WebhookRouter()
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", "whsec_changed_later")
    assert deliver(router, body_of()).status == 200
    monkeypatch.delenv("CRAFT_WEBHOOK_SECRET")
    with pytest.raises(ValueError, match="CRAFT_WEBHOOK_SECRET"):
        WebhookRouter()


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"secret": ""}, ValueError),
        ({"secret": []}, ValueError),
        ({"secret": [SECRET, ""]}, ValueError),
        ({"secret": 42}, TypeError),
        ({"tolerance": -1}, ValueError),
        ({"tolerance": math.nan}, ValueError),
        ({"tolerance": True}, TypeError),
        ({"tolerance": "300"}, TypeError),
        ({"max_body": 0}, ValueError),
        ({"max_body": 1.5}, TypeError),
        ({"max_body": True}, TypeError),
        ({"dedup": object()}, TypeError),
        ({"dedup": {"claim": 1}}, TypeError),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        WebhookRouter(**cast("dict[str, Any]", {"secret": SECRET, **options}))


def test_a_store_of_ones_own_is_a_dedup() -> None:
    dedup: Dedup = StandInDedup()  # checked by the type checkers
    assert isinstance(dedup, Dedup)  # and at run time (the protocol is runtime-checkable)


def test_the_secret_is_in_no_repr_answer_or_log(caplog: pytest.LogCaptureFixture) -> None:
    dedup = StandInDedup()
    router = WebhookRouter([SECRET, OLD_SECRET], dedup=dedup)
    errors: list[WebhookHandlerError] = []

    @router.on_any
    def breaks(event: WebhookEvent) -> None:
        raise RuntimeError("broken")

    router.on_error(errors.append)
    body = body_of()
    with caplog.at_level(logging.DEBUG):
        results = [
            deliver(router, body),
            deliver(router, body, "whsec_wrong"),
            router.handle(body, {}),
            WebhookRouter(SECRET, dedup=StandInDedup(fail_on="claim")).handle(
                body, headers_for(body)
            ),
        ]
    texts = [
        repr(router),
        caplog.text,
        *(f"{result.body!r} {result.headers!r} {result!r}" for result in results),
        *(f"{error!s} {error!r}" for error in errors),
    ]
    assert [result.status for result in results] == [500, 400, 400, 503]
    for text in texts:
        assert "whsec" not in text  # the start of every secret here
