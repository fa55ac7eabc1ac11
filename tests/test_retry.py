"""The retry rules as pure functions: what is retried, how long to wait, what the server asked."""

from __future__ import annotations

import calendar
import math
import sys
from typing import Any

import httpx
import pytest

from craft_sdk import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CraftError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from craft_sdk._call import Call, Method
from craft_sdk._clock import Deadline
from craft_sdk._config import DEFAULT_MAX_RETRY_WAIT as MAX_RETRY_WAIT
from craft_sdk._errors import error_class
from craft_sdk._retry import (
    BACKOFF_CAP,
    backoff,
    is_retryable,
    recording_attempt,
    server_requested_wait,
)
from craft_sdk.testing import FakeClock

METHODS: list[Method] = ["GET", "POST", "PATCH", "PUT", "DELETE"]
IDEMPOTENT: list[Method] = ["GET", "PUT", "DELETE"]
NOT_IDEMPOTENT: list[Method] = ["POST", "PATCH"]

# Fri, 29 Sep 2023 16:26:17 GMT
NOW = float(calendar.timegm((2023, 9, 29, 16, 26, 17)))


def call(method: Method) -> Call[Any]:
    return Call(method, "/projects/proj_1", parse=lambda response: response)


def retryable(error: BaseException, this_call: Call[Any]) -> bool:
    return is_retryable(error, this_call, max_retry_wait=MAX_RETRY_WAIT)


def api_error(status: int) -> APIError:
    return error_class(status, None)("failed", status_code=status)


# --- is_retryable ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("retry_after", [None, 0.5, 1, 30, MAX_RETRY_WAIT])
def test_rate_limit_is_retried_for_every_method(method: Method, retry_after: float | None) -> None:
    error = RateLimitError("slow down", status_code=429, retry_after=retry_after)
    assert retryable(error, call(method)) is True


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("retry_after", [MAX_RETRY_WAIT + 0.001, MAX_RETRY_WAIT * 2, 3600, 1e35])
def test_rate_limit_asking_for_a_long_wait_is_not_retried(
    method: Method, retry_after: float
) -> None:
    error = RateLimitError("slow down", status_code=429, retry_after=retry_after)
    assert retryable(error, call(method)) is False


@pytest.mark.parametrize("method", METHODS)
def test_rate_limit_signalled_by_code_on_a_2xx_is_retried(method: Method) -> None:
    error = error_class(200, "RATE_LIMIT_EXCEEDED")("slow down", status_code=200)
    assert isinstance(error, RateLimitError)
    assert retryable(error, call(method)) is True


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cls", [APIConnectionError, APITimeoutError])
def test_failure_before_sending_is_retried_for_every_method(
    method: Method, cls: type[APIConnectionError]
) -> None:
    error = cls("could not connect", may_have_succeeded=False)
    assert retryable(error, call(method)) is True


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cls", [APIConnectionError, APITimeoutError])
def test_failure_after_sending_is_retried_only_if_idempotent(
    method: Method, cls: type[APIConnectionError]
) -> None:
    error = cls("broke off", may_have_succeeded=True)
    assert retryable(error, call(method)) is (method in IDEMPOTENT)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_transient_statuses_are_retried_only_if_idempotent(method: Method, status: int) -> None:
    assert retryable(api_error(status), call(method)) is (method in IDEMPOTENT)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (418, APIError),
        (501, InternalServerError),
        (505, InternalServerError),
        (200, APIError),
    ],
)
def test_other_api_errors_are_never_retried(
    method: Method, status: int, cls: type[APIError]
) -> None:
    error = api_error(status)
    assert type(error) is cls
    assert retryable(error, call(method)) is False


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("status", [200, 201, 500])
def test_response_validation_error_is_never_retried(method: Method, status: int) -> None:
    response = httpx.Response(
        status, content=b"<html>", request=httpx.Request("GET", "https://api.craft.fast/v1/x")
    )
    error = APIResponseValidationError("not JSON", response=response)
    assert retryable(error, call(method)) is False


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "error",
    [CraftError("config"), ValueError("x"), RuntimeError("x"), KeyboardInterrupt()],
    ids=["CraftError", "ValueError", "RuntimeError", "KeyboardInterrupt"],
)
def test_other_exceptions_are_never_retried(method: Method, error: BaseException) -> None:
    assert retryable(error, call(method)) is False


