"""The rate-limit rules as vectors, run against both stores that apply them: the in-process gate
(`RateLimitGate` on a FakeClock) and the Redis store's Lua script (on a real redis-server, its
clock replaced by the vector's times). A rule that one store applies differently fails here.

A vector is a sequence of steps at given seconds from T: a request asks to go (and is expected to
go, to ask again shortly, or to wait a given time for the reset), an answer to an earlier request
arrives (or the request ends with none), or the rate limit the store reports is checked.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
from collections.abc import Iterator
from typing import Protocol, cast

import pytest
import redis

from craft_sdk import RateLimit
from craft_sdk._rate_limit import (
    ANSWERS_PATIENCE,
    Admission,
    Lease,
    Observation,
    RateLimitGate,
    Window,
    admit,
)
from craft_sdk.redis import _SCRIPT, admit_args, release_args
from craft_sdk.testing import FakeClock

T = 1_700_000_000.0
GO = "go"
POLL = "poll"  # the budget is held by requests in flight: ask again shortly
LEASE_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class Admit:
    """A request asks to go at `at`; `expect` is GO, POLL or the seconds until the reset.
    `insist`: it has waited long enough for the answers of requests in flight."""

    at: float
    expect: str | float
    insist: bool = False
    in_redis: str | float | None = None
    """What the Redis store answers instead, where its leases expire (LEASE_SECONDS after they
    were taken) and the in-process gate's places, which end with their process, do not."""


@dataclasses.dataclass(frozen=True)
class Answer:
    """The answer to the `request`-th request that went (from 0) arrives at `at`.

    `date` is the server's clock (its `Date`, seconds from T; None: no Date). `headers=False`:
    the request ended with no answer at all.
    """

    at: float
    request: int
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    date: float | None = 0.0
    status: int = 200
    retry_after: int | None = None
    headers: bool = True

    def header_map(self) -> dict[str, str] | None:
        if not self.headers:
            return None
        found = {
            "x-ratelimit-limit": self.limit,
            "x-ratelimit-remaining": self.remaining,
            "x-ratelimit-reset": None if self.reset is None else int(T + self.reset),
            "retry-after": self.retry_after,
        }
        headers = {name: str(value) for name, value in found.items() if value is not None}
        if self.date is not None:
            headers["date"] = email.utils.formatdate(T + self.date, usegmt=True)
        return headers


@dataclasses.dataclass(frozen=True)
class Reports:
    """The store reports this rate limit (`client.rate_limit`); `reset` in seconds from T."""

    limit: int | None
    remaining: int | None
    reset: float | None

    def rate_limit(self) -> RateLimit | None:
        if self.limit is None and self.remaining is None and self.reset is None:
            return None
        window = Window(
            True, self.limit, self.remaining, None if self.reset is None else T + self.reset
        )
        return window.rate_limit


Step = Admit | Answer | Reports

