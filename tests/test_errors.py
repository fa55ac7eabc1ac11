"""The error tree: which class an answer becomes, how errors print, and that they pickle."""

from __future__ import annotations

import pickle
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
from craft_sdk._errors import error_class

URL = "https://api.craft.fast/v1/projects/proj_abc123"

STATUS_SUBCLASSES: list[type[APIError]] = [
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    UnprocessableEntityError,
    RateLimitError,
    InternalServerError,
]
ALL_CLASSES: list[type[CraftError]] = [
    CraftError,
    APIError,
    *STATUS_SUBCLASSES,
    APIConnectionError,
    APITimeoutError,
    APIResponseValidationError,
]


def make_response(
    status: int = 404, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    if "content" not in kwargs:
        kwargs.setdefault("json", {"success": False, "error": {"code": "PROJECT_NOT_FOUND"}})
    return httpx.Response(
        status,
        request=httpx.Request("GET", URL),
        headers={"X-Request-Id": "req_123", **(headers or {})},
        **kwargs,
    )


# --- error_class: by status ------------------------------------------------------------------

STATUS_TABLE: list[tuple[int, type[APIError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, InternalServerError),
    (504, InternalServerError),
    (599, InternalServerError),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_TABLE)
@pytest.mark.parametrize(
    "code", [None, "PROJECT_NOT_FOUND", "UNAUTHORIZED", "RATE_LIMIT_EXCEEDED", "SOMETHING_NEW"]
)
def test_error_class_is_decided_by_a_known_error_status(
    status: int, expected: type[APIError], code: str | None
) -> None:
    # The status decides whatever the code says.
    assert error_class(status, code) is expected


@pytest.mark.parametrize("status", [100, 302, 304, 405, 408, 410, 418, 451, 499, 600])
@pytest.mark.parametrize(
    "code", [None, "PROJECT_NOT_FOUND", "UNAUTHORIZED", "INVALID_REQUEST", "FORBIDDEN"]
)
def test_error_class_of_another_status_is_plain_api_error(status: int, code: str | None) -> None:
    assert error_class(status, code) is APIError


# --- error_class: a 2xx that says "success": false, by code ----------------------------------

CODE_TABLE: list[tuple[str | None, type[APIError]]] = [
    ("UNAUTHORIZED", AuthenticationError),
    ("FORBIDDEN", PermissionDeniedError),
    ("PROJECT_NOT_FOUND", NotFoundError),
    ("TEMPLATE_NOT_FOUND", NotFoundError),
    ("DEPLOYMENT_NOT_FOUND", NotFoundError),
    ("FILE_NOT_FOUND", NotFoundError),
    ("RATE_LIMIT_EXCEEDED", RateLimitError),
    ("INVALID_REQUEST", BadRequestError),
    ("INVALID_PROJECT_NAME", BadRequestError),
    ("INVALID_TEMPLATE", BadRequestError),
    ("SOMETHING_NEW", APIError),
    ("PROJECT_LIMIT_EXCEEDED", APIError),
    (None, APIError),
]


@pytest.mark.parametrize(("code", "expected"), CODE_TABLE)
@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_error_class_of_a_2xx_failure_is_decided_by_code(
    status: int, code: str | None, expected: type[APIError]
) -> None:
    assert error_class(status, code) is expected


def test_unknown_code_is_carried_by_the_plain_api_error() -> None:
    cls = error_class(200, "SOMETHING_NEW")
    error = cls("New failure", status_code=200, code="SOMETHING_NEW")
    assert type(error) is APIError
    assert error.code == "SOMETHING_NEW"
    assert error.status_code == 200


# --- str() -----------------------------------------------------------------------------------


def test_str_has_status_code_message_and_request_id_on_one_line() -> None:
    error = NotFoundError(
        "Project not found", status_code=404, code="PROJECT_NOT_FOUND", request_id="req_123"
    )
    text = str(error)
    assert text == "404 PROJECT_NOT_FOUND: Project not found (request_id: req_123)"
    assert "\n" not in text


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"status_code": 500}, "500: Internal Server Error"),
        ({"status_code": 500, "code": "BOOM"}, "500 BOOM: Internal Server Error"),
        (
            {"status_code": 500, "request_id": "req_9"},
            "500: Internal Server Error (request_id: req_9)",
        ),
    ],
)
def test_str_reads_well_without_code_or_request_id(kwargs: dict[str, Any], expected: str) -> None:
    text = str(InternalServerError("Internal Server Error", **kwargs))
    assert text == expected
    assert "None" not in text


