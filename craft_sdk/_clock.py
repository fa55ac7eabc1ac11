"""Time, in one replaceable object: what the clients read the time from and sleep with.

Tests pass `clock=craft_sdk.testing.FakeClock()` so that no retry, backoff or rate-limit wait ever
sleeps for real; everything else uses `SYSTEM_CLOCK`.
"""

from __future__ import annotations

import time
from typing import Protocol

from ._http import httpx
from ._types import public


@public
class Clock(Protocol):
    """Where a client gets the time and how it waits."""

    def time(self) -> float:
        """Wall-clock Unix time in seconds, to compare with the API's `X-RateLimit-Reset`."""
        ...

    def monotonic(self) -> float:
        """A clock that never goes back, for deadlines and waits."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread (the sync client).

        Args:
            seconds: How long to wait.
        """
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task (the async client).

        Args:
            seconds: How long to wait.
        """
        ...


class SystemClock:
    """The real clock: what the clients use unless given another. Give it to a `CraftEmulator`
    (`craft_sdk.testing.SystemClock`) for an emulator that runs in real time."""

    def time(self) -> float:
        """Unix time, in seconds (`time.time()`)."""
        return time.time()

    def monotonic(self) -> float:
        """A clock that never goes back (`time.monotonic()`)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for real (`time.sleep`).

        Args:
            seconds: How long to sleep.
        """
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Sleep for real, yielding to the event loop (`asyncio.sleep`).

        Args:
            seconds: How long to sleep.
        """
        import asyncio  # here, so that sync programs never import it

        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class Deadline:
    """The one overall time limit of a call: every attempt, sleep and body read fits inside.

    A call that streams a file (an upload or a download) under the client's default deadline
    is `renewed_by_progress`: its deadline starts over whenever bytes move, so it bounds the
    time the call makes no progress rather than the length of a large, healthy transfer. A
    deadline the caller set is a hard limit on every call (docs/retries.md, "Deadlines").
    """

    __slots__ = ("_at", "_clock", "_renewal", "_started", "seconds")

    def __init__(
        self, seconds: float | None, clock: Clock, *, renewed_by_progress: bool = False
    ) -> None:
        self.seconds: float | None = seconds
        self._clock = clock
        self._started = clock.monotonic()
        self._at = None if seconds is None else self._started + seconds
        # What each bit of progress pushes the deadline out to, from then; None: a hard limit.
        self._renewal = seconds if renewed_by_progress else None

    def remaining(self) -> float | None:
        """Seconds left (0 or less once past), or None when the call has no deadline."""
        return None if self._at is None else self._at - self._clock.monotonic()

    def elapsed(self) -> float:
        """Seconds since the call started."""
        return self._clock.monotonic() - self._started

    def progressed(self) -> bool:
        """Bytes of the call moved: a deadline renewed by progress starts over. Returns whether
        time is left (always, then)."""
        if self._at is None:
            return True
        now = self._clock.monotonic()
        if self._renewal is not None:
            self._at = now + self._renewal
            return True
        return now < self._at

    def cap(self, timeout: httpx.Timeout) -> httpx.Timeout | None:
        """`timeout` with each of its limits cut to the time left, so no phase outlives it;
        None once no time is left."""
        remaining = self.remaining()
        if remaining is None:
            return timeout
        if remaining <= 0:
            return None
        if _fits(timeout, remaining):
            return timeout  # the usual case: every limit ends before the deadline
        remaining = max(remaining, 0.001)

        def cut(limit: float | None) -> float:
            return remaining if limit is None else min(limit, remaining)

        return httpx.Timeout(
            connect=cut(timeout.connect),
            read=cut(timeout.read),
            write=cut(timeout.write),
            pool=cut(timeout.pool),
        )


def _fits(timeout: httpx.Timeout, seconds: float) -> bool:
    for limit in (timeout.connect, timeout.read, timeout.write, timeout.pool):
        if limit is None or limit > seconds:
            return False
    return True
