"""The emulator's control endpoint: steer a running emulator server over HTTP, from a test in
another process or from a shell. It is the emulator's alone: the real API has no such path.

    GET    /_emulator              the settings (`CraftEmulator.settings()`)
    PATCH  /_emulator              change some of them (fields below); answers the settings
    POST   /_emulator/faults       inject a fault (`CraftEmulator.fail_next`'s arguments)
    DELETE /_emulator/faults       remove the faults still waiting
    GET    /_emulator/deliveries   every attempt to deliver a webhook to the webhook URL
    GET    /_emulator/requests     every request handled: method, path, status

PATCH fields: `tier` ("free", "pro", "enterprise") or `rateLimit` (per minute; both null: the
default), `buildSeconds`, `advanceOnPoll`, `failBuilds` (the next N builds fail) with
`buildError`, and `webhookUrl` (null stops) with `webhookSecret`, `webhookAttempts`,
`webhookBackoff`. Every field is checked before any is applied: a 400 changes nothing.

Answers use the API's envelope; a bad field is a 400 INVALID_REQUEST that names it. Everything
here goes through the emulator's public methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._checks import check_int, check_seconds
from ._delivery import WebhookSender
from ._faults import FIELDS as FAULT_FIELDS
from ._limits import RateLimits
from ._wire import Answer, Reject, invalid, json_body, ok

if TYPE_CHECKING:
    from ._emulator import CraftEmulator

T = TypeVar("T")

CONTROL_PATH: Final = "/_emulator"
_SETTINGS: Final = (
    "tier",
    "rateLimit",
    "buildSeconds",
    "advanceOnPoll",
    "failBuilds",
    "buildError",
    "webhookUrl",
    "webhookSecret",
    "webhookAttempts",
    "webhookBackoff",
)


def is_control(path: str) -> bool:
    """Whether a request path (without its query) is the control endpoint's."""
    return path == CONTROL_PATH or path.startswith(CONTROL_PATH + "/")


def control(emulator: CraftEmulator, method: str, path: str, body: bytes) -> Answer:
    """Answer one request to the control endpoint."""
    route = (method, path.rstrip("/"))
    try:
        if route == ("GET", CONTROL_PATH):
            return ok(emulator.settings())
        if route == ("PATCH", CONTROL_PATH):
            for change in _changes(emulator, json_body(body, fields=_SETTINGS)):
                change()
            return ok(emulator.settings())
        if route == ("POST", CONTROL_PATH + "/faults"):
            fields = json_body(body, fields=FAULT_FIELDS)
            _checked(lambda: emulator.fail_next(**fields))
            return ok(emulator.settings()["faults"], status=201)
        if route == ("DELETE", CONTROL_PATH + "/faults"):
            emulator.clear_faults()
            return ok([])
        if route == ("GET", CONTROL_PATH + "/deliveries"):
            return ok([delivery.wire() for delivery in emulator.webhook_deliveries])
        if route == ("GET", CONTROL_PATH + "/requests"):
            return ok(
                [{"method": m, "path": p, "status": s} for m, p, s in list(emulator.requests)]
            )
        raise Reject(404, "NOT_FOUND", f"No such control endpoint: {method} {path}")
    except Reject as rejection:
        return rejection.answer()


def _changes(emulator: CraftEmulator, fields: dict[str, Any]) -> list[Callable[[], None]]:
    """Check every field, then return what applying them does (so a bad one changes nothing)."""
    changes: list[Callable[[], None]] = []
    if "tier" in fields or "rateLimit" in fields:
        tier, rate_limit = fields.get("tier"), fields.get("rateLimit")
        _checked(lambda: RateLimits(tier=tier, rate_limit=rate_limit))
        changes.append(lambda: emulator.set_rate_limit(rate_limit, tier=tier))
    if "buildSeconds" in fields:
        seconds = _checked(
            lambda: check_seconds("buildSeconds", fields["buildSeconds"], zero_allowed=True)
        )
        changes.append(lambda: setattr(emulator, "build_seconds", seconds))
    if "advanceOnPoll" in fields:
        advance = fields["advanceOnPoll"]
        if not isinstance(advance, bool):
            raise invalid("advanceOnPoll", "advanceOnPoll must be true or false.")
        changes.append(lambda: setattr(emulator, "advance_on_poll", advance))
    if "failBuilds" in fields or "buildError" in fields:
        count = _checked(lambda: check_int("failBuilds", fields.get("failBuilds", 1), minimum=1))
        error = fields.get("buildError", "Build failed")
        if not isinstance(error, str) or not error:
            raise invalid("buildError", "buildError must be a non-empty string.")
        changes.append(lambda: emulator.fail_next_deployment(error, count=count))
    if any(name.startswith("webhook") for name in fields):
        url = fields.get("webhookUrl", emulator.webhook_url)
        options = {
            "secret": fields.get("webhookSecret", ""),
            "attempts": fields.get("webhookAttempts", 4),
            "backoff": fields.get("webhookBackoff", 0.5),
        }
        if url is not None:
            _checked(lambda: WebhookSender(url, **options))  # checked only: it starts on a send
        changes.append(lambda: emulator.deliver_webhooks(url, **options))
    return changes


def _checked(check: Callable[[], T]) -> T:
    """`check()`, with its TypeError or ValueError answered as a 400 (its message names the
    field)."""
    try:
        return check()
    except (TypeError, ValueError) as error:
        raise Reject(400, "INVALID_REQUEST", str(error)) from None
