"""Raw access, the escape hatch: the answers behind any result, and any endpoint.

* `client.with_response(method, *args, **kwargs)` calls one of the client's methods and returns
  its result together with the answers it was read from (`ResponseInfo`). While the method runs,
  the client records each answer it reads into a list held in a context variable
  (`recording_responses`); outside `with_response` nothing is recorded and nothing is kept. A
  context variable follows the call wherever it goes: into the tasks of the async client and
  the threads of `write_many`, and never into another thread's or task's unrelated calls.
* `client.request(method, path, ...)` sends one request (`raw_call`) to an endpoint the SDK
  does not model yet, through the same key, retries, rate limit, deadline and typed errors, and
  returns the envelope's `data`. `client.request_list(path, ...)` reads a list endpoint page by
  page (`raw_list_call`), with the pagination and its loop guards of every modelled list.
"""

from __future__ import annotations

import dataclasses
import json as json_module
import re
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, Generic, TypeVar, cast
from urllib.parse import quote, unquote

from ._body import FileContent, Upload
from ._call import Call, Method, QueryValue, check_segment, is_json
from ._envelope import decode_json, envelope_of, error_from_response, read_envelope, request_id_of
from ._errors import CraftError
from ._http import httpx
from ._pagination import PageData, page_of
from ._rate_limit import RateLimit, read_rate_limit
from ._transport import read_head
from ._types import public
from .models import CraftModel

T = TypeVar("T")

METHODS: Final[dict[str, Method]] = {
    method: method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
}


@public
@dataclasses.dataclass(frozen=True)
class ResponseInfo:
    """One answer the API gave, as `with_response` reports it: what it said besides its data."""

    status_code: int
    """The HTTP status, such as 200."""
    headers: httpx.Headers
    """Every header of the answer (case-insensitive lookups)."""
    request_id: str | None
    """The id the server gave the request (`X-Request-Id` and its spellings), or None."""
    rate_limit: RateLimit | None
    """The rate limit this answer reported, or None when it reported none."""
    method: str
    """The request's method, such as "GET"."""
    url: str
    """The request's URL, query included."""
    elapsed: float
    """Seconds from sending the request to the end of its answer's body."""
    http_response: httpx.Response
    """The httpx response itself, its body already read (`.content`) and its request without
    credentials."""

    @classmethod
    def of(cls, response: httpx.Response, elapsed: float) -> ResponseInfo:
        """What `response`, read in `elapsed` seconds, said."""
        return cls(
            status_code=response.status_code,
            headers=response.headers,
            request_id=request_id_of(response),
            rate_limit=read_rate_limit(read_head(response)),
            method=response.request.method,
            url=str(response.request.url),
            elapsed=elapsed,
            http_response=response,
        )

    def __repr__(self) -> str:
        return (
            f"ResponseInfo({self.method} {self.url} -> {self.status_code}, "
            f"request_id={self.request_id!r})"
        )


@public
@dataclasses.dataclass(frozen=True)
class WithResponse(Generic[T]):
    """A method's result, with the answers it was read from (see `CraftClient.with_response`)."""

    data: T
    """What the method returned, exactly as it would have without `with_response`."""
    responses: list[ResponseInfo]
    """Every answer the method read, in order: one for most methods; more when it was retried
    after an error answer (that answer comes first) or read several pages or polls."""

    @property
    def response(self) -> ResponseInfo:
        """The last answer: the one the result was read from."""
        return self.responses[-1]


_RECORDING: ContextVar[list[ResponseInfo] | None] = ContextVar("craft_sdk_recording", default=None)


@contextmanager
def recording_responses() -> Generator[list[ResponseInfo]]:
    """Record the answers the clients read in this context into the list it yields (an outer
    recording gets them too)."""
    outer = _RECORDING.get()
    recorded: list[ResponseInfo] = []
    token = _RECORDING.set(recorded)
    try:
        yield recorded
    finally:
        _RECORDING.reset(token)
        if outer is not None:
            outer.extend(recorded)


