"""A stand-in for the API that enforces a fixed-window rate limit, for `LoopbackServer`:

    api = WindowedApi(limit=40, window=2.0)
    with LoopbackServer(api) as server:
        ...                                   # clients on server.url, from any process
    api.utilisation(started, ended)           # accepted / allowed, over the whole windows

`limit` requests are accepted per `window` seconds, in windows aligned on multiples of `window`
in Unix time; the rest get the API's 429 (craft-api.md, "Rate limits"). Every answer carries
`X-RateLimit-Limit`, `-Remaining`, `-Reset` (the window's end: whole seconds when the window is),
`X-RateLimit-RetryAfter` and `Date`. It serves `GET /v1/me`, and `GET /v1/projects/proj_held`,
which answers only once `release_held()` is called (requests in flight for as long as a test
wants). Every request counts against the window, whatever its path.

`reset_offset` is a fault: the server's real windows end that many seconds after (late, > 0) or
before (early, < 0) the reset it announces. The 429's waits tell the truth (they are measured to
the real reset); `X-RateLimit-Reset` does not.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import threading
import time
from collections.abc import Callable
from typing import Final

from .conftest import PROJECT, USER, failure, ok
from .loopback import Reply, SeenRequest

ME_PATH: Final = "/v1/me"
HELD_PROJECT_ID: Final = "proj_held"
HELD_PATH: Final = f"/v1/projects/{HELD_PROJECT_ID}"


@dataclasses.dataclass
class WindowCount:
    accepted: int = 0
    refused: int = 0


class WindowedApi:
    """A `LoopbackServer` handler: `limit` requests per `window` seconds (see the module).

    Args:
        limit: Requests accepted per window.
        window: The window's length in seconds; windows start at its multiples.
        reset_offset: Seconds the real reset comes after the announced one (< 0: before).
        clock: Unix time: `time.time`, or a fake clock's for deterministic tests.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        reset_offset: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window = window
        self.reset_offset = reset_offset
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[int, WindowCount] = {}
        self._released = threading.Event()
        self._held = 0

    def __call__(self, request: SeenRequest) -> Reply:
        now = self._clock()
        window = math.floor((now - self.reset_offset) / self.window)
        with self._lock:
            count = self._counts.setdefault(window, WindowCount())
            accepted = count.accepted < self.limit
            if accepted:
                count.accepted += 1
            else:
                count.refused += 1
            remaining = self.limit - count.accepted
        announced_reset = (window + 1) * self.window
        headers = {
            "Date": email.utils.formatdate(now, usegmt=True),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": _seconds(announced_reset),
            "X-RateLimit-RetryAfter": "0",
        }
        if not accepted:
            real_reset = announced_reset + self.reset_offset
            retry_after = str(max(1, math.ceil(real_reset - now)))
            headers |= {"Retry-After": retry_after, "X-RateLimit-RetryAfter": retry_after}
            message = f"Rate limit exceeded: {self.limit} requests per {self.window:g} s"
            body = failure("RATE_LIMIT_EXCEEDED", message, retryAfter=int(retry_after))
            return Reply(429, json=body, headers=headers)
        if request.path == HELD_PATH:
            self._hold()
            return Reply(200, json=ok({**PROJECT, "id": HELD_PROJECT_ID}), headers=headers)
        if request.path == ME_PATH:
            return Reply(200, json=ok(USER), headers=headers)
        return Reply(404, json=failure("NOT_FOUND", "No such path here"), headers=headers)

    def _hold(self) -> None:
        with self._lock:
            self._held += 1
        self._released.wait()

    @property
    def held(self) -> int:
        """Requests to the held path that have arrived (answered or not)."""
        with self._lock:
            return self._held

    def release_held(self) -> None:
        """Answer the requests held so far, and those to come, at once."""
        self._released.set()

    def counts(self) -> dict[int, WindowCount]:
        """Accepted and refused requests per window (numbered: window n starts at n * window,
        plus `reset_offset`), for the windows that saw any."""
        with self._lock:
            return {n: dataclasses.replace(count) for n, count in self._counts.items()}

    @property
    def refused(self) -> int:
        """Requests refused with a 429, in all."""
        return sum(count.refused for count in self.counts().values())

    def whole_windows(self, started: float, ended: float) -> range:
        """The windows that lie wholly between `started` and `ended` (Unix times)."""
        first = math.ceil((started - self.reset_offset) / self.window)
        past_last = math.floor((ended - self.reset_offset) / self.window)
        return range(first, max(first, past_last))

    def accepted_per_window(self, started: float, ended: float) -> list[int]:
        """Requests accepted in each window wholly between `started` and `ended`."""
        counts = self.counts()
        return [counts.get(n, WindowCount()).accepted for n in self.whole_windows(started, ended)]

    def utilisation(self, started: float, ended: float) -> float:
        """The share of the allowed requests that were accepted, over the windows wholly between
        `started` and `ended`: 1.0 is every request the server allows, and no more."""
        accepted = self.accepted_per_window(started, ended)
        if not accepted:
            raise ValueError("no whole window lies between these times")
        return sum(accepted) / (self.limit * len(accepted))


def _seconds(instant: float) -> str:
    """Unix seconds as the API writes them: a whole number when it is one."""
    return str(int(instant)) if instant.is_integer() else repr(instant)
