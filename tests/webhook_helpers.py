"""What the webhook router's tests (test_webhook_router.py, test_webhook_apps.py) build their
deliveries from: a secret, a body, its signed headers, and the identity the router gives it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

from craft_sdk import sign_webhook

SECRET = "whsec_router_8d1f9c2b7e"


def body_of(event: str = "build.failed", *, at: datetime | None = None, **data: Any) -> bytes:
    """A delivery's body: `event`, stamped `at` (by default now), with `data`."""
    stamp = (at or datetime.now(timezone.utc)).isoformat().replace("+00:00", "Z")
    return json.dumps({"event": event, "timestamp": stamp, "data": data}).encode()


def headers_for(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers Craft would deliver `body` with, signed with `secret`."""
    return {"Content-Type": "application/json", "X-Craft-Signature": sign_webhook(body, secret)}


def identity(body: bytes, secret: str = SECRET) -> str:
    """The key a router whose first secret is `secret` claims `body` under."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