# --- backoff ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_number", "expected"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (6, 8.0), (20, 8.0)],
)
def test_backoff_ceiling_doubles_up_to_the_cap(retry_number: int, expected: float) -> None:
    assert backoff(retry_number, lambda: 1.0) == expected


@pytest.mark.parametrize("retry_number", [0, 1, 5, 100])
def test_backoff_with_zero_draw_is_zero(retry_number: int) -> None:
    assert backoff(retry_number, lambda: 0.0) == 0.0


@pytest.mark.parametrize(("retry_number", "expected"), [(0, 0.25), (2, 1.0), (10, 4.0)])
def test_backoff_is_the_draw_times_the_ceiling(retry_number: int, expected: float) -> None:
    assert backoff(retry_number, lambda: 0.5) == expected


@pytest.mark.parametrize("retry_number", [31, 32, 33, 64, 1024, 10**6, sys.maxsize, 10**100])
def test_backoff_of_a_huge_retry_number_does_not_overflow(retry_number: int) -> None:
    wait = backoff(retry_number, lambda: 1.0)
    assert wait == BACKOFF_CAP
    assert math.isfinite(wait)


@pytest.mark.parametrize("retry_number", range(8))
def test_backoff_with_the_default_rng_stays_in_range(retry_number: int) -> None:
    for _ in range(20):
        assert 0.0 <= backoff(retry_number) <= min(BACKOFF_CAP, 0.5 * 2**retry_number)


# --- server_requested_wait -------------------------------------------------------------------


def wait_for(retry_after: str | None = None, body: object = None, **headers: str) -> float | None:
    values = dict(headers)
    if retry_after is not None:
        values["Retry-After"] = retry_after
    return server_requested_wait(httpx.Headers(values), body, now=NOW)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("1.5", 1.5),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Fri, 29 Sep 2023 16:26:27 GMT", 10.0),  # 10 s after NOW
        ("Fri, 29 Sep 2023 17:26:17 GMT", 3600.0),
        ("Friday, 29-Sep-23 16:26:27 GMT", 10.0),  # RFC 850, obsolete but valid
        # asctime: RFC 9110 section 5.6.7 says recipients MUST accept it; it is GMT by definition
        ("Fri Sep 29 16:26:27 2023", 10.0),
        ("Fri, 29 Sep 2023 16:26:17 GMT", None),  # now: no wait
        ("Fri, 29 Sep 2023 16:26:07 GMT", None),  # in the past
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),
        ("0", None),
        ("0.0", None),
        ("-10", None),
        ("-0.5", None),
        ("", None),
        ("   ", None),
        ("inf", None),
        ("-inf", None),
        ("Infinity", None),
        ("nan", None),
        ("NaN", None),
        ("99999999999999999999999999999999999", 99999999999999999999999999999999999.0),
        ("1e400", None),
        ("soon", None),
        ("5 seconds", None),
        ("0x10", None),
        ("Fri, 29 Sep 100000 16:26:57 GMT", None),
        ("Fri, 32 Sep 2023 16:26:27 GMT", None),
        ("Fri, 29 Foo 2023 16:26:27 GMT", None),
        ("Fri, 29 Sep 2023 25:26:27 GMT", None),
    ],
)
def test_retry_after_header(value: str, expected: float | None) -> None:
    assert wait_for(value) == expected


def test_retry_after_date_with_a_bad_day_name_is_read_or_ignored() -> None:
    # "Zun" is not a day; the date itself is fine. Reading it (10 s) or ignoring it are both
    # acceptable; raising or inventing another wait is not.
    assert wait_for("Zun, 29 Sep 2023 16:26:27 GMT") in (None, 10.0)


def test_huge_finite_wait_is_returned_as_is_for_the_caller_to_cap() -> None:
    wait = wait_for("99999999999999999999999999999999999")
    assert wait is not None
    assert wait > MAX_RETRY_WAIT
    assert math.isfinite(wait)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12.0), ("0.25", 0.25), ("0", None), ("-1", None), ("nan", None), ("x", None)],
)
def test_x_ratelimit_retryafter_header(value: str, expected: float | None) -> None:
    assert wait_for(**{"X-RateLimit-RetryAfter": value}) == expected


