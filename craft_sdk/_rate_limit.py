"""The API's rate limit as last seen, and the gate that keeps a client from spending past it.

Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
seconds when the window resets) and `X-RateLimit-RetryAfter` (see craft-api.md, "Rate limits"; the
last is read with the other wait hints in _retry.py). When the last answer said nothing remains
and the reset lies ahead, the next request waits for the reset instead of collecting a 429.

The rules (`admit`, `observe`, `pace`) are written once, as pure arithmetic on a `Window`. Two
stores apply them: `RateLimitGate`, the budget of one process, which serves a client and every
`with_options` copy of it across all threads (sync) or tasks (async) under a `threading.Lock` held
only for a few arithmetic steps, never across a sleep or an `await`; and craft_sdk.redis, the
budget of every process that shares a Redis, where a Lua script applies them atomically.
"""

from __future__ import annotations

import abc
import dataclasses
import email.utils
import functools
import math
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Final, NamedTuple, Protocol

from ._clock import SYSTEM_CLOCK, Clock, Deadline
from ._errors import RateLimitError
from ._types import public

# How often a request that found the budget spent by requests still in flight looks again: their
# answers will tell the new window's budget.
IN_FLIGHT_POLL: Final = 0.05
# Spread the requests that waited for a reset over this many seconds after it, so that they do
# not all arrive in the same instant.
RESET_JITTER: Final = 0.25
# How long a request waits for the answers to requests in flight before it goes without them.
ANSWERS_PATIENCE: Final = 0.5


@public
@dataclasses.dataclass(frozen=True)
class RateLimit:
    """The rate limit as the API last reported it (`client.rate_limit`)."""

    limit: int | None
    """Requests allowed in the current window."""
    remaining: int | None
    """Requests left in the current window."""
    reset_at: datetime | None
    """When the window resets (UTC)."""


def read_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """The rate limit an answer reports, or None when it reports none."""
    seen = Observation.read(headers)
    return None if seen is None else seen.rate_limit


def reset_epoch(value: str | None, *, server_now: float | None) -> float | None:
    """`X-RateLimit-Reset` as Unix seconds.

    The API documents Unix seconds; a value too large for that is read as milliseconds, and one
    too small to be a date (under 10**9, before 2001) as seconds from now, since servers differ.
    """
    number = _number(value)
    if number is None or number < 0:
        return None
    if number >= 1e12:
        return number / 1000
    if number < 1e9:
        return None if server_now is None else server_now + number
    return number


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock, from its `Date` header, or None."""
    value = headers.get("date")
    return http_date_epoch(value) if value else None


@functools.lru_cache(maxsize=16)
def http_date_epoch(value: str) -> float | None:
    """An HTTP date (RFC 9110 section 5.6.7, any of its three forms) as Unix seconds, or None.

    Cached: a server's Date changes once a second, and parsing it costs more than the rest of
    reading the rate-limit headers together."""
    try:
        date = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date.tzinfo is None:  # the asctime form: GMT, though unmarked
        date = date.replace(tzinfo=timezone.utc)
    return date.timestamp()


def seconds_until_reset(headers: Mapping[str, str], *, local_now: float) -> float | None:
    """Seconds until `X-RateLimit-Reset`, measured on the server's own clock (its `Date`) when it
    sent one, so that a client clock that is off does not matter; None if unknown or past."""
    seen = Observation.read(headers)
    return None if seen is None else seen.wait(local_now)


class Window(NamedTuple):
    """What a store keeps about one key's budget: the state the rules below act on.

    The in-process gate keeps one in memory; the Redis store keeps the same fields in a hash, and
    its Lua script (craft_sdk/_rate_limit.lua) applies these rules to them. The shared test
    vectors in tests/test_rate_limit_rules.py hold both to the same answers.
    """

    known: bool = False
    """An answer has been taken in. Until then requests go one at a time: the first answer tells
    the budget, and a fleet starting together must not spend more than it before it is known."""
    limit: int | None = None
    remaining: int | None = None
    """What the answers of the current window said was left (the lowest, since they arrive out of
    order), or the whole limit once the window's reset has passed."""
    reset: float | None = None
    """The window's reset as the API wrote it (Unix seconds): which window this is."""
    reset_at: float | None = None
    """The same instant on the store's own clock (monotonic in process; Redis's `TIME`)."""

    @property
    def rate_limit(self) -> RateLimit | None:
        if self.limit is None and self.remaining is None and self.reset is None:
            return None
        return _rate_limit(self.limit, self.remaining, self.reset)


