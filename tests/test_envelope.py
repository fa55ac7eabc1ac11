"""Reading the API's envelope from `httpx.Response` objects built in memory (no network)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from craft_sdk import (
    APIError,
    APIResponseValidationError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    Project,
    RateLimitError,
    UnprocessableEntityError,
    User,
)
from craft_sdk._envelope import data, error_from_response, read_envelope, request_id_of
from craft_sdk.models import DeletedProject, PartialProject, ProjectSettings, ProjectStats

from .conftest import PROJECT, failure, ok

URL = "https://api.craft.fast/v1/x"


def response(
    status: int = 200,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    kwargs: dict[str, Any] = {"content": content} if content is not None else {"json": json}
    return httpx.Response(
        status, request=httpx.Request("GET", URL), headers=headers or {}, **kwargs
    )


def raised_by_envelope(resp: httpx.Response) -> APIResponseValidationError:
    with pytest.raises(APIResponseValidationError) as info:
        read_envelope(resp)
    return info.value


# --- success ---------------------------------------------------------------------------------


def test_read_envelope_returns_the_whole_envelope() -> None:
    body = ok([PROJECT], pagination={"page": 1, "limit": 20, "total": 1})
    assert read_envelope(response(json=body)) == body


@pytest.mark.parametrize("status", [200, 201, 202])
def test_data_unwraps_a_project(status: int) -> None:
    project: Project = data(Project)(response(status, json=ok(PROJECT)))
    assert isinstance(project, Project)
    assert project.id == "proj_abc123"
    assert project.name == "My Landing Page"
    assert project.description == "A page"
    assert project.status == "active"
    assert project.template == "landing-page"
    assert project.preview_url == "https://preview.craft.fast/proj_abc123"
    assert project.created_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert project.updated_at == datetime(2024, 1, 16, 8, 0, tzinfo=timezone.utc)
    assert isinstance(project.settings, ProjectSettings)
    assert project.settings.framework == "react"
    assert project.settings.styling == "tailwind"
    assert isinstance(project.stats, ProjectStats)
    assert project.stats.files == 12
    assert project.stats.last_edited_at == datetime(2024, 1, 16, 8, 0, tzinfo=timezone.utc)
    assert project.model_extra == {}


def test_project_timestamps_are_aware() -> None:
    project: Project = data(Project)(response(json=ok(PROJECT)))
    stamps: list[datetime | None] = [project.created_at, project.updated_at]
    assert project.stats is not None
    stamps.append(project.stats.last_edited_at)
    for stamp in stamps:
        assert stamp is not None
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


def test_naive_timestamp_becomes_utc() -> None:
    body = ok(
        {
            **PROJECT,
            "createdAt": "2024-01-15T12:30:00",
            "stats": {"lastEditedAt": "2024-01-16T08:00:00"},
        }
    )
    project: Project = data(Project)(response(json=body))
    assert project.created_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert project.created_at is not None
    assert project.created_at.utcoffset() == timedelta(0)
    assert project.stats is not None
    assert project.stats.last_edited_at == datetime(2024, 1, 16, 8, 0, tzinfo=timezone.utc)


def test_timestamp_with_offset_keeps_the_instant() -> None:
    project: Project = data(Project)(
        response(json=ok({**PROJECT, "createdAt": "2024-01-15T14:30:00+02:00"}))
    )
    assert project.created_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert project.created_at is not None
    assert project.created_at.utcoffset() == timedelta(hours=2)


def test_unknown_fields_are_kept_in_model_extra() -> None:
    body = ok({**PROJECT, "ownerId": "user_1", "tags": ["a", "b"]})
    project: Project = data(Project)(response(json=body))
    assert project.model_extra == {"ownerId": "user_1", "tags": ["a", "b"]}
    assert project.to_dict()["ownerId"] == "user_1"


def test_unknown_fields_of_nested_objects_are_kept() -> None:
    body = ok({**PROJECT, "settings": {"framework": "vue", "ssr": True}})
    project: Project = data(Project)(response(json=body))
    assert project.settings is not None
    assert project.settings.framework == "vue"
    assert project.settings.model_extra == {"ssr": True}


@pytest.mark.parametrize("status", ["active", "archived", "deleted", "frozen", ""])
def test_any_status_value_is_kept_as_a_string(status: str) -> None:
    project: Project = data(Project)(response(json=ok({**PROJECT, "status": status})))
    assert project.status == status
    assert isinstance(project.status, str)


def test_partial_patch_answer_with_only_id() -> None:
    project: PartialProject = data(PartialProject)(response(json=ok({"id": "proj_abc123"})))
    assert project.id == "proj_abc123"
    assert project.name is None
    assert project.status is None
    assert project.created_at is None
    assert project.settings is None
    assert project.stats is None
    assert project.to_dict() == {"id": "proj_abc123"}


def test_partial_patch_answer_with_some_fields() -> None:
    answer = ok({"id": "proj_abc123", "status": "archived"})
    project: PartialProject = data(PartialProject)(response(json=answer))
    assert project.status == "archived"
    assert project.name is None
    assert project.to_dict() == {"id": "proj_abc123", "status": "archived"}


def test_data_reads_other_models() -> None:
    user: User = data(User)(response(json=ok({"id": "user_1", "email": "a@b.c", "name": "Ann"})))
    assert (user.id, user.email, user.name) == ("user_1", "a@b.c", "Ann")
    deleted: DeletedProject = data(DeletedProject)(
        response(json=ok({"id": "proj_1", "deleted": True}))
    )
    assert deleted.id == "proj_1"
    assert deleted.deleted is True


# --- a 2xx that says "success": false --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("UNAUTHORIZED", AuthenticationError),
        ("FORBIDDEN", PermissionDeniedError),
        ("PROJECT_NOT_FOUND", NotFoundError),
        ("TEMPLATE_NOT_FOUND", NotFoundError),
        ("RATE_LIMIT_EXCEEDED", RateLimitError),
        ("INVALID_REQUEST", BadRequestError),
        ("INVALID_PROJECT_NAME", BadRequestError),
        ("SOMETHING_NEW", APIError),
    ],
)
@pytest.mark.parametrize("read", [read_envelope, data(Project)], ids=["read_envelope", "data"])
def test_2xx_failure_raises_the_class_of_its_code(
    code: str, expected: type[APIError], read: Callable[[httpx.Response], object]
) -> None:
    resp = response(
        200,
        json=failure(code, "It failed", details={"field": "name"}),
        headers={"X-Request-Id": "req_42"},
    )
    with pytest.raises(APIError) as info:
        read(resp)
    error = info.value
    assert type(error) is expected
    assert error.status_code == 200
    assert error.code == code
    assert error.message == "It failed"
    assert error.details == {"field": "name"}
    assert error.request_id == "req_42"
    assert error.response is resp
    assert error.body == failure(code, "It failed", details={"field": "name"})


def test_2xx_failure_without_error_object() -> None:
    with pytest.raises(APIError) as info:
        read_envelope(response(200, json={"success": False}))
    assert type(info.value) is APIError
    assert info.value.code is None
    assert info.value.message  # a description, not an empty string


def test_2xx_rate_limit_failure_reads_retry_after() -> None:
    resp = response(200, json=failure("RATE_LIMIT_EXCEEDED", retryAfter=12))
    with pytest.raises(RateLimitError) as info:
        read_envelope(resp)
    assert info.value.retry_after == 12


# --- answers that are not the envelope -------------------------------------------------------

NOT_ENVELOPES: list[tuple[str, httpx.Response]] = [
    (
        "html",
        response(content=b"<html><body>Hello</body></html>", headers={"Content-Type": "text/html"}),
    ),
    ("invalid-utf8", response(content=b'{"success": true, "data": "\xff\xfe\xfa"}')),
    ("invalid-utf8-alone", response(content=b"\xff\xfe\x00\xd8\x00")),
    ("empty", response(content=b"")),
    ("truncated", response(content=b'{"success": true, "data": {')),
    ("list", response(json=[PROJECT])),
    ("string", response(json="ok")),
    ("number", response(json=1)),
    ("null", response(json=None)),
    ("no-success", response(json={"data": 1})),
    ("success-string", response(json={"success": "true", "data": PROJECT})),
    ("success-int", response(json={"success": 1, "data": PROJECT})),
    ("success-without-data", response(json={"success": True})),
    ("deep-list", response(content=b"[" * 100000)),
    ("deep-object", response(content=b'{"a":' * 100000)),
    ("deep-closed", response(content=b"[" * 100000 + b"]" * 100000)),
    ("nan", response(content=b'{"success": true, "data": NaN')),
]


@pytest.mark.parametrize(
    "resp", [r for _, r in NOT_ENVELOPES], ids=[name for name, _ in NOT_ENVELOPES]
)
def test_answer_that_is_not_the_envelope_is_a_validation_error(resp: httpx.Response) -> None:
    error = raised_by_envelope(resp)
    assert type(error) is APIResponseValidationError
    assert error.response is resp
    assert error.status_code == 200
    assert error.may_have_succeeded is True
    assert error.message


@pytest.mark.parametrize(
    "resp", [r for _, r in NOT_ENVELOPES], ids=[name for name, _ in NOT_ENVELOPES]
)
def test_data_parser_fails_the_same_way(resp: httpx.Response) -> None:
    with pytest.raises(APIResponseValidationError) as info:
        data(Project)(resp)
    assert info.value.response is resp


def test_html_answer_keeps_its_text_and_names_the_content_type() -> None:
    resp = response(content=b"<html>Hi</html>", headers={"Content-Type": "text/html"})
    error = raised_by_envelope(resp)
    assert error.body == "<html>Hi</html>"
    assert "text/html" in error.message
    assert error.__cause__ is None


def test_json_that_is_not_an_object_is_kept_as_body() -> None:
    error = raised_by_envelope(response(json=[1, 2]))
    assert error.body == [1, 2]


DOES_NOT_FIT: list[tuple[str, Any]] = [
    ("missing-id", {"name": "x"}),
    ("id-not-str", {"id": 123}),
    ("bad-date", {**PROJECT, "createdAt": "yesterday"}),
    ("bad-settings", {**PROJECT, "settings": "react"}),
    ("bad-stats", {**PROJECT, "stats": {"files": "many"}}),
    ("list", [PROJECT]),
    ("string", "proj_1"),
    ("null", None),
    ("deep-but-parsable", [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]),
]


@pytest.mark.parametrize("value", [v for _, v in DOES_NOT_FIT], ids=[n for n, _ in DOES_NOT_FIT])
def test_data_that_does_not_fit_the_model_is_a_validation_error(value: Any) -> None:
    resp = response(json=ok(value))
    with pytest.raises(APIResponseValidationError) as info:
        data(Project)(resp)
    error = info.value
    assert type(error) is APIResponseValidationError
    assert error.response is resp
    assert error.body == ok(value)
    assert "Project" in error.message
    assert error.__cause__ is None


def test_validation_message_names_the_field_but_not_the_value() -> None:
    resp = response(json=ok({**PROJECT, "createdAt": "SECRET-VALUE-7731"}))
    with pytest.raises(APIResponseValidationError) as info:
        data(Project)(resp)
    assert "createdAt" in info.value.message or "created_at" in info.value.message
    assert "SECRET-VALUE-7731" not in info.value.message


def test_validation_message_names_three_problems_and_counts_the_rest() -> None:
    with pytest.raises(APIResponseValidationError) as info:
        data(Project)(response(json=ok({"id": "proj_1"})))
    assert info.value.message == (
        "The API's answer does not fit Project: name: Field required; status: Field required; "
        "previewUrl: Field required (and 2 more)"
    )


# --- error answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
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
        (418, APIError),
    ],
)
def test_error_envelope_becomes_the_class_of_its_status(
    status: int, expected: type[APIError]
) -> None:
    body = failure("SOME_CODE", "Explained", details={"limit": 10})
    resp = response(status, json=body, headers={"X-Request-Id": "req_7"})
    with pytest.raises(APIError) as info:
        read_envelope(resp)
    error = info.value
    assert type(error) is expected
    assert error.status_code == status
    assert error.code == "SOME_CODE"
    assert error.message == "Explained"
    assert error.details == {"limit": 10}
    assert error.request_id == "req_7"
    assert error.body == body
    assert error.response is resp
    assert error.may_have_succeeded is (status >= 500)
    # error_from_response alone gives the same
    again = error_from_response(resp)
    assert type(again) is expected
    assert (again.code, again.message, again.details) == ("SOME_CODE", "Explained", {"limit": 10})


def test_error_without_details() -> None:
    error = error_from_response(response(404, json=failure("PROJECT_NOT_FOUND", "Not here")))
    assert isinstance(error, NotFoundError)
    assert error.details is None
    assert error.request_id is None
    assert str(error) == "404 PROJECT_NOT_FOUND: Not here"


MALFORMED_ERRORS: list[tuple[str, int, dict[str, Any], type[APIError], str, str | None]] = [
    # (id, status, body, class, message, code)
    ("html-502", 502, {"content": b"<html>502</html>"}, InternalServerError, "Bad Gateway", None),
    ("empty-404", 404, {"content": b""}, NotFoundError, "Not Found", None),
    ("empty-500", 500, {"content": b""}, InternalServerError, "Internal Server Error", None),
    # A bare string error is the OAuth form (RFC 6749 section 5.2): the string is the code.
    ("error-string", 400, {"json": {"error": "string"}}, BadRequestError, "Bad Request", "string"),
    (
        "error-string-with-success",
        403,
        {"json": {"success": False, "error": "nope"}},
        PermissionDeniedError,
        "Forbidden",
        "nope",
    ),
    (
        "oauth-error",
        400,
        {"json": {"error": "invalid_grant", "error_description": "Code expired"}},
        BadRequestError,
        "Code expired",
        "invalid_grant",
    ),
    (
        "code-not-str",
        404,
        {"json": {"success": False, "error": {"code": 404, "message": "Gone"}}},
        NotFoundError,
        "Gone",
        None,
    ),
    (
        "code-list-message-none",
        401,
        {"json": {"success": False, "error": {"code": ["X"], "message": None}}},
        AuthenticationError,
        "Unauthorized",
        None,
    ),
    (
        "message-not-str",
        409,
        {"json": {"success": False, "error": {"code": "C", "message": {"a": 1}}}},
        ConflictError,
        "Conflict",
        "C",
    ),
    (
        "message-empty",
        422,
        {"json": {"success": False, "error": {"code": "C", "message": ""}}},
        UnprocessableEntityError,
        "Unprocessable Entity",
        "C",
    ),
    (
        "code-empty",
        400,
        {"json": {"success": False, "error": {"code": "", "message": "Bad"}}},
        BadRequestError,
        "Bad",
        None,
    ),
    ("json-list", 500, {"json": [1, 2, 3]}, InternalServerError, "Internal Server Error", None),
    ("json-null", 503, {"json": None}, InternalServerError, "Service Unavailable", None),
    (
        "invalid-utf8",
        504,
        {"content": b"\xff\xfe\xfa"},
        InternalServerError,
        "Gateway Timeout",
        None,
    ),
    ("deep", 500, {"content": b"[" * 100000}, InternalServerError, "Internal Server Error", None),
    ("rate-limit-empty", 429, {"content": b""}, RateLimitError, "Too Many Requests", None),
    ("teapot-empty", 418, {"content": b""}, APIError, "I'm a teapot", None),
]


@pytest.mark.parametrize(
    ("status", "kwargs", "expected", "message", "code"),
    [case[1:] for case in MALFORMED_ERRORS],
    ids=[case[0] for case in MALFORMED_ERRORS],
)
def test_malformed_error_body_still_gives_the_class_of_its_status(
    status: int, kwargs: dict[str, Any], expected: type[APIError], message: str, code: str | None
) -> None:
    resp = response(status, **kwargs)
    error = error_from_response(resp)
    assert type(error) is expected
    assert error.status_code == status
    assert error.message == message
    assert error.code == code
    assert error.response is resp
    assert error.details is None
    with pytest.raises(expected):
        read_envelope(resp)


def test_html_error_keeps_the_text_as_body() -> None:
    html = "<html><h1>502 Bad Gateway</h1></html>"  # as a proxy in front of the API sends
    error = error_from_response(response(502, content=html.encode()))
    assert error.body == html
    assert error.code is None
    assert str(error) == "502: Bad Gateway"


def test_empty_error_body_is_none() -> None:
    error = error_from_response(response(404, content=b""))
    assert error.body is None


def test_unknown_status_without_reason_still_has_a_message() -> None:
    error = error_from_response(response(599, content=b""))
    assert isinstance(error, InternalServerError)
    assert error.message.strip()


def test_details_that_are_not_an_object_are_dropped() -> None:
    error = error_from_response(response(400, json=failure("INVALID_REQUEST", details=["x"])))
    assert isinstance(error, BadRequestError)
    assert error.details is None


# --- request ids -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["X-Request-Id", "x-request-id", "Request-Id", "X-Craft-Request-Id"]
)
def test_request_id_is_read_from_the_header(name: str) -> None:
    resp = response(json=ok({}), headers={name: "req_abc"})
    assert request_id_of(resp) == "req_abc"


def test_request_id_is_none_without_header() -> None:
    assert request_id_of(response(json=ok({}))) is None
    assert request_id_of(response(json=ok({}), headers={"X-Request-Id": ""})) is None


def test_x_request_id_wins_over_other_spellings() -> None:
    resp = response(json=ok({}), headers={"Request-Id": "other", "X-Request-Id": "req_main"})
    assert request_id_of(resp) == "req_main"


def test_error_carries_the_request_id() -> None:
    resp = response(500, json=failure("BOOM"), headers={"X-Request-Id": "req_500"})
    error = error_from_response(resp)
    assert error.request_id == "req_500"
    assert "req_500" in str(error)


# --- Retry-After -----------------------------------------------------------------------------


def rate_limited(headers: dict[str, str], **error: Any) -> RateLimitError:
    resp = response(429, json=failure("RATE_LIMIT_EXCEEDED", "Slow down", **error), headers=headers)
    with pytest.raises(RateLimitError) as info:
        read_envelope(resp)
    return info.value


@pytest.mark.parametrize(
    ("headers", "error", "expected"),
    [
        ({"Retry-After": "30"}, {}, 30.0),
        ({"Retry-After": "1.5"}, {}, 1.5),
        ({"X-RateLimit-RetryAfter": "12"}, {}, 12.0),
        ({}, {"retryAfter": 20}, 20.0),
        ({}, {"retryAfter": "8"}, 8.0),
        ({"Retry-After": "5", "X-RateLimit-RetryAfter": "12"}, {"retryAfter": 9}, 12.0),
        ({"Retry-After": "50", "X-RateLimit-RetryAfter": "12"}, {"retryAfter": 9}, 50.0),
        ({"Retry-After": "5", "X-RateLimit-RetryAfter": "0"}, {"retryAfter": 40}, 40.0),
        ({"Retry-After": "5", "X-RateLimit-RetryAfter": "0"}, {}, 5.0),
        ({"Retry-After": "soon"}, {"retryAfter": 3}, 3.0),
        ({}, {}, None),
        ({"Retry-After": "soon"}, {}, None),
        ({"Retry-After": "0", "X-RateLimit-RetryAfter": "0"}, {"retryAfter": 0}, None),
        ({"Retry-After": "-5"}, {"retryAfter": True}, None),
    ],
)
def test_retry_after_is_the_longest_wait_asked_for(
    headers: dict[str, str], error: dict[str, Any], expected: float | None
) -> None:
    assert rate_limited(headers, **error).retry_after == expected


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


def test_retry_after_as_http_date() -> None:
    retry_after = rate_limited({"Retry-After": http_date(30)}).retry_after
    assert retry_after is not None
    assert 27.0 <= retry_after <= 31.0


def test_retry_after_http_date_competes_with_the_body() -> None:
    assert rate_limited({"Retry-After": http_date(30)}, retryAfter=45).retry_after == 45
    longest = rate_limited({"Retry-After": http_date(30)}, retryAfter=2).retry_after
    assert longest is not None
    assert 27.0 <= longest <= 31.0


def test_retry_after_http_date_in_the_past_is_ignored() -> None:
    assert rate_limited({"Retry-After": http_date(-3600)}).retry_after is None


def test_retry_after_is_read_on_a_429_without_an_envelope() -> None:
    resp = response(429, content=b"Too many", headers={"Retry-After": "4"})
    error = error_from_response(resp)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 4.0
    assert error.code is None


def test_other_statuses_have_no_retry_after() -> None:
    error = error_from_response(response(503, json=failure("DOWN"), headers={"Retry-After": "4"}))
    assert isinstance(error, InternalServerError)
    assert not hasattr(error, "retry_after")


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("location", [True, False])
def test_redirect_is_an_api_error_that_says_it_was_not_followed(
    status: int, location: bool
) -> None:
    headers = {"Location": "https://evil.example/steal"} if location else {}
    resp = response(status, content=b"", headers=headers)
    with pytest.raises(APIError) as info:
        read_envelope(resp)
    error = info.value
    assert type(error) is APIError
    assert error.status_code == status
    assert "redirect" in error.message.lower()
    assert "not follow" in error.message.lower()
    assert error.may_have_succeeded is False


def test_redirect_with_an_error_envelope_keeps_the_server_message() -> None:
    resp = response(302, json=failure("MOVED", "Moved elsewhere"))
    error = error_from_response(resp)
    assert type(error) is APIError
    assert error.code == "MOVED"
    assert error.message == "Moved elsewhere"