VECTORS: dict[str, list[Step]] = {
    "before any answer, one request goes at a time": [
        Admit(0, GO),
        Admit(0, POLL),
        Answer(0.1, 0),  # an answer that says nothing of a limit: the API has none
        Admit(0.1, GO),
        Admit(0.1, GO),
        Admit(0.1, GO),
        Reports(None, None, None),
    ],
    "a request that has waited long enough for answers goes without them": [
        Admit(0, GO),  # its answer depends on the next request (a webhook handler's call)
        Admit(0, POLL),
        Admit(0.5, GO, insist=True),
        Admit(0.5, POLL),
        Answer(0.6, 1, limit=5, remaining=0, reset=-1),
        Admit(0.6, POLL),  # spent, no reset known, one still in flight
        Admit(1.1, GO, insist=True),
    ],
    "insisting never cuts a wait for the reset short": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=10),
        Admit(0, 10.0, insist=True),
    ],
    "leases left by a killed process hold the budget until they expire, not to the reset": [
        Admit(0, GO),
        Answer(0, 0, limit=2, remaining=2, reset=100),
        Admit(0, GO),
        Admit(0, GO),  # these two never end: their process was killed
        Admit(10, 90.0, in_redis=20.0),
        Admit(30.5, 69.5, in_redis=GO),
    ],
    "a request that ends with no answer leaves the budget unknown": [
        Admit(0, GO),
        Answer(1, 0, headers=False),
        Admit(1, GO),
        Admit(1, POLL),
    ],
    "a spent budget waits until the reset, then is whole again": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=10),
        Reports(5, 0, 10),
        Admit(4, 6.0),
        Admit(10, GO),
        Reports(5, 5, 10),
    ],
    "requests in flight count against the budget": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=2, reset=10),
        Admit(0, GO),
        Admit(0, GO),
        Admit(0, 10.0),
        Answer(0, 1, headers=False),
        Admit(0, GO),
    ],
    "after the reset, the budget waits for the answers in flight": [
        Admit(0, GO),
        Answer(0, 0, limit=2, remaining=0, reset=10),
        Admit(11, GO),
        Admit(11, GO),
        Admit(11, POLL),
        # One left, and one still in flight that may take it: wait for the reset (9 s after the
        # answer's Date, which is a whole second).
        Answer(11.2, 1, limit=2, remaining=1, reset=20, date=11),
        Admit(11.2, 9.0),
        Answer(11.3, 2, limit=2, remaining=0, reset=20, date=11),
        Admit(11.3, 9.0),
        Admit(20.3, GO),
    ],
    "answers out of order never refill the budget within a window": [
        Admit(0, GO),
        Admit(0, POLL),
        Answer(0, 0, limit=5, remaining=3, reset=10),
        Answer(0, 0, limit=5, remaining=4, reset=10),  # sent earlier, arrived later
        Reports(5, 3, 10),
        Answer(0, 0, limit=5, remaining=5, reset=-50),  # from a window long over
        Reports(5, 3, 10),
        Admit(0, GO),
        Admit(0, GO),
        Admit(0, GO),
        Admit(0, 10.0),
    ],
    "an endpoint's own window, of the same reset, replaces the key's rather than shrinking it": [
        Admit(0, GO),
        Answer(0, 0, limit=60, remaining=50, reset=60),
        Admit(0, GO),
        Admit(0, GO),
        Answer(0, 1, limit=10, remaining=2, reset=60),  # POST /projects: 10 a minute binds
        Reports(10, 2, 60),
        Answer(0, 2, limit=60, remaining=48, reset=60),  # the key's minute again
        Reports(60, 48, 60),
        Answer(0, 2, limit=60, remaining=49, reset=60),  # and, within it, the lowest stands
        Reports(60, 48, 60),
    ],
    "a reset that moves forward starts a new window": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=10),
        Answer(0, 0, limit=5, remaining=4, reset=20, date=9),  # the server reset early
        Reports(5, 4, 20),
        Admit(0, GO),
    ],
    "a negative remaining means spent": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=-3, reset=10),
        Reports(5, 0, 10),
        Admit(0, 10.0),
    ],
    "the reset is measured on the server's clock, whatever the store's says": [
        Admit(0, GO),
        # The server's clock is 5 minutes ahead of the store's: the reset is 10 s after its Date.
        Answer(0, 0, limit=5, remaining=0, reset=310, date=300),
        Admit(0, 10.0),
        Admit(10, GO),
    ],
    "without a Date, the reset is measured on the store's clock": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=10, date=None),
        Admit(2, 8.0),
    ],
    "a reset already past, spent: one request goes to learn more": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=-1),
        Admit(0, GO),
        Admit(0, POLL),
    ],
    "a 429 for the key holds every request for its wait": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=0, reset=10, status=429, retry_after=30),
        Admit(0, 30.0),
        Admit(20, 10.0),
        Admit(30, GO),
    ],
    "a 429 with only a Retry-After is for the key": [
        Admit(0, GO),
        Answer(0, 0, status=429, retry_after=20),
        Admit(5, 15.0),
    ],
    "a 429 that leaves budget is the endpoint's, not the key's": [
        Admit(0, GO),
        Answer(0, 0, limit=100, remaining=50, reset=60, status=429, retry_after=40),
        Admit(0, GO),
    ],
    "an answer without a limit keeps what was known": [
        Admit(0, GO),
        Answer(0, 0, limit=5, remaining=1, reset=10),
        Admit(0, GO),
        Answer(0, 1),  # e.g. an error page from a proxy on the way
        Reports(5, 1, 10),
        Admit(0, GO),
        Admit(0, 10.0),
    ],
}