class Observation(NamedTuple):
    """What one answer says about the limit (read outside any lock or script)."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """The window's reset, Unix seconds."""
    server_now: float | None
    """The server's clock when it answered (its `Date`), to measure the reset against."""
    spent_for: float | None
    """A 429 that says the key's budget is spent: the wait it asked for, in seconds."""

    @classmethod
    def read(cls, headers: Mapping[str, str], status: int | None = None) -> Observation | None:
        picked = _pick(headers)
        limit = picked.get("x-ratelimit-limit")
        remaining = picked.get("x-ratelimit-remaining")
        reset_value = picked.get("x-ratelimit-reset")
        refused = status == 429
        if limit is None and remaining is None and reset_value is None and not refused:
            return None  # the common case for an API without limits: nothing to parse
        server_now = server_time(picked)
        seen = cls(
            limit=_whole(limit),
            remaining=_whole(remaining),
            reset=reset_epoch(reset_value, server_now=server_now),
            server_now=server_now,
            spent_for=None,
        )
        if refused and (seen.remaining is None or seen.remaining <= 0):
            # Only a 429 for the key's budget holds back every request; one that reports budget
            # left refused this endpoint alone (craft-api.md: per-endpoint limits), and the
            # retry of that one request waits for it.
            seen = seen._replace(spent_for=requested_wait(picked, now=server_now))
        if seen == _NOTHING_SEEN:
            return None
        return seen

    @property
    def rate_limit(self) -> RateLimit:
        return _rate_limit(self.limit, self.remaining, self.reset)

    def wait(self, wall_now: float) -> float | None:
        """Seconds from now to the reset, measured on the server's clock when it sent its `Date`
        (so that a store clock that is off does not matter); None if unknown or past."""
        if self.reset is None:
            return None
        wait = self.reset - (wall_now if self.server_now is None else self.server_now)
        return wait if wait > 0 else None


_NOTHING_SEEN: Final = Observation(None, None, None, None, None)


def _rate_limit(limit: int | None, remaining: int | None, reset: float | None) -> RateLimit:
    reset_at = None if reset is None else datetime.fromtimestamp(reset, timezone.utc)
    return RateLimit(limit=limit, remaining=remaining, reset_at=reset_at)


# The rules. Each store applies them under its own atomicity: a lock in process, a Lua script in
# Redis (a line-by-line translation of these two functions).


def admit(
    window: Window,
    in_flight: int,
    now: float,
    *,
    insist: bool = False,
    first_lease_ends: float | None = None,
) -> tuple[Window, float | None]:
    """May a request go now, with `in_flight` others sent and not yet answered?

    Returns the window (with the budget back if its reset has passed) and None when the request
    may go, which the store then counts in flight; otherwise 0.0 when the budget is held by
    requests in flight, whose answers will tell more, or the seconds until the reset.

    `insist`: the request has waited `ANSWERS_PATIENCE` for those answers already, and goes
    without them. An answer can depend on another request of the same program (a webhook
    handler of the emulator calling the API, an httpx event hook): waiting for it forever
    would be a deadlock. A wait for the reset is never cut short by it.

    `first_lease_ends`: in a shared store, when the first lease in flight expires. A process
    killed mid-request leaves its leases behind until then, so a wait for the reset while the
    budget is held by requests in flight ends then at the latest, to count again.
    """
    window, verdict = _admit(window, in_flight, now)
    if verdict and in_flight and first_lease_ends is not None:
        verdict = min(verdict, max(first_lease_ends - now, 0.0))
    if verdict == 0.0 and insist:
        return window, None
    return window, verdict


def _admit(window: Window, in_flight: int, now: float) -> tuple[Window, float | None]:
    if not window.known:
        return window, None if in_flight == 0 else 0.0
    if window.reset_at is not None and now >= window.reset_at:
        # The window has reset: assume its whole budget is back until an answer says.
        window = window._replace(remaining=window.limit, reset_at=None)
    if window.remaining is None or window.remaining > in_flight:
        return window, None
    if window.reset_at is None:
        # Spent with no reset known: the answers in flight will say; with none in flight only
        # the API can, so one request goes.
        return window, None if in_flight == 0 else 0.0
    return window, window.reset_at - now