def test_x_ratelimit_retryafter_is_seconds_only() -> None:
    assert wait_for(**{"X-RateLimit-RetryAfter": "Fri, 29 Sep 2023 16:26:27 GMT"}) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (5, 5.0),
        (2.5, 2.5),
        ("8", 8.0),
        ("1.5", 1.5),
        (None, None),
        (True, None),
        (False, None),
        (0, None),
        (-3, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        (math.inf, None),
        (math.nan, None),
        (10**400, None),
        ([5], None),
        ({"seconds": 5}, None),
    ],
)
def test_body_retry_after(body: object, expected: float | None) -> None:
    assert wait_for(body=body) == expected


@pytest.mark.parametrize(
    ("retry_after", "x_retry_after", "body", "expected"),
    [
        ("5", "12", 9, 12.0),
        ("50", "12", 9, 50.0),
        ("5", "12", 90, 90.0),
        ("5", "0", None, 5.0),
        ("Fri, 29 Sep 2023 16:26:47 GMT", "12", 9, 30.0),
        ("Fri, 29 Sep 2023 16:26:27 GMT", "12", 9, 12.0),
        ("junk", "junk", 4, 4.0),
        ("junk", "3", True, 3.0),
        ("0", "0", 0, None),
        ("-1", "nan", None, None),
    ],
)
def test_the_longest_wait_wins(
    retry_after: str, x_retry_after: str, body: object, expected: float | None
) -> None:
    headers = {"X-RateLimit-RetryAfter": x_retry_after}
    assert wait_for(retry_after, body, **headers) == expected


def test_no_hint_at_all_is_none() -> None:
    assert server_requested_wait(httpx.Headers(), None, now=NOW) is None


def test_header_names_are_case_insensitive() -> None:
    headers = httpx.Headers({"RETRY-AFTER": "6", "x-ratelimit-retryafter": "2"})
    assert server_requested_wait(headers, None, now=NOW) == 6.0


def test_http_date_is_relative_to_now() -> None:
    headers = httpx.Headers({"Retry-After": "Fri, 29 Sep 2023 16:26:27 GMT"})
    assert server_requested_wait(headers, None, now=NOW - 5) == 15.0
    assert server_requested_wait(headers, None, now=NOW + 10) is None


# --- recording_attempt -----------------------------------------------------------------------


def raise_inside(attempt: int, error: BaseException, *, taken: float = 0.0) -> None:
    """Raise `error` from attempt number `attempt` of a call that started `taken` s ago."""
    clock = FakeClock()
    deadline = Deadline(300, clock)
    clock.advance(taken)
    with recording_attempt(attempt, deadline):
        raise error


@pytest.mark.parametrize(
    "error",
    [
        CraftError("config"),
        NotFoundError("gone", status_code=404),
        RateLimitError("slow", status_code=429, retry_after=1),
        APIConnectionError(may_have_succeeded=False),
        APITimeoutError(),
    ],
    ids=lambda error: type(error).__name__,
)
@pytest.mark.parametrize("attempt", [1, 2, 4])
def test_recording_attempt_stamps_craft_errors(error: CraftError, attempt: int) -> None:
    with pytest.raises(type(error)) as info:
        raise_inside(attempt, error, taken=2.5)
    assert info.value is error
    assert error.attempts == attempt
    assert error.elapsed == 2.5


def test_recording_attempt_overwrites_an_earlier_stamp() -> None:
    error = InternalServerError("down", status_code=503)
    with pytest.raises(InternalServerError):
        raise_inside(1, error)
    with pytest.raises(InternalServerError):
        raise_inside(3, error, taken=4.0)
    assert error.attempts == 3
    assert error.elapsed == 4.0


@pytest.mark.parametrize(
    "error",
    [ValueError("x"), KeyError("x"), RuntimeError("x"), httpx.ConnectError("x")],
    ids=lambda error: type(error).__name__,
)
def test_recording_attempt_leaves_other_exceptions_alone(error: Exception) -> None:
    with pytest.raises(type(error)) as info:
        raise_inside(3, error)
    assert info.value is error
    assert not hasattr(error, "attempts")
    assert not hasattr(error, "elapsed")


def test_recording_attempt_without_an_error_does_nothing() -> None:
    with recording_attempt(2, Deadline(None, FakeClock())):
        result = 1 + 1
    assert result == 2


def test_errors_record_one_attempt_by_default() -> None:
    assert NotFoundError("gone", status_code=404).attempts == 1
    assert APIConnectionError().attempts == 1
