from __future__ import annotations

import asyncio
import threading


class FakeClock:
    """A clock that moves only when something sleeps on it (or `advance` is called).

    A sleep returns at once and moves the clock forward by its length, and is recorded in
    `sleeps`. Safe to share between threads and tasks. Implements `craft_sdk.Clock`: its wall
    clock (`time`) and its monotonic clock are one and the same.

    Args:
        start: The time it starts at, in Unix seconds.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []
        """Every sleep asked for, in order."""

    def time(self) -> float:
        """The fake time, in Unix seconds."""
        return self._now

    def monotonic(self) -> float:
        """The fake time again: it never goes back, so it serves as the monotonic clock too."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward without recording a sleep.

        Args:
            seconds: How far to move; a negative value moves it not at all.
        """
        with self._lock:
            self._now += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        """Record the sleep in `sleeps` and move the clock forward by it, at once.

        Args:
            seconds: How long the sleep is (recorded as given; a negative one moves nothing).
        """
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    async def asleep(self, seconds: float) -> None:
        """`sleep` for the async client; it still yields to the event loop once, as a real
        sleep would.

        Args:
            seconds: How long the sleep is.
        """
        self.sleep(seconds)
        await asyncio.sleep(0)  # still yield to the event loop, as a real sleep would

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now!r}, sleeps={len(self.sleeps)})"