def observe(window: Window, seen: Observation | None, now: float, wall_now: float) -> Window:
    """Take in what an answer said (`seen` is None for an answer that said nothing of the limit).

    `now` is the store's clock, on which `reset_at` is kept; `wall_now` is Unix time on the same
    store's clock, used only when the answer had no `Date`.
    """
    if seen is None:
        return window._replace(known=True)
    reset = seen.reset
    if reset is not None and window.reset is not None and reset < window.reset:
        return window  # a late answer from a window that is already over
    remaining = window.remaining
    if seen.remaining is not None:
        remaining = max(seen.remaining, 0)  # negative means spent
        # Answers arrive out of order, so within one window the lowest count stands. A window
        # is its reset and its limit: an endpoint's own limit (10 a minute where the key has
        # 60) is another window, even with the same reset, and its answer replaces the key's.
        same_window = reset == window.reset and seen.limit in (None, window.limit)
        if reset is not None and same_window and window.remaining is not None:
            remaining = min(window.remaining, remaining)
    wait = seen.wait(wall_now)
    reset_at = None if wait is None else now + wait
    if seen.spent_for is not None:
        remaining = 0
        refused_until = now + seen.spent_for
        reset_at = refused_until if reset_at is None else max(reset_at, refused_until)
    return Window(
        known=True,
        limit=window.limit if seen.limit is None else seen.limit,
        remaining=remaining,
        reset=reset,
        reset_at=reset_at,
    )


class Wait(NamedTuple):
    """How long a request that the budget held back sleeps before it asks again."""

    seconds: float
    for_answers: bool = False
    """It waits for the answers to requests in flight, not for a time: slept on the real clock
    even when the client's clock is a fake one (those answers arrive in real time, and a fake
    clock's sleep would return at once and spin)."""


POLL: Final = Wait(IN_FLIGHT_POLL, for_answers=True)


class Admission:
    """One request's turn at the gate, which both clients' `_admit` loops share: what it asks
    the gate with, and which clock each of its waits is slept on.

    Args:
        max_wait: The longest wait for the reset the request takes (`max_retry_wait`).
        deadline: The call's deadline, which no wait for the reset may pass; None for none.
        clock: The client's clock, which a wait for the reset is slept on.
        waited_for_answers: Seconds the request has already waited for the answers of
            requests in flight (the tests' vectors set it; a request starts at 0).
    """

    __slots__ = ("_clock", "_deadline", "_waited_for_answers", "max_wait")

    def __init__(
        self,
        *,
        max_wait: float,
        deadline: Deadline | None = None,
        clock: Clock = SYSTEM_CLOCK,
        waited_for_answers: float = 0.0,
    ) -> None:
        self.max_wait: float = max_wait
        self._deadline = deadline
        self._clock = clock
        self._waited_for_answers = waited_for_answers

    def deadline_left(self) -> float | None:
        """Seconds left before the call's deadline, or None when it has none."""
        return None if self._deadline is None else self._deadline.remaining()

    @property
    def insist(self) -> bool:
        """Whether the request has waited `ANSWERS_PATIENCE` for answers (see `admit`)."""
        return self._waited_for_answers >= ANSWERS_PATIENCE

    def sleeper(self, wait: Wait) -> Clock:
        """The clock to sleep `wait` on: the real one for a wait for answers, which arrive in
        real time whatever the client's clock (and which counts toward `insist`); the client's
        for a wait for the reset."""
        if wait.for_answers:
            self._waited_for_answers += wait.seconds
            return SYSTEM_CLOCK
        return self._clock


def pace(until_reset: float, admission: Admission, *, jitter: float) -> Wait:
    """How long a request that `admit` held back sleeps before asking again.

    Raises `RateLimitError` (nothing sent) when the reset is further off than the admission's
    `max_wait` or than the time left before the call's deadline.
    """
    if until_reset == 0.0:
        return POLL
    max_wait, deadline_left = admission.max_wait, admission.deadline_left()
    if until_reset > max_wait or (deadline_left is not None and until_reset > deadline_left):
        raise RateLimitError(
            f"The rate limit is used up for {until_reset:.1f} s more; the request was not "
            f"sent (waits longer than {max_wait:g} s, or past the call's deadline, are not "
            "taken).",
            status_code=429,
            code="RATE_LIMIT_EXCEEDED",
            retry_after=until_reset,
        )
    # The jitter comes on top, and may overrun the limits above by a fraction of a second.
    return Wait(until_reset + jitter * RESET_JITTER)


class Lease:
    """A request's place in the budget, from `acquire` until `release` gives it back: in
    process, this one; a shared store's say where they are kept (craft_sdk.redis)."""

    __slots__ = ()


IN_PROCESS: Final = Lease()


class Gate(Protocol):
    """What a client asks before each request and tells after it: the in-process gate below, or
    one that keeps the budget in a shared store (craft_sdk.redis)."""

    @property
    def last(self) -> RateLimit | None: ...

    def acquire(self, admission: Admission) -> Lease | Wait:
        """A lease when the request may go, else how long to sleep before asking again."""
        ...

    async def aacquire(self, admission: Admission) -> Lease | Wait: ...

    def release(self, lease: Lease, headers: Mapping[str, str] | None, status: int | None) -> None:
        """Give the lease back, taking in what the answer (if any) said about the limit."""
        ...

    async def arelease(
        self, lease: Lease, headers: Mapping[str, str] | None, status: int | None
    ) -> None: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