class Store(Protocol):
    leases_expire: bool

    def admit(self, at: float, *, insist: bool) -> str | float: ...

    def answer(self, step: Answer) -> None: ...

    def reports(self) -> RateLimit | None: ...


class InProcess:
    """The in-process gate on a FakeClock, with no jitter."""

    leases_expire = False

    def __init__(self) -> None:
        self.clock = FakeClock(T)
        self.gate = RateLimitGate(self.clock, rng=lambda: 0.0)
        self.leases: list[Lease] = []

    def _at(self, at: float) -> None:
        self.clock.advance(T + at - self.clock.monotonic())

    def admit(self, at: float, *, insist: bool) -> str | float:
        self._at(at)
        waited = ANSWERS_PATIENCE if insist else 0.0
        verdict = self.gate.acquire(Admission(max_wait=math.inf, waited_for_answers=waited))
        if isinstance(verdict, Lease):
            self.leases.append(verdict)
            return GO
        return POLL if verdict.for_answers else verdict.seconds

    def answer(self, step: Answer) -> None:
        self._at(step.at)
        self.gate.release(self.leases[step.request], step.header_map(), step.status)

    def reports(self) -> RateLimit | None:
        return self.gate.last


class InRedis:
    """The Lua script on a real Redis, called as the store calls it, with the vector's times."""

    leases_expire = True

    def __init__(self, client: redis.Redis) -> None:
        self.script = client.register_script(_SCRIPT)
        self.keys = ["test:{budget}", "test:{budget}:leases"]
        self.leases: list[str] = []
        self.window = Window()

    def _run(self, args: list[str]) -> str:
        reply = cast(list[bytes], self.script(self.keys, args))
        verdict, limit, remaining, reset = (part.decode() for part in reply)
        self.window = Window(
            known=True,
            limit=int(limit) if limit else None,
            remaining=int(remaining) if remaining else None,
            reset=float(reset) if reset else None,
        )
        return verdict

    def admit(self, at: float, *, insist: bool) -> str | float:
        lease = f"lease-{len(self.leases)}"
        verdict = self._run(admit_args(lease, LEASE_SECONDS, insist=insist, now=T + at))
        if verdict == GO:
            self.leases.append(lease)
            return GO
        return POLL if verdict == "0" else float(verdict)

    def answer(self, step: Answer) -> None:
        lease = self.leases[step.request]
        headers = step.header_map()
        seen = None if headers is None else Observation.read(headers, step.status)
        answered = headers is not None
        self._run(release_args(lease, LEASE_SECONDS, seen, answered=answered, now=T + step.at))

    def reports(self) -> RateLimit | None:
        return self.window.rate_limit


@pytest.fixture(params=["in process", "in Redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "in process":
        yield InProcess()
        return
    url: str = request.getfixturevalue("redis_url")
    with redis.Redis.from_url(url) as client:  # pyright: ignore[reportUnknownMemberType]
        yield InRedis(client)


@pytest.mark.parametrize("name", list(VECTORS))
def test_vector(name: str, store: Store) -> None:
    for number, step in enumerate(VECTORS[name]):
        where = f"step {number}: {step}"
        if isinstance(step, Admit):
            verdict = store.admit(step.at, insist=step.insist)
            expect = step.expect
            if store.leases_expire and step.in_redis is not None:
                expect = step.in_redis
            if isinstance(expect, float):
                assert verdict == pytest.approx(expect), where
            else:
                assert verdict == expect, where
        elif isinstance(step, Answer):
            store.answer(step)
        else:
            assert store.reports() == step.rate_limit(), where


def test_admit_ends_a_wait_when_the_first_lease_expires() -> None:
    """The rule the Redis store applies for leases that outlive their process (the vector above
    holds the script to it); the in-process gate has no such leases, and does not pass it."""
    held = Window(known=True, limit=2, remaining=2, reset=T + 100, reset_at=100.0)
    assert admit(held, 2, 10.0, first_lease_ends=30.0)[1] == 20.0
    assert admit(held, 2, 10.0)[1] == 90.0
    assert admit(held, 2, 40.0, first_lease_ends=40.0, insist=True)[1] is None