def record_response(response: httpx.Response, elapsed: float) -> None:
    """Note an answer that was read, if `with_response` is recording (one lookup otherwise)."""
    recorded = _RECORDING.get()
    if recorded is not None:
        recorded.append(ResponseInfo.of(response, elapsed))


def with_responses(data: T, recorded: list[ResponseInfo]) -> WithResponse[T]:
    """`data` with the answers recorded while it was made."""
    if not recorded:
        raise CraftError(
            "with_response() saw no answer from the API: pass it a method of the client, such "
            "as with_response(client.projects.get, project_id), and its arguments."
        )
    return WithResponse(data, recorded)


# --- client.request ----------------------------------------------------------------------------

# A percent sign that does not start a percent-escape.
_STRAY_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What may stay as it is in a path segment (RFC 3986 pchar); anything else is percent-encoded.
_SEGMENT_SAFE: Final = "!$&'()*+,;=:@%-._~"


def raw_call(
    method: str,
    path: str,
    *,
    params: Mapping[str, QueryValue] | None,
    json: object,
    content: FileContent | None,
) -> Call[Any]:
    """The call `client.request` sends; every argument is checked before anything is sent."""
    if not isinstance(cast(object, method), str):
        raise TypeError(f"method must be a str, not {type(method).__name__}")
    verb = METHODS.get(method.upper())
    if verb is None:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if json is not None and content is not None:
        raise ValueError("pass json= or content=, not both")
    if json is not None:
        try:
            json_module.dumps(json, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"json must be JSON-serialisable: {exc}") from None
    return Call(
        verb,
        _raw_path(path),
        parse=raw_data,
        params=_query(params),
        json=json,
        content=None if content is None else Upload(content),
    )


def _raw_path(path: str) -> str:
    """`path` as an encoded path under the base URL, or `ValueError` for one that could leave
    it: the same rules as every other path the SDK sends."""
    if not isinstance(cast(object, path), str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    if not path.startswith("/"):
        raise ValueError(
            f"path must start with '/' and is relative to the base URL, such as '/projects'; "
            f"got {path!r}"
        )
    if "?" in path or "#" in path:
        raise ValueError(f"put the query in params=, not in the path: {path!r}")
    segments = path[1:].split("/")
    for segment in segments:
        # Decoded first: a server collapses `%2e%2e` as it does `..`.
        check_segment(unquote(segment), what="each part of a path")
        if _STRAY_PERCENT.search(segment):
            raise ValueError(f"a '%' in the path must start a percent-escape (%25): {path!r}")
    # Escapes already in a segment are kept; what may not stand in one is percent-encoded.
    return "".join("/" + quote(segment, safe=_SEGMENT_SAFE) for segment in segments)


def _query(params: Mapping[str, QueryValue] | None) -> Mapping[str, QueryValue] | None:
    if params is None:
        return None
    if not isinstance(cast(object, params), Mapping):
        raise TypeError(f"params must be a mapping, not {type(params).__name__}")
    for name, value in params.items():
        if not isinstance(cast(object, name), str) or not isinstance(
            cast(object, value), (str, int, float)
        ):
            raise TypeError(
                f"params must map str to str, int, float or bool; got {name!r}: "
                f"{type(value).__name__}"
            )
    return dict(params)


def raw_list_call(
    path: str, *, params: Mapping[str, QueryValue] | None
) -> Call[PageData[CraftModel]]:
    """The first page's call of `client.request_list`: a GET whose `data` is a list of objects,
    each read as a bare `CraftModel` (every field kept, under its wire name)."""
    return Call("GET", _raw_path(path), parse=page_of(CraftModel), params=_query(params))


def raw_data(response: httpx.Response) -> Any:
    """What `client.request` returns for an answer: the envelope's `data`; a JSON answer that
    is not the envelope, as decoded; any other body as bytes; None for an empty body."""
    if not response.is_success:
        raise error_from_response(response)
    if not response.content:
        return None
    if not is_json(response):
        return response.content
    decoded = decode_json(response)
    return decoded if envelope_of(decoded) is None else read_envelope(response, decoded)["data"]
