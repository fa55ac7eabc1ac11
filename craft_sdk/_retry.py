"""When to try a request again, and how long to wait first; no I/O here.

The sync and async clients both drive tenacity with `retry_policy()`; only their loops differ.

The rules (see craft-api.md, "Rate limits", and RFC 9110 section 9.2.2):
* any method is retried after a 429, and after a failure that provably happened before the
  request left (connect error, connect timeout, pool timeout);
* only idempotent methods (GET, HEAD, PUT, DELETE) are retried after 408, 500, 502, 503, 504, a
  read timeout or a connection that broke mid-answer: a POST or PATCH the server may already have
  processed is never sent twice;
* waits are full-jitter exponential backoff unless the server said how long to wait.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timezone
from typing import Any, Final

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt

from ._call import Call
from ._errors import APIConnectionError, APIError, CraftError, RateLimitError

logger = logging.getLogger("craft_sdk")

BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 8.0
# A server-requested wait longer than this is not slept: the RateLimitError is raised at once,
# with retry_after set, so the caller decides.
MAX_RETRY_WAIT: Final = 60.0
RETRYABLE_STATUSES_IF_IDEMPOTENT: Final = frozenset({408, 500, 502, 503, 504})


def is_retryable(error: BaseException, call: Call[Any]) -> bool:
    """Whether `error`, raised by one attempt at `call`, may be answered by another attempt."""
    if isinstance(error, RateLimitError):
        # Throttling happens before the API does any work, so even a POST is safe to repeat.
        return error.retry_after is None or error.retry_after <= MAX_RETRY_WAIT
    if isinstance(error, APIConnectionError):
        return not error.may_have_succeeded or call.idempotent
    if isinstance(error, APIError):
        return error.status_code in RETRYABLE_STATUSES_IF_IDEMPOTENT and call.idempotent
    return False


def backoff(retry_number: int, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**n)] for the n-th retry (n from 0).

    Full jitter spreads clients that failed together better than any other schedule (AWS
    Architecture Blog, "Exponential Backoff And Jitter").
    """
    ceiling: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(retry_number, 32))
    return rng() * ceiling


def server_requested_wait(
    headers: Mapping[str, str], body_retry_after: object, *, now: float
) -> float | None:
    """The longest usable wait the server asked for, in seconds, or None.

    Read from `Retry-After` (seconds or an HTTP date), `X-RateLimit-RetryAfter` (seconds) and the
    429 body's `error.retryAfter` (seconds). The longest wins: sending earlier only earns another
    429. Junk, zero, negative and past values are ignored, so the caller falls back to backoff.
    """
    candidates = [
        _seconds_or_http_date(headers.get("retry-after"), now=now),
        _seconds(headers.get("x-ratelimit-retryafter")),
        _seconds(body_retry_after),
    ]
    usable = [wait for wait in candidates if wait is not None]
    return max(usable) if usable else None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _seconds_or_http_date(value: str | None, *, now: float) -> float | None:
    if value is None:
        return None
    seconds = _seconds(value.strip())
    if seconds is not None:
        return seconds
    try:
        date = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date.tzinfo is None:  # asctime form (RFC 9110 section 5.6.7): GMT, though unmarked
        date = date.replace(tzinfo=timezone.utc)
    return _seconds(date.timestamp() - now)


def retry_policy(
    call: Call[Any],
    *,
    max_retries: int,
    rng: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """Keyword arguments for `tenacity.Retrying` / `AsyncRetrying` for one call."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        return backoff(state.attempt_number - 1, rng)

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.info(
            "Retrying %s %s (attempt %d of %d) in %.2f s after %s",
            call.method,
            call.path,
            state.attempt_number + 1,
            max_retries + 1,
            state.upcoming_sleep,
            _reason(error),
        )

    return {
        "stop": stop_after_attempt(max_retries + 1),
        "wait": wait,
        "retry": retry_if_exception(lambda error: is_retryable(error, call)),
        "before_sleep": log_retry,
        "reraise": True,
    }


@contextmanager
def recording_attempt(attempt_number: int) -> Iterator[None]:
    """Stamp any `CraftError` leaving the block with how many attempts the call has made."""
    try:
        yield
    except CraftError as error:
        error.attempts = attempt_number
        raise


def _reason(error: BaseException | None) -> str:
    if isinstance(error, APIError):
        return f"status {error.status_code}" + (f" {error.code}" if error.code else "")
    return type(error).__name__
