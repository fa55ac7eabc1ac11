"""What the emulator's parts hand each other: a request taken apart, an answer before the
headers every answer shares, a refusal raised from anywhere, and the API's JSON envelopes."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from .._http import httpx
from .._types import json_object


@dataclasses.dataclass(frozen=True)
class Request:
    """What a handler needs from the request, already taken apart."""

    method: str
    query: dict[str, str]
    headers: httpx.Headers
    body: bytes


@dataclasses.dataclass
class Answer:
    """A response before the headers every response shares are added."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = dataclasses.field(default_factory=dict[str, str])


class Reject(Exception):
    """Raised anywhere in a handler to answer with an error envelope.

    `headers` are added to the answer (a 429 carries its rate-limit window's).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        *,
        retry_after: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    def answer(self) -> Answer:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = dict(self.details)
        headers = dict(self.headers)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="craft"'
        if self.retry_after is not None:
            error["retryAfter"] = self.retry_after
            headers["Retry-After"] = str(self.retry_after)
        return Answer(self.status, dumps({"success": False, "error": error}), headers=headers)


def ok(data: Any, *, status: int = 200) -> Answer:
    return Answer(status, dumps({"success": True, "data": data}))


def page(items: list[dict[str, Any]], *, number: int, limit: int) -> Answer:
    """Page `number` of `items`, `limit` to a page, with the reference's `pagination`."""
    total = len(items)
    total_pages = math.ceil(total / limit)
    pagination = {
        "page": number,
        "limit": limit,
        "total": total,
        "totalPages": total_pages,
        "hasMore": number < total_pages,
    }
    data = items[(number - 1) * limit : number * limit]
    return Answer(200, dumps({"success": True, "data": data, "pagination": pagination}))


def invalid(field: str, message: str) -> Reject:
    return Reject(400, "INVALID_REQUEST", message, {"field": field})


def injected(status: int) -> Answer:
    """The answer of an injected fault: an error envelope named after its status."""
    codes = {429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR"}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code = codes.get(status, phrase.upper().replace(" ", "_").replace("-", "_"))
    return Reject(
        status, code, f"{phrase} (injected).", retry_after=1 if status == 429 else None
    ).answer()


def json_body(
    body: bytes, *, optional: bool = False, fields: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The body as a JSON object; with `fields`, a field not among them is refused (the
    contract's request bodies allow no others)."""
    if optional and not body.strip():
        return {}
    try:
        value = json_object(json.loads(body))
    except (ValueError, RecursionError):
        raise Reject(400, "INVALID_REQUEST", "The request body is not valid JSON.") from None
    if value is None:
        raise Reject(400, "INVALID_REQUEST", "The request body must be a JSON object.")
    unknown = [field for field in value if fields is not None and field not in fields]
    if unknown:
        raise invalid(
            unknown[0], f"Unknown field {unknown[0]!r}; expected {', '.join(fields or ())}."
        )
    return value


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def copy(value: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that no answer shares a dict with the state."""
    copied = dict(value)
    for key, inner in value.items():
        if (nested := json_object(inner)) is not None:
            copied[key] = dict(nested)
    return copied
