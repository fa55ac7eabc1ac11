"""Every projects method and `me()`, through both clients (the `run` fixture), against respx."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import DeletedProject, PartialProject, Project, User

from .conftest import PROJECT, USER, Runner, drain, failure, ok


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_me(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").respond(
        200, json=ok({"id": "user_1", "email": "ada@example.com", "name": "Ada"})
    )
    user = run(lambda c: c.me())
    assert isinstance(user, User)
    assert (user.id, user.email, user.name) == ("user_1", "ada@example.com", "Ada")
    assert route.call_count == 1


def test_create_sends_camel_case_body_and_reads_201(api: respx.MockRouter, run: Runner) -> None:
    route = api.post("/projects").respond(201, json=ok(PROJECT))
    project = run(
        lambda c: c.projects.create(
            name="My Landing Page", description="A page", template="landing-page"
        )
    )
    assert sent_json(route) == {
        "name": "My Landing Page",
        "description": "A page",
        "template": "landing-page",
    }
    assert route.calls.last.request.headers["content-type"] == "application/json"
    assert isinstance(project, Project)
    assert project.id == "proj_abc123"
    assert project.preview_url == "https://preview.craft.fast/proj_abc123"
    assert project.created_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)


def test_create_leaves_out_what_was_not_given(api: respx.MockRouter, run: Runner) -> None:
    route = api.post("/projects").respond(201, json=ok({**PROJECT, "name": "Solo"}))
    run(lambda c: c.projects.create(name="Solo"))
    assert sent_json(route) == {"name": "Solo"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"name": "   "}, "name must not be empty"),
        ({"name": "x" * 101}, "name must be at most 100 characters"),
        ({"name": "ok", "description": "d" * 501}, "description must be at most 500"),
        ({"name": "ok", "template": ""}, "template must not be empty"),
    ],
)
def test_create_refuses_bad_input_before_sending(
    api: respx.MockRouter, run: Runner, arguments: dict[str, str], message: str
) -> None:
    route = api.post("/projects")
    with pytest.raises(ValueError, match=message):
        run(lambda c: c.projects.create(**arguments))
    assert route.call_count == 0


def test_create_accepts_the_documented_limits(api: respx.MockRouter, run: Runner) -> None:
    route = api.post("/projects").respond(201, json=ok(PROJECT))
    run(lambda c: c.projects.create(name="x" * 100, description="d" * 500))
    assert route.call_count == 1


def test_get_reads_settings_and_stats(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/projects/proj_abc123").respond(200, json=ok(PROJECT))
    project = run(lambda c: c.projects.get("proj_abc123"))
    assert route.call_count == 1
    assert project.settings is not None
    assert project.settings.framework == "react"
    assert project.stats is not None
    assert project.stats.files == 12
    assert project.stats.last_edited_at == datetime(2024, 1, 16, 8, tzinfo=timezone.utc)
    assert project.status == "active"


def test_update_sends_only_the_given_fields(api: respx.MockRouter, run: Runner) -> None:
    route = api.patch("/projects/proj_1").respond(200, json=ok({"id": "proj_1", "name": "New"}))
    answer = run(lambda c: c.projects.update("proj_1", name="New"))
    assert sent_json(route) == {"name": "New"}
    # The PATCH answer is partial, and its type says so: what it leaves out is None, not an error.
    assert isinstance(answer, PartialProject)
    assert not isinstance(answer, Project)
    assert (answer.id, answer.name, answer.status, answer.settings) == ("proj_1", "New", None, None)
    assert answer.fields_returned == {"id", "name"}


def test_an_update_answer_brings_a_held_project_up_to_date(
    api: respx.MockRouter, run: Runner
) -> None:
    # The documented example answers id, name, description, status and updatedAt; this one
    # clears the description and leaves the template out.
    held = Project.model_validate(PROJECT)
    api.patch("/projects/proj_abc123").respond(
        200,
        json=ok(
            {
                "id": "proj_abc123",
                "name": "Renamed",
                "description": None,
                "updatedAt": "2024-02-01T00:00:00Z",
            }
        ),
    )
    answer = run(lambda c: c.projects.update("proj_abc123", name="Renamed", description=None))
    assert (answer.description, answer.template) == (None, None)  # cleared, and left out
    assert answer.fields_returned == {"id", "name", "description", "updated_at"}
    updated = answer.applied_to(held)
    assert (updated.name, updated.description, updated.template) == (
        "Renamed",
        None,
        "landing-page",
    )
    assert updated.updated_at == datetime(2024, 2, 1, tzinfo=timezone.utc)
    assert updated.settings == held.settings
    assert held.name == "My Landing Page"  # the project held is not changed


def test_update_with_description_none_clears_it(api: respx.MockRouter, run: Runner) -> None:
    route = api.patch("/projects/proj_1").respond(200, json=ok({"id": "proj_1"}))
    run(lambda c: c.projects.update("proj_1", description=None, status="archived"))
    assert sent_json(route) == {"description": None, "status": "archived"}


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({}, ValueError, "at least one of name, description or status"),
        ({"status": "deleted"}, ValueError, "status must be one of 'active', 'archived'"),
        ({"name": ""}, ValueError, "name must not be empty"),
        ({"name": 42}, TypeError, "name must be a str"),
    ],
)
def test_update_refuses_bad_input_before_sending(
    api: respx.MockRouter,
    run: Runner,
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    route = api.patch("/projects/proj_1")
    with pytest.raises(error, match=message):
        run(lambda c: c.projects.update("proj_1", **arguments))
    assert route.call_count == 0


@pytest.mark.parametrize(("method", "status"), [("archive", "archived"), ("unarchive", "active")])
def test_archive_and_unarchive_patch_the_status(
    api: respx.MockRouter, run: Runner, method: str, status: str
) -> None:
    route = api.patch("/projects/proj_1").respond(200, json=ok({"id": "proj_1", "status": status}))
    answer = run(lambda c: getattr(c.projects, method)("proj_1"))
    assert sent_json(route) == {"status": status}
    assert isinstance(answer, PartialProject)
    assert answer.status == status


def test_delete(api: respx.MockRouter, run: Runner) -> None:
    route = api.delete("/projects/proj_1").respond(200, json=ok({"id": "proj_1", "deleted": True}))
    gone = run(lambda c: c.projects.delete("proj_1"))
    assert route.call_count == 1
    assert isinstance(gone, DeletedProject)
    assert (gone.id, gone.deleted) == ("proj_1", True)


def test_ids_are_encoded_as_one_segment(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/projects/a%2F..%2F..%2Fadmin%3Fx%3D1%23f").respond(
        200, json=ok({**PROJECT, "id": "odd"})
    )
    run(lambda c: c.projects.get("a/../../admin?x=1#f"))
    url = route.calls.last.request.url
    assert url.host == "api.craft.fast"
    assert url.raw_path == b"/v1/projects/a%2F..%2F..%2Fadmin%3Fx%3D1%23f"


@pytest.mark.parametrize("project_id", ["", ".", ".."])
@pytest.mark.parametrize("method", ["get", "delete", "archive", "unarchive"])
def test_empty_and_dot_ids_are_refused_before_sending(
    api: respx.MockRouter, run: Runner, project_id: str, method: str
) -> None:
    with pytest.raises(ValueError, match=re.escape("must not be empty, '.' or '..'")):
        run(lambda c: getattr(c.projects, method)(project_id))
    assert api.calls.call_count == 0


def test_unknown_fields_and_enum_values_are_kept(api: respx.MockRouter, run: Runner) -> None:
    answer = {**PROJECT, "status": "paused", "ownerTeam": {"id": "team_1"}}
    api.get("/projects/proj_1").respond(200, json=ok(answer))
    project = run(lambda c: c.projects.get("proj_1"))
    assert project.status == "paused"
    assert project.model_extra == {"ownerTeam": {"id": "team_1"}}
    assert project.to_dict() == answer


def test_description_and_template_may_be_null_or_absent(api: respx.MockRouter, run: Runner) -> None:
    answer = {**PROJECT, "description": None}
    del answer["template"]
    api.get("/projects/proj_1").respond(200, json=ok(answer))
    project = run(lambda c: c.projects.get("proj_1"))
    assert (project.description, project.template) == (None, None)


ALWAYS_PRESENT = ["id", "name", "status", "previewUrl", "createdAt", "updatedAt"]
"""What every created, listed or fetched project in the reference shows."""
ANSWERS_WITH_PROJECTS: dict[str, tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]]] = {
    "create": ("POST", "/projects", ok, lambda c: c.projects.create(name="x")),
    "get": ("GET", "/projects/proj_1", ok, lambda c: c.projects.get("proj_1")),
    "list": (
        "GET",
        "/projects",
        lambda item: ok([item], pagination={"page": 1, "hasMore": False}),
        lambda c: drain(c.projects.list()),
    ),
}


@pytest.mark.parametrize("field", ALWAYS_PRESENT)
@pytest.mark.parametrize("operation", list(ANSWERS_WITH_PROJECTS))
def test_a_project_missing_a_field_the_reference_always_shows_is_a_validation_error(
    api: respx.MockRouter, run: Runner, operation: str, field: str
) -> None:
    method, path, envelope, call = ANSWERS_WITH_PROJECTS[operation]
    answer = {key: value for key, value in PROJECT.items() if key != field}
    api.request(method, path).respond(200, json=envelope(answer))
    with pytest.raises(craft_sdk.APIResponseValidationError) as caught:
        run(call)
    assert f"{field}: Field required" in caught.value.message


@pytest.mark.parametrize("field", ["email", "name"])
def test_a_user_missing_a_field_is_a_validation_error(
    api: respx.MockRouter, run: Runner, field: str
) -> None:
    user = {key: value for key, value in USER.items() if key != field}
    api.get("/me").respond(200, json=ok(user))
    with pytest.raises(craft_sdk.APIResponseValidationError, match=f"{field}: Field required"):
        run(lambda c: c.me())


ERRORS_BY_STATUS = [
    (400, "INVALID_PROJECT_NAME", craft_sdk.BadRequestError),
    (401, "UNAUTHORIZED", craft_sdk.AuthenticationError),
    (403, "PROJECT_LIMIT_EXCEEDED", craft_sdk.PermissionDeniedError),
    (404, "PROJECT_NOT_FOUND", craft_sdk.NotFoundError),
    (409, "CONFLICT", craft_sdk.ConflictError),
    (422, "UNPROCESSABLE", craft_sdk.UnprocessableEntityError),
    (429, "RATE_LIMIT_EXCEEDED", craft_sdk.RateLimitError),
    (500, "INTERNAL_ERROR", craft_sdk.InternalServerError),
    (418, "TEAPOT", craft_sdk.APIError),
]


@pytest.mark.client_options(max_retries=0)
@pytest.mark.parametrize(("status", "code", "error_class"), ERRORS_BY_STATUS)
def test_error_statuses_raise_typed_errors(
    api: respx.MockRouter,
    run: Runner,
    status: int,
    code: str,
    error_class: type[craft_sdk.APIError],
) -> None:
    api.post("/projects").respond(
        status,
        json=failure(code, "It went wrong", details={"field": "name"}),
        headers={"X-Request-Id": "req_42"},
    )
    with pytest.raises(error_class) as caught:
        run(lambda c: c.projects.create(name="x"))
    error = caught.value
    assert type(error) is error_class
    assert (error.status_code, error.code, error.message) == (status, code, "It went wrong")
    assert error.details == {"field": "name"}
    assert error.request_id == "req_42"
    assert isinstance(error.response, httpx.Response)
    assert str(error) == f"{status} {code}: It went wrong (request_id: req_42)"


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("UNAUTHORIZED", craft_sdk.AuthenticationError),
        ("FORBIDDEN", craft_sdk.PermissionDeniedError),
        ("PROJECT_NOT_FOUND", craft_sdk.NotFoundError),
        ("TEMPLATE_NOT_FOUND", craft_sdk.NotFoundError),
        ("INVALID_REQUEST", craft_sdk.BadRequestError),
        ("RATE_LIMIT_EXCEEDED", craft_sdk.RateLimitError),
        ("SOMETHING_NEW", craft_sdk.APIError),
    ],
)
def test_a_2xx_saying_success_false_raises_by_code(
    api: respx.MockRouter, run: Runner, code: str, error_class: type[craft_sdk.APIError]
) -> None:
    route = api.get("/projects/proj_1").respond(200, json=failure(code, "No"))
    with pytest.raises(error_class) as caught:
        run(lambda c: c.projects.get("proj_1"))
    assert type(caught.value) is error_class
    assert (caught.value.status_code, caught.value.code) == (200, code)
    # An answered request is not repeated, unless it was throttled (then 1 + 3 retries).
    assert route.call_count == (4 if error_class is craft_sdk.RateLimitError else 1)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        b'{"success": true}',
        b'{"data": {"id": "proj_1"}}',
        b'{"success": true, "data": {"name": "no id"}}',
        b"[" * 50_000,
    ],
)
def test_a_broken_2xx_body_raises_validation_error(
    api: respx.MockRouter, run: Runner, body: bytes
) -> None:
    route = api.get("/projects/proj_1").respond(200, content=body)
    with pytest.raises(craft_sdk.APIResponseValidationError) as caught:
        run(lambda c: c.projects.get("proj_1"))
    assert caught.value.response.status_code == 200
    assert caught.value.may_have_succeeded is True
    assert route.call_count == 1