def test_str_stays_on_one_line_when_the_server_message_has_line_breaks() -> None:
    error = BadRequestError(
        "Name is invalid\nINFO forged log line\r\n",
        status_code=400,
        code="INVALID_PROJECT_NAME",
        request_id="req_1",
    )
    text = str(error)
    assert "\n" not in text
    assert "\r" not in text
    assert "400 INVALID_PROJECT_NAME" in text
    assert "Name is invalid" in text
    assert "req_1" in text


def test_str_of_a_rate_limit_error_has_the_same_shape() -> None:
    error = RateLimitError("Slow down", status_code=429, code="RATE_LIMIT_EXCEEDED", retry_after=3)
    assert str(error) == "429 RATE_LIMIT_EXCEEDED: Slow down"
    assert error.retry_after == 3


def test_connection_errors_print_their_message() -> None:
    assert str(APIConnectionError()) == "Connection to the Craft API failed."
    assert str(APITimeoutError()) == "The request to the Craft API timed out."
    assert str(APIConnectionError("DNS failed")) == "DNS failed"


# --- attributes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "may_have_succeeded"), [(200, False), (400, False), (429, False), (500, True)]
)
def test_may_have_succeeded_follows_the_status(status: int, may_have_succeeded: bool) -> None:
    error = error_class(status, None)("x", status_code=status)
    assert error.may_have_succeeded is may_have_succeeded


def test_api_error_defaults() -> None:
    error = APIError("x", status_code=418)
    assert error.message == "x"
    assert error.code is None
    assert error.details is None
    assert error.request_id is None
    assert error.body is None
    assert error.response is None
    assert error.attempts == 1


@pytest.mark.parametrize("may_have_succeeded", [True, False])
def test_connection_error_carries_may_have_succeeded(may_have_succeeded: bool) -> None:
    assert APIConnectionError(may_have_succeeded=may_have_succeeded).may_have_succeeded is (
        may_have_succeeded
    )
    assert APITimeoutError(may_have_succeeded=may_have_succeeded).may_have_succeeded is (
        may_have_succeeded
    )


def test_connection_errors_may_have_succeeded_by_default() -> None:
    assert APIConnectionError().may_have_succeeded is True
    assert APITimeoutError().may_have_succeeded is True


def test_response_validation_error_reads_the_response() -> None:
    response = make_response(200, content=b"<html>")
    error = APIResponseValidationError("not JSON", response=response, body="<html>")
    assert error.response is response
    assert error.status_code == 200
    assert error.body == "<html>"
    assert error.may_have_succeeded is True
    assert str(error) == "not JSON"


