"""3.3 Rate limiting: 429 answers, the waits the server asks for, and the client-side gate.

Waits are read against the server's own clock (its `Date` header), which here is far from the
FakeClock's, so a wait measured against the local clock would come out visibly wrong.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient
from craft_sdk._rate_limit import Admission, Lease, RateLimitGate, Wait
from craft_sdk.testing import CraftEmulator, FakeClock

from .conftest import (
    KEY,
    PROJECT,
    USER,
    Operation,
    Runner,
    ScriptedClock,
    await_until,
    failure,
    ok,
    raises,
)

SERVER_NOW = 1_695_998_777.0  # the server's clock; the FakeClock reads 1_700_000_000
DATE = email.utils.formatdate(SERVER_NOW, usegmt=True)


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def limited(**headers: str) -> httpx.Response:
    return httpx.Response(
        429, json=failure("RATE_LIMIT_EXCEEDED", "Too many requests"), headers=headers
    )


def user(**headers: str) -> httpx.Response:
    return httpx.Response(200, json=ok(USER), headers=headers)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_429_with_retry_after_waits_exactly_that_long_for_every_method(
    api: respx.MockRouter, run: Runner, method: str
) -> None:
    if method == "GET":
        calls = api.get("/me").mock(side_effect=[limited(**{"Retry-After": "2"}), user()])
        run(lambda c: c.me())
    else:
        created = httpx.Response(201, json=ok(PROJECT))
        calls = api.post("/projects").mock(side_effect=[limited(**{"Retry-After": "2"}), created])
        run(lambda c: c.projects.create(name="Site"))
    # A 429 is refused before any work is done: the one case where a write is sent again.
    assert calls.call_count == 2
    assert run.clock.sleeps == [2.0]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(http_date(SERVER_NOW + 7), [7.0]), ("7", [7.0]), (" 7 ", [7.0]), ("2.5", [2.5])],
    ids=["http-date-ahead", "seconds", "padded-seconds", "fractional"],
)
def test_retry_after_in_seconds_or_as_a_date_against_the_server_clock(
    api: respx.MockRouter, run: Runner, retry_after: str, expected: list[float]
) -> None:
    calls = api.get("/me").mock(
        side_effect=[limited(**{"Retry-After": retry_after, "Date": DATE}), user()]
    )
    run(lambda c: c.me())
    assert calls.call_count == 2
    assert run.clock.sleeps == expected


@pytest.mark.parametrize(
    "retry_after",
    [
        "",
        "0",
        "-10",
        "inf",
        "nan",
        "soon",
        "Fri, 31 Sep 2023 14:46:27 GMT",  # no 31 September
        "Fri, 29 Sep 100000 16:26:57 GMT",
        http_date(SERVER_NOW - 30),
    ],
    ids=["empty", "zero", "negative", "inf", "nan", "word", "bad-date", "year-100000", "past"],
)
def test_an_unusable_retry_after_falls_back_to_backoff(
    api: respx.MockRouter, run: Runner, retry_after: str
) -> None:
    calls = api.get("/me").mock(
        side_effect=[limited(**{"Retry-After": retry_after, "Date": DATE}), user()]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert calls.call_count == 2
    assert len(run.clock.sleeps) == 1
    assert 0 <= run.clock.sleeps[0] <= 0.5


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "3600"}, 3600.0),
        ({"Retry-After": http_date(SERVER_NOW + 3600), "Date": DATE}, 3600.0),
        ({"X-RateLimit-Reset": str(int(SERVER_NOW) + 3600), "Date": DATE}, 3600.0),
        ({"Retry-After": "9" * 35}, float("9" * 35)),
    ],
    ids=["retry-after-1h", "date-1h", "reset-1h", "35-digits"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_wait_beyond_max_retry_wait_fails_fast_without_sleeping(
    api: respx.MockRouter, run: Runner, headers: dict[str, str], wait: float, method: str
) -> None:
    if method == "GET":
        calls = api.get("/me").mock(side_effect=[limited(**headers), user()])
        operation: Operation = lambda c: c.me()  # noqa: E731
    else:
        calls = api.post("/projects").mock(side_effect=[limited(**headers), user()])
        operation = lambda c: c.projects.create(name="Site")  # noqa: E731
    with raises(craft_sdk.RateLimitError, status_code=429, retry_after=wait, attempts=1):
        run(operation)
    assert calls.call_count == 1
    assert run.clock.sleeps == []


def test_the_reset_is_measured_against_the_servers_date_not_the_local_clock(
    api: respx.MockRouter, run: Runner
) -> None:
    # The local clock is 4,000,000 s ahead of the server's; the reset is 3 s after its Date.
    headers = {"X-RateLimit-Reset": str(int(SERVER_NOW) + 3), "Date": DATE}
    calls = api.get("/me").mock(side_effect=[limited(**headers), user()])
    run(lambda c: c.me())
    assert calls.call_count == 2
    assert run.clock.sleeps == [3.0]


@pytest.mark.parametrize(
    ("reset", "wait"),
    [
        (str(int(SERVER_NOW + 5) * 1000), 5.0),  # milliseconds
        ("30", 30.0),  # seconds from now
    ],
    ids=["milliseconds", "delta-seconds"],
)
def test_other_shapes_of_the_reset_are_normalised(
    api: respx.MockRouter, run: Runner, reset: str, wait: float
) -> None:
    calls = api.get("/me").mock(
        side_effect=[limited(**{"X-RateLimit-Reset": reset, "Date": DATE}), user()]
    )
    run(lambda c: c.me())
    assert calls.call_count == 2
    assert run.clock.sleeps == [wait]


def test_a_reset_in_the_past_falls_back_to_backoff(api: respx.MockRouter, run: Runner) -> None:
    headers = {"X-RateLimit-Reset": str(int(SERVER_NOW) - 10), "Date": DATE}
    calls = api.get("/me").mock(side_effect=[limited(**headers), user()])
    run(lambda c: c.me())
    assert calls.call_count == 2
    assert len(run.clock.sleeps) == 1
    assert 0 <= run.clock.sleeps[0] <= 0.5


def test_a_429_without_any_hint_backs_off_and_raises_after_every_retry(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = api.get("/me").mock(return_value=limited())
    with raises(craft_sdk.RateLimitError, retry_after=None, code="RATE_LIMIT_EXCEEDED", attempts=4):
        run(lambda c: c.me())
    assert calls.call_count == 4
    assert len(run.clock.sleeps) == 3
    ceilings = [0.5, 1.0, 2.0]
    assert all(0 <= s <= c for s, c in zip(run.clock.sleeps, ceilings, strict=True))


def two_calls(run: Runner) -> Any:
    """me() twice on one client."""

    def operation(client: Any) -> Any:
        if run.flavour == "sync":
            return [client.me(), client.me()]

        async def steps() -> list[Any]:
            return [await client.me(), await client.me()]

        return steps()

    return operation


def test_a_spent_budget_makes_the_next_call_wait_for_the_reset_before_sending(
    api: respx.MockRouter, run: Runner
) -> None:
    sent_at: list[float] = []
    answers = iter(
        [
            user(
                **{
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "Date": DATE,
                    "X-RateLimit-Reset": str(int(SERVER_NOW) + 2),
                }
            ),
            user(),
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        sent_at.append(run.clock.monotonic())
        return next(answers)

    api.get("/me").mock(side_effect=answer)
    run(two_calls(run))
    assert len(run.clock.sleeps) == 1
    assert 2.0 <= run.clock.sleeps[0] <= 2.25  # the reset, plus a little jitter
    # Nothing was sent during the wait: the second request went when it was over.
    assert sent_at[1] - sent_at[0] == pytest.approx(run.clock.sleeps[0])


@pytest.mark.parametrize(
    ("remaining", "waits"),
    [("-1", True), ("0", True), ("abc", False), ("1.5", False), (None, False)],
    ids=["negative", "zero", "junk", "fractional", "missing"],
)
def test_odd_remaining_values_never_crash_and_only_a_spent_budget_waits(
    api: respx.MockRouter, run: Runner, remaining: str | None, waits: bool
) -> None:
    headers = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Reset": str(int(SERVER_NOW) + 2),
        "Date": DATE,
    }
    if remaining is not None:
        headers["X-RateLimit-Remaining"] = remaining
    calls = api.get("/me").mock(side_effect=[user(**headers), user()])
    run(two_calls(run))
    assert calls.call_count == 2
    if waits:
        assert len(run.clock.sleeps) == 1
        assert 2.0 <= run.clock.sleeps[0] <= 2.25
    else:
        assert run.clock.sleeps == []


def test_a_spent_budget_with_a_far_reset_raises_without_sending(
    api: respx.MockRouter, run: Runner
) -> None:
    headers = {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(SERVER_NOW) + 3600),
        "Date": DATE,
    }
    calls = api.get("/me").mock(side_effect=[user(**headers), user()])

    def operation(client: Any) -> Any:
        if run.flavour == "sync":
            client.me()
            with raises(craft_sdk.RateLimitError, status_code=429, attempts=1):
                client.me()
            return None

        async def steps() -> None:
            await client.me()
            with raises(craft_sdk.RateLimitError, status_code=429, attempts=1):
                await client.me()

        return steps()

    run(operation)
    assert calls.call_count == 1
    assert run.clock.sleeps == []


def test_an_older_answer_arriving_late_does_not_refill_the_budget() -> None:
    clock = FakeClock(start=SERVER_NOW)
    gate = RateLimitGate(clock, rng=lambda: 0.0)
    window = {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Reset": str(int(SERVER_NOW) + 30),
        "Date": DATE,
    }
    gate.release(admitted(gate), {**window, "X-RateLimit-Remaining": "9"}, 200)
    first, second = admitted(gate), admitted(gate)
    gate.release(second, {**window, "X-RateLimit-Remaining": "0"}, 200)
    # The answer to the first request, sent earlier, arrives last and says 7 were left.
    gate.release(first, {**window, "X-RateLimit-Remaining": "7"}, 200)
    clock.advance(1)
    assert gate.acquire(Admission(max_wait=60)) == Wait(29.0)  # still spent: wait


def test_waiters_at_the_reset_are_spread_and_none_goes_early() -> None:
    gate = RateLimitGate(FakeClock(start=SERVER_NOW))
    window = {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(SERVER_NOW) + 2),
        "Date": DATE,
    }
    gate.release(admitted(gate), window, 200)
    waits = [gate.acquire(Admission(max_wait=60)) for _ in range(50)]
    assert all(isinstance(wait, Wait) and 2.0 <= wait.seconds <= 2.25 for wait in waits)
    assert len(set(waits)) > 40  # spread, not a crowd arriving in the same instant


def admitted(gate: RateLimitGate) -> Lease:
    lease = gate.acquire(Admission(max_wait=60))
    assert isinstance(lease, Lease)
    return lease


# --- the gate under concurrency, against the emulator (60 requests a minute) ----------------


def _emulator(limit: int) -> tuple[CraftEmulator, FakeClock]:
    clock = FakeClock(start=1_700_000_040.0)  # a window of the emulator starts here
    return CraftEmulator(rate_limit=limit, api_key=KEY, clock=clock), clock


# A FakeClock shared by many waiters adds their waits up instead of overlapping them (each
# sleep returns at once and moves the clock), so fake minutes pass by the dozen while a thread
# holds a reading of the clock from before: the waits it computes can look far longer than the
# 60 s window (over 5000 s, seen on Python 3.10), and a deadline would run out. These cases are
# about concurrency, not waiting: no deadline, and no refusing a long wait, however long.
HEADROOM: dict[str, Any] = {"max_retry_wait": 1e9, "deadline": None}


def test_32_threads_stay_within_a_budget_the_server_announced() -> None:
    emulator, clock = _emulator(limit=5)
    with emulator.client(clock=clock, max_retries=0, **HEADROOM) as client:
        client.me()  # learns the budget: 4 left in this window
        with ThreadPoolExecutor(max_workers=32) as pool:
            futures = [pool.submit(client.me) for _ in range(32)]
            results = [future.result(timeout=10) for future in futures]
    assert [r.id for r in results] == ["user_emulator"] * 32
    statuses = [status for _, _, status in emulator.requests]
    assert statuses == [200] * 33  # not one 429: no request was sent over the limit


@pytest.mark.anyio
async def test_100_tasks_stay_within_a_budget_the_server_announced() -> None:
    emulator, clock = _emulator(limit=5)
    async with emulator.async_client(clock=clock, max_retries=0, **HEADROOM) as client:
        await client.me()
        results = await asyncio.wait_for(
            asyncio.gather(*[client.me() for _ in range(100)]), timeout=10
        )
    assert [r.id for r in results] == ["user_emulator"] * 100
    assert [status for _, _, status in emulator.requests] == [200] * 101


@pytest.mark.anyio
async def test_cancelling_a_call_waiting_for_the_reset_frees_its_place() -> None:
    clock = ScriptedClock()
    headers = {
        "X-RateLimit-Limit": "1",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(SERVER_NOW) + 2),
        "Date": DATE,
    }
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return user(**headers) if len(seen) == 1 else user()

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with http, AsyncCraftClient(api_key=KEY, http_client=http, clock=clock) as client:
        await client.me()
        clock.hang = True
        waiting = asyncio.ensure_future(client.me())
        await await_until(clock.sleeping.is_set)
        waiting.cancel()
        with raises(asyncio.CancelledError):
            await asyncio.wait_for(waiting, timeout=1)
        assert len(seen) == 1  # the cancelled call never sent anything
        assert (await asyncio.wait_for(client.me(), timeout=1)).id == "user_1"
    assert len(seen) == 2


def test_a_thread_safe_gate_under_many_threads_loses_no_slot() -> None:
    gate = RateLimitGate(FakeClock(start=SERVER_NOW))
    gate.release(admitted(gate), {}, 200)  # an answer with no limit: every request may go
    barrier = threading.Barrier(16)

    def churn() -> None:
        barrier.wait(timeout=5)
        for _ in range(500):
            gate.release(admitted(gate), None, None)

    threads = [threading.Thread(target=churn) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert gate._in_flight == 0  # every slot taken was given back


def test_sync_client_and_its_copies_share_one_budget() -> None:
    emulator, clock = _emulator(limit=2)
    with emulator.client(clock=clock, max_retries=0) as client:
        client.me()  # 1 left
        client.with_options(timeout=5.0).me()  # 0 left, learnt through the copy
        with raises(craft_sdk.RateLimitError, status_code=429):
            client.with_options(max_retry_wait=1.0).me()  # the reset is up to 60 s away
    assert [status for _, _, status in emulator.requests] == [200, 200]


def test_the_client_reports_the_last_rate_limit_it_saw() -> None:
    emulator, clock = _emulator(limit=3)
    with emulator.client(clock=clock) as client:
        assert client.rate_limit is None
        client.me()
        snapshot = client.rate_limit
    assert snapshot is not None
    assert (snapshot.limit, snapshot.remaining) == (3, 2)
    assert snapshot.reset_at is not None
    assert snapshot.reset_at.timestamp() == 1_700_000_040.0 + 60
