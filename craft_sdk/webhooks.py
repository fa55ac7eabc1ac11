"""Webhook signatures: check that a delivery comes from Craft, and read it as a typed event.

Craft signs each delivery with `X-Craft-Signature: sha256=<hex>`: the HMAC-SHA256 of the raw
request body keyed with the webhook secret, in lowercase hex (the scheme is assumed, see
docs/assumptions.md). Verification needs the body exactly as it arrived: bytes parsed into JSON
and dumped again are not the bytes that were signed.

The scheme signs no delivery id or time of its own, so it does not stop a captured delivery from
being replayed. `construct_event(..., tolerance=300)` rejects bodies whose signed `timestamp` is
older (or further ahead) than the tolerance; deduplicate on what the event is about as well (see
docs/webhooks.md).

Nothing here needs a client, and nothing does I/O. `WebhookRouter` (with `MemoryDedup`, or
`craft_sdk.redis.RedisDedup` for many processes) puts it all together for a receiver: verify,
parse, dispatch to typed handlers, answer, and make a redelivered event harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Protocol, TypeAlias, cast

import pydantic

from ._errors import (
    WebhookPayloadError,
    WebhookSignatureMismatchError,
    WebhookSignatureMissingError,
    WebhookTimestampError,
    summarised,
    validation_problems,
)
from ._types import json_object
from .models.events import KNOWN_EVENTS, UnknownWebhookEvent, WebhookEvent

SIGNATURE_HEADER: Final = "X-Craft-Signature"
"""The header Craft signs each delivery in: `sha256=<hex>`."""
SECRET_ENV: Final = "CRAFT_WEBHOOK_SECRET"
"""The environment variable `construct_event` reads the webhook secret from, when none is given."""
# A header may carry several signatures (while a secret is rotated); more than this is not a
# delivery from Craft, and checking them all would let a sender make us hash without bound.
MAX_SIGNATURES: Final = 8
"""The most comma-separated signatures a header may carry; one with more verifies as False."""

_PREFIX: Final = "sha256="
_HEX_DIGEST: Final = re.compile(r"[0-9a-fA-F]{64}")

Payload: TypeAlias = bytes | bytearray | memoryview | str
"""The raw request body: bytes as received (a str is taken as its UTF-8 encoding)."""
WebhookSecret: TypeAlias = str | bytes
"""A webhook secret from your Craft webhook settings: a str (used as its UTF-8 bytes) or bytes."""
Secrets: TypeAlias = WebhookSecret | Sequence[WebhookSecret]
"""One secret, or several while rotating (any of them may have signed)."""


class HeaderItems(Protocol):
    """A request's headers as your web framework hands them over: a dict, or any object whose
    `items()` gives (name, value) pairs, such as the headers of Starlette and FastAPI, Flask
    (werkzeug, which is not a mapping), Django or httpx."""

    def items(self) -> Iterable[tuple[str, str]]:
        """The headers as (name, value) pairs."""
        ...


_RAW_BODY_HINT: Final = (
    "pass the raw request body as bytes, exactly as received: `await request.body()` in "
    "FastAPI or Starlette, `request.get_data()` in Flask, `request.body` in Django"
)


def sign_webhook(payload: Payload, secret: WebhookSecret) -> str:
    """The `X-Craft-Signature` value Craft would send for `payload`: `sha256=<hex>`. For tests
    and emulators.

    Args:
        payload: The raw body to sign: bytes, or a str (signed as its UTF-8 encoding).
        secret: One webhook secret (not a list), not empty.

    Returns:
        `sha256=` and the lowercase hex HMAC-SHA256 of `payload` keyed with `secret`.

    Raises:
        TypeError: `payload` is not bytes or a str, or `secret` is a list or not a str or bytes.
        ValueError: `secret` is empty, or `payload` is a str that cannot be encoded as UTF-8.
    """
    (key,) = _secret_keys(secret, allow_several=False)
    body = _payload_bytes(payload)
    if body is None:
        raise ValueError("The payload str cannot be encoded as UTF-8 (it has lone surrogates).")
    return _PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_webhook(payload: Payload, signature: str | None, secret: Secrets) -> bool:
    """Whether `signature` (the `X-Craft-Signature` header) was made for `payload` with `secret`.

    Total: a missing or malformed signature, of any shape, is `False`, never an exception. The
    prefix is matched in any case, the hex in either case, and a header with several
    comma-separated signatures (at most `MAX_SIGNATURES`) passes if any of them matches any
    secret. The comparison takes the same time however much of a signature is right.

    Args:
        payload: The raw request body, exactly as received: bytes, or a str (taken as its UTF-8
            encoding).
        signature: The `X-Craft-Signature` header's value, or None when it is missing.
        secret: The webhook secret, or several while rotating (any of them may have signed).

    Returns:
        True when the signature matches; False otherwise.

    Raises:
        TypeError: `payload` is not the raw body (a dict, list or model: it has already been
            parsed), or a secret is not a str or bytes.
        ValueError: A secret, or the list of secrets, is empty.

    Both errors are mistakes in the calling code, not in the delivery.
    """
    body = _payload_bytes(payload)
    keys = _secret_keys(secret, allow_several=True)
    if body is None:
        return False
    candidates = _signatures(signature)
    if not candidates:
        return False
    expected = [hmac.new(key, body, hashlib.sha256).digest() for key in keys]
    matched = False
    for candidate in candidates:  # no early exit: the time taken does not depend on which matched
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    return matched


def construct_event(
    payload: Payload,
    signature: str | None = None,
    secret: Secrets | None = None,
    *,
    headers: HeaderItems | None = None,
    tolerance: float | None = None,
    now: float | datetime | None = None,
) -> WebhookEvent:
    """Verify a delivery, then read it as a typed event.

    Args:
        payload: The raw request body, exactly as received: bytes, or a str (taken as its UTF-8
            encoding).
        signature: The `X-Craft-Signature` header's value. When None, it is looked up in
            `headers`.
        secret: The webhook secret, or several while rotating. Defaults to the
            `CRAFT_WEBHOOK_SECRET` environment variable.
        headers: The request's headers, as your framework holds them (see `HeaderItems`; the
            name is matched in any case), used when `signature` is None.
        tolerance: Seconds: a body whose signed `timestamp` is older than that, or further
            ahead than that, is rejected (`0` means exactly now). None, the default, turns the
            check off.
        now: The time to measure the timestamp against, as Unix seconds or an aware
            `datetime`; defaults to the current time (for tests).

    Returns:
        A `ProjectCreatedEvent`, `ProjectUpdatedEvent`, `ProjectDeletedEvent`,
        `BuildStartedEvent`, `BuildCompletedEvent` or `BuildFailedEvent`, or an
        `UnknownWebhookEvent` for an event name this version does not know.

    Raises:
        WebhookVerificationError: The delivery must not be acted on (answer 400): its subclass
            `WebhookSignatureMissingError`, `WebhookSignatureMismatchError`,
            `WebhookTimestampError` or `WebhookPayloadError` says why.
        ValueError: No secret was given or set, a secret is empty, or `tolerance` is not a
            number of seconds >= 0.
        TypeError: `payload` is not the raw body (already parsed), or a secret is not a str or
            bytes.
    """
    if secret is None:
        secret = os.environ.get(SECRET_ENV) or ""
        if not secret:
            raise ValueError(f"No webhook secret: pass secret=... or set {SECRET_ENV}.")
    if signature is None and headers is not None:
        signature = _header(headers, SIGNATURE_HEADER)
    # Checked at run time too: a header value, or untyped code, may hand over something else.
    if signature is None or (isinstance(cast(object, signature), str) and not signature.strip()):
        raise WebhookSignatureMissingError(f"The delivery has no {SIGNATURE_HEADER} header.")
    if not verify_webhook(payload, signature, secret):
        raise WebhookSignatureMismatchError(
            "The webhook signature does not match the body and secret: the body was changed "
            "(was it parsed and re-serialised?), the secret is wrong, or the sender is not Craft."
        )
    body = _parse(_payload_bytes(payload) or b"")
    event_type = KNOWN_EVENTS.get(body["event"], UnknownWebhookEvent)
    try:
        event: WebhookEvent = event_type.model_validate(body)  # type: ignore[assignment]
    except pydantic.ValidationError as exc:
        raise _misfit(body["event"], exc) from None
    if tolerance is not None:
        _check_freshness(event.timestamp, tolerance, now)
    return event


def _payload_bytes(payload: Payload) -> bytes | None:
    """The body as bytes; None for a str that no UTF-8 body could have produced."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(cast(object, payload), str):  # else not the raw body: already parsed
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not a body that arrived over HTTP
            return None
    raise TypeError(
        f"The webhook payload is a {type(payload).__name__}; verification needs the body exactly "
        f"as it arrived, so {_RAW_BODY_HINT}."
    )


