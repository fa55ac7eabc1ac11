from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ._base import CraftModel, Timestamp

_SECRET_FIELDS = frozenset({"access_token", "refresh_token"})


class Token(CraftModel):
    """OAuth tokens from `/oauth/token`. Pass `access_token` as a client's `api_key`."""

    access_token: str
    refresh_token: str | None = None
    """Trade it for new tokens with `oauth.refresh_token` when the access token expires."""
    expires_in: int | None = None
    """Seconds the access token was valid for when issued."""
    expires_at: Timestamp | None = None
    """When the access token expires (from the answer's `Date` plus `expires_in`)."""
    token_type: str | None = None
    scope: str | None = None

    def expired(self, now: datetime, *, leeway: float = 60.0) -> bool:
        """Whether the access token has expired at `now`, or will within `leeway` seconds."""
        if self.expires_at is None:
            return False
        return (self.expires_at - now).total_seconds() <= leeway

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Tokens are credentials: a repr (and so a log line or a traceback) never shows them.
        for name, value in super().__repr_args__():
            yield name, "**********" if name in _SECRET_FIELDS and value else value
