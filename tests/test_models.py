"""The models on their own: which fields are always there, open enum-like fields, and the partial
answer of a project update (`PartialProject`). No HTTP: answers are `httpx.Response`s built here
and read as the clients read them (`_envelope.data`)."""

from __future__ import annotations

from typing import Any

import httpx
import pydantic
import pytest

from craft_sdk import (
    APIResponseValidationError,
    BuildStartedEvent,
    Deployment,
    FileEntry,
    PartialProject,
    Project,
    User,
)
from craft_sdk._envelope import data
from craft_sdk.models import CraftModel

from .conftest import PROJECT, USER, ok

DEPLOYMENT = {"id": "dep_1", "status": "queued", "createdAt": "2024-01-15T12:30:00Z"}
FILE = {"path": "src/app.tsx", "type": "file"}
BUILD_STARTED: dict[str, Any] = {
    "event": "build.started",
    "data": {"projectId": "proj_1", "status": "building"},
}


def read(model: type[CraftModel], value: Any) -> Any:
    """`value` read as the `data` of a success answer, as a client reads it."""
    request = httpx.Request("GET", "https://api.craft.fast/v1/x")
    return data(model)(httpx.Response(200, json=ok(value), request=request))


# The reference shows every other field of a created, listed or fetched project each time.
PROJECT_MAY_LACK = {"description", "template", "settings", "stats"}
REQUIRED: list[tuple[type[CraftModel], dict[str, Any], str]] = [
    *[(Project, PROJECT, field) for field in PROJECT if field not in PROJECT_MAY_LACK],
    *[(User, USER, field) for field in USER],
    *[(FileEntry, FILE, field) for field in FILE],
    *[(Deployment, DEPLOYMENT, field) for field in DEPLOYMENT],
]


@pytest.mark.parametrize(
    ("model", "full", "field"),
    REQUIRED,
    ids=[f"{model.__name__}-{field}" for model, _, field in REQUIRED],
)
def test_a_field_the_api_always_sends_is_required_and_named_when_missing(
    model: type[CraftModel], full: dict[str, Any], field: str
) -> None:
    assert isinstance(read(model, full), model)
    with pytest.raises(APIResponseValidationError) as caught:
        read(model, {key: value for key, value in full.items() if key != field})
    assert caught.value.message == (
        f"The API's answer does not fit {model.__name__}: {field}: Field required"
    )


OPEN_VALUES: list[tuple[type[CraftModel], dict[str, Any], str, str]] = [
    (Project, {**PROJECT, "status": "paused"}, "status", "paused"),
    (Deployment, {**DEPLOYMENT, "status": "paused"}, "status", "paused"),
    (Deployment, {**DEPLOYMENT, "environment": "staging"}, "environment", "staging"),
    (FileEntry, {**FILE, "type": "symlink"}, "type", "symlink"),
]


@pytest.mark.parametrize(
    ("model", "wire", "field", "value"),
    OPEN_VALUES,
    ids=[f"{model.__name__}-{field}" for model, _, field, _ in OPEN_VALUES],
)
def test_an_enum_value_the_sdk_does_not_know_yet_is_kept(
    model: type[CraftModel], wire: dict[str, Any], field: str, value: str
) -> None:
    assert getattr(read(model, wire), field) == value


def test_a_build_events_unknown_status_is_kept() -> None:
    event = BuildStartedEvent.model_validate(
        {**BUILD_STARTED, "data": {**BUILD_STARTED["data"], "status": "paused"}}
    )
    status: str | None = event.data.status  # typed as the known values; any string at run time
    assert status == "paused"


@pytest.mark.parametrize(
    ("model", "wire", "field"),
    [
        (Project, PROJECT, "status"),
        (Deployment, DEPLOYMENT, "status"),
        (FileEntry, FILE, "type"),
    ],
)
def test_an_open_enum_still_wants_a_string(
    model: type[CraftModel], wire: dict[str, Any], field: str
) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**wire, field: 3})
    with pytest.raises(pydantic.ValidationError):
        model.model_validate({**wire, field: None})


# --- PartialProject ---------------------------------------------------------------------------

HELD = Project.model_validate({**PROJECT, "ownerTeam": "team_1"})


def test_a_partial_answer_may_carry_only_the_id() -> None:
    partial = read(PartialProject, {"id": PROJECT["id"]})
    assert isinstance(partial, PartialProject)
    assert partial.fields_returned == {"id"}
    assert (partial.name, partial.status, partial.created_at) == (None, None, None)
    assert partial.applied_to(HELD) == HELD


def test_applied_to_keeps_what_the_answer_left_out_and_clears_what_it_made_null() -> None:
    partial = read(
        PartialProject,
        {"id": PROJECT["id"], "description": None, "status": "archived", "region": "eu"},
    )
    assert partial.fields_returned == {"id", "description", "status", "region"}
    updated = partial.applied_to(HELD)
    assert updated.description is None  # cleared: the answer said null
    assert updated.template == "landing-page"  # kept: the answer left it out
    assert updated.status == "archived"
    assert updated.model_extra == {"ownerTeam": "team_1", "region": "eu"}
    assert updated.to_dict() == {
        **HELD.to_dict(),
        "description": None,
        "status": "archived",
        "region": "eu",
    }
    assert (HELD.description, HELD.status) == ("A page", "active")  # the original is unchanged


def test_applied_to_refuses_another_project() -> None:
    partial = PartialProject.model_validate({"id": "proj_other", "name": "x"})
    with pytest.raises(ValueError, match="about project 'proj_other', not 'proj_abc123'"):
        partial.applied_to(HELD)


@pytest.mark.parametrize("field", ["name", "status", "previewUrl", "createdAt", "updatedAt"])
def test_a_partial_answer_may_leave_out_but_not_null_what_a_project_requires(field: str) -> None:
    # Null where the full project may not be null would make `applied_to` give a Project that
    # breaks its own types: it is refused like the same null in a full answer.
    with pytest.raises(APIResponseValidationError, match=f"PartialProject: {field}: "):
        read(PartialProject, {"id": PROJECT["id"], field: None})
    with pytest.raises(APIResponseValidationError, match=f"Project: {field}: "):
        read(Project, {**PROJECT, field: None})