def _secret_keys(secret: object, *, allow_several: bool) -> list[bytes]:
    secrets: list[object] = [secret]
    if isinstance(secret, Sequence) and not isinstance(secret, (str, bytes)):
        if not allow_several:
            raise TypeError("sign_webhook takes one secret, not a list")
        secrets = list(cast("Sequence[object]", secret))
    if not secrets:
        raise ValueError("No webhook secret: the list of secrets is empty.")
    keys: list[bytes] = []
    for one in secrets:
        if isinstance(one, str):
            one = one.encode("utf-8")
        if not isinstance(one, bytes):
            raise TypeError(f"A webhook secret must be a str or bytes, not {type(one).__name__}.")
        if not one:
            # Anyone can compute an HMAC with an empty key: that would accept forgeries.
            raise ValueError(
                f"The webhook secret is empty; set it from your Craft webhook settings (for "
                f"example in {SECRET_ENV})."
            )
        keys.append(one)
    return keys


def _signatures(header: object) -> list[bytes]:
    """The digests a header carries; nothing for anything malformed."""
    if isinstance(header, bytes):
        try:
            header = header.decode("ascii")
        except UnicodeDecodeError:
            return []
    if not isinstance(header, str):
        return []
    parts = header.split(",")
    if len(parts) > MAX_SIGNATURES:
        return []
    digests: list[bytes] = []
    for part in parts:
        part = part.strip()
        if part[: len(_PREFIX)].lower() != _PREFIX:
            continue
        hex_digest = part[len(_PREFIX) :]
        if _HEX_DIGEST.fullmatch(hex_digest):  # ASCII hex only: fromhex would take more
            digests.append(bytes.fromhex(hex_digest))
    return digests


