from __future__ import annotations

from .._types import public
from ._base import CraftModel


@public
class User(CraftModel):
    """The user an API key or access token belongs to."""

    id: str
    """The user id, such as "user_abc123"."""
    email: str
    """The user's email address."""
    name: str
    """The user's display name."""
