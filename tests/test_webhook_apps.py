"""The router's ASGI app (served by uvicorn) and WSGI app (by wsgiref's server, threaded) over
real HTTP on 127.0.0.1 (issue #18): the emulator's signed deliveries, hand-made bad ones,
concurrent copies of one delivery, and how each app runs sync and async handlers.

Each server is started once per module and serves whichever router a test puts in it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Iterator
from datetime import datetime, timezone
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
import uvicorn

from craft_sdk import ProjectCreatedEvent, ProjectUpdatedEvent, WebhookEvent
from craft_sdk.testing import CraftEmulator
from craft_sdk.webhooks import MemoryDedup, WebhookRouter

from .conftest import wait_until
from .webhook_helpers import SECRET, body_of, headers_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

WAIT = 10.0  # seconds: generous, never reached unless something is wrong


class Receiver:
    """A server on 127.0.0.1 that hands each request to the router the test set."""

    def __init__(self) -> None:
        self.router = WebhookRouter(SECRET)
        self.url = ""

    async def asgi(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        await self.router.asgi()(scope, receive, send)

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.router.wsgi()(environ, start_response)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 64  # 20 copies connect at once


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_asgi(receiver: Receiver) -> Generator[None, None, None]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        receiver.asgi,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="asyncio",
        ws="none",
        interface="asgi3",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), WAIT)
    assert server.started, "uvicorn did not start"
    receiver.url = f"http://127.0.0.1:{listener.getsockname()[1]}/webhooks/craft"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(WAIT)
        listener.close()


@contextlib.contextmanager
def serve_wsgi(receiver: Receiver) -> Generator[None, None, None]:
    server = make_server(
        "127.0.0.1",
        0,
        receiver.wsgi,
        server_class=ThreadingWSGIServer,
        handler_class=QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/webhooks/craft"
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_asgi(receiver):
        yield receiver


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_wsgi(receiver):
        yield receiver


@pytest.fixture(params=["asgi_server", "wsgi_server"])
def receiver(request: pytest.FixtureRequest) -> Receiver:
    """Either server, by turns, with a router of its own for the test."""
    served: Receiver = request.getfixturevalue(request.param)
    served.router = WebhookRouter(SECRET)
    return served


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=WAIT) as client:
        yield client


def post(http: httpx.Client, receiver: Receiver, body: bytes, **headers: str) -> httpx.Response:
    return http.post(receiver.url, content=body, headers={**headers_for(body), **headers})


def test_uvicorn_takes_the_asgi_app_for_asgi_3() -> None:
    config = uvicorn.Config(WebhookRouter(SECRET).asgi(), log_config=None)
    config.load()
    assert config.interface == "asgi3"


# ---- the emulator's deliveries ----------------------------------------------------------------


def test_the_emulators_deliveries_reach_typed_handlers(receiver: Receiver) -> None:
    router = receiver.router = WebhookRouter(SECRET, dedup=MemoryDedup())
    created: list[ProjectCreatedEvent] = []
    updated: list[ProjectUpdatedEvent] = []
    seen: list[str] = []
    router.on("project.created")(created.append)
    router.on("project.updated")(updated.append)

    @router.on_any
    async def audit(event: WebhookEvent) -> None:
        seen.append(event.event)

    emulator = CraftEmulator()
    emulator.deliver_webhooks(receiver.url, secret=SECRET, backoff=0)
    try:
        with emulator.client() as client:
            project = client.projects.create(name="Hooks")
            client.projects.update(project.id, name="Hooked")
        assert emulator.flush_webhooks(WAIT)
    finally:
        emulator.close()

    assert [(d.event, d.status) for d in emulator.webhook_deliveries] == [
        ("project.created", 200),
        ("project.updated", 200),
    ]
    assert [event.data.project_id for event in created] == [project.id]
    assert [event.data.changes for event in updated] == [["name"]]
    assert seen == ["project.created", "project.updated"]


def test_a_failed_delivery_is_retried_by_the_sender_and_a_copy_then_ignored(
    receiver: Receiver, http: httpx.Client
) -> None:
    router = receiver.router = WebhookRouter(SECRET, dedup=MemoryDedup())
    calls: list[str] = []

    @router.on("project.created")
    def flaky(event: ProjectCreatedEvent) -> None:
        calls.append(event.data.project_id or "")
        if len(calls) == 1:
            raise ConnectionError("the database blinked")

    sent: list[tuple[bytes, dict[str, str]]] = []
    emulator = CraftEmulator()
    emulator.on_webhook(lambda body, headers: sent.append((body, headers)), secret=SECRET)
    emulator.deliver_webhooks(receiver.url, secret=SECRET, attempts=3, backoff=0)
    try:
        with emulator.client() as client:
            project = client.projects.create(name="Hooks")
        assert emulator.flush_webhooks(WAIT)
    finally:
        emulator.close()
    ((body, headers),) = sent
    copy = http.post(receiver.url, content=body, headers=headers)

    assert [(d.attempt, d.status) for d in emulator.webhook_deliveries] == [(1, 500), (2, 200)]
    assert (copy.status_code, copy.json()) == (200, {"ok": True, "duplicate": True})
    assert calls == [project.id, project.id]


# ---- hand-made bad deliveries -----------------------------------------------------------------


def test_bad_deliveries_are_refused(receiver: Receiver, http: httpx.Client) -> None:
    ran: list[WebhookEvent] = []
    receiver.router = WebhookRouter(SECRET, max_body=4096)
    receiver.router.on_any(ran.append)
    good = body_of(projectId="proj_1")
    stale = body_of(at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    big = body_of(padding="x" * 4096)
    reserialised = json.dumps(json.loads(good), separators=(",", ":")).encode()
    cases = {
        "tampered": (good.replace(b"proj_1", b"proj_2"), headers_for(good)),
        "unsigned": (good, {"Content-Type": "application/json"}),
        "wrong secret": (good, headers_for(good, "whsec_wrong")),
        "stale": (stale, headers_for(stale)),
        "not json": (b"not json", headers_for(b"not json")),
        "framework-parsed": (reserialised, headers_for(good)),
        "oversized": (big, headers_for(big)),
    }
    answers = {
        name: http.post(receiver.url, content=body, headers=headers)
        for name, (body, headers) in cases.items()
    }
    wrong_method = http.put(receiver.url, content=good, headers=headers_for(good))
    get = http.get(receiver.url)

    assert {name: (a.status_code, a.json()["error"]) for name, a in answers.items()} == {
        "tampered": (400, "bad signature"),
        "unsigned": (400, "missing signature"),
        "wrong secret": (400, "bad signature"),
        "stale": (400, "stale timestamp"),
        "not json": (400, "malformed body"),
        "framework-parsed": (400, "bad signature"),
        "oversized": (413, "body too large"),
    }
    assert [(a.status_code, a.headers["allow"]) for a in (wrong_method, get)] == [(405, "POST")] * 2
    assert ran == []
    assert post(http, receiver, good).status_code == 200  # the server still answers


def test_asgi_reads_a_chunked_body_and_refuses_one_growing_past_the_limit(
    asgi_server: Receiver, http: httpx.Client
) -> None:
    # (wsgiref's server reads no chunked body, so only the ASGI app gets one here.)
    receiver = asgi_server
    receiver.router = WebhookRouter(SECRET, max_body=1000)
    body = body_of()

    def pieces(data: bytes, size: int) -> Iterator[bytes]:
        yield from (data[i : i + size] for i in range(0, len(data), size))

    fits = http.post(receiver.url, content=pieces(body, 10), headers=headers_for(body))
    grows = http.post(receiver.url, content=pieces(b"x" * 3000, 300), headers=headers_for(body))

    assert "content-length" not in fits.request.headers
    assert fits.request.headers["transfer-encoding"] == "chunked"
    assert (fits.status_code, grows.status_code) == (200, 413)


# ---- concurrency ------------------------------------------------------------------------------


def test_twenty_concurrent_copies_run_the_handler_once(
    receiver: Receiver, http: httpx.Client
) -> None:
    router = receiver.router = WebhookRouter(SECRET, dedup=MemoryDedup())
    runs: list[str] = []
    others_answered = threading.Event()

    @router.on_any
    def slow(event: WebhookEvent) -> None:
        runs.append(event.event)
        # Still running while every other copy arrives and is answered: they overlap for sure.
        others_answered.wait(WAIT)

    body = body_of()
    answers: list[httpx.Response] = []
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        pending = [pool.submit(post, http, receiver, body) for _ in range(20)]
        for done in concurrent.futures.as_completed(pending):
            answers.append(done.result())
            if len(answers) == 19:
                others_answered.set()

    assert runs == ["build.failed"]
    # While the one copy runs, every other finds it busy (none can find it done yet).
    outcomes = sorted((a.status_code, a.content) for a in answers)
    assert (
        outcomes
        == [(200, b'{"ok": true}')]
        + [(409, b'{"ok": false, "error": "delivery being handled"}')] * 19
    )
    copy = post(http, receiver, body)
    assert (copy.status_code, copy.json()) == (200, {"ok": True, "duplicate": True})
    assert runs == ["build.failed"]


def test_a_slow_sync_handler_does_not_block_the_asgi_loop(
    asgi_server: Receiver, http: httpx.Client
) -> None:
    receiver = asgi_server
    router = receiver.router = WebhookRouter(SECRET)
    slow_started, other_answered, slow_finished = (threading.Event() for _ in range(3))

    @router.on("build.failed")
    def slow(event: WebhookEvent) -> None:
        slow_started.set()
        other_answered.wait(WAIT)  # blocks: on the loop, nothing else could be answered
        slow_finished.set()

    first = body_of(error="slow")
    second = body_of("project.created", projectId="proj_2")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        slow_answer = pool.submit(post, http, receiver, first)
        assert slow_started.wait(WAIT)
        started = time.monotonic()
        other = post(http, receiver, second)
        waited = time.monotonic() - started
        finished_before = slow_finished.is_set()
        other_answered.set()
        assert slow_answer.result().status_code == 200

    assert other.status_code == 200
    assert not finished_before  # answered while the slow handler still ran
    assert waited < WAIT / 2


def test_async_handlers_in_the_wsgi_app_share_the_routers_loop(
    wsgi_server: Receiver, http: httpx.Client
) -> None:
    receiver = wsgi_server
    router = receiver.router = WebhookRouter(SECRET)
    shared: dict[str, Any] = {}

    @router.on_any
    async def handler(event: WebhookEvent) -> None:
        if "reader" not in shared:  # the first request leaves a task waiting on its loop
            shared["queue"] = queue = asyncio.Queue[str]()
            shared["reader"] = asyncio.create_task(queue.get())
            return
        shared["queue"].put_nowait(event.event)  # the second wakes it, and waits for it
        shared["got"] = await shared["reader"]

    answers = [post(http, receiver, body_of(n=n)).status_code for n in range(2)]

    assert answers == [200, 200]
    assert shared["got"] == "build.failed"
