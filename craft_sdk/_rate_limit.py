"""The API's rate limit as last seen, and the gate that keeps a client from spending past it.

Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
seconds when the window resets) and `X-RateLimit-RetryAfter` (see craft-api.md, "Rate limits"; the
last is read with the other wait hints in _retry.py). When the last answer said nothing remains
and the reset lies ahead, the next request waits for the reset instead of collecting a 429.

One `RateLimitGate` serves a client and every `with_options` copy of it, across all threads (sync)
or all tasks (async). Its lock is a `threading.Lock` held only for a few arithmetic steps, never
across a sleep or an `await`, so it is safe for both.
"""

from __future__ import annotations

import dataclasses
import email.utils
import functools
import math
import random
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Final, NamedTuple

from ._errors import RateLimitError
from ._types import public

# How often a request that found the budget spent by requests still in flight looks again: their
# answers will tell the new window's budget.
IN_FLIGHT_POLL: Final = 0.05
# Spread the requests that waited for a reset over this many seconds after it, so that they do
# not all arrive in the same instant.
RESET_JITTER: Final = 0.25


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
    seen = _Observation.read(headers, local_now=0.0)
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
    seen = _Observation.read(headers, local_now=local_now)
    return None if seen is None else seen.wait


class RateLimitGate:
    """Counts what the API says is left, and what this client has in flight against it."""

    def __init__(self, rng: Callable[[], float] = random.random) -> None:
        self._lock = threading.Lock()
        self._rng = rng
        self._last: _Observation | None = None
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset: float | None = None  # the window's reset, as the API wrote it
        self._reset_mono: float | None = None  # the same instant on our monotonic clock
        self._in_flight = 0

    @property
    def last(self) -> RateLimit | None:
        """The rate limit as the answers last reported it (one from a window already over is
        ignored), or None before any answer reported one."""
        # Built when asked for, not for every answer.
        seen = self._last
        return None if seen is None else seen.rate_limit

    def acquire(self, now: float, *, max_wait: float, deadline_left: float | None) -> float:
        """Claim a request slot and return 0, or return how long to wait before asking again.

        Raises `RateLimitError` (nothing sent) when the wait is longer than `max_wait` or than
        the time left before the call's deadline.
        """
        with self._lock:
            if self._remaining is None:  # nothing known: go, and learn from the answer
                self._in_flight += 1
                return 0.0
            if self._reset_mono is not None and now >= self._reset_mono:
                # The window has reset: assume its whole budget is back until an answer says.
                self._remaining = self._limit
                self._reset_mono = None
            budget_left = self._remaining is None or self._remaining - self._in_flight > 0
            if budget_left or (self._reset_mono is None and self._in_flight == 0):
                # Within budget; or spent with no reset time known and nothing in flight to
                # learn it from, so only the API can say.
                self._in_flight += 1
                return 0.0
            if self._reset_mono is None:
                return IN_FLIGHT_POLL
            until_reset = self._reset_mono - now
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
        return until_reset + self._rng() * RESET_JITTER

    def release(
        self, headers: Mapping[str, str] | None, *, local_now: float, mono_now: float
    ) -> None:
        """Give back the slot `acquire` claimed, taking in what the answer (if any) said.

        Both happen under one lock: a slot given back before its answer's count is taken in
        would let another request spend the same unit of budget twice.
        """
        seen = None if headers is None else _Observation.read(headers, local_now=local_now)
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if seen is not None:
                self._take_in(seen, mono_now=mono_now)

    def _take_in(self, seen: _Observation, *, mono_now: float) -> None:
        reset = seen.reset
        if reset is not None and self._reset is not None and reset < self._reset:
            return  # a late answer from a window that is already over
        same_window = reset is not None and reset == self._reset
        self._last = seen
        if seen.limit is not None:
            self._limit = seen.limit
        remaining = seen.remaining
        if remaining is not None:
            remaining = max(remaining, 0)  # negative means spent
            # Answers can arrive out of order: within one window, the lowest count is news.
            if same_window and self._remaining is not None:
                remaining = min(self._remaining, remaining)
            self._remaining = remaining
        self._reset = reset
        self._reset_mono = None if seen.wait is None else mono_now + seen.wait


class _Observation(NamedTuple):
    """What one answer says about the limit, read outside the lock."""

    limit: int | None
    remaining: int | None
    reset: float | None
    """The window's reset, Unix seconds."""
    wait: float | None
    """Seconds from the answer to the reset, on the server's clock when it sent a Date."""

    @property
    def rate_limit(self) -> RateLimit:
        reset_at = None if self.reset is None else datetime.fromtimestamp(self.reset, timezone.utc)
        return RateLimit(limit=self.limit, remaining=self.remaining, reset_at=reset_at)

    @classmethod
    def read(cls, headers: Mapping[str, str], *, local_now: float) -> _Observation | None:
        picked = _pick(headers)
        limit = picked.get("x-ratelimit-limit")
        remaining = picked.get("x-ratelimit-remaining")
        reset_value = picked.get("x-ratelimit-reset")
        if limit is None and remaining is None and reset_value is None:
            return None  # the common case for an API without limits: nothing to parse
        server_now = server_time(picked)
        reset = reset_epoch(reset_value, server_now=server_now)
        wait = None
        if reset is not None:
            wait = reset - (local_now if server_now is None else server_now)
        seen = cls(
            limit=_whole(limit),
            remaining=_whole(remaining),
            reset=reset,
            wait=wait if wait is not None and wait > 0 else None,
        )
        if seen.limit is None and seen.remaining is None and seen.reset is None:
            return None
        return seen


RATE_LIMIT_HEADERS: Final = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "date",
)
"""The headers this module reads: the limit's, and the `Date` its reset is measured against."""


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
