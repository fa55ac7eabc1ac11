"""What every model shares: snake_case attributes read from camelCase wire names, unknown fields
kept, and timestamps that are always timezone-aware."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    NaiveDatetime,
)
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema


def _assume_utc(value: datetime) -> datetime:
    # The API sends ISO-8601 UTC; a timestamp without an offset is UTC, never local time.
    return value.replace(tzinfo=timezone.utc)


# Tried left to right, so the usual timestamp (with an offset) is parsed in pydantic's core alone;
# a Python validator on every timestamp cost about 10 % of validating a page of projects.
Timestamp = Annotated[
    Union[AwareDatetime, Annotated[NaiveDatetime, AfterValidator(_assume_utc)]],  # noqa: UP007
    Field(union_mode="left_to_right"),
]
"""A `datetime` that is always timezone-aware."""

OpenLiteral = GetPydanticSchema(lambda _type, _handler: core_schema.str_schema())
"""Marks a `Literal[...] | str` field, which accepts any string, to be validated as the `str` it
is: pydantic would otherwise try the literal and the string in turn, about 4 % of validating a
page. Type checkers still see the literal values."""


class CraftModel(BaseModel):
    """Base of every API object: attributes in snake_case, fields the SDK does not know yet kept
    (under their wire names, in `model_extra`), `to_dict()` back in the API's own spelling."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        # Validation errors name the field, not the value: values may be private.
        hide_input_in_errors=True,
        # Validators are built on first use, not at import: most programs use a few models.
        defer_build=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The object as the API spells it (camelCase), unknown fields included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
