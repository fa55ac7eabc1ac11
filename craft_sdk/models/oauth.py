from __future__ import annotations

from datetime import datetime

from ._base import CraftModel, Timestamp


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
