"""Deduplication of webhook deliveries: the protocol the router asks, and the in-process store.

Craft signs no delivery id or time, so a captured or redelivered body verifies again; the router
makes it harmless by claiming each delivery before its handlers run. A store answers a claim with
"new" (run the handlers, then `complete` or `release`), "done" (handled already: answer 2xx) or
"busy" (being handled right now: answer "try again later"). `MemoryDedup` serves one process;
`craft_sdk.redis.RedisDedup` serves many.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from ._checks import check_int, check_seconds

Claim: TypeAlias = Literal["new", "done", "busy"]
"""A store's answer to a claim: "new" (the caller now owns the delivery), "done" (handled
before) or "busy" (another caller owns it right now)."""


@runtime_checkable
class Dedup(Protocol):
    """Remembers which webhook deliveries were handled, so that a redelivery is harmless.

    Keys are HMAC digests of the deliveries' bodies (hex strings, never secrets). The methods are
    synchronous, thread-safe, and atomic with respect to each other: of many callers claiming
    one key at once, exactly one gets "new".
    """

    def claim(self, key: str) -> Claim:
        """Claim a delivery before handling it.

        Args:
            key: The delivery's identity.

        Returns:
            "new" when nobody has handled it or is handling it: the caller now owns it, for at
            most the store's lease (so that a process that dies mid-handling does not block the
            delivery forever), and must call `complete` or `release`. "done" when it was handled
            successfully before (within the store's ttl): run nothing. "busy" when another
            caller owns it right now: run nothing, and let the sender try again later.
        """
        ...

    def complete(self, key: str) -> None:
        """Remember a claimed delivery as handled, for the store's ttl.

        Args:
            key: The delivery's identity.
        """
        ...

    def release(self, key: str) -> None:
        """Forget a claimed delivery whose handling failed, so that the sender's retry runs it.

        A delivery completed meanwhile stays done.

        Args:
            key: The delivery's identity.
        """
        ...


class MemoryDedup(Dedup):
    """Remembers handled webhook deliveries in this process: for a receiver that runs as one.

    Several processes (gunicorn workers, several machines) each keep their own memory, so a
    delivery may run once in each: use `craft_sdk.redis.RedisDedup` there.

    Args:
        ttl: Seconds a handled delivery is remembered as done. Longer than the sender retries.
        max_size: The most handled deliveries remembered; past it, the oldest are forgotten
            first. Deliveries being handled are never forgotten for size.
        lease: Seconds a claim lasts unless completed or released first: a handler that runs
            longer may see its delivery claimed again.
        clock: Where the store reads the time, in seconds that never go back.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: `ttl` or `lease` is not a finite number over 0, or `max_size` is below 1.
    """

    def __init__(
        self,
        *,
        ttl: float = 3600,
        max_size: int = 10_000,
        lease: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not callable(clock):
            raise TypeError(f"clock must be a function that returns seconds, not {clock!r}")
        self._ttl = check_seconds("ttl", ttl, zero_allowed=False)
        self._max_size = check_int("max_size", max_size, minimum=1)
        self._lease = check_seconds("lease", lease, zero_allowed=False)
        self._clock = clock
        self._lock = threading.Lock()
        # Key -> when its entry expires, in the order the entries were made: with one ttl (and
        # one lease) for all, that is also the order they expire in, and the oldest come first.
        self._done: OrderedDict[str, float] = OrderedDict()
        self._busy: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str) -> Claim:
        """Claim a delivery before handling it (see `Dedup.claim`).

        Args:
            key: The delivery's identity.

        Returns:
            "new", "done" or "busy".
        """
        now = self._clock()
        with self._lock:
            _drop_expired(self._done, now)
            _drop_expired(self._busy, now)
            if self._done.get(key, now) > now:
                return "done"
            if self._busy.get(key, now) > now:
                return "busy"
            self._done.pop(key, None)  # expired, with a clock that went back
            self._busy.pop(key, None)
            self._busy[key] = now + self._lease
            return "new"

    def complete(self, key: str) -> None:
        """Remember a delivery as handled, for `ttl` seconds (see `Dedup.complete`).

        Args:
            key: The delivery's identity.
        """
        expires = self._clock() + self._ttl
        with self._lock:
            self._busy.pop(key, None)
            self._done.pop(key, None)  # so that it goes to the end, with the newest
            self._done[key] = expires
            while len(self._done) > self._max_size:
                self._done.popitem(last=False)

    def release(self, key: str) -> None:
        """Forget a claimed delivery so that a retry runs it; a done one stays done (see
        `Dedup.release`).

        Args:
            key: The delivery's identity.
        """
        with self._lock:
            self._busy.pop(key, None)

    def __repr__(self) -> str:
        with self._lock:
            entries = len(self._done) + len(self._busy)
        return (
            f"MemoryDedup(ttl={self._ttl!r}, max_size={self._max_size!r}, "
            f"lease={self._lease!r}, entries={entries})"
        )


def _drop_expired(entries: OrderedDict[str, float], now: float) -> None:
    """Drop the expired entries from the front, where the oldest are: each entry is dropped
    once, so a claim costs O(1) on average however many expire."""
    while entries and next(iter(entries.values())) <= now:
        entries.popitem(last=False)
