"""`client.me()`: who the API key belongs to."""

from __future__ import annotations

from .._call import Call, api_path
from .._envelope import data
from ..models import User


def me() -> Call[User]:
    return Call("GET", api_path("me"), parse=data(User))
