"""Small shared types, `json_object` for reading decoded JSON, and the `public` decorator."""

from __future__ import annotations

from typing import Any, Final, Literal, TypeVar, cast

_C = TypeVar("_C", bound=type)


def public(cls: _C) -> _C:
    """Presents a class of `craft_sdk.__all__` as `craft_sdk.<name>`, where it is defined.

    Tracebacks and reprs then say craft_sdk.NotFoundError, not craft_sdk._errors.NotFoundError,
    whichever module the class was imported from, and whether or not anything has read
    `craft_sdk.NotFoundError` yet. Outermost, so that other decorators (`@dataclass`) and
    pydantic's class creation still see the defining module.
    """
    cls.__module__ = "craft_sdk"
    return cls


@public
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


def json_object(value: object) -> dict[str, Any] | None:
    """`value` as a JSON object, or None when it is something else.

    `isinstance(value, dict)` alone leaves the keys and values of unknown type; a dict that
    `json.loads` made has str keys and JSON values, which is what this says.
    """
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None
