"""When to try a request again, and how long to wait first; no I/O here.

The sync and async clients both drive tenacity with `retry_policy()`; only their loops differ.
tenacity is imported only once a first attempt has failed: most programs never need it.

The rules (see craft-api.md, "Rate limits", and RFC 9110 section 9.2.2):
* any method is retried after a 429, and after a failure that provably happened before the
  request left (connect error, connect timeout, pool timeout, a proxy refusing the tunnel);
* only idempotent methods (GET, HEAD, PUT, DELETE) are retried after 408, 500, 502, 503, 504, a
  read timeout or a connection that broke mid-answer: a POST or PATCH the server may already have
  processed is never sent twice;
* waits are full-jitter exponential backoff unless the server said how long to wait.
"""

from __future__ import annotations

import logging
import random
import ssl
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from ._call import Call
from ._clock import Deadline
from ._errors import APIConnectionError, APIError, CraftError, RateLimitError, error_chain
from ._rate_limit import requested_wait, seconds, seconds_until_reset, server_time

if TYPE_CHECKING:
    from tenacity import RetryCallState

logger = logging.getLogger("craft_sdk")

BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 8.0
RETRYABLE_STATUSES_IF_IDEMPOTENT: Final = frozenset({408, 500, 502, 503, 504})


def is_retryable(error: BaseException, call: Call[Any], *, max_retry_wait: float) -> bool:
    """Whether `error`, raised by one attempt at `call`, may be answered by another attempt."""
    if not call.replayable:
        return False  # the body (or the destination) cannot be had again
    if isinstance(error, RateLimitError):
        # Throttling happens before the API does any work, so even a POST is safe to repeat. A
        # wait longer than max_retry_wait is not slept: the caller gets the error at once.
        return error.retry_after is None or error.retry_after <= max_retry_wait
    if isinstance(error, APIConnectionError):
        if _certificate_refused(error):
            return False  # the same certificate would be refused again
        return not error.may_have_succeeded or call.idempotent
    if isinstance(error, APIError):
        return error.status_code in RETRYABLE_STATUSES_IF_IDEMPOTENT and call.idempotent
    return False


def _certificate_refused(error: BaseException) -> bool:
    """Whether the server's TLS certificate failed verification, anywhere down the chain of
    errors `error` was raised from."""
    return any(isinstance(link, ssl.SSLCertVerificationError) for link in error_chain(error))


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
    """The wait the server asked for, in seconds, or None when it asked for none usable.

    Its explicit hints are `Retry-After` (seconds or an HTTP date), `X-RateLimit-RetryAfter`
    (seconds) and the 429 body's `error.retryAfter` (seconds); the longest wins, since sending
    earlier only earns another 429. Without any, the wait is until `X-RateLimit-Reset`. Dates
    are measured against the server's `Date` header when it sent one (so a client clock that is
    off does not matter), else against `now`. Junk, zero, negative and past values are ignored,
    so the caller falls back to backoff.
    """
    server_now = server_time(headers)
    explicit = [
        requested_wait(headers, now=now if server_now is None else server_now),
        seconds(body_retry_after),
    ]
    usable = [wait for wait in explicit if wait is not None]
    if usable:
        return max(usable)
    return seconds_until_reset(headers, local_now=now)


def retry_policy(
    call: Call[Any],
    *,
    max_retries: int,
    max_retry_wait: float,
    deadline: Deadline,
    base_path: str = "",
    rng: Callable[[], float] = random.random,
) -> dict[str, Any]:
    """Keyword arguments for `tenacity.Retrying` / `AsyncRetrying` for one call.

    `base_path` is the base URL's path (such as "/v1"), so that the retry log names the same
    path as the request log.

    The last error is raised as it is when the retries run out, or when the next wait would not
    end before the call's deadline (no sleep ever runs past it).
    """
    from tenacity import retry_if_exception

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after
        return backoff(state.attempt_number - 1, rng)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number > max_retries:
            return True
        remaining = deadline.remaining()
        return remaining is not None and state.upcoming_sleep >= remaining

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.info(
            "Retrying %s %s (attempt %d of %d) in %.2f s after %s",
            call.method,
            base_path + call.path,
            state.attempt_number + 1,
            max_retries + 1,
            state.upcoming_sleep,
            _reason(error),
        )

    return {
        "stop": stop,
        "wait": wait,
        "retry": retry_if_exception(
            lambda error: is_retryable(error, call, max_retry_wait=max_retry_wait)
        ),
        "before_sleep": log_retry,
        "reraise": True,
    }


class recording_attempt:
    """Stamp any `CraftError` leaving the block with how many attempts the call has made, and
    how long it has taken (from its `deadline`), which its message then says.

    A class rather than a @contextmanager generator: it runs on every request."""

    __slots__ = ("_attempt_number", "_deadline")

    def __init__(self, attempt_number: int, deadline: Deadline) -> None:
        self._attempt_number = attempt_number
        self._deadline = deadline

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, CraftError):
            error.attempts = self._attempt_number
            error.elapsed = self._deadline.elapsed()


def _reason(error: BaseException | None) -> str:
    if isinstance(error, APIError):
        return f"status {error.status_code}" + (f" {error.code}" if error.code else "")
    return type(error).__name__
