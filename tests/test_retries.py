"""Retries, waits and the call deadline, end to end through both clients.

test_retry.py proves the policy as pure functions; here every rule is shown on the wire: how many
requests the server saw, how long the client slept (the FakeClock's record, so nothing sleeps for
real), what it raised and what it logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, PROJECT, Runner, calls_of, each_request, failure, ok

USER = {"id": "user_1", "email": "ada@example.com", "name": "Ada"}
# Enough for every answer below: a Project, a DeletedProject and a bare envelope all accept it.
RESOURCE = {**PROJECT, "id": "p", "name": "x", "deleted": True}

# The server's clock, as its `Date` header says; far from the FakeClock's (1_700_000_000), so a
# wait read against the client's clock instead would come out wrong.
SERVER_NOW = 1_695_998_777.0  # Fri, 29 Sep 2023 16:26:17 GMT
SERVER_DATE = email.utils.formatdate(SERVER_NOW, usegmt=True)


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


# --- the operations, one per method -----------------------------------------------------------

Operation = Callable[[Any], Any]

# name: (HTTP method, path under the base URL, the operation, the status of its success)
OPERATIONS: dict[str, tuple[str, str, Operation, int]] = {
    "GET": ("GET", "/projects/p", lambda c: c.projects.get("p"), 200),
    "PUT": ("PUT", "/projects/p/files/x", lambda c: c.files.write("p", "x", "hello"), 200),
    "DELETE": ("DELETE", "/projects/p", lambda c: c.projects.delete("p"), 200),
    "POST": ("POST", "/projects", lambda c: c.projects.create(name="x"), 201),
    "PATCH-update": ("PATCH", "/projects/p", lambda c: c.projects.update("p", name="x"), 200),
    "PATCH-archive": ("PATCH", "/projects/p", lambda c: c.projects.archive("p"), 200),
}
ALL_METHODS = list(OPERATIONS)
IDEMPOTENT = ["GET", "PUT", "DELETE"]
NOT_IDEMPOTENT = ["POST", "PATCH-update", "PATCH-archive"]


def route_for(api: respx.MockRouter, name: str, side_effect: Any) -> respx.Route:
    method, path, _, _ = OPERATIONS[name]
    return api.request(method, path).mock(side_effect=side_effect)


def success(name: str) -> httpx.Response:
    return httpx.Response(OPERATIONS[name][3], json=ok(RESOURCE))


def operation(name: str) -> Operation:
    return OPERATIONS[name][2]


def rate_limited(
    headers: dict[str, str] | None = None, *, body_retry_after: object = None
) -> httpx.Response:
    extra = {} if body_retry_after is None else {"retryAfter": body_retry_after}
    return httpx.Response(
        429,
        json=failure("RATE_LIMIT_EXCEEDED", "Too many requests", **extra),
        headers=headers or {},
    )


def status(code: int, request_id: str | None = None) -> httpx.Response:
    headers = {"X-Request-Id": request_id} if request_id else {}
    return httpx.Response(code, json=failure("SOME_ERROR", f"status {code}"), headers=headers)


# --- 1. which failures are retried, for which methods -----------------------------------------


@pytest.mark.parametrize("name", ALL_METHODS)
def test_429_is_retried_for_every_method(
    api: respx.MockRouter, run: Runner, sleeps: list[float], name: str
) -> None:
    route = route_for(api, name, [rate_limited({"Retry-After": "1"}), success(name)])
    assert run(operation(name)) is not None
    assert route.call_count == 2
    assert sleeps == [1.0]


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_failures_before_sending_are_retried_for_every_method(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    name: str,
    error: type[httpx.TransportError],
) -> None:
    route = route_for(api, name, [error("never sent"), success(name)])
    assert run(operation(name)) is not None
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


# What each failure that may have reached the server becomes once raised.
MAYBE_PROCESSED: dict[str, tuple[Callable[[], Any], type[craft_sdk.CraftError]]] = {
    "408": (lambda: status(408), craft_sdk.APIError),
    "500": (lambda: status(500), craft_sdk.InternalServerError),
    "502": (lambda: status(502), craft_sdk.InternalServerError),
    "503": (lambda: status(503), craft_sdk.InternalServerError),
    "504": (lambda: status(504), craft_sdk.InternalServerError),
    "ReadTimeout": (lambda: httpx.ReadTimeout("slow"), craft_sdk.APITimeoutError),
    "RemoteProtocolError": (
        lambda: httpx.RemoteProtocolError("peer closed"),
        craft_sdk.APIConnectionError,
    ),
    "ReadError": (lambda: httpx.ReadError("reset"), craft_sdk.APIConnectionError),
}


@pytest.mark.parametrize("name", IDEMPOTENT)
@pytest.mark.parametrize("failure_", list(MAYBE_PROCESSED))
def test_failures_that_may_have_been_processed_are_retried_if_idempotent(
    api: respx.MockRouter, run: Runner, sleeps: list[float], name: str, failure_: str
) -> None:
    make, _ = MAYBE_PROCESSED[failure_]
    route = route_for(api, name, [make(), success(name)])
    assert run(operation(name)) is not None
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


@pytest.mark.parametrize("name", NOT_IDEMPOTENT)
@pytest.mark.parametrize("failure_", list(MAYBE_PROCESSED))
def test_failures_that_may_have_been_processed_are_not_retried_for_post_or_patch(
    api: respx.MockRouter, run: Runner, sleeps: list[float], name: str, failure_: str
) -> None:
    make, expected = MAYBE_PROCESSED[failure_]
    route = route_for(api, name, [make(), success(name)])
    with pytest.raises(craft_sdk.CraftError) as caught:
        run(operation(name))
    assert type(caught.value) is expected
    assert route.call_count == 1
    assert caught.value.attempts == 1
    # The SDK would not send it again because the server may have acted on it: the caller must
    # be told the same, or it will resend what the SDK refused to.
    assert getattr(caught.value, "may_have_succeeded", None) is True
    assert sleeps == []


NEVER_RETRIED: dict[int, type[craft_sdk.APIError]] = {
    400: craft_sdk.BadRequestError,
    401: craft_sdk.AuthenticationError,
    403: craft_sdk.PermissionDeniedError,
    404: craft_sdk.NotFoundError,
    409: craft_sdk.ConflictError,
    422: craft_sdk.UnprocessableEntityError,
}


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize("code", list(NEVER_RETRIED))
def test_client_errors_are_never_retried(
    api: respx.MockRouter, run: Runner, sleeps: list[float], name: str, code: int
) -> None:
    route = route_for(api, name, [status(code), success(name)])
    with pytest.raises(craft_sdk.APIError) as caught:
        run(operation(name))
    assert type(caught.value) is NEVER_RETRIED[code]
    assert caught.value.status_code == code
    assert caught.value.may_have_succeeded is False
    assert route.call_count == 1
    assert sleeps == []


# Failures retried for the method in question: a 429 for any, a 503 for the idempotent ones.
PERMANENT_FAILURE = {
    **{name: lambda: rate_limited({"Retry-After": "1"}) for name in NOT_IDEMPOTENT},
    **{name: lambda: status(503) for name in IDEMPOTENT},
}


@pytest.mark.client_options(max_retries=3)
@pytest.mark.parametrize("name", ALL_METHODS)
def test_a_permanent_failure_is_sent_max_retries_plus_one_times(
    api: respx.MockRouter, run: Runner, sleeps: list[float], name: str
) -> None:
    route = route_for(api, name, each_request(PERMANENT_FAILURE[name]))
    with pytest.raises(craft_sdk.APIError) as caught:
        run(operation(name))
    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert len(sleeps) == 3


def test_the_default_is_three_retries(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").respond(503)
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.me())
    assert route.call_count == 4
    assert caught.value.attempts == 4


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_max_retries_set_on_the_client(
    api: respx.MockRouter, clock: FakeClock, max_retries: int
) -> None:
    route = api.get("/me").respond(503)

    def run_both() -> list[int]:
        attempts: list[int] = []
        with CraftClient(api_key=API_KEY, clock=clock, max_retries=max_retries) as client:
            with pytest.raises(craft_sdk.InternalServerError) as caught:
                client.me()
            attempts.append(caught.value.attempts)

        async def main() -> None:
            async with AsyncCraftClient(
                api_key=API_KEY, clock=clock, max_retries=max_retries
            ) as client:
                with pytest.raises(craft_sdk.InternalServerError) as caught:
                    await client.me()
                attempts.append(caught.value.attempts)

        asyncio.run(main())
        return attempts

    assert run_both() == [max_retries + 1, max_retries + 1]
    assert route.call_count == 2 * (max_retries + 1)
    assert len(clock.sleeps) == 2 * max_retries


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_max_retries_set_per_call_with_options(
    api: respx.MockRouter, run: Runner, max_retries: int
) -> None:
    route = api.get("/me").respond(503)
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.with_options(max_retries=max_retries).me())
    assert route.call_count == max_retries + 1
    assert caught.value.attempts == max_retries + 1


@pytest.mark.client_options(max_retries=0)
def test_with_options_max_retries_does_not_change_the_original(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/me").respond(503)

    async def both_async(c: AsyncCraftClient) -> list[int]:
        return [await attempts_of(c.with_options(max_retries=2).me()), await attempts_of(c.me())]

    async def attempts_of(coroutine: Any) -> int:
        try:
            await coroutine
        except craft_sdk.CraftError as error:
            return error.attempts
        raise AssertionError("the call should have failed")

    def both_sync(c: CraftClient) -> list[int]:
        seen: list[int] = []
        for each in (c.with_options(max_retries=2), c):
            with pytest.raises(craft_sdk.InternalServerError) as caught:
                each.me()
            seen.append(caught.value.attempts)
        return seen

    result = run(lambda c: both_async(c) if isinstance(c, AsyncCraftClient) else both_sync(c))
    assert result == [3, 1]
    assert route.call_count == 4


# --- 2. how long the client waits -------------------------------------------------------------


@pytest.fixture
def seeded_random() -> Iterator[None]:
    """Backoff draws from `random`: seed it, so that the draws are the same on every run."""
    state = random.getstate()
    random.seed(20240115)
    yield
    random.setstate(state)


@pytest.mark.usefixtures("seeded_random")
@pytest.mark.client_options(max_retries=12)
def test_backoff_is_full_jitter_under_a_doubling_ceiling(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").respond(503)
    with pytest.raises(craft_sdk.InternalServerError):
        run(lambda c: c.me())
    assert route.call_count == 13
    ceilings = [min(8.0, 0.5 * 2**n) for n in range(12)]
    assert len(sleeps) == 12
    for wait, ceiling in zip(sleeps, ceilings, strict=True):
        assert 0 <= wait <= ceiling
    # Full jitter draws from the whole range, not just its top half, and never repeats itself.
    assert any(wait < ceiling / 2 for wait, ceiling in zip(sleeps, ceilings, strict=True))
    assert len(set(sleeps)) == len(sleeps)


@pytest.mark.parametrize(
    ("headers", "body_retry_after", "expected"),
    [
        pytest.param({"Retry-After": "7"}, None, 7.0, id="retry-after-seconds"),
        pytest.param(
            {"Date": SERVER_DATE, "Retry-After": http_date(SERVER_NOW + 5)},
            None,
            5.0,
            id="retry-after-http-date",
        ),
        pytest.param({"X-RateLimit-RetryAfter": "3"}, None, 3.0, id="x-ratelimit-retryafter"),
        pytest.param({}, 4, 4.0, id="body-retryAfter"),
        pytest.param(
            {"Retry-After": "9", "X-RateLimit-RetryAfter": "2"}, 3, 9.0, id="longest-retry-after"
        ),
        pytest.param(
            {"Retry-After": "2", "X-RateLimit-RetryAfter": "6"}, 3, 6.0, id="longest-x-ratelimit"
        ),
        pytest.param(
            {"Retry-After": "2", "X-RateLimit-RetryAfter": "1"}, 11, 11.0, id="longest-body"
        ),
        pytest.param(
            {
                "Date": SERVER_DATE,
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(SERVER_NOW) + 12),
            },
            None,
            12.0,
            id="x-ratelimit-reset-against-date",
        ),
    ],
)
def test_the_wait_the_server_asks_for_is_slept_exactly(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    headers: dict[str, str],
    body_retry_after: object,
    expected: float,
) -> None:
    route = api.post("/projects").mock(
        side_effect=[rate_limited(headers, body_retry_after=body_retry_after), success("POST")]
    )
    assert run(operation("POST")).id == "p"
    assert route.call_count == 2
    assert sleeps == [expected]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Retry-After": "soon"}, id="words"),
        pytest.param({"Retry-After": "-5"}, id="negative"),
        pytest.param({"Retry-After": "0"}, id="zero"),
        pytest.param({"X-RateLimit-RetryAfter": "0"}, id="x-ratelimit-zero"),
        pytest.param(
            {"Date": SERVER_DATE, "Retry-After": http_date(SERVER_NOW - 30)}, id="past-date"
        ),
        pytest.param(
            {"Date": SERVER_DATE, "X-RateLimit-Reset": str(int(SERVER_NOW) - 30)}, id="past-reset"
        ),
    ],
)
def test_unusable_waits_fall_back_to_backoff(
    api: respx.MockRouter, run: Runner, sleeps: list[float], headers: dict[str, str]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited(headers), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


def test_a_junk_body_retry_after_falls_back_to_backoff(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[
            rate_limited(body_retry_after="soon"),
            rate_limited(body_retry_after=-5),
            httpx.Response(200, json=ok(USER)),
        ]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_the_longest_wait_slept_by_default_is_60_s(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "60"}), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 2
    assert sleeps == [60.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Retry-After": "61"}, 61.0, id="retry-after"),
        pytest.param({"X-RateLimit-RetryAfter": "90"}, 90.0, id="x-ratelimit-retryafter"),
        pytest.param(
            {"Date": SERVER_DATE, "X-RateLimit-Reset": str(int(SERVER_NOW) + 3600)},
            3600.0,
            id="x-ratelimit-reset",
        ),
    ],
)
def test_a_wait_above_max_retry_wait_is_raised_at_once(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    headers: dict[str, str],
    expected: float,
) -> None:
    route = api.post("/projects").mock(side_effect=[rate_limited(headers), success("POST")])
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(operation("POST"))
    assert route.call_count == 1
    assert caught.value.retry_after == expected
    assert caught.value.attempts == 1
    assert sleeps == []


@pytest.mark.client_options(max_retry_wait=120)
def test_max_retry_wait_set_on_the_client(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "90"}), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 2
    assert sleeps == [90.0]


def test_max_retry_wait_raised_with_options(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "90"}), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.with_options(max_retry_wait=120).me()).id == "user_1"
    assert route.call_count == 2
    assert sleeps == [90.0]


@pytest.mark.client_options(max_retry_wait=120)
def test_max_retry_wait_lowered_with_options(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "7"}), httpx.Response(200, json=ok(USER))]
    )
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(lambda c: c.with_options(max_retry_wait=5).me())
    assert caught.value.retry_after == 7.0
    assert route.call_count == 1
    assert sleeps == []


# --- 3. the deadline --------------------------------------------------------------------------


def twice_rate_limited(api: respx.MockRouter, wait: str = "8") -> respx.Route:
    return api.get("/me").mock(
        side_effect=[
            rate_limited({"Retry-After": wait, "X-Request-Id": "req_1"}),
            rate_limited({"Retry-After": wait, "X-Request-Id": "req_2"}),
            httpx.Response(200, json=ok(USER)),
        ]
    )


def assert_stopped_at_the_deadline(
    route: respx.Route, sleeps: list[float], caught: pytest.ExceptionInfo[Any]
) -> None:
    assert route.call_count == 2
    assert sleeps == [8.0]
    assert sum(sleeps) < 10
    # The last error, as it was: no wrapping, nothing slept after it.
    assert type(caught.value) is craft_sdk.RateLimitError
    assert caught.value.request_id == "req_2"
    assert caught.value.retry_after == 8.0
    assert caught.value.attempts == 2


@pytest.mark.client_options(deadline=10)
def test_no_sleep_runs_past_the_deadline(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = twice_rate_limited(api)
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(lambda c: c.me())
    assert_stopped_at_the_deadline(route, sleeps, caught)


def test_deadline_set_with_options(api: respx.MockRouter, run: Runner, sleeps: list[float]) -> None:
    route = twice_rate_limited(api)
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(lambda c: c.with_options(deadline=10).me())
    assert_stopped_at_the_deadline(route, sleeps, caught)


@pytest.mark.client_options(deadline=10)
def test_deadline_lifted_with_options(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = twice_rate_limited(api)
    assert run(lambda c: c.with_options(deadline=None).me()).id == "user_1"
    assert route.call_count == 3
    assert sleeps == [8.0, 8.0]


@pytest.mark.client_options(max_retries=10)
def test_the_default_deadline_is_300_s(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=each_request(lambda: rate_limited({"Retry-After": "60"}))
    )
    with pytest.raises(craft_sdk.RateLimitError):
        run(lambda c: c.me())
    # A fifth wait of 60 s would end exactly at 300 s: not taken.
    assert sleeps == [60.0] * 4
    assert route.call_count == 5


@pytest.mark.client_options(deadline=None, max_retries=10)
def test_deadline_none_turns_it_off(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=each_request(lambda: rate_limited({"Retry-After": "60"}))
    )
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(lambda c: c.me())
    assert sleeps == [60.0] * 10
    assert route.call_count == 11
    assert caught.value.attempts == 11


@pytest.mark.client_options(deadline=10)
def test_each_attempts_timeouts_are_cut_to_the_time_left(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "8"}), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert sleeps == [8.0]
    first, second = (call.request.extensions["timeout"] for call in calls_of(route))
    assert first["read"] <= 10
    assert first["write"] <= 10
    assert first["pool"] <= 10
    assert first["connect"] <= 5  # already shorter than the time left: kept
    for limit in second.values():
        assert limit is not None
        assert limit <= 2.0  # 10 s, less the 8 s slept


@pytest.mark.client_options(deadline=None)
def test_without_a_deadline_the_full_timeout_is_used(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    run(lambda c: c.me())
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout["read"] == 60.0
    assert timeout["connect"] == 5.0


@pytest.mark.client_options(deadline=10)
def test_past_the_deadline_before_an_attempt_is_a_timeout(
    api: respx.MockRouter,
    run: Runner,
    clock: FakeClock,
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def oversleep(seconds: float) -> None:
        # A loaded machine can wake a sleeper late: 8 s asked for, 11 s gone.
        FakeClock.sleep(clock, seconds)
        clock.advance(3.0)

    monkeypatch.setattr(clock, "sleep", oversleep)  # FakeClock.asleep goes through it too
    route = api.get("/me").mock(
        side_effect=[rate_limited({"Retry-After": "8"}), httpx.Response(200, json=ok(USER))]
    )
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.me())
    assert route.call_count == 1  # the second attempt was never sent
    assert caught.value.may_have_succeeded is False
    assert "deadline" in str(caught.value)
    assert sleeps == [8.0]


DRIP_SIZE = 4


class DripStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that arrives a few bytes at a time, one FakeClock second apart."""

    def __init__(self, body: bytes, clock: FakeClock, produced: list[bytes]) -> None:
        self._chunks = [body[i : i + DRIP_SIZE] for i in range(0, len(body), DRIP_SIZE)]
        self._clock = clock
        self._produced = produced

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self._clock.advance(1.0)
            self._produced.append(chunk)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self._clock.advance(1.0)
            self._produced.append(chunk)
            yield chunk


