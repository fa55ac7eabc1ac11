"""What every model shares: snake_case attributes read from camelCase wire names, unknown fields
kept, and timestamps that are always timezone-aware."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetPydanticSchema
from pydantic.alias_generators import to_camel
from pydantic_core import core_schema


def _assume_utc(value: datetime) -> datetime:
    # The API sends ISO-8601 UTC; a timestamp without an offset is UTC, never local time.
    return value.replace(tzinfo=timezone.utc)


def _timestamp_schema(_type: Any, _handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    # Tried left to right, so the usual timestamp (with an offset) is parsed in pydantic's core
    # alone: a Python validator on every timestamp cost about 10 % of validating a page. Written
    # as a core schema, not AwareDatetime | NaiveDatetime, which would import pydantic.types.
    return core_schema.union_schema(
        [
            core_schema.datetime_schema(tz_constraint="aware"),
            core_schema.no_info_after_validator_function(
                _assume_utc, core_schema.datetime_schema(tz_constraint="naive")
            ),
        ],
        mode="left_to_right",
        # One error, not one per way of reading it.
        custom_error_type="timestamp",
        custom_error_message="Input should be an ISO-8601 timestamp",
    )


Timestamp = Annotated[datetime, GetPydanticSchema(_timestamp_schema)]
"""A `datetime` that is always timezone-aware."""

OpenLiteral = GetPydanticSchema(lambda _type, _handler: core_schema.str_schema())
"""Marks a `Literal[...]` field (`Annotated[ProjectStatus, OpenLiteral]`) as open: type checkers
see the values the SDK knows, so a typo such as `status == "archved"` is flagged, while at run
time any string is kept, so that a value a newer API sends is not a validation error. The field
is validated as a plain `str`, which is also faster than trying each literal in turn."""


def _never_null(_type: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    schema = handler(_type)
    return schema["schema"] if schema["type"] == "nullable" else schema


NotNull = GetPydanticSchema(_never_null)
"""Marks an `X | None = None` field whose None only ever means "absent from the answer": an
explicit JSON `null` is refused, as the full object refuses it. For partial answers, whose
fields may be missing but are never null when present."""


class CraftModel(BaseModel):
    """Base of every API object: attributes in snake_case, fields the SDK does not know yet kept
    (under their wire names, in `model_extra`), `to_dict()` back in the API's own spelling."""

    model_config: ClassVar[ConfigDict] = ConfigDict(
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
