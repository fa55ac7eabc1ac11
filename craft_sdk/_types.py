"""Small shared types."""

from __future__ import annotations

from typing import Final, Literal


class NotGiven:
    """The type of `NOT_GIVEN`: "leave this unchanged", as opposed to `None`, which clears it.

    Used only where that difference exists, as in `projects.update(description=None)`.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:  # one instance, so `is NOT_GIVEN` always works (even unpickled)
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""The default of a parameter that may be left out or set to `None`, such as `description` in
`projects.update`: leaving it out changes nothing, while `None` clears the field. Falsy; test
for it with `is NOT_GIVEN`."""
