from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .._types import public
from ._base import CraftModel, Timestamp

_SECRET_FIELDS = frozenset({"access_token", "refresh_token"})


@public
class Token(CraftModel):
    """OAuth tokens from `/oauth/token`. Pass `access_token` as a client's `api_key`.

    The answer may spell its fields in snake_case, as OAuth does (`access_token`), or in
    camelCase (`accessToken`); both are read. The repr never shows the tokens."""

    access_token: str
    """The token that acts as the user: pass it as a client's `api_key`."""
    refresh_token: str | None = None
    """Trade it for new tokens with `oauth.refresh_token` when the access token expires; None
    when the API issued none."""
    expires_in: int | None = None
    """Seconds the access token was valid for when issued."""
    expires_at: Timestamp | None = None
    """When the access token expires: the answer's `Date` header (this machine's clock when it
    has none) plus `expires_in`; None when the answer gave no expiry."""
    token_type: str | None = None
    """The kind of token, as the API sent it, such as "Bearer"."""
    scope: str | None = None
    """The scopes granted, as the API sent them (OAuth spells them space-separated, such as
    "read write")."""

    def expired(self, now: datetime, *, leeway: float = 60.0) -> bool:
        """Whether the access token has expired at `now`, or will within `leeway` seconds.

        Args:
            now: The time to check at. It must be timezone-aware, such as
                `datetime.now(timezone.utc)`: a naive datetime raises `TypeError` (when
                `expires_at` is known).
            leeway: Seconds before `expires_at` from which the token counts as expired, so that
                it is renewed before a request can fail with it.

        Returns:
            True when `expires_at` is at most `leeway` seconds after `now`; always False when
            `expires_at` is unknown.
        """
        if self.expires_at is None:
            return False
        return (self.expires_at - now).total_seconds() <= leeway

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Tokens are credentials: a repr (and so a log line or a traceback) never shows them.
        for name, value in super().__repr_args__():
            yield name, "**********" if name in _SECRET_FIELDS and value else value