# --- the tree --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_every_error_is_a_craft_error_and_an_exception(cls: type[CraftError]) -> None:
    assert issubclass(cls, CraftError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", STATUS_SUBCLASSES)
def test_status_errors_are_api_errors(cls: type[APIError]) -> None:
    assert issubclass(cls, APIError)
    assert not issubclass(cls, APIConnectionError)
    assert not issubclass(cls, APIResponseValidationError)


def test_connection_and_validation_errors_are_not_api_errors() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert not issubclass(APIConnectionError, APIError)
    assert not issubclass(APITimeoutError, APIError)
    assert not issubclass(APIResponseValidationError, APIError)
    assert not issubclass(APIResponseValidationError, APIConnectionError)
    assert not issubclass(APIConnectionError, APITimeoutError)


@pytest.mark.parametrize("cls", STATUS_SUBCLASSES)
def test_status_errors_are_distinct(cls: type[APIError]) -> None:
    others = [other for other in STATUS_SUBCLASSES if other is not cls]
    assert not any(issubclass(cls, other) for other in others)


# --- pickling --------------------------------------------------------------------------------


def roundtrip(error: CraftError, protocol: int = pickle.HIGHEST_PROTOCOL) -> CraftError:
    restored = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(restored) is type(error)
    assert restored is not error
    return restored


def assert_same_response(restored: httpx.Response | None, original: httpx.Response) -> None:
    assert isinstance(restored, httpx.Response)
    assert restored.status_code == original.status_code
    assert restored.content == original.content
    assert restored.headers["X-Request-Id"] == original.headers["X-Request-Id"]
    assert restored.request.method == original.request.method
    assert restored.request.url == original.request.url


API_FIELDS = ("status_code", "code", "message", "details", "request_id", "body")


@pytest.mark.parametrize("cls", [APIError, *STATUS_SUBCLASSES])
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_api_errors_pickle_with_their_attributes(cls: type[APIError], protocol: int) -> None:
    body = {"success": False, "error": {"code": "SOME_CODE", "message": "Went wrong"}}
    response = make_response(503, json=body)
    error = cls(
        "Went wrong",
        status_code=503,
        code="SOME_CODE",
        details={"field": "name", "limits": [1, 2]},
        request_id="req_123",
        body=body,
        response=response,
    )
    error.attempts = 4
    restored = roundtrip(error, protocol)
    assert isinstance(restored, cls)
    for field in API_FIELDS:
        assert getattr(restored, field) == getattr(error, field), field
    assert restored.attempts == 4
    assert restored.may_have_succeeded is True
    assert restored.args == error.args
    assert str(restored) == str(error)
    assert_same_response(restored.response, response)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_rate_limit_error_pickles_with_retry_after(protocol: int) -> None:
    response = make_response(429, headers={"Retry-After": "7"})
    error = RateLimitError(
        "Slow down",
        status_code=429,
        code="RATE_LIMIT_EXCEEDED",
        retry_after=7.5,
        request_id="req_9",
        response=response,
    )
    restored = roundtrip(error, protocol)
    assert isinstance(restored, RateLimitError)
    assert restored.retry_after == 7.5
    assert restored.status_code == 429
    assert restored.code == "RATE_LIMIT_EXCEEDED"
    assert restored.request_id == "req_9"
    assert restored.may_have_succeeded is False
    assert restored.attempts == 1
    assert restored.response is not None
    assert restored.response.headers["Retry-After"] == "7"


def test_rate_limit_error_without_retry_after_pickles() -> None:
    restored = roundtrip(RateLimitError("Slow down", status_code=429))
    assert isinstance(restored, RateLimitError)
    assert restored.retry_after is None


@pytest.mark.parametrize("cls", [APIConnectionError, APITimeoutError])
@pytest.mark.parametrize("may_have_succeeded", [True, False])
def test_connection_errors_pickle(cls: type[APIConnectionError], may_have_succeeded: bool) -> None:
    error = cls("broke off", may_have_succeeded=may_have_succeeded)
    error.attempts = 3
    restored = roundtrip(error)
    assert isinstance(restored, cls)
    assert restored.message == "broke off"
    assert restored.may_have_succeeded is may_have_succeeded
    assert restored.attempts == 3
    assert str(restored) == "broke off (after 3 attempts)"


def test_response_validation_error_pickles_with_its_response() -> None:
    response = make_response(200, content=b"<html>oops</html>")
    error = APIResponseValidationError("not JSON", response=response, body="<html>oops</html>")
    error.attempts = 2
    restored = roundtrip(error)
    assert isinstance(restored, APIResponseValidationError)
    assert restored.message == "not JSON"
    assert restored.status_code == 200
    assert restored.body == "<html>oops</html>"
    assert restored.may_have_succeeded is True
    assert restored.attempts == 2
    assert_same_response(restored.response, response)


def test_plain_craft_error_pickles() -> None:
    restored = roundtrip(CraftError("No Craft API key"))
    assert restored.args == ("No Craft API key",)
    assert str(restored) == "No Craft API key"
    assert restored.attempts == 1