@public
class RateLimitStore(abc.ABC):
    """Where clients keep the rate-limit budget when several processes share one key.

    Pass one as `rate_limit_store=` to `CraftClient` or `AsyncCraftClient`; the SDK provides
    `craft_sdk.redis.RedisRateLimitStore` (the `[redis]` extra).
    """

    @abc.abstractmethod
    def gate_for(
        self,
        *,
        api_key: Callable[[], str],
        base_url: str,
        fallback: RateLimitGate,
        asynchronous: bool,
    ) -> Gate:
        """The gate of one client (and its `with_options` copies) on this store; the clients
        call it, you need not.

        Args:
            api_key: Reveals the client's key (it may change, if the client was given a
                function); the store names the budget by a digest of it and `base_url`.
            base_url: The client's base URL.
            fallback: The client's own in-process gate, for whenever the store cannot answer.
            asynchronous: Whether the gate serves `AsyncCraftClient`.

        Returns:
            The gate the client asks before each request and tells after it.
        """


class RateLimitGate:
    """The budget of one process: shared by a client, its `with_options` copies, and every
    thread or task that uses them."""

    def __init__(self, clock: Clock, rng: Callable[[], float] = random.random) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rng = rng
        self._window = Window()
        self._in_flight = 0

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def last(self) -> RateLimit | None:
        """The rate limit as the answers last reported it (one from a window already over is
        ignored), or None before any answer reported one."""
        return self._window.rate_limit

    def jitter(self) -> float:
        """A fraction in [0, 1) of `RESET_JITTER` to add to a wait for the reset."""
        return self._rng()

    def acquire(self, admission: Admission) -> Lease | Wait:
        now = self._clock.monotonic()
        with self._lock:
            self._window, until_reset = admit(
                self._window, self._in_flight, now, insist=admission.insist
            )
            if until_reset is None:
                self._in_flight += 1
                return IN_PROCESS
        return pace(until_reset, admission, jitter=self.jitter())

    async def aacquire(self, admission: Admission) -> Lease | Wait:
        return self.acquire(admission)

    def release(self, lease: Lease, headers: Mapping[str, str] | None, status: int | None) -> None:
        seen = None if headers is None else Observation.read(headers, status)
        now, wall_now = self._clock.monotonic(), self._clock.time()
        # The place goes back under the same lock as its answer's count comes in: a place given
        # back before its count would let another request spend the same unit twice.
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if headers is not None:
                self._window = observe(self._window, seen, now, wall_now)

    async def arelease(
        self, lease: Lease, headers: Mapping[str, str] | None, status: int | None
    ) -> None:
        self.release(lease, headers, status)

    def take_in(self, seen: Observation | None) -> None:
        """Learn from an answer to a request this gate did not admit (see craft_sdk.redis)."""
        now, wall_now = self._clock.monotonic(), self._clock.time()
        with self._lock:
            self._window = observe(self._window, seen, now, wall_now)

    def close(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


RATE_LIMIT_HEADERS: Final = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-retryafter",
    "retry-after",
    "date",
)
"""The headers this module reads: the limit's, a 429's wait, and the `Date` they are measured
against."""


def requested_wait(headers: Mapping[str, str], *, now: float | None) -> float | None:
    """The longest wait the headers ask for explicitly: `Retry-After` (seconds, or an HTTP date
    measured against `now`, which is the server's `Date` when it sent one) and
    `X-RateLimit-RetryAfter` (seconds). None when they ask for none usable."""
    retry_after = headers.get("retry-after")
    waits = [
        None if retry_after is None else _seconds_or_http_date(retry_after, now=now),
        seconds(headers.get("x-ratelimit-retryafter")),
    ]
    usable = [wait for wait in waits if wait is not None]
    return max(usable) if usable else None


def seconds(value: object) -> float | None:
    """A positive, finite number of seconds, or None (junk, zero, negative)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _seconds_or_http_date(value: str, *, now: float | None) -> float | None:
    number = seconds(value.strip())
    if number is not None or now is None:
        return number
    date = http_date_epoch(value)
    return None if date is None else seconds(date - now)


def _pick(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers this module reads, under lower-case names. (On the request path `headers`
    is already the few that `_transport.read_head` picked out in one pass.)"""
    return {
        name.lower(): value for name, value in headers.items() if name.lower() in RATE_LIMIT_HEADERS
    }


def _number(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    if (
        value.isascii() and value.isdigit()
    ):  # the usual form, read without the checks below: this runs per answer
        return float(value)
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _whole(value: object) -> int | None:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    number = _number(value)
    return None if number is None else int(number)
