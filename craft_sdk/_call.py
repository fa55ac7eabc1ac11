"""`Call[T]`: one API operation described as data, built without any I/O.

Resources turn their arguments into a `Call`; the sync and async clients send it. Everything that
decides *what* goes on the wire (method, path, query, body) and *how the answer is read* is here
or in the functions that build calls, so it is written once for both clients.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar, cast
from urllib.parse import quote

from ._body import Download, Upload
from ._http import httpx

T = TypeVar("T")

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
QueryValue = str | int | bool

# RFC 9110 section 9.2.2: a client may repeat these without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


@dataclasses.dataclass(frozen=True)
class Call(Generic[T]):
    """What to send, and how to turn a successful answer into a `T`."""

    method: Method
    path: str
    """Already encoded, relative to the base URL, starting with "/" (see `api_path`)."""
    parse: Callable[[httpx.Response], T]
    """Reads a 2xx answer; raises a `CraftError` when it is not what the API promises."""
    params: Mapping[str, QueryValue] | None = None
    json: Any = None
    content: Upload | None = None
    """A raw request body (a file write), sent as it streams."""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])
    authenticated: bool = True
    """False for the OAuth token endpoint, which takes the app's credentials in the body."""
    download: Download | None = None
    """Where a successful raw (non-JSON) answer is streamed, instead of being read into memory."""

    def with_params(self, params: Mapping[str, QueryValue]) -> Call[T]:
        """This call with other query parameters (the next page of a list).

        A copy of the fields as they are: `dataclasses.replace` would run every field through
        `__init__` again, which costs more than the rest of moving to the next page."""
        copy = cast("Call[T]", object.__new__(Call))
        copy.__dict__.update(self.__dict__, params=params)
        return copy

    @property
    def idempotent(self) -> bool:
        """Whether sending this twice has the same effect as sending it once."""
        return self.method in IDEMPOTENT_METHODS

    @property
    def transfers_file(self) -> bool:
        """Whether this call streams a file (an upload or a download), which may take long
        however healthy the connection."""
        return self.content is not None or self.download is not None

    @property
    def replayable(self) -> bool:
        """Whether another attempt could send the same body and write the same destination: not
        so for a body read from a pipe, or a download into a file that cannot be rewound."""
        return (self.content is None or self.content.replayable) and (
            self.download is None or self.download.restartable
        )

    def download_for(self, response: httpx.Response) -> Download | None:
        """Where to stream `response`'s body, or None to read it into memory: only a successful
        answer that is not JSON (a JSON answer may be an envelope, or an error) is streamed."""
        if self.download is None or not response.is_success or is_json(response):
            return None
        return self.download


def is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def api_path(*segments: str) -> str:
    """Join path segments into an encoded path, each segment percent-encoded whole.

    An id can therefore never add a segment, climb out of the base path with `..`, or start a
    query: `api_path("projects", "a/../b")` is `/projects/a%2F..%2Fb`. Empty, `.` and `..`
    segments are refused, since servers and proxies collapse them.
    """
    return "".join("/" + quote_segment(check_segment(segment)) for segment in segments)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


def quote_segment(segment: str) -> str:
    """`segment` percent-encoded whole, `/` included."""
    # Most segments ("projects", "proj_abc123") need no escaping: skip the work for them.
    return segment if _UNRESERVED.fullmatch(segment) else quote(segment, safe="")


def check_segment(segment: str, *, what: str = "id") -> str:
    """Return `segment` if it can stand as one path segment, else raise `ValueError`."""
    if not isinstance(cast(object, segment), str):  # checked: untyped code may pass anything
        raise TypeError(f"{what} must be a str, not {type(segment).__name__}")
    if segment in ("", ".", ".."):
        raise ValueError(f"{what} must not be empty, '.' or '..' (got {segment!r})")
    return segment
