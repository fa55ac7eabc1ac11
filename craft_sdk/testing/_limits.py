"""Rate limits as the reference documents them: a tier's windows per minute, hour and day for the
whole key, and per-endpoint limits per minute on top.

Every window is fixed and aligned on the clock (a minute window runs from hh:mm:00 to the next
minute, a day window from UTC midnight). A request counts in every window that applies to it,
and only if none of them is full; a refused request counts in none. An answer's headers describe
the window that binds: the one with the least left after the request (of equals, the one that
resets last). A 429 describes the full window that frees last, and says how long to wait.

`RateLimits` holds only counts and a clock reading given to it: no lock, no I/O (the emulator
calls it under its lock).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Final, Literal, TypeAlias, get_args

from .._checks import check_int
from ._wire import Reject

Tier: TypeAlias = Literal["free", "pro", "enterprise"]
TIERS: Final[tuple[Tier, ...]] = get_args(Tier)
PERIODS: Final[Mapping[str, int]] = {"minute": 60, "hour": 3600, "day": 86400}
DEFAULT_RATE_LIMIT: Final = 10_000
"""Requests per minute when neither a tier nor a limit is given: every answer carries the
headers, and no ordinary test comes near the limit."""

# The reference's table: requests per minute / hour / day (Enterprise has no daily limit).
_TIER_LIMITS: Final[Mapping[Tier, Mapping[str, int]]] = {
    "free": {"minute": 60, "hour": 500, "day": 1_000},
    "pro": {"minute": 300, "hour": 3_000, "day": 10_000},
    "enterprise": {"minute": 1_000, "hour": 10_000},
}
# Per-endpoint limits per minute, whatever the tier, by the emulator's endpoint names. The
# reference's "POST /files" names no endpoint of the API: file writes (PUT and DELETE of a
# file, assumed) share its 100 a minute.
_ENDPOINT_LIMITS: Final[Mapping[str, tuple[str, int]]] = {
    "POST /projects": ("POST /projects", 10),
    "GET /projects": ("GET /projects", 100),
    "PUT /projects/*/files/**": ("file writes", 100),
    "DELETE /projects/*/files/**": ("file writes", 100),
}


@dataclasses.dataclass(frozen=True)
class Window:
    """One limit: `limit` requests per `period`, for the whole key (`scope` "key") or for one
    endpoint's requests (`scope` names it, such as "POST /projects")."""

    scope: str
    period: str
    limit: int

    @property
    def seconds(self) -> int:
        return PERIODS[self.period]

    def start(self, now: float) -> float:
        return math.floor(now / self.seconds) * self.seconds

    def describe(self) -> str:
        where = "" if self.scope == "key" else f" for {self.scope}"
        return f"{self.limit} requests per {self.period}{where}"


class RateLimits:
    """The windows of one key, and how much of each is used.

    Args:
        tier: "free", "pro" or "enterprise": the tier's windows and the per-endpoint limits.
        rate_limit: A custom limit: that many requests per minute, one window, nothing else.
            With neither, `DEFAULT_RATE_LIMIT` per minute.

    Raises:
        ValueError: Both are given, or the tier is unknown, or the limit is below 1.
    """

    def __init__(self, *, tier: str | None = None, rate_limit: int | None = None) -> None:
        if tier is not None and rate_limit is not None:
            raise ValueError("Give a tier or a custom rate_limit, not both.")
        if rate_limit is not None:
            check_int("rate_limit", rate_limit, minimum=1)
        self.tier: Tier | None = _known_tier(tier)
        """The tier, or None for one window of `rate_limit` requests per minute."""
        self.rate_limit = None if self.tier else (rate_limit or DEFAULT_RATE_LIMIT)
        """Requests per minute of the one window, or None with a tier."""
        if self.tier is None:
            self._key_windows: tuple[Window, ...] = (
                Window("key", "minute", rate_limit or DEFAULT_RATE_LIMIT),
            )
        else:
            limits = _TIER_LIMITS[self.tier]
            self._key_windows = tuple(Window("key", p, n) for p, n in limits.items())
        self._used: dict[Window, tuple[float, int]] = {}  # window -> (its start, requests)

    def spend(self, now: float, endpoint: str | None) -> dict[str, str]:
        """Count one request to `endpoint` (None: one with no limit of its own) at `now`.

        Returns:
            The rate-limit headers of its answer.

        Raises:
            Reject: 429 RATE_LIMIT_EXCEEDED, with `Retry-After` and the full window's headers,
                when a window that applies is full (nothing is counted).
        """
        windows = self._windows(endpoint)
        full = [window for window in windows if self._left(window, now) <= 0]
        if full:
            window = max(full, key=lambda w: w.start(now) + w.seconds)  # the one that frees last
            headers = self._headers(window, now)
            raise Reject(
                429,
                "RATE_LIMIT_EXCEEDED",
                f"Rate limit of {window.describe()} exceeded.",
                {"scope": window.scope, "period": window.period, "limit": window.limit},
                retry_after=int(headers["X-RateLimit-RetryAfter"]),
                headers=headers,
            )
        for window in windows:
            start = window.start(now)
            self._used[window] = (start, self._count(window, start) + 1)
        return self._headers(self._binding(windows, now), now)

    def look(self, now: float) -> dict[str, str]:
        """The headers of an answer that counted in no window (one refused before its rate
        was spent, or an injected fault): the key's binding window, as it stands."""
        return self._headers(self._binding(self._key_windows, now), now)

    def wire(self) -> dict[str, Any]:
        """The settings, in the control endpoint's JSON."""
        return {
            "tier": self.tier,
            "rateLimit": self.rate_limit,
            "windows": [
                {"scope": w.scope, "period": w.period, "limit": w.limit}
                for w in (*self._key_windows, *self._endpoint_windows())
            ],
        }

    def _windows(self, endpoint: str | None) -> tuple[Window, ...]:
        group = _ENDPOINT_LIMITS.get(endpoint or "") if self.tier else None
        if group is None:
            return self._key_windows
        return (*self._key_windows, Window(group[0], "minute", group[1]))

    def _endpoint_windows(self) -> list[Window]:
        if not self.tier:
            return []
        groups = dict(_ENDPOINT_LIMITS.values())  # one window per group
        return [Window(scope, "minute", limit) for scope, limit in groups.items()]

    def _count(self, window: Window, start: float) -> int:
        counted_start, count = self._used.get(window, (start, 0))
        return count if counted_start == start else 0

    def _left(self, window: Window, now: float) -> int:
        return window.limit - self._count(window, window.start(now))

    def _binding(self, windows: tuple[Window, ...], now: float) -> Window:
        # The least left; of equals, the one that resets last (it binds for longer).
        return min(windows, key=lambda w: (self._left(w, now), -w.seconds))

    def _headers(self, window: Window, now: float) -> dict[str, str]:
        end = window.start(now) + window.seconds
        remaining = max(0, self._left(window, now))
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(end)),
            "X-RateLimit-RetryAfter": "0" if remaining else str(max(1, math.ceil(end - now))),
        }


def _known_tier(tier: str | None) -> Tier | None:
    for known in TIERS:
        if tier == known:
            return known
    if tier is not None:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {tier!r}.")
    return None
