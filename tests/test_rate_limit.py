"""Rate limits: reading the headers, `client.rate_limit`, and waiting for the reset before a 429
instead of after it, for one caller and for 32 threads sharing a client."""

from __future__ import annotations

import asyncio
import email.utils
import math
import threading
import time
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient, RateLimit
from craft_sdk._rate_limit import (
    RESET_JITTER,
    read_rate_limit,
    reset_epoch,
    seconds_until_reset,
)
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, Runner, failure, ok
from .loopback import LoopbackServer, Reply, SeenRequest

T = 1_700_000_000.0  # the FakeClock's start, on an exact second
USER = {"id": "user_1", "email": "ada@example.com", "name": "Ada"}


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def limit_headers(
    limit: int, remaining: int, reset: float, date: float | None = T
) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(int(reset)),
    }
    if date is not None:
        headers["Date"] = http_date(date)
    return headers


# Reading the headers.


def test_read_rate_limit() -> None:
    seen = read_rate_limit(httpx.Headers(limit_headers(60, 45, T + 30)))
    assert seen == RateLimit(
        limit=60, remaining=45, reset_at=datetime.fromtimestamp(T + 30, tz=timezone.utc)
    )
    assert read_rate_limit(httpx.Headers({"Content-Type": "application/json"})) is None
    junk = read_rate_limit(
        httpx.Headers({"X-RateLimit-Limit": "lots", "X-RateLimit-Remaining": "3"})
    )
    assert junk == RateLimit(limit=None, remaining=3, reset_at=None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000030", T + 30),  # Unix seconds, as documented
        ("1700000030000", T + 30),  # milliseconds, as some servers send
        ("30", T + 30),  # seconds from now, as others do
        ("1700000030.5", T + 30.5),
        ("-1", None),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_reset_epoch_shapes(value: str | None, expected: float | None) -> None:
    assert reset_epoch(value, server_now=T) == expected


def test_seconds_until_reset_uses_the_servers_clock() -> None:
    headers = httpx.Headers(limit_headers(60, 0, T + 20, date=T))
    # The local clock is two minutes fast; the server's Date still says 20 s are left.
    assert seconds_until_reset(headers, local_now=T + 120) == 20
    without_date = httpx.Headers(limit_headers(60, 0, T + 20, date=None))
    assert seconds_until_reset(without_date, local_now=T + 5) == 15
    assert seconds_until_reset(without_date, local_now=T + 25) is None  # already past


# The gate's rules, as plain logic, are tests/test_rate_limit_rules.py's vectors, which run
# against the in-process gate and the Redis store alike.


# Through the clients.


def twice_me(client: Any) -> Any:
    """Two calls on one client (`run` builds a new async client per operation)."""
    if isinstance(client, AsyncCraftClient):

        async def both() -> Any:
            await client.me()
            return await client.me()

        return both()
    client.me()
    return client.me()


def test_rate_limit_is_none_before_the_first_answer_then_the_last_seen(
    api: respx.MockRouter, client: CraftClient
) -> None:
    assert client.rate_limit is None
    api.get("/me").respond(200, json=ok(USER), headers=limit_headers(60, 59, T + 60))
    client.me()
    assert client.rate_limit == RateLimit(
        limit=60, remaining=59, reset_at=datetime.fromtimestamp(T + 60, tz=timezone.utc)
    )
    assert client.with_options(max_retries=0).rate_limit == client.rate_limit  # shared


def test_the_next_request_waits_for_the_reset_instead_of_a_429(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    served: list[float] = []

    def server(request: httpx.Request) -> httpx.Response:
        # A limit of 1 per window: a request before T + 5 would be refused.
        served.append(clock.time())
        if len(served) == 2 and clock.time() < T + 5:
            return httpx.Response(429, json=failure("RATE_LIMIT_EXCEEDED"))
        return httpx.Response(200, json=ok(USER), headers=limit_headers(1, 0, T + 5, clock.time()))

    route = api.get("/me").mock(side_effect=server)
    run(twice_me)
    assert route.call_count == 2  # no 429 was collected and retried
    assert served[1] >= T + 5
    assert clock.sleeps[0] == pytest.approx(5, abs=RESET_JITTER)


@pytest.mark.client_options(max_retry_wait=30)
def test_a_reset_too_far_off_raises_without_sending(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    route = api.get("/me").respond(200, json=ok(USER), headers=limit_headers(60, 0, T + 3600))
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(twice_me)
    assert route.call_count == 1
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 3000
    assert clock.sleeps == []


# 32 threads, one client, a server that really enforces its limit.


class ScaledClock:
    """Real time, running `speed` times faster: consistent across threads (unlike a FakeClock,
    where concurrent sleeps add up), and a 1 s rate-limit window lasts 1/speed s of wall time."""

    def __init__(self, speed: float) -> None:
        self._speed = speed
        self._real_start = time.monotonic()

    def time(self) -> float:
        return T + (time.monotonic() - self._real_start) * self._speed

    def monotonic(self) -> float:
        return self.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self._speed)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._speed)


class WindowedLimit:
    """The API's limit: `limit` requests per 1 s window of `clock` time, 429 past it."""

    def __init__(self, clock: ScaledClock, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self.refused = 0
        self.served = 0
        self._counts: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: SeenRequest) -> Reply:
        now = self.clock.time()
        window = math.floor(now)
        with self._lock:
            used = self._counts.get(window, 0)
            if used >= self.limit:
                self.refused += 1
                headers = limit_headers(self.limit, 0, window + 1, now)
                return Reply(
                    429, json=failure("RATE_LIMIT_EXCEEDED", retryAfter=1), headers=headers
                )
            self._counts[window] = used + 1
            self.served += 1
        headers = limit_headers(self.limit, self.limit - used - 1, window + 1, now)
        return Reply(200, json=ok(USER), headers=headers)


def test_32_threads_share_a_client_and_no_429_reaches_them() -> None:
    clock = ScaledClock(speed=20)
    api = WindowedLimit(clock, limit=8)
    errors: list[BaseException] = []
    results: list[str] = []
    calls_per_thread = 2
    start_together = threading.Barrier(32)

    with (
        LoopbackServer(api) as server,
        CraftClient(api_key=API_KEY, base_url=server.url, clock=clock) as client,
    ):

        def work() -> None:
            start_together.wait()
            try:
                for _ in range(calls_per_thread):
                    results.append(client.me().id)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert len(results) == 32 * calls_per_thread
    assert api.served == 32 * calls_per_thread
    # Before the first answer nobody knows the limit, so the first burst may meet 429s (each
    # retried); after it, the client waits for each reset instead of collecting more. Without
    # the gate, this run collects about twice as many.
    assert api.refused <= 32 - api.limit


def test_32_tasks_share_an_async_client_and_no_429_reaches_them() -> None:
    clock = ScaledClock(speed=20)
    api = WindowedLimit(clock, limit=8)

    async def main(url: str) -> list[str]:
        async with AsyncCraftClient(api_key=API_KEY, base_url=url, clock=clock) as client:

            async def work() -> list[str]:
                return [(await client.me()).id for _ in range(2)]

            done = await asyncio.gather(*(work() for _ in range(32)))
        return [user_id for ids in done for user_id in ids]

    with LoopbackServer(api) as server:
        results = asyncio.run(main(server.url))

    assert len(results) == 64
    assert api.served == 64
    assert api.refused <= 32 - api.limit
