"""3.9 Lifecycle and concurrency: closing, event loops, cancellation, and many callers at once.

Cancellation (`asyncio.CancelledError`, `KeyboardInterrupt`) is the one thing that is never
wrapped in a `CraftError`, never retried, and leaves the client usable. Many threads on one sync
client, or many tasks on one async client, end with every call accounted for: the successes and
the typed errors add up to the calls made, and the server saw exactly what was sent.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk.testing import CraftEmulator, FakeClock

from ..loopback import SeenRequest
from .conftest import (
    KEY,
    PROJECT,
    USER,
    USER_BODY,
    Runner,
    ScriptedClock,
    await_until,
    check_error,
    failure,
    ok,
    raises,
    wait_until,
)
from .faulty_server import (
    Behaviour,
    CloseAfterHead,
    Drip,
    FaultyServer,
    Garbage,
    GatewayPage,
    Json,
    SlowHeaders,
)


@pytest.fixture
def no_resource_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Fails the case if an unclosed socket or transport is collected during it or right
    after it (pytest would otherwise report it against whichever case runs the collector)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield caught
        gc.collect()
    leaked = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == []


# --- T-LIFE-05: closing -----------------------------------------------------------------------


def test_a_call_after_close_is_a_craft_error_and_close_is_idempotent(run_own: Runner) -> None:
    # (A caller's own http_client stays open, and usable, when the client closes: see below.)
    def operation(client: Any) -> Any:
        if run_own.flavour == "sync":
            client.close()
            client.close()
            with raises(craft_sdk.CraftError) as caught:
                client.me()
            return caught.value

        async def steps() -> Any:
            await client.aclose()
            await client.aclose()
            with raises(craft_sdk.CraftError) as caught:
                await client.me()
            return caught.value

        return steps()

    with FaultyServer(default=Json(200, ok(USER))) as server:
        error = run_own(operation, base_url=server.url)
    assert "is closed; create a new client" in str(error)
    assert server.requests == []


def test_closing_a_client_leaves_a_users_http_client_open(run_own: Runner) -> None:
    # Only the flavour is used: the case brings its own http_client.
    with FaultyServer(default=Json(200, ok(USER))) as server:
        if run_own.flavour == "sync":
            with httpx.Client() as http:
                with CraftClient(api_key=KEY, base_url=server.url, http_client=http) as client:
                    client.me()
                assert not http.is_closed
                assert http.get(server.url + "/me").status_code == 200
        else:

            async def main() -> None:
                async with httpx.AsyncClient() as http:
                    async with AsyncCraftClient(
                        api_key=KEY, base_url=server.url, http_client=http
                    ) as client:
                        await client.me()
                    assert not http.is_closed
                    assert (await http.get(server.url + "/me")).status_code == 200

            asyncio.run(main())
    assert len(server.requests) == 2


def close_under_32_threads(server: FaultyServer) -> None:
    """32 threads call me() on one client, which is closed while they are in flight; every call
    is checked here. The client and the errors stay in this frame, so that whatever they hold
    is garbage once it returns."""
    client = CraftClient(api_key=KEY, base_url=server.url, max_retries=0, timeout=0.5)
    outcomes: list[tuple[float, object]] = []
    lock = threading.Lock()

    def call() -> None:
        started = time.monotonic()
        try:
            result: object = client.me()
        except BaseException as error:  # everything is recorded, and checked below
            result = error
        with lock:
            outcomes.append((time.monotonic() - started, result))

    threads = [threading.Thread(target=call) for _ in range(32)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(server.requests) >= 8)
    client.close()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads), "a call hung after close()"
    assert len(outcomes) == 32
    for elapsed, outcome in outcomes:
        assert elapsed < 0.5 + 1.0  # at most one read timeout: close() never makes it hang
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, craft_sdk.CraftError), repr(outcome)
            check_error(outcome)
        else:
            assert getattr(outcome, "id", None) == "user_1"


def test_closing_while_32_threads_are_in_flight_accounts_for_every_call() -> None:
    with (
        warnings.catch_warnings(record=True),
        FaultyServer(default=SlowHeaders(0.2, then=Json(200, ok(USER)))) as server,
    ):
        # Connections still being opened when the pool closes are dropped unclosed by httpcore
        # (ResourceWarning); that is recorded and set aside here, as is what gc finds of it once
        # the calls' frames are gone (and not blamed on a later case).
        warnings.simplefilter("always", ResourceWarning)
        close_under_32_threads(server)
        gc.collect()


# --- T-LIFE-07: one async client, two event loops -----------------------------------------------


def use_from_two_loops(server: FaultyServer) -> tuple[str, bool, str]:
    """me() on one event loop, then on a second: the error's class name, whether it is the
    exported class, and its message. The client and the error stay in this frame, so that
    whatever they hold is freed when it returns."""
    client = AsyncCraftClient(api_key=KEY, base_url=server.url, clock=FakeClock())
    assert asyncio.run(client.me()).id == "user_1"
    with raises(craft_sdk.CraftError) as caught:
        asyncio.run(asyncio.wait_for(client.me(), timeout=5))
    error = caught.value
    return type(error).__name__, isinstance(error, craft_sdk.WrongEventLoopError), str(error)


def test_an_async_client_used_from_a_second_event_loop_says_to_make_one_per_loop() -> None:
    with FaultyServer(default=Json(200, ok(USER))) as server:
        with warnings.catch_warnings():
            # The first loop's connection cannot be closed any more: the next case is about
            # that. Collected here, its warning is not blamed on another case.
            warnings.simplefilter("ignore", ResourceWarning)
            name, is_exported_class, message = use_from_two_loops(server)
            gc.collect()
        assert len(server.requests) == 1  # nothing was sent from the second loop
    assert name == "WrongEventLoopError"
    assert is_exported_class
    assert "Event loop is closed" not in message
    assert "one client per event loop" in message.lower()


def close_from_another_loop(server: FaultyServer) -> str | None:
    """me() on one event loop, then aclose() on another: None, or what aclose() raised."""
    client = AsyncCraftClient(api_key=KEY, base_url=server.url, clock=FakeClock())
    assert asyncio.run(client.me()).id == "user_1"
    try:
        asyncio.run(asyncio.wait_for(client.aclose(), timeout=5))
    except Exception as error:
        check_error(error)
        return repr(error)
    return None


def test_closing_an_async_client_from_another_loop_is_a_clear_error() -> None:
    # Its connections belong to a loop that is gone: nothing can close them from another loop
    # (asyncio's transports need their own loop to close), so aclose() says so, with the same
    # clear error as any other use, instead of "Event loop is closed" or a hang. The sockets
    # are left to the garbage collector, which warns about them: that is the documented cost of
    # not closing a client before its loop ends.
    with FaultyServer(default=Json(200, ok(USER))) as server:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always", ResourceWarning)
            problem = close_from_another_loop(server)
            gc.collect()
        assert len(server.requests) == 1
    assert problem is not None
    assert problem.startswith("WrongEventLoopError(")
    assert "Create one client per event loop" in problem


def test_one_async_client_per_loop_in_two_threads_do_not_interfere() -> None:
    with FaultyServer(default=Json(200, ok(USER))) as server:
        results: dict[str, list[str]] = {}

        def in_own_loop(name: str) -> None:
            async def main() -> list[str]:
                async with AsyncCraftClient(
                    api_key=KEY, base_url=server.url, clock=FakeClock()
                ) as client:
                    users = await asyncio.gather(*[client.me() for _ in range(25)])
                return [user.id for user in users]

            results[name] = asyncio.run(main())

        threads = [threading.Thread(target=in_own_loop, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in threads)
    assert results == {"a": ["user_1"] * 25, "b": ["user_1"] * 25}
    assert len(server.requests) == 50


# --- T-LIFE-01/03: cancellation propagates, unchanged, and the client stays usable ---------------


@pytest.mark.anyio
async def test_cancelling_a_task_mid_request_propagates_and_the_client_recovers() -> None:
    with FaultyServer(SlowHeaders(5.0), Json(200, ok(USER))) as server:
        async with AsyncCraftClient(api_key=KEY, base_url=server.url, clock=FakeClock()) as client:
            task = asyncio.ensure_future(client.me())
            await await_until(lambda: len(server.requests) == 1)
            started = time.monotonic()
            task.cancel()
            with raises(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=2)
            assert time.monotonic() - started < 0.5
            assert task.cancelled()
            assert (await asyncio.wait_for(client.me(), timeout=2)).id == "user_1"
    assert len(server.requests) == 2  # the cancelled call was not retried


@pytest.mark.anyio
async def test_cancelling_a_task_mid_body_propagates_and_the_client_recovers() -> None:
    body = USER_BODY + b" " * 200
    with FaultyServer(Drip(body, interval=0.02), Json(200, ok(USER))) as server:
        async with AsyncCraftClient(api_key=KEY, base_url=server.url, clock=FakeClock()) as client:
            task = asyncio.ensure_future(client.me())
            await await_until(lambda: server.body_bytes_sent >= 5)
            task.cancel()
            with raises(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=2)
            assert (await asyncio.wait_for(client.me(), timeout=2)).id == "user_1"
    assert len(server.requests) == 2
    assert server.body_bytes_sent < len(body)


@pytest.mark.anyio
async def test_cancelling_a_task_during_a_retry_wait_sends_nothing_more() -> None:
    clock = ScriptedClock()
    clock.hang = True
    with FaultyServer(Json(503, failure("BUSY", "busy")), Json(200, ok(USER))) as server:
        async with AsyncCraftClient(api_key=KEY, base_url=server.url, clock=clock) as client:
            task = asyncio.ensure_future(client.me())
            await await_until(clock.sleeping.is_set)
            task.cancel()
            with raises(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=2)
            assert len(server.requests) == 1  # no further attempt after the cancel
            assert (await asyncio.wait_for(client.me(), timeout=2)).id == "user_1"
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1


@pytest.mark.anyio
async def test_a_callers_own_timeout_surfaces_as_its_own_error() -> None:
    with FaultyServer(SlowHeaders(5.0)) as server:
        async with AsyncCraftClient(api_key=KEY, base_url=server.url, clock=FakeClock()) as client:
            with raises(asyncio.TimeoutError) as caught:  # TimeoutError itself from 3.11
                await asyncio.wait_for(client.me(), timeout=0.1)
    assert not isinstance(caught.value, craft_sdk.CraftError)
    assert len(server.requests) == 1


class Interrupting(httpx.BaseTransport):
    """A transport that raises KeyboardInterrupt on its first request (Ctrl-C while blocked in
    the network), then answers normally."""

    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests == 1:
            raise KeyboardInterrupt
        return httpx.Response(200, json=ok(USER))


def test_keyboard_interrupt_in_the_transport_propagates_unretried() -> None:
    transport = Interrupting()
    with (
        httpx.Client(transport=transport) as http,
        CraftClient(api_key=KEY, http_client=http, clock=FakeClock()) as client,
    ):
        with raises(KeyboardInterrupt):
            client.me()
        assert transport.requests == 1
        assert client.me().id == "user_1"  # still usable
    assert transport.requests == 2


def test_keyboard_interrupt_in_a_response_hook_propagates_unretried() -> None:
    hits: list[int] = []

    def hook(response: httpx.Response) -> None:
        hits.append(response.status_code)
        if len(hits) == 1:
            raise KeyboardInterrupt

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=ok(USER)))
    with (
        httpx.Client(transport=transport, event_hooks={"response": [hook]}) as http,
        CraftClient(api_key=KEY, http_client=http, clock=FakeClock()) as client,
    ):
        with raises(KeyboardInterrupt):
            client.me()
        assert client.me().id == "user_1"
    assert hits == [200, 200]


def test_keyboard_interrupt_during_a_backoff_sleep_propagates_unretried() -> None:
    clock = ScriptedClock()
    clock.interrupt = True
    with (
        FaultyServer(Json(503, failure("BUSY", "busy")), Json(200, ok(USER))) as server,
        CraftClient(api_key=KEY, base_url=server.url, clock=clock) as client,
    ):
        with raises(KeyboardInterrupt):
            client.me()
        assert len(server.requests) == 1
        assert client.me().id == "user_1"
    assert len(server.requests) == 2


@pytest.mark.anyio
async def test_a_cancelled_error_from_the_transport_is_not_wrapped_or_retried() -> None:
    calls: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise asyncio.CancelledError

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with http, AsyncCraftClient(api_key=KEY, http_client=http, clock=FakeClock()) as client:
        with raises(asyncio.CancelledError):
            await client.me()
    assert calls == [1]


# --- T-LIFE-08/09/11: many callers on one client ------------------------------------------------


def test_32_threads_share_one_sync_client_against_a_real_server(
    no_resource_warnings: list[Any],
) -> None:
    with (
        FaultyServer(default=Json(200, ok(USER))) as server,
        CraftClient(api_key=KEY, base_url=server.url, clock=FakeClock(), timeout=5.0) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        futures = [pool.submit(client.me) for _ in range(320)]
        users = [future.result(timeout=10) for future in futures]
    assert [user.id for user in users] == ["user_1"] * 320
    assert len(server.requests) == 320


SMALL_POOL_CHILD = """
import json, os, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import httpx
from craft_sdk import CraftClient
from tests.reliability.faulty_server import FaultyServer, Json

limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
answer = Json(200, {"success": True, "data": {"id": "user_1", "email": "a@b.c", "name": "Ada"}})
errors, calls = [], 0
with (
    FaultyServer(default=answer) as server,
    httpx.Client(limits=limits, timeout=5.0) as http,
    CraftClient(base_url=server.url, http_client=http, max_retries=0) as client,
    ThreadPoolExecutor(max_workers=32) as pool,
):
    for _ in range(5):
        futures = [pool.submit(client.me) for _ in range(640)]
        calls += len(futures)
        errors += [repr(e) for f in futures if (e := f.exception(timeout=10))]
        if errors:
            break
print(json.dumps({"errors": errors, "calls": calls, "requests": len(server.requests)}))
"""


def test_32_threads_on_a_small_pool_neither_fail_nor_hang() -> None:
    # httpcore#1110: with more threads than pooled connections, httpcore can close a connection
    # that a queued request was already given (EBADF after the request was sent, or a read that
    # hangs until its timeout). A race, run in a fresh interpreter (where it shows reliably) for
    # up to five rounds of 640 calls, stopping at the first round that shows it.
    result = subprocess.run(
        [sys.executable, "-c", SMALL_POOL_CHILD],
        env={**os.environ, "CRAFT_API_KEY": KEY},
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert KEY not in result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["errors"] == []
    assert outcome["requests"] == outcome["calls"]


def test_32_threads_creating_through_the_emulator_never_create_twice(
    no_resource_warnings: list[Any],
) -> None:
    emulator = CraftEmulator(api_key=KEY)
    emulator.fail_next(8, status=503, method="POST")  # refused before any effect: no retry
    emulator.fail_next(8, status=503, method="GET")  # retried
    # As many retries as there are faults: retries are immediate on the fake clock, so one read
    # may draw several of the 8 in a row, and it must still get through.
    with (
        emulator.serve() as server,
        CraftClient(api_key=KEY, base_url=server.url, clock=FakeClock(), max_retries=8) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        creates = [pool.submit(client.projects.create, name=f"p{i}") for i in range(64)]
        created: list[str] = []
        failed: list[BaseException] = []
        for future in creates:
            error = future.exception(timeout=10)
            if error is None:
                created.append(future.result().id)
            else:
                failed.append(error)
        reads = [pool.submit(client.projects.get, project_id) for project_id in created]
        read = [future.result(timeout=10).id for future in reads]
    assert len(created) + len(failed) == 64
    assert len(failed) == 8
    for error in failed:
        assert isinstance(error, craft_sdk.InternalServerError)
        assert (error.status_code, error.attempts, error.may_have_succeeded) == (503, 1, True)
        check_error(error)
    assert sorted(emulator.projects) == sorted(created)  # nothing created twice, none lost
    assert sorted(read) == sorted(created)
    posts = [status for method, _, status in emulator.requests if method == "POST"]
    assert sorted(posts) == [201] * 56 + [503] * 8  # one POST per call, never a second
    gets = [status for method, _, status in emulator.requests if method == "GET"]
    assert sorted(gets) == [200] * 56 + [503] * 8


def test_each_call_keeps_its_own_retry_count_under_32_threads(
    no_resource_warnings: list[Any],
) -> None:
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def first_attempt_fails(request: SeenRequest) -> Behaviour:
        with lock:
            seen[request.path] += 1
            attempt = seen[request.path]
        fails = int(request.path.rsplit("_", 1)[1]) % 3  # 0, 1 or 2 failures before success
        if attempt <= fails:
            return Json(503, failure("BUSY", "busy"))
        return Json(200, ok({**PROJECT, "id": request.path.rsplit("/", 1)[1]}))

    with (
        FaultyServer(route=first_attempt_fails) as server,
        CraftClient(api_key=KEY, base_url=server.url, clock=FakeClock(), max_retries=1) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        futures = {i: pool.submit(client.projects.get, f"proj_{i}") for i in range(96)}
        outcomes = {
            i: future.exception(timeout=10) or future.result() for i, future in futures.items()
        }
    for i, outcome in outcomes.items():
        if i % 3 == 2:  # two failures, one retry: the second 503 is raised
            assert isinstance(outcome, craft_sdk.InternalServerError)
            assert outcome.attempts == 2
            check_error(outcome)
        else:
            assert getattr(outcome, "id", None) == f"proj_{i}"
    assert sum(seen.values()) == len(server.requests) == 32 * 1 + 32 * 2 + 32 * 2


def mixed_faults(request: SeenRequest) -> Behaviour:
    """Per project id: some answers break, some fail, most succeed."""
    number = int(request.path.rsplit("_", 1)[1])
    faults: list[Callable[[], Behaviour]] = [
        CloseAfterHead,
        Garbage,
        lambda: GatewayPage(502),
        lambda: Json(404, failure("PROJECT_NOT_FOUND", "gone")),
    ]
    if number % 5 < len(faults):
        return faults[number % 5]()
    return Json(200, ok({**PROJECT, "id": f"proj_{number}"}))


def test_threads_with_mixed_faults_account_for_every_call(
    no_resource_warnings: list[Any],
) -> None:
    with (
        FaultyServer(route=mixed_faults) as server,
        CraftClient(api_key=KEY, base_url=server.url, clock=FakeClock(), max_retries=0) as client,
        ThreadPoolExecutor(max_workers=32) as pool,
    ):
        futures = [pool.submit(client.projects.get, f"proj_{i}") for i in range(100)]
        outcomes = [future.exception(timeout=10) or future.result() for future in futures]
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {
        "APIConnectionError": 40,  # hung up, garbage (20 each)
        "InternalServerError": 20,
        "NotFoundError": 20,
        "Project": 20,
    }
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            check_error(outcome)
    assert len(server.requests) == 100


@pytest.mark.anyio
async def test_500_tasks_share_one_async_client_against_a_real_server(
    no_resource_warnings: list[Any],
) -> None:
    with FaultyServer(default=Json(200, ok(USER))) as server:
        async with AsyncCraftClient(
            api_key=KEY, base_url=server.url, clock=FakeClock(), timeout=5.0
        ) as client:
            users = await asyncio.wait_for(
                asyncio.gather(*[client.me() for _ in range(500)]), timeout=60
            )
    assert [user.id for user in users] == ["user_1"] * 500
    assert len(server.requests) == 500


@pytest.mark.anyio
async def test_200_tasks_with_mixed_faults_account_for_every_call(
    no_resource_warnings: list[Any],
) -> None:
    with FaultyServer(route=mixed_faults) as server:
        async with AsyncCraftClient(
            api_key=KEY, base_url=server.url, clock=FakeClock(), max_retries=0, timeout=5.0
        ) as client:
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    *[client.projects.get(f"proj_{i}") for i in range(200)],
                    return_exceptions=True,
                ),
                timeout=20,
            )
    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {
        "APIConnectionError": 80,
        "InternalServerError": 40,
        "NotFoundError": 40,
        "Project": 40,
    }
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            check_error(outcome)
    assert len(server.requests) == 200


@pytest.mark.anyio
async def test_500_tasks_creating_through_the_emulator_account_for_every_call(
    no_resource_warnings: list[Any],
) -> None:
    emulator = CraftEmulator(api_key=KEY)
    with emulator.serve() as server:
        async with AsyncCraftClient(
            api_key=KEY, base_url=server.url, clock=FakeClock(), timeout=5.0
        ) as client:
            outcomes = await asyncio.wait_for(
                asyncio.gather(
                    *[client.projects.create(name=f"p{i}") for i in range(500)],
                    return_exceptions=True,
                ),
                timeout=60,
            )
    created = [o for o in outcomes if not isinstance(o, BaseException)]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(created) + len(failed) == 500
    for error in failed:  # a POST that may have arrived is raised, never sent again
        assert isinstance(error, craft_sdk.APIConnectionError), repr(error)
        assert error.may_have_succeeded is True
        check_error(error)
    # The emulator handled at most one POST per call (names are unique per call), and every
    # success is among what it created: nothing twice, nothing lost.
    names = [project["name"] for project in emulator.projects.values()]
    assert len(names) == len(set(names))
    assert {p.id for p in created} <= set(emulator.projects)
    handled = [status for method, _, status in emulator.requests if method == "POST"]
    assert handled == [201] * len(emulator.projects)


def test_the_emulator_server_takes_a_burst_of_connections_without_stalling() -> None:
    # 64 clients connect at once (the async client alone opens up to 100 connections). A server
    # whose listen backlog is too small drops the handshakes past it, and the kernel only
    # retries those after a second or more: the burst stalls (and, under load, is reset).
    emulator = CraftEmulator(api_key=KEY)
    request = (
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
        + KEY.encode()
        + b"\r\n\r\n"
    )
    answers: dict[socket.socket, bytes] = {}
    with emulator.serve() as server, selectors.DefaultSelector() as selector:
        address = ("127.0.0.1", int(server.url.rsplit(":", 1)[1].split("/")[0]))
        connections = [socket.socket() for _ in range(64)]
        try:
            deadline = time.monotonic() + 1.0
            for connection in connections:  # all at once: non-blocking connects
                connection.setblocking(False)
                connection.connect_ex(address)
                selector.register(connection, selectors.EVENT_WRITE)
            while len(answers) < len(connections) and time.monotonic() < deadline:
                for key, events in selector.select(timeout=0.05):
                    ready = key.fileobj
                    assert isinstance(ready, socket.socket)
                    if events & selectors.EVENT_WRITE:
                        assert ready.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                        ready.sendall(request)
                        selector.modify(ready, selectors.EVENT_READ)
                    else:
                        answers[ready] = ready.recv(12)
                        selector.unregister(ready)
        finally:
            for connection in connections:
                connection.close()
    statuses = Counter(answer[9:12] for answer in answers.values())
    assert statuses == {b"200": 64}, f"answered within 1 s: {statuses}"


@pytest.mark.anyio
async def test_cancellation_churn_leaves_the_pool_healthy(
    no_resource_warnings: list[Any],
) -> None:
    # httpcore#1093: requests cancelled while they wait for a connection could leak pool slots
    # until every request times out waiting for one.
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    timeout = httpx.Timeout(2.0, pool=1.0)
    with FaultyServer(default=SlowHeaders(0.02, then=Json(200, ok(USER)))) as server:
        http = httpx.AsyncClient(limits=limits, timeout=timeout)
        async with (
            http,
            AsyncCraftClient(
                api_key=KEY, base_url=server.url, http_client=http, clock=FakeClock()
            ) as client,
        ):
            for _ in range(8):

                def all_busy(before: int = len(server.requests)) -> bool:
                    return len(server.requests) >= before + 4

                tasks = [asyncio.ensure_future(client.me()) for _ in range(16)]
                # Every connection busy: the other tasks wait in the pool for one.
                await await_until(all_busy)
                for task in tasks[::2]:
                    task.cancel()
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*tasks, return_exceptions=True), timeout=10
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        assert isinstance(outcome, asyncio.CancelledError), repr(outcome)
            fresh = await asyncio.wait_for(
                asyncio.gather(*[client.me() for _ in range(8)]), timeout=5
            )
    assert [user.id for user in fresh] == ["user_1"] * 8