def _header(headers: HeaderItems, name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(cast(object, key), str) and key.lower() == wanted:  # a dict may hold any key
            return value
    return None


def _parse(body: bytes) -> dict[str, Any]:
    try:
        parsed = json_object(json.loads(body))
    except (ValueError, RecursionError):
        raise WebhookPayloadError("The webhook body is not JSON.") from None
    if parsed is None or not isinstance(parsed.get("event"), str):
        raise WebhookPayloadError('The webhook body is not an object with an "event" name.')
    return parsed


def _misfit(event_name: str, exc: pydantic.ValidationError) -> WebhookPayloadError:
    problems = validation_problems(exc)
    return WebhookPayloadError(
        f"The webhook body does not fit a {event_name} event: {summarised(problems)}",
        errors=problems,
    )


def _check_freshness(
    timestamp: datetime | None, tolerance: object, now: float | datetime | None
) -> None:
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, (int, float))
        or not tolerance >= 0  # also refuses NaN, which compares false and would accept any age
    ):
        raise ValueError(f"tolerance must be a number of seconds >= 0 (or None); got {tolerance!r}")
    if timestamp is None:
        raise WebhookTimestampError(
            "The webhook body has no timestamp, so its freshness cannot be checked.", age=None
        )
    if now is None:
        now = time.time()
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    age = current - timestamp.timestamp()
    if age > tolerance:
        raise WebhookTimestampError(
            f"The webhook was signed {age:.0f} s ago, more than the {tolerance:g} s allowed "
            "(a replay, or a delivery that waited too long).",
            age=age,
        )
    if -age > tolerance:
        raise WebhookTimestampError(
            f"The webhook's timestamp is {-age:.0f} s in the future, more than the "
            f"{tolerance:g} s allowed (check this machine's clock).",
            age=age,
        )


__all__ = [
    "MAX_SIGNATURES",
    "SECRET_ENV",
    "SIGNATURE_HEADER",
    "Claim",
    "Dedup",
    "MemoryDedup",
    "WebhookHandlerError",
    "WebhookResult",
    "WebhookRouter",
    "construct_event",
    "sign_webhook",
    "verify_webhook",
]


# The router and its stores, at the end: the router is built on the functions above.
from ._dedup import Claim, Dedup, MemoryDedup  # noqa: E402
from ._webhook_router import WebhookHandlerError, WebhookResult, WebhookRouter  # noqa: E402