@pytest.mark.client_options(deadline=5)
def test_a_body_still_dripping_in_at_the_deadline_is_a_timeout(
    api: respx.MockRouter, run: Runner, clock: FakeClock, sleeps: list[float]
) -> None:
    body = httpx.Response(200, json=ok(USER)).content
    total_chunks = math.ceil(len(body) / DRIP_SIZE)
    assert total_chunks > 10
    produced: list[bytes] = []
    route = api.get("/me").mock(
        side_effect=each_request(
            lambda: httpx.Response(
                200,
                headers={"Content-Type": "application/json"},
                stream=DripStream(body, clock, produced),
            )
        )
    )
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.me())
    assert caught.value.may_have_succeeded is True
    assert route.call_count == 1
    assert sleeps == []
    assert len(produced) < total_chunks  # it stopped reading, not waited for the whole body
    assert len(produced) <= 6


class DripServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that sends its headers (with a Content-Length), then
    the body one byte every `interval` seconds. Bounded: it serves a few connections at most,
    for at most `len(body) * interval` seconds each, and stops when told to."""

    def __init__(self, body: bytes, *, interval: float, max_connections: int = 3) -> None:
        self.body = body
        self.interval = interval
        self.max_connections = max_connections
        self.requests = 0
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def _serve(self) -> None:
        served = 0
        while served < self.max_connections and not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served += 1
            with connection:
                self._drip(connection)

    def _drip(self, connection: socket.socket) -> None:
        connection.settimeout(1.0)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = connection.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.requests += 1
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(self.body)
            )
            for byte in self.body:
                if self._stop.wait(self.interval):
                    return
                connection.sendall(bytes([byte]))
                self.bytes_sent += 1
        except OSError:  # the client hung up: what a client at its deadline does
            return

    def __enter__(self) -> DripServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()


def test_a_slow_drip_over_a_real_socket_ends_at_the_deadline(flavour: str) -> None:
    body = httpx.Response(200, json=ok({**USER, "name": "A" * 40})).content
    assert len(body) * 0.05 > 3  # left alone, the body would take seconds
    with DripServer(body, interval=0.05) as server:

        def call_me() -> None:
            if flavour == "sync":
                with CraftClient(api_key=API_KEY, base_url=server.url, deadline=0.3) as client:
                    client.me()
                return

            async def main() -> None:
                async with AsyncCraftClient(
                    api_key=API_KEY, base_url=server.url, deadline=0.3
                ) as client:
                    await client.me()

            asyncio.run(main())

        started = time.monotonic()
        with pytest.raises(craft_sdk.APITimeoutError) as caught:
            call_me()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert elapsed >= 0.25  # it did wait for the deadline, on the real clock
    assert caught.value.may_have_succeeded is True
    assert server.requests == 1
    assert server.bytes_sent < len(body)


# --- 4. what the error says after retries -----------------------------------------------------


# Each operation's last answer, made fresh for request n (typed, so that the lambdas are).
LAST_ANSWERS: list[tuple[str, Callable[[int], httpx.Response], type[craft_sdk.APIError]]] = [
    ("GET", lambda n: status(503, f"req_{n}"), craft_sdk.InternalServerError),
    ("PUT", lambda n: status(502, f"req_{n}"), craft_sdk.InternalServerError),
    ("DELETE", lambda n: status(504, f"req_{n}"), craft_sdk.InternalServerError),
    (
        "POST",
        lambda n: rate_limited({"Retry-After": "1", "X-Request-Id": f"req_{n}"}),
        craft_sdk.RateLimitError,
    ),
    (
        "PATCH-update",
        lambda n: rate_limited({"Retry-After": "1", "X-Request-Id": f"req_{n}"}),
        craft_sdk.RateLimitError,
    ),
]


@pytest.mark.parametrize(("name", "make", "expected"), LAST_ANSWERS)
def test_the_error_after_retries_is_the_last_answer_with_its_request_id(
    api: respx.MockRouter,
    run: Runner,
    name: str,
    make: Callable[[int], httpx.Response],
    expected: type[craft_sdk.APIError],
) -> None:
    route = route_for(api, name, [make(n) for n in range(1, 5)])
    with pytest.raises(craft_sdk.APIError) as caught:
        run(operation(name))
    assert type(caught.value) is expected
    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert caught.value.request_id == "req_4"
    assert "req_4" in str(caught.value)


def test_the_error_after_mixed_failures_is_the_last_one(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            status(500, "req_2"),
            httpx.ReadTimeout("slow"),
            status(502, "req_4"),
        ]
    )
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.me())
    assert route.call_count == 4
    assert caught.value.status_code == 502
    assert caught.value.request_id == "req_4"
    assert caught.value.attempts == 4


# --- 5. retries are logged ----------------------------------------------------------------------


def test_each_retry_is_one_info_line_without_a_traceback(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="craft_sdk")
    route = api.get("/projects/p").mock(
        side_effect=[
            status(503),
            httpx.ReadTimeout("slow"),
            rate_limited({"Retry-After": "2"}),
            httpx.Response(200, json=ok(RESOURCE)),
        ]
    )
    assert run(operation("GET")).id == "p"
    assert route.call_count == 4
    retries = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert len(retries) == 3 == len(sleeps)
    reasons = ["status 503", "APITimeoutError", "status 429"]
    for number, (record, wait, reason) in enumerate(
        zip(retries, sleeps, reasons, strict=True), start=2
    ):
        message = record.getMessage()
        assert record.name == "craft_sdk"
        assert record.levelno == logging.INFO
        assert record.exc_info is None
        assert record.exc_text is None
        assert "\n" not in message
        assert "GET" in message
        assert "/projects/p" in message
        assert f"attempt {number}" in message
        assert f"{wait:.2f} s" in message
        assert reason in message
    assert sleeps[2] == 2.0


def test_a_call_that_is_not_retried_logs_no_retry(
    api: respx.MockRouter, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="craft_sdk")
    api.post("/projects").respond(500, json=failure("INTERNAL_ERROR"))
    with pytest.raises(craft_sdk.InternalServerError):
        run(operation("POST"))
    assert [r for r in caplog.records if r.getMessage().startswith("Retrying")] == []
    assert any("POST /v1/projects -> 500" in r.getMessage() for r in caplog.records)
