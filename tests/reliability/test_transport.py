"""3.1 Transport faults, over real sockets (tests/reliability/faulty_server.py) and respx.

The rule under test (craft_sdk/_retry.py): a failure that provably happened before the request
left is retried for every method; one that may have reached the server is retried only for
idempotent methods, and a POST or PATCH is then sent exactly once, with
`may_have_succeeded=True` on the error.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient

from .conftest import (
    KEY,
    PROJECT,
    USER,
    USER_BODY,
    Runner,
    await_until,
    calls_of,
    free_port,
    ok,
    raises,
    wait_until,
)
from .faulty_server import (
    Behaviour,
    CloseAfterHead,
    CloseAtOnce,
    Drip,
    FaultyServer,
    Garbage,
    GatewayPage,
    IncompleteChunked,
    Json,
    Raw,
    ResetMidBody,
    ShortBody,
    SlowHeaders,
    WaitFor,
    head,
)

# name: (HTTP method, path the server sees, the operation, the answer that succeeds)
OPERATIONS: dict[str, tuple[str, str, Callable[[Any], Any], Behaviour]] = {
    "GET": ("GET", "/v1/me", lambda c: c.me(), Json(200, ok(USER))),
    "POST": (
        "POST",
        "/v1/projects",
        lambda c: c.projects.create(name="Site"),
        Json(201, ok(PROJECT)),
    ),
}

# Faults after which the request may have been processed; each is followed by a good answer.
MAYBE_PROCESSED: dict[str, Callable[[], Behaviour]] = {
    "close-after-head": CloseAfterHead,
    "reset-mid-body": lambda: ResetMidBody(USER_BODY, sent=20),
    "short-body": lambda: ShortBody(USER_BODY, sent=15),
    "incomplete-chunked": lambda: IncompleteChunked([USER_BODY[:10], USER_BODY[10:30]]),
    "garbage-status-line": Garbage,
    "close-at-once": CloseAtOnce,
}


# --- T-NET-05..08, 12: the connection breaks before a complete answer ---------------------------


@pytest.mark.parametrize("fault", list(MAYBE_PROCESSED))
def test_a_get_is_retried_after_a_broken_answer_and_succeeds(run: Runner, fault: str) -> None:
    with FaultyServer(MAYBE_PROCESSED[fault](), Json(200, ok(USER))) as server:
        user = run(lambda c: c.me(), base_url=server.url, timeout=2.0)
    assert user.id == "user_1"
    assert len(run.clock.sleeps) == 1
    assert 0 <= run.clock.sleeps[0] <= 0.5  # full jitter under the first ceiling
    expected_requests = 1 if fault == "close-at-once" else 2  # close-at-once reads nothing
    assert [r.path for r in server.requests] == ["/v1/me"] * expected_requests
    assert server.connections == 2  # the broken connection was not reused
    assert server.errors == []


@pytest.mark.parametrize("fault", list(MAYBE_PROCESSED))
def test_a_post_is_sent_once_after_a_broken_answer(run: Runner, fault: str) -> None:
    with (
        FaultyServer(MAYBE_PROCESSED[fault](), Json(201, ok(PROJECT))) as server,
        raises(craft_sdk.APIConnectionError, may_have_succeeded=True, attempts=1) as caught,
    ):
        run(lambda c: c.projects.create(name="Site"), base_url=server.url, timeout=2.0)
    assert not isinstance(caught.value, craft_sdk.APITimeoutError)
    assert run.clock.sleeps == []
    assert server.connections == 1
    if fault != "close-at-once":
        assert [(r.method, r.path, r.json()) for r in server.requests] == [
            ("POST", "/v1/projects", {"name": "Site"})
        ]


def test_a_get_that_keeps_breaking_raises_after_every_retry(run: Runner) -> None:
    with (
        FaultyServer(*[CloseAfterHead() for _ in range(3)]) as server,
        raises(craft_sdk.APIConnectionError, may_have_succeeded=True, attempts=3),
    ):
        run(lambda c: c.me(), base_url=server.url, timeout=2.0, max_retries=2)
    assert len(server.requests) == 3
    assert len(run.clock.sleeps) == 2


# --- T-NET-01/02/03: failures before anything was sent --------------------------------------


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_connection_refused_is_retried_for_every_method(run: Runner, name: str) -> None:
    operation = OPERATIONS[name][2]
    port = free_port()  # nothing listens there any more
    with raises(craft_sdk.APIConnectionError, may_have_succeeded=False, attempts=3) as caught:
        run(operation, base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    assert not isinstance(caught.value, craft_sdk.APITimeoutError)
    assert len(run.clock.sleeps) == 2


@pytest.mark.parametrize("name", list(OPERATIONS))
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (httpx.ConnectError("[Errno -2] Name or service not known"), craft_sdk.APIConnectionError),
        (httpx.ConnectTimeout("timed out"), craft_sdk.APITimeoutError),
    ],
    ids=["dns-failure", "connect-timeout"],
)
def test_failures_before_sending_are_retried_then_raised(
    api: respx.MockRouter, run: Runner, name: str, fault: Exception, expected: type[Exception]
) -> None:
    method, path, operation, _ = OPERATIONS[name]
    route = api.request(method, path.removeprefix("/v1")).mock(side_effect=fault)
    with raises(expected, may_have_succeeded=False, attempts=4):
        run(operation)  # the default: 3 retries
    assert route.call_count == 4


# --- T-NET-04: pool exhausted ---------------------------------------------------------------


def test_a_pool_timeout_is_a_timeout_that_was_never_sent_sync() -> None:
    limits = httpx.Limits(max_connections=1)
    timeout = httpx.Timeout(2.0, pool=0.1)
    release = threading.Event()  # the first call holds the one connection until this is set
    with (
        FaultyServer(WaitFor(release, then=Json(200, ok(USER)))) as server,
        httpx.Client(limits=limits, timeout=timeout) as http,
        CraftClient(api_key=KEY, base_url=server.url, max_retries=0, http_client=http) as client,
    ):
        results: list[object] = []
        holder = threading.Thread(target=lambda: results.append(client.me()))
        holder.start()
        wait_until(lambda: bool(server.requests))  # the one connection is now busy
        with raises(craft_sdk.APITimeoutError, may_have_succeeded=False, attempts=1) as caught:
            client.me()
        release.set()
        holder.join(timeout=5)
        assert "PoolTimeout" in str(caught.value)
        assert [getattr(r, "id", None) for r in results] == ["user_1"]
    assert len(server.requests) == 1  # the second call never reached the server


@pytest.mark.anyio
async def test_a_pool_timeout_is_a_timeout_that_was_never_sent_async() -> None:
    limits = httpx.Limits(max_connections=1)
    timeout = httpx.Timeout(2.0, pool=0.1)
    release = threading.Event()
    with FaultyServer(WaitFor(release, then=Json(200, ok(USER)))) as server:
        http = httpx.AsyncClient(limits=limits, timeout=timeout)
        async with (
            http,
            AsyncCraftClient(
                api_key=KEY, base_url=server.url, max_retries=0, http_client=http
            ) as client,
        ):
            holder = asyncio.ensure_future(client.me())
            await await_until(lambda: bool(server.requests))
            with raises(craft_sdk.APITimeoutError, may_have_succeeded=False, attempts=1) as caught:
                await client.me()
            release.set()
            assert "PoolTimeout" in str(caught.value)
            assert (await asyncio.wait_for(holder, 5)).id == "user_1"
    assert len(server.requests) == 1


# --- T-NET-10: no answer within the read timeout --------------------------------------------


def test_slow_headers_time_out_and_a_get_is_retried(run: Runner) -> None:
    with FaultyServer(SlowHeaders(2.0), SlowHeaders(2.0)) as server:
        started = time.monotonic()
        with raises(craft_sdk.APITimeoutError, may_have_succeeded=True, attempts=2) as caught:
            run(lambda c: c.me(), base_url=server.url, timeout=0.15, max_retries=1)
        elapsed = time.monotonic() - started
    assert "ReadTimeout" in str(caught.value)
    assert len(server.requests) == 2
    assert elapsed < 1.5


def test_slow_headers_time_out_and_a_post_is_not_retried(run: Runner) -> None:
    with (
        FaultyServer(SlowHeaders(2.0)) as server,
        raises(craft_sdk.APITimeoutError, may_have_succeeded=True, attempts=1),
    ):
        run(lambda c: c.projects.create(name="Site"), base_url=server.url, timeout=0.15)
    assert [r.method for r in server.requests] == ["POST"]
    assert run.clock.sleeps == []


# --- T-NET-11: a slow drip is bounded by the deadline ---------------------------------------


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_a_drip_cannot_hold_a_call_past_its_deadline(run: Runner, name: str) -> None:
    method, path, operation, _ = OPERATIONS[name]
    body = USER_BODY + b" " * 60  # about 7 s at one byte per 50 ms
    with FaultyServer(Drip(body, interval=0.05), Drip(body, interval=0.05)) as server:
        started = time.monotonic()
        with raises(craft_sdk.APITimeoutError, may_have_succeeded=True):
            # The real clock: this deadline has to run out while the bytes arrive.
            run(operation, base_url=server.url, deadline=0.3, timeout=0.5, clock=None)
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.5
    assert [(r.method, r.path) for r in server.requests] == [(method, path)]
    assert server.body_bytes_sent < len(body) // 2


# --- T-NET-03 (gateway): an HTML 502 page from a proxy in front of the API ----------------------


def test_a_gateway_502_page_is_retried_for_a_get(run: Runner) -> None:
    with FaultyServer(GatewayPage(502), GatewayPage(504), Json(200, ok(USER))) as server:
        assert run(lambda c: c.me(), base_url=server.url, timeout=2.0).id == "user_1"
    assert len(server.requests) == 3
    assert len(run.clock.sleeps) == 2


def test_a_gateway_502_page_after_every_retry_is_an_internal_server_error(run: Runner) -> None:
    with (
        FaultyServer(*[GatewayPage(502) for _ in range(3)]) as server,
        raises(
            craft_sdk.InternalServerError, status_code=502, may_have_succeeded=True, attempts=3
        ) as caught,
    ):
        run(lambda c: c.me(), base_url=server.url, timeout=2.0, max_retries=2)
    assert caught.value.code is None
    assert str(caught.value).startswith("502: Bad Gateway (after 3 attempts in ")
    assert isinstance(caught.value.body, str)
    assert "nginx" in caught.value.body
    assert len(server.requests) == 3


def test_a_gateway_502_page_is_not_retried_for_a_post(run: Runner) -> None:
    with (
        FaultyServer(GatewayPage(502), Json(201, ok(PROJECT))) as server,
        raises(craft_sdk.InternalServerError, status_code=502, may_have_succeeded=True, attempts=1),
    ):
        run(lambda c: c.projects.create(name="Site"), base_url=server.url, timeout=2.0)
    assert [r.method for r in server.requests] == ["POST"]


# --- a kept-alive connection the server closed while idle -----------------------------------


def test_a_stale_keep_alive_connection_does_not_fail_or_duplicate_a_post(run: Runner) -> None:
    payload = USER_BODY
    # The first answer does not say "Connection: close", but the server closes right after it.
    first = Raw(head(200, {"Content-Length": str(len(payload))}) + payload)

    def get_pause_post(client: Any) -> Any:
        # Between the two calls the server closes the connection the client keeps for reuse.
        if run.flavour == "sync":
            user = client.me()
            wait_until(lambda: server.closed == 1)
            time.sleep(0.02)  # the FIN reaches the client's side of the connection
            return user, client.projects.create(name="Site")

        async def steps() -> Any:
            user = await client.me()
            await await_until(lambda: server.closed == 1)
            await asyncio.sleep(0.02)
            return user, await client.projects.create(name="Site")

        return steps()

    with FaultyServer(first, Json(201, ok(PROJECT))) as server:
        user, project = run(get_pause_post, base_url=server.url, timeout=2.0)
    assert (user.id, project.id) == ("user_1", "proj_1")
    assert [r.method for r in server.requests] == ["GET", "POST"]
    assert server.connections == 2
    assert run.clock.sleeps == []  # nothing failed, so nothing was retried


# --- T-NET-09: a body that breaks mid-stream, without sockets (respx) ------------------------


class BreakingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The start of a body, then a read error."""

    def __iter__(self) -> Iterator[bytes]:
        yield USER_BODY[:12]
        raise httpx.ReadError("[Errno 104] Connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield USER_BODY[:12]
        raise httpx.ReadError("[Errno 104] Connection reset by peer")


def test_a_body_that_breaks_mid_stream_is_retried_for_a_get(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/me").mock(
        side_effect=[
            httpx.Response(200, stream=BreakingStream()),
            httpx.Response(200, json=ok(USER)),
        ]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 2


def test_a_body_that_breaks_mid_stream_is_not_retried_for_a_patch(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.patch("/projects/proj_1").mock(
        side_effect=[httpx.Response(200, stream=BreakingStream()), httpx.Response(200)]
    )
    with raises(craft_sdk.APIConnectionError, may_have_succeeded=True, attempts=1):
        run(lambda c: c.projects.update("proj_1", name="New"))
    assert route.call_count == 1


# --- T-NET-13: write failures during an upload ----------------------------------------------


@pytest.mark.parametrize(
    "fault", [httpx.WriteTimeout("write timed out"), httpx.WriteError("broken pipe")]
)
def test_a_write_failure_is_retried_for_a_put_not_for_a_post(
    api: respx.MockRouter, run: Runner, fault: Exception
) -> None:
    put = api.put("/projects/proj_1/files/a.txt").mock(
        side_effect=[fault, httpx.Response(200, json=ok({"path": "a.txt", "type": "file"}))]
    )
    post = api.post("/projects").mock(side_effect=[fault, httpx.Response(201, json=ok(PROJECT))])
    assert run(lambda c: c.files.write("proj_1", "a.txt", "hello")).path == "a.txt"
    assert put.call_count == 2
    assert calls_of(put)[0].request.content == calls_of(put)[1].request.content == b"hello"
    expected = (
        craft_sdk.APITimeoutError
        if isinstance(fault, httpx.TimeoutException)
        else craft_sdk.APIConnectionError
    )
    with raises(expected, may_have_succeeded=True, attempts=1):
        run(lambda c: c.projects.create(name="Site"))
    assert post.call_count == 1


def test_no_transport_failure_escapes_as_an_httpx_exception(run: Runner) -> None:
    # One call per fault, each with retries off: each is a CraftError caused by httpx's error.
    faults = [factory() for factory in MAYBE_PROCESSED.values()]
    with FaultyServer(*faults) as server:
        for _ in faults:
            with raises(craft_sdk.APIConnectionError, attempts=1) as caught:
                run(lambda c: c.me(), base_url=server.url, timeout=2.0, max_retries=0)
            assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert server.connections == len(faults)
