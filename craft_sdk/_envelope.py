"""The one module that knows the API's envelope.

Success: `{"success": true, "data": ...}` (lists add `"pagination"`).
Failure: `{"success": false, "error": {"code": ..., "message": ..., "details": {...}}}`, where a
429 adds `error.retryAfter`. A 2xx whose body says `"success": false` is a failure too.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Optional, TypeVar, cast

import pydantic

from ._errors import (
    APIError,
    APIResponseValidationError,
    RateLimitError,
    error_class,
    summarised,
    validation_problems,
)
from ._http import httpx
from ._retry import server_requested_wait
from ._types import json_object

M = TypeVar("M", bound=pydantic.BaseModel)

# Assumed: the reference names no request-id header; these are the common spellings.
REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id", "x-craft-request-id")


def read_envelope(response: httpx.Response, decoded: object = ...) -> dict[str, Any]:
    """The envelope of a successful answer, or raise the error it describes. `decoded` is the
    body as `decode_json_leniently` gave it, when the caller has decoded it already."""
    if not response.is_success:
        raise error_from_response(response)
    if decoded is ...:
        decoded = decode_json(response)
    body = envelope_of(decoded)
    if body is None:
        raise APIResponseValidationError(
            "The API's answer is not the {success, data} envelope.",
            response=response,
            body=decoded,
        )
    if body["success"] is not True:
        raise error_from_response(response, body)
    if "data" not in body:
        raise APIResponseValidationError(
            "The API's answer says success but holds no data.", response=response, body=body
        )
    return body


def envelope_of(decoded: object) -> dict[str, Any] | None:
    """A decoded JSON body as the API's envelope (an object whose `success` is a bool), or None
    when it is something else."""
    body = json_object(decoded)
    return body if body is not None and isinstance(body.get("success"), bool) else None


def data(model: type[M]) -> Callable[[httpx.Response], M]:
    """A parser that reads the envelope's `data` as a `model` (one per model, made once)."""
    return cast("Callable[[httpx.Response], M]", _data_parser(model))


# Not generic itself: under functools.cache a generic function's type parameter is lost, which
# is why `data` above says what the parser returns.
@functools.cache
def _data_parser(
    model: type[pydantic.BaseModel],
) -> Callable[[httpx.Response], pydantic.BaseModel]:
    def parse(response: httpx.Response) -> pydantic.BaseModel:
        if response.is_success:  # the fast path: one pass over the bytes, in pydantic's core
            try:
                envelope = envelope_type(model).model_validate_json(response.content)
                return cast(pydantic.BaseModel, envelope.data)
            except pydantic.ValidationError:
                pass  # the slow path below says exactly what is wrong
        body = read_envelope(response)
        return validate(model, body["data"], response=response, body=body)

    return parse


def _true(value: bool) -> bool:
    if value is not True:
        raise ValueError("not a success")
    return value


@functools.cache
def envelope_type(data_type: Any, *, paginated: bool = False) -> Any:
    """The success envelope around `data_type` as a model, built the first time it is needed.

    It only ever accepts what `read_envelope` plus validating `data` would accept; anything
    else it refuses goes through that slower path, which raises the precise error.
    """
    # A JSON `true`, strictly: `"success": 1` is not the envelope (read_envelope wants a bool).
    success_true = Annotated[bool, pydantic.Strict(), pydantic.AfterValidator(_true)]
    fields: dict[str, Any] = {"success": (success_true, ...), "data": (data_type, ...)}
    if paginated:
        from .models.pagination import Pagination

        fields["pagination"] = (Optional[Pagination], None)  # noqa: UP045 - runtime annotation
    return pydantic.create_model(
        "SuccessEnvelope", __config__=pydantic.ConfigDict(extra="ignore"), **fields
    )


def validate(model: type[M], value: object, *, response: httpx.Response, body: object) -> M:
    """`model.model_validate(value)`, failing as `APIResponseValidationError`."""
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        problems = summarised(validation_problems(exc))
        raise APIResponseValidationError(
            f"The API's answer does not fit {model.__name__}: {problems}",
            response=response,
            body=body,
        ) from None


def error_from_response(response: httpx.Response, body: object = ...) -> APIError:
    """The typed error an error answer stands for; never raises on a malformed body."""
    if body is ...:
        body = decode_json_leniently(response)
    envelope = json_object(body) or {}
    error = envelope.get("error")
    fields: Mapping[str, Any] = json_object(error) or {}
    if isinstance(error, str):
        # The OAuth token endpoint's form (RFC 6749 section 5.2): {"error": "invalid_grant",
        # "error_description": "..."}.
        fields = {"code": error, "message": envelope.get("error_description")}
    code = _str_or_none(fields.get("code"))
    message = _str_or_none(fields.get("message")) or _describe_status(response)
    details = fields.get("details")
    cls = error_class(response.status_code, code)
    kwargs: dict[str, Any] = {
        "status_code": response.status_code,
        "code": code,
        "details": json_object(details),
        "request_id": request_id_of(response),
        "body": body,
        "response": response,
    }
    if issubclass(cls, RateLimitError):
        kwargs["retry_after"] = server_requested_wait(
            response.headers, fields.get("retryAfter"), now=time.time()
        )
    return cls(message, **kwargs)


def request_id_of(response: httpx.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(name)
        if value:
            return value
    return None


def decode_json(response: httpx.Response) -> object:
    """The body as JSON, or `APIResponseValidationError` when it is not JSON."""
    try:
        return json.loads(response.content)
    # ValueError covers JSONDecodeError and UnicodeDecodeError; deep nesting overflows the stack.
    except (ValueError, RecursionError):
        raise APIResponseValidationError(
            f"The API's answer is not JSON (Content-Type: "
            f"{response.headers.get('content-type', 'none')}).",
            response=response,
            body=_text_or_none(response),
        ) from None


def decode_json_leniently(response: httpx.Response) -> object:
    """The body as JSON, or as text when it is not JSON (None when empty)."""
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        return _text_or_none(response)


def _text_or_none(response: httpx.Response) -> str | None:
    return response.text or None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe_status(response: httpx.Response) -> str:
    if response.is_redirect:
        return (
            f"The API answered with a redirect ({response.status_code}); craft-sdk does not "
            "follow redirects, so that credentials never leave the configured base URL."
        )
    if response.is_success:
        return "The API reported a failure without an error object."
    return response.reason_phrase or "Unexpected status"
