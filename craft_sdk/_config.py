"""Client settings: read from arguments or the environment, checked once, then frozen.

Every check here runs when a client is built, so a bad key, header or URL fails at the line that
made the client instead of at the first request, and no message ever repeats a secret.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import Final, TypeAlias, cast

from ._checks import check_seconds
from ._errors import CraftError
from ._http import httpx
from ._types import NOT_GIVEN, NotGiven

API_KEY_ENV: Final = "CRAFT_API_KEY"
BASE_URL_ENV: Final = "CRAFT_BASE_URL"
DEFAULT_BASE_URL: Final = "https://api.craft.fast/v1"
DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
# The API reference says the official SDKs retry 3 times on their own.
DEFAULT_MAX_RETRIES: Final = 3
# One call (all attempts, waits and reads) never takes longer than this.
DEFAULT_DEADLINE: Final = 300.0
# The longest wait the server may ask for that the client sleeps; past it, RateLimitError.
DEFAULT_MAX_RETRY_WAIT: Final = 60.0
# The largest answer read into memory; files.download streams to disk and has no limit.
DEFAULT_MAX_RESPONSE_BYTES: Final = 10 * 1024 * 1024

# Header names the client sets itself; letting default_headers override them would send the key
# somewhere else or break framing.
_RESERVED_HEADERS: Final = frozenset(
    {"authorization", "host", "content-length", "transfer-encoding"}
)
# RFC 9110 token characters, for header names.
_TOKEN_CHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


# Whitespace around a key is never part of it.
_BLANKS: Final = " \t"

ApiKey: TypeAlias = str | Callable[[], str]
"""An API key or access token, or a function returning the current one (called per request, so
a long-running process can refresh a token without rebuilding its client)."""


class Secret:
    """A key that does not show itself: repr, str and f-strings print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: ApiKey) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key; for a function, its current answer, checked like a key given directly."""
        if isinstance(self._value, str):
            return self._value
        key = cast(object, self._value())  # checked: the caller's function may return anything
        if isinstance(key, str):
            key = key.strip(_BLANKS)
        if isinstance(key, str) and key and _is_header_safe(key):
            return key
        # Gone before the raise: a traceback that records its frames' locals would show it.
        del key
        raise CraftError(
            "The api_key function returned no usable key: it must return a non-empty str of "
            "printable ASCII (no line break, NUL or other control character)."
        )

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """The checked settings of one client; `with_options` makes a changed copy."""

    api_key: Secret
    base_url: httpx.URL
    timeout: httpx.Timeout
    max_retries: int
    default_headers: Mapping[str, str]
    deadline: float | None
    max_retry_wait: float
    max_response_bytes: int
    deadline_set: bool = False
    """Whether the caller chose `deadline`: then it is a hard limit on file transfers too,
    while the default one only bounds the time a transfer makes no progress."""

    @functools.cached_property
    def base_url_text(self) -> str:
        """`base_url` as text, which every request path is appended to."""
        return str(self.base_url)

    @classmethod
    def build(
        cls,
        *,
        api_key: ApiKey | None,
        base_url: str | httpx.URL | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        default_headers: Mapping[str, str] | None,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retry_wait: float | None = None,
        max_response_bytes: int | None = None,
    ) -> ClientConfig:
        return cls(
            api_key=Secret(resolve_api_key(api_key)),
            base_url=resolve_base_url(base_url),
            timeout=resolve_timeout(DEFAULT_TIMEOUT if timeout is None else timeout),
            max_retries=resolve_max_retries(
                DEFAULT_MAX_RETRIES if max_retries is None else max_retries
            ),
            default_headers=resolve_headers(default_headers or {}),
            deadline=resolve_deadline(
                DEFAULT_DEADLINE if isinstance(deadline, NotGiven) else deadline
            ),
            max_retry_wait=resolve_max_retry_wait(
                DEFAULT_MAX_RETRY_WAIT if max_retry_wait is None else max_retry_wait
            ),
            max_response_bytes=resolve_max_response_bytes(
                DEFAULT_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
            ),
            deadline_set=not isinstance(deadline, NotGiven),
        )

    def replace(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        deadline: float | NotGiven | None = NOT_GIVEN,
        max_retry_wait: float | None = None,
        max_response_bytes: int | None = None,
    ) -> ClientConfig:
        changes: dict[str, object] = {}
        if timeout is not None:
            changes["timeout"] = resolve_timeout(timeout)
        if max_retries is not None:
            changes["max_retries"] = resolve_max_retries(max_retries)
        if not isinstance(deadline, NotGiven):
            changes["deadline"] = resolve_deadline(deadline)
            changes["deadline_set"] = True
        if max_retry_wait is not None:
            changes["max_retry_wait"] = resolve_max_retry_wait(max_retry_wait)
        if max_response_bytes is not None:
            changes["max_response_bytes"] = resolve_max_response_bytes(max_response_bytes)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def resolve_api_key(api_key: ApiKey | None) -> ApiKey:
    if callable(api_key) and not isinstance(api_key, str):
        return api_key  # called, and checked, for each request
    return _checked_key(os.environ.get(API_KEY_ENV) if api_key is None else api_key)


def _checked_key(key: object) -> str:
    if isinstance(key, str):
        # A key pasted from a file often carries a space or a tab around it; h11 would refuse the
        # header at send time, quoting it whole.
        key = key.strip(_BLANKS)
    if key is None or (isinstance(key, str) and not key.strip()):
        raise CraftError(
            f"No Craft API key: pass api_key=... or set the {API_KEY_ENV} environment variable. "
            "Create a key under Account Settings > API Keys."
        )
    if not isinstance(key, str):
        raise CraftError(f"api_key must be a str, not {type(key).__name__}.")
    if _is_header_safe(key):
        return key
    del key  # gone before the raise, as in Secret.reveal
    raise CraftError(
        "The API key contains a character that cannot go in an HTTP header (a line break, "
        "NUL, another control character or non-ASCII text); check for a stray newline."
    )


def resolve_base_url(base_url: str | httpx.URL | None) -> httpx.URL:
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise CraftError(f"base_url is not a valid URL: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise CraftError("base_url must be an absolute https:// URL, such as " + DEFAULT_BASE_URL)
    if url.scheme == "http" and not _is_loopback(url.host):
        raise CraftError(
            "base_url uses plain http:// for a host that is not loopback; the API key would "
            "cross the network unencrypted. Use https://."
        )
    if url.userinfo or url.query or url.fragment:
        raise CraftError("base_url must not carry credentials, a query or a fragment.")
    # Normalise to no trailing slash: paths are appended as "/projects/...".
    return url.copy_with(raw_path=url.raw_path.rstrip(b"/"))


def resolve_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(_positive_seconds("timeout", timeout, zero_allowed=False))


def resolve_deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return _positive_seconds("deadline", deadline, zero_allowed=False)


def resolve_max_retry_wait(max_retry_wait: float) -> float:
    return _positive_seconds("max_retry_wait", max_retry_wait, zero_allowed=True)


def _positive_seconds(what: str, value: object, *, zero_allowed: bool) -> float:
    # The shared check, raised as the CraftError that every configuration mistake is.
    try:
        return check_seconds(what, cast(float, value), zero_allowed=zero_allowed)
    except (TypeError, ValueError) as problem:
        raise CraftError(f"{problem}.") from None


def resolve_max_retries(max_retries: object) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise CraftError(f"max_retries must be a whole number >= 0, not {max_retries!r}.")
    return max_retries


def resolve_max_response_bytes(max_response_bytes: object) -> int:
    if (
        isinstance(max_response_bytes, bool)
        or not isinstance(max_response_bytes, int)
        or max_response_bytes < 1
    ):
        raise CraftError(
            f"max_response_bytes must be a whole number of bytes >= 1, not {max_response_bytes!r}."
        )
    return max_response_bytes


def resolve_headers(headers: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    # Annotated as str, but checked: untyped code may pass anything.
    for name, value in cast("Mapping[object, object]", headers).items():
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN_CHARS:
            raise CraftError(f"default_headers has an invalid header name: {name!r}.")
        if name.lower() in _RESERVED_HEADERS:
            raise CraftError(
                f"default_headers may not set {name}: the client sets it itself"
                + (" (pass the key as api_key=...)." if name.lower() == "authorization" else ".")
            )
        # The value is never echoed: it may well be a credential.
        if not isinstance(value, str) or not _is_header_safe(value):
            raise CraftError(
                f"default_headers[{name!r}] must be a str of printable ASCII without CR, LF or NUL."
            )
        checked[name] = value
    return checked


def _is_header_safe(value: str) -> bool:
    # Printable ASCII and tab, as h11 allows; checked here because httpx only fails at send
    # time, with an error message that contains the whole value.
    return all(c == "\t" or " " <= c <= "~" for c in value)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
