"""The Craft API emulator (craft_sdk.testing.CraftEmulator), driven through the SDK's own clients.

Most tests run in process (httpx.MockTransport, a FakeClock shared by emulator and client, so no
wait is real); the `serve()` tests cross a real socket on 127.0.0.1, and one test starts
`python -m craft_sdk.testing` in a subprocess. Checks the SDK would refuse before sending (bad
names, bad limits) go to the emulator as raw httpx requests.
"""

from __future__ import annotations

import asyncio
import errno
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import craft_sdk
from craft_sdk import (
    AsyncCraftClient,
    BuildCompletedEvent,
    BuildFailedEvent,
    BuildStartedEvent,
    CraftClient,
    ProjectCreatedEvent,
    ProjectDeletedEvent,
    ProjectUpdatedEvent,
    construct_event,
)
from craft_sdk.testing import CraftEmulator, EmulatorServer, FakeClock, pytest_plugin
from craft_sdk.testing.__main__ import main as cli_main

from .conftest import (
    Runner,
    either_client,
    emulator_process,
    record_statuses,
    statuses,
    wait_until,
)

pytest_plugins = ["pytester"]

START = 1_700_000_000.0  # FakeClock's start: 20 s into a clock minute
WINDOW_END = 1_700_000_040  # so the rate-limit window in force at START ends here
SECRET = "whsec_test"


@pytest.fixture
def emu() -> CraftEmulator:
    return CraftEmulator(clock=FakeClock())


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, emu: CraftEmulator) -> Iterator[Runner]:
    """Runs `operation(client)` on either client from `emu` (see `either_client`)."""
    with either_client(emu, request.param) as runner:
        yield runner


def raw(
    emu: CraftEmulator,
    method: str,
    path: str,
    *,
    key: str | None = "default",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request straight to the emulator, past the SDK's own argument checks."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = f"Bearer {emu.api_key if key == 'default' else key}"
    with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http:
        return http.request(method, path, headers=sent, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["success"] is False
    error: dict[str, Any] = body["error"]
    return error


def new_project(emu: CraftEmulator, name: str = "Demo", **fields: Any) -> str:
    response = raw(emu, "POST", "/projects", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    project_id: str = response.json()["data"]["id"]
    return project_id


# ---- construction and wiring ----------------------------------------------------------------


def test_defaults_and_wiring() -> None:
    emu = CraftEmulator(clock=FakeClock())
    assert emu.api_key == "test_key"
    assert emu.base_url == "http://craft.localhost/v1"
    assert isinstance(emu.clock, FakeClock)
    assert (emu.projects, emu.files, emu.deployments, emu.requests) == ({}, {}, {}, [])
    with emu.client() as client:
        assert str(client.base_url) == emu.base_url
        assert client._clock is emu.clock
        assert client.timeout == httpx.Timeout(60.0, connect=5.0)  # as a client without http_client
    assert client._http.is_closed  # the pool made for it closes with it
    assert "CraftEmulator(base_url='http://craft.localhost/v1'" in repr(emu)


def test_client_options_override_the_defaults(emu: CraftEmulator) -> None:
    with emu.client(api_key="not_the_key", max_retries=0) as client:
        assert client.max_retries == 0
        with pytest.raises(craft_sdk.AuthenticationError):
            client.me()
    mine = httpx.Client(transport=emu.transport())
    with emu.client(http_client=mine) as client:
        assert client.me().id == "user_emulator"
    assert not mine.is_closed  # a pool passed in stays the caller's to close
    mine.close()


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"rate_limit": 0}, ValueError, "rate_limit"),
        ({"rate_limit": 1.5}, TypeError, "rate_limit"),
        ({"build_seconds": -1.0}, ValueError, "build_seconds"),
        ({"build_seconds": 10**400}, ValueError, "build_seconds"),
        ({"build_seconds": "4"}, TypeError, "build_seconds"),
        ({"api_key": ""}, ValueError, "api_key"),
    ],
)
def test_constructor_checks_its_arguments(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        CraftEmulator(**options)


def test_importing_craft_sdk_does_not_import_the_testing_helpers() -> None:
    code = "import sys, craft_sdk; sys.exit('craft_sdk.testing' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# ---- /me, envelopes and common headers ------------------------------------------------------


def test_me(call: Runner) -> None:
    user = call(lambda c: c.me())
    assert (user.id, user.email, user.name) == (
        "user_emulator",
        "developer@craft.localhost",
        "Craft Emulator",
    )


def test_every_answer_has_a_request_id_and_the_clocks_date(emu: CraftEmulator) -> None:
    ok, missing = raw(emu, "GET", "/me"), raw(emu, "GET", "/projects/proj_nope")
    for response in (ok, missing):
        assert re.fullmatch(r"req_[0-9a-f]{16}", response.headers["x-request-id"])
        assert response.headers["date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
        assert response.headers["x-ratelimit-limit"] == "10000"  # the default, always sent
    assert [r.headers["x-ratelimit-remaining"] for r in (ok, missing)] == ["9999", "9998"]
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]
    assert ok.json() == {"success": True, "data": emu.user}
    assert ok.headers["content-type"] == "application/json"


def test_requests_are_logged_relative_to_the_base_url(emu: CraftEmulator) -> None:
    raw(emu, "GET", "/projects", params={"limit": 5})
    raw(emu, "GET", "/nowhere")
    assert emu.requests == [("GET", "/projects?limit=5", 200), ("GET", "/nowhere", 404)]


def test_a_custom_base_url_sets_the_path_prefix() -> None:
    emu = CraftEmulator(base_url="http://127.0.0.1:9/api/v2", clock=FakeClock())
    with emu.client() as client:
        assert client.me().id == "user_emulator"
    assert emu.requests == [("GET", "/me", 200)]
    with httpx.Client(transport=emu.transport()) as http:
        outside = http.get("http://127.0.0.1:9/v1/me", headers={"Authorization": "Bearer test_key"})
    assert (outside.status_code, error_of(outside)["code"]) == (404, "NOT_FOUND")


# ---- authentication and permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer ", "Basic dGVzdF9rZXk=", "Bearer wrong_key"]
)
def test_a_missing_or_wrong_key_is_401(emu: CraftEmulator, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http:
        response = http.get("/projects", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_wrong_key_through_the_sdk(emu: CraftEmulator) -> None:
    with (
        emu.client(api_key="sk_wrong") as client,
        pytest.raises(craft_sdk.AuthenticationError) as caught,
    ):
        client.projects.create(name="Nope")
    assert caught.value.code == "UNAUTHORIZED"
    assert emu.projects == {}


def test_the_key_is_checked_before_the_route(emu: CraftEmulator) -> None:
    assert raw(emu, "GET", "/no/such/route", key=None).status_code == 401
    assert raw(emu, "GET", "/no/such/route").status_code == 404


def test_read_only_keys_read_but_never_write() -> None:
    emu = CraftEmulator(read_only_keys=["ro_key"], clock=FakeClock())
    project_id = new_project(emu)
    raw(emu, "PUT", f"/projects/{project_id}/files/a.txt", content=b"a")
    with emu.client(api_key="ro_key") as reader:
        assert reader.projects.get(project_id).name == "Demo"
        assert reader.files.read(project_id, "a.txt") == b"a"
        writes: list[Callable[[], object]] = [
            lambda: reader.projects.create(name="New"),
            lambda: reader.projects.update(project_id, name="Renamed"),
            lambda: reader.projects.delete(project_id),
            lambda: reader.files.write(project_id, "b.txt", "b"),
            lambda: reader.files.delete(project_id, "a.txt"),
            lambda: reader.deployments.create(project_id),
        ]
        for write in writes:
            with pytest.raises(craft_sdk.PermissionDeniedError) as caught:
                write()
            assert (caught.value.status_code, caught.value.code) == (403, "FORBIDDEN")
    assert list(emu.projects) == [project_id]
    assert emu.projects[project_id]["name"] == "Demo"
    assert emu.files[project_id] == {"a.txt": b"a"}
    assert emu.deployments == {}


# ---- projects -------------------------------------------------------------------------------


def test_create_and_get_a_project(call: Runner, emu: CraftEmulator) -> None:
    created = call(
        lambda c: c.projects.create(
            name="  My Landing Page ", description="A page", template="landing-page"
        )
    )
    assert re.fullmatch(r"proj_[0-9a-f]+", created.id)
    assert emu.requests[-1] == ("POST", "/projects", 201)
    assert created.name == "My Landing Page"  # stripped
    assert (created.description, created.status, created.template) == (
        "A page",
        "active",
        "landing-page",
    )
    assert created.preview_url == f"https://preview.craft.fast/{created.id}"
    assert created.created_at == created.updated_at
    assert created.created_at.timestamp() == START

    fetched = call(lambda c: c.projects.get(created.id))
    assert fetched.to_dict() == emu.projects[created.id]
    assert fetched.settings is not None
    assert fetched.settings.framework == "react"
    assert fetched.stats is not None
    assert (fetched.stats.files, fetched.stats.last_edited_at) == (
        0,
        None,
    )
    assert emu.files[created.id] == {}


@pytest.mark.parametrize("template", [None, "landing-page", "dashboard", "blank", "portfolio"])
def test_known_templates(emu: CraftEmulator, template: str | None) -> None:
    with emu.client() as client:
        assert client.projects.create(name="T", template=template).template == template


def test_an_unknown_template_is_400_template_not_found(call: Runner, emu: CraftEmulator) -> None:
    with pytest.raises(craft_sdk.BadRequestError) as caught:
        call(lambda c: c.projects.create(name="T", template="blog"))
    assert caught.value.code == "TEMPLATE_NOT_FOUND"
    assert caught.value.details is not None
    assert "landing-page" in caught.value.details["available"]
    assert emu.projects == {}


def test_update_answers_only_what_changed(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu, description="old")
    emu.clock.sleep(30)
    updated = call(lambda c: c.projects.update(project_id, name="New name", description=None))
    assert set(updated.to_dict()) == {"id", "name", "description", "updatedAt"}
    assert (updated.name, updated.description) == ("New name", None)
    assert updated.updated_at.timestamp() == START + 30
    stored = emu.projects[project_id]
    assert (stored["name"], stored["description"], stored["status"]) == (
        "New name",
        None,
        "active",
    )
    assert stored["updatedAt"] == "2023-11-14T22:13:50Z"
    assert stored["createdAt"] == "2023-11-14T22:13:20Z"


def test_archive_and_unarchive(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    assert call(lambda c: c.projects.archive(project_id)).status == "archived"
    assert emu.projects[project_id]["status"] == "archived"
    assert call(lambda c: c.projects.unarchive(project_id)).status == "active"


def test_an_update_that_changes_nothing_keeps_updated_at(emu: CraftEmulator) -> None:
    project_id = new_project(emu, name="Same")
    emu.clock.sleep(10)
    response = raw(emu, "PATCH", f"/projects/{project_id}", json={"name": "Same"})
    assert response.json()["data"] == {
        "id": project_id,
        "name": "Same",
        "updatedAt": "2023-11-14T22:13:20Z",
    }


def test_delete_removes_the_project_its_files_and_deployments(
    call: Runner, emu: CraftEmulator
) -> None:
    project_id = new_project(emu)
    other_id = new_project(emu, name="Other")
    raw(emu, "PUT", f"/projects/{project_id}/files/a.txt", content=b"a")
    raw(emu, "POST", f"/projects/{project_id}/deployments")
    other_deployment = raw(emu, "POST", f"/projects/{other_id}/deployments").json()["data"]["id"]

    deleted = call(lambda c: c.projects.delete(project_id))
    assert (deleted.id, deleted.deleted) == (project_id, True)
    assert list(emu.projects) == [other_id]
    assert project_id not in emu.files
    assert list(emu.deployments) == [other_deployment]
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        call(lambda c: c.projects.get(project_id))
    assert caught.value.code == "PROJECT_NOT_FOUND"


ON_A_MISSING_PROJECT: list[Callable[[Any], Any]] = [
    lambda c: c.projects.get("proj_missing"),
    lambda c: c.projects.update("proj_missing", name="x"),
    lambda c: c.projects.delete("proj_missing"),
    lambda c: c.files.list("proj_missing"),
    lambda c: c.files.write("proj_missing", "a.txt", "a"),
    lambda c: c.deployments.create("proj_missing"),
    lambda c: c.deployments.list("proj_missing"),
]


@pytest.mark.parametrize("operation", ON_A_MISSING_PROJECT)
def test_an_unknown_project_is_404_project_not_found(
    call: Runner, operation: Callable[[Any], Any]
) -> None:
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        call(operation)
    assert caught.value.code == "PROJECT_NOT_FOUND"
    assert caught.value.details == {"projectId": "proj_missing"}


def test_ids_are_percent_decoded_whole(emu: CraftEmulator) -> None:
    with emu.client() as client, pytest.raises(craft_sdk.NotFoundError) as caught:
        client.projects.get("a/b c")  # sent as /projects/a%2Fb%20c: one segment
    assert caught.value.details == {"projectId": "a/b c"}
    assert emu.requests == [("GET", "/projects/a%2Fb%20c", 404)]


def test_listing_omits_settings_and_stats(call: Runner, emu: CraftEmulator) -> None:
    new_project(emu)
    page = call(lambda c: c.projects.list())
    (project,) = page.data
    assert (project.settings, project.stats) == (None, None)
    assert "settings" not in project.to_dict()
    assert page.pagination.to_dict() == {
        "page": 1,
        "limit": 20,
        "total": 1,
        "totalPages": 1,
        "hasMore": False,
    }


def test_list_pages_newest_first_by_default(emu: CraftEmulator) -> None:
    for number in range(25):
        new_project(emu, name=f"p{number:02}")
        emu.clock.sleep(1)
    with emu.client() as client:
        first = client.projects.list(limit=10)
        assert first.pagination is not None
        assert (first.pagination.total, first.pagination.total_pages) == (25, 3)
        assert first.pagination.has_more is True
        assert [p.name for p in first.data] == [f"p{n:02}" for n in range(24, 14, -1)]
        last = first.get_next_page().get_next_page()
        assert [p.name for p in last.data] == ["p04", "p03", "p02", "p01", "p00"]
        assert last.pagination is not None
        assert last.pagination.has_more is False
        assert len(list(client.projects.list(limit=7))) == 25
        beyond = client.projects.list(page=9)
        assert beyond.data == []
        assert beyond.pagination is not None
        assert beyond.pagination.has_more is False


@pytest.mark.anyio
async def test_async_iteration_reads_every_page(emu: CraftEmulator) -> None:
    for number in range(12):
        new_project(emu, name=f"p{number}")
    async with emu.async_client() as client:
        names = [str(project.name) async for project in client.projects.list(limit=5)]
    assert sorted(names) == sorted(f"p{n}" for n in range(12))
    assert [path for _, path, _ in emu.requests[-3:]] == [
        "/projects?page=1&limit=5",
        "/projects?page=2&limit=5",
        "/projects?page=3&limit=5",
    ]


def test_list_sorts_and_filters(call: Runner, emu: CraftEmulator) -> None:
    ids = {}
    for name in ["banana", "Apple", "cherry"]:  # created in this order, a second apart
        ids[name] = new_project(emu, name=name)
        emu.clock.sleep(1)
    raw(emu, "PATCH", f"/projects/{ids['Apple']}", json={"description": "touched"})
    raw(emu, "PATCH", f"/projects/{ids['cherry']}", json={"status": "archived"})

    def names(**options: Any) -> list[str]:
        return [p.name for p in call(lambda c: c.projects.list(**options)).data]

    assert names() == ["cherry", "Apple", "banana"]
    assert names(order="asc") == ["banana", "Apple", "cherry"]
    assert names(sort="name", order="asc") == ["Apple", "banana", "cherry"]  # case-insensitive
    assert names(sort="name") == ["cherry", "banana", "Apple"]
    # Updated in the same second, so the later update still sorts later.
    assert names(sort="updatedAt") == ["cherry", "Apple", "banana"]
    assert names(status="archived") == ["cherry"]
    assert names(status="active", sort="name", order="asc") == ["Apple", "banana"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "INVALID_PROJECT_NAME"),
        ({"name": ""}, "INVALID_PROJECT_NAME"),
        ({"name": "   "}, "INVALID_PROJECT_NAME"),
        ({"name": "x" * 101}, "INVALID_PROJECT_NAME"),
        ({"name": 42}, "INVALID_PROJECT_NAME"),
        ({"name": "ok", "description": "d" * 501}, "INVALID_REQUEST"),
        ({"name": "ok", "description": 5}, "INVALID_REQUEST"),
        ({"name": "ok", "template": 5}, "INVALID_REQUEST"),
        ({"name": "ok", "template": "nope"}, "TEMPLATE_NOT_FOUND"),
        (["name"], "INVALID_REQUEST"),
        (b"{not json", "INVALID_REQUEST"),
        (b"", "INVALID_REQUEST"),
    ],
)
def test_create_validation(emu: CraftEmulator, body: Any, code: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = raw(emu, "POST", "/projects", content=content)
    assert (response.status_code, error_of(response)["code"]) == (400, code)
    assert emu.projects == {}


def test_names_at_the_limits_are_accepted(emu: CraftEmulator) -> None:
    long_id = new_project(emu, name="n" * 100, description="d" * 500)
    assert emu.projects[long_id]["name"] == "n" * 100
    assert new_project(emu, name=" x ") in emu.projects


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"unknown": 1},
        {"name": ""},
        {"status": "deleted"},
        {"description": "d" * 501},
        {"name": "fine", "status": "bad"},  # nothing changes when any field is wrong
    ],
)
def test_update_validation(emu: CraftEmulator, body: dict[str, Any]) -> None:
    project_id = new_project(emu)
    before = dict(emu.projects[project_id])
    response = raw(emu, "PATCH", f"/projects/{project_id}", json=body)
    assert response.status_code == 400
    assert error_of(response)["code"] in ("INVALID_REQUEST", "INVALID_PROJECT_NAME")
    assert emu.projects[project_id] == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"page": 0}, "page"),
        ({"page": "1.5"}, "page"),
        ({"status": "deleted"}, "status"),
        ({"sort": "size"}, "sort"),
        ({"order": "up"}, "order"),
        ({"order": ""}, "order"),
    ],
)
def test_list_validation(emu: CraftEmulator, query: dict[str, Any], field: str) -> None:
    response = raw(emu, "GET", "/projects", params=query)
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "INVALID_REQUEST",
        "message": error_of(response)["message"],
        "details": {"field": field},
    }
    deployments = raw(emu, "GET", f"/projects/{new_project(emu)}/deployments", params=query)
    # Deployments page like projects, but have no status, sort or order filters to refuse.
    assert deployments.status_code == (400 if field in ("page", "limit") else 200)


def test_unknown_routes_and_methods_are_404_not_found(emu: CraftEmulator) -> None:
    for method, path in [
        ("GET", "/teams"),
        ("GET", "/"),
        ("PUT", "/projects"),
        ("POST", "/me"),
        ("GET", "/projects/p/deployments/d/cancel"),
        ("GET", "/projects/"),
        ("GET", "/projects//files"),
    ]:
        response = raw(emu, method, path)
        assert (response.status_code, error_of(response)["code"]) == (404, "NOT_FOUND"), path


# ---- files ----------------------------------------------------------------------------------


def test_write_read_list_and_delete_files(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    written = call(lambda c: c.files.write(project_id, "src/app/page.tsx", "export {}"))
    assert (written.path, written.type, written.size) == ("src/app/page.tsx", "file", 9)
    assert emu.requests[-1][2] == 201
    emu.clock.sleep(5)
    replaced = call(lambda c: c.files.write(project_id, "src/app/page.tsx", "// new"))
    assert emu.requests[-1][2] == 200  # replaced, not created
    assert replaced.updated_at is not None
    assert replaced.updated_at.timestamp() == START + 5
    call(lambda c: c.files.write(project_id, "logo.png", b"\x89PNG\r\n\x1a\n\x00"))

    assert call(lambda c: c.files.read_text(project_id, "src/app/page.tsx")) == "// new"
    assert call(lambda c: c.files.read(project_id, "logo.png")) == b"\x89PNG\r\n\x1a\n\x00"
    assert emu.files[project_id] == {
        "src/app/page.tsx": b"// new",
        "logo.png": b"\x89PNG\r\n\x1a\n\x00",
    }
    listing = call(lambda c: c.files.list(project_id))
    assert [(f.path, f.type, f.size) for f in listing] == [
        ("logo.png", "file", 9),
        ("src", "directory", None),
        ("src/app", "directory", None),
        ("src/app/page.tsx", "file", 6),
    ]
    stats = call(lambda c: c.projects.get(project_id)).stats
    assert (stats.files, stats.last_edited_at.timestamp()) == (2, START + 5)

    deleted = call(lambda c: c.files.delete(project_id, "src/app/page.tsx"))
    assert (deleted.path, deleted.deleted) == ("src/app/page.tsx", True)
    assert [f.path for f in call(lambda c: c.files.list(project_id))] == ["logo.png"]
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        call(lambda c: c.files.read(project_id, "src/app/page.tsx"))
    assert caught.value.code == "FILE_NOT_FOUND"
    with pytest.raises(craft_sdk.NotFoundError):
        call(lambda c: c.files.delete(project_id, "src/app/page.tsx"))
    assert emu.projects[project_id]["stats"]["files"] == 1


def test_file_reads_are_raw_bytes_labelled_text_or_binary(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    for path, content in [("a.txt", "héllo".encode()), ("b.bin", b"\xff\xfe"), ("c", b"a\x00")]:
        raw(emu, "PUT", f"/projects/{project_id}/files/{path}", content=content)
    text = raw(emu, "GET", f"/projects/{project_id}/files/a.txt", headers={"Accept": "*/*"})
    assert (text.content, text.headers["content-type"]) == (
        "héllo".encode(),
        "text/plain; charset=utf-8",
    )
    for path in ("b.bin", "c"):
        binary = raw(emu, "GET", f"/projects/{project_id}/files/{path}")
        assert binary.headers["content-type"] == "application/octet-stream"


def test_file_paths_keep_their_slashes_and_are_decoded_per_segment(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    path = "docs/a b/100% #1?.md"
    with emu.client() as client:
        client.files.write(project_id, path, "odd")
        assert client.files.read_text(project_id, path) == "odd"
    assert list(emu.files[project_id]) == [path]
    assert emu.requests[-1][1] == f"/projects/{project_id}/files/docs/a%20b/100%25%20%231%3F.md"


@pytest.mark.parametrize("path", ["a/%2E%2E/b", "a//b", "a/%2F/b", "a%5Cb", "%2E", "", "a/%2E/b"])
def test_file_paths_that_could_escape_are_400(emu: CraftEmulator, path: str) -> None:
    project_id = new_project(emu)
    response = raw(emu, "PUT", f"/projects/{project_id}/files/{path}", content=b"x")
    assert (response.status_code, error_of(response)["code"]) == (400, "INVALID_REQUEST")
    assert emu.files[project_id] == {}


def test_a_path_that_is_not_utf8_is_400_but_only_with_a_key(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    assert raw(emu, "GET", f"/projects/{project_id}/files/%FF").status_code == 400
    assert raw(emu, "GET", f"/projects/{project_id}/files/%FF", key=None).status_code == 401


def test_a_file_and_a_directory_cannot_share_a_path(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    call(lambda c: c.files.write(project_id, "src/a.ts", "a"))
    for path in ("src", "src/a.ts/b.ts"):

        def write(c: Any, path: str = path) -> Any:
            return c.files.write(project_id, path, "x")

        with pytest.raises(craft_sdk.ConflictError) as caught:
            call(write)
        assert caught.value.code == "CONFLICT"
    with pytest.raises(craft_sdk.NotFoundError):
        call(lambda c: c.files.read(project_id, "src"))  # a directory has no content
    assert list(emu.files[project_id]) == ["src/a.ts"]


def test_write_many_from_threads(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    files = {f"src/{n}.txt": f"file {n}" for n in range(40)}
    with emu.client() as client:
        written = client.files.write_many(project_id, files, concurrency=8)
    assert set(written) == set(files)
    assert emu.files[project_id] == {path: text.encode() for path, text in files.items()}
    assert emu.projects[project_id]["stats"]["files"] == 40


def test_download_to_a_path(emu: CraftEmulator, tmp_path: Any) -> None:
    project_id = new_project(emu)
    raw(emu, "PUT", f"/projects/{project_id}/files/big.bin", content=bytes(range(256)) * 1000)
    with emu.client() as client:
        downloaded = client.files.download(project_id, "big.bin", tmp_path / "big.bin")
    assert downloaded.size == 256_000
    assert (tmp_path / "big.bin").read_bytes() == bytes(range(256)) * 1000


# ---- deployments ----------------------------------------------------------------------------


def test_a_deployment_moves_one_step_per_poll(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    created = call(lambda c: c.deployments.create(project_id))
    assert re.fullmatch(r"dep_[0-9a-f]+", created.id)
    assert emu.requests[-1][2] == 201
    assert (created.status, created.environment, created.project_id) == (
        "queued",
        "preview",
        project_id,
    )
    assert (created.url, created.error, created.completed_at) == (None, None, None)

    seen = [call(lambda c: c.deployments.get(project_id, created.id)) for _ in range(3)]
    assert [d.status for d in seen] == ["building", "completed", "completed"]
    done = seen[-1]
    assert done.url == f"https://{created.id}.craft.app"
    assert done.completed_at is not None
    assert done.completed_at.timestamp() == START
    assert emu.deployments[created.id]["status"] == "completed"


def test_a_deployment_moves_as_the_clock_passes(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    with emu.client() as client:
        deployment = client.deployments.create(project_id, environment="production")
        emu.clock.sleep(1.9)
        assert client.deployments.list(project_id).data[0].status == "queued"
        emu.clock.sleep(0.1)  # build_seconds / 2
        assert client.deployments.list(project_id).data[0].status == "building"
        emu.clock.sleep(2)  # build_seconds
        final = client.deployments.list(project_id).data[0]
    assert (final.id, final.status, final.environment) == (deployment.id, "completed", "production")
    assert final.completed_at is not None
    assert final.completed_at.timestamp() == START + 4


def test_build_seconds_zero_finishes_by_the_next_request() -> None:
    emu = CraftEmulator(build_seconds=0, clock=FakeClock())
    project_id = new_project(emu)
    with emu.client() as client:
        deployment = client.deployments.create(project_id)
        assert client.deployments.list(project_id).data[0].status == "completed"
        assert client.deployments.get(project_id, deployment.id).status == "completed"


def test_wait_follows_a_deployment_to_completion(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    seen: list[str | None] = []
    deployment = call(lambda c: c.deployments.create(project_id))
    done = call(
        lambda c: c.deployments.wait(project_id, deployment.id, on_status=record_statuses(seen))
    )
    assert done.status == "completed"
    assert seen == ["building", "completed"]


def test_fail_next_deployment(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    emu.fail_next_deployment("npm ERR! missing script: build")
    doomed = call(lambda c: c.deployments.create(project_id))
    fine = call(lambda c: c.deployments.create(project_id))
    with pytest.raises(craft_sdk.DeploymentFailedError) as caught:
        call(lambda c: c.deployments.wait(project_id, doomed.id))
    assert caught.value.deployment.error == "npm ERR! missing script: build"
    assert caught.value.deployment.url is None
    assert call(lambda c: c.deployments.wait(project_id, fine.id)).status == "completed"
    emu.fail_next_deployment()
    other = call(lambda c: c.deployments.create(project_id))
    failed = call(lambda c: c.deployments.wait(project_id, other.id, raise_on_failure=False))
    assert (failed.status, failed.error) == ("failed", "Build failed")


def test_cancel(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    queued = call(lambda c: c.deployments.create(project_id))
    canceled = call(lambda c: c.deployments.cancel(project_id, queued.id))
    assert canceled.status == "canceled"
    assert canceled.completed_at is not None
    assert call(lambda c: c.deployments.get(project_id, queued.id)).status == "canceled"
    with pytest.raises(craft_sdk.ConflictError) as caught:
        call(lambda c: c.deployments.cancel(project_id, queued.id))
    assert caught.value.status_code == 409
    assert caught.value.details == {"status": "canceled"}

    building = call(lambda c: c.deployments.create(project_id))
    call(lambda c: c.deployments.get(project_id, building.id))
    assert call(lambda c: c.deployments.cancel(project_id, building.id)).status == "canceled"

    finished = call(lambda c: c.deployments.create(project_id))
    emu.clock.sleep(4)
    with pytest.raises(craft_sdk.ConflictError):
        call(lambda c: c.deployments.cancel(project_id, finished.id))
    assert emu.deployments[finished.id]["status"] == "completed"


def test_deployments_not_found(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    other_project = new_project(emu, name="Other")
    deployment = call(lambda c: c.deployments.create(other_project))
    operations: list[Callable[[Any], Any]] = [
        lambda c: c.deployments.get(project_id, "dep_missing"),
        lambda c: c.deployments.cancel(project_id, "dep_missing"),
        lambda c: c.deployments.get(project_id, deployment.id),  # another project's
    ]
    for operation in operations:
        with pytest.raises(craft_sdk.NotFoundError) as caught:
            call(operation)
        assert caught.value.code == "DEPLOYMENT_NOT_FOUND"


def test_deployments_list_newest_first_with_pages(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    ids = [call(lambda c: c.deployments.create(project_id)).id for _ in range(5)]
    page = call(lambda c: c.deployments.list(project_id, limit=2))
    assert [d.id for d in page.data] == ids[::-1][:2]
    assert page.pagination.to_dict() == {
        "page": 1,
        "limit": 2,
        "total": 5,
        "totalPages": 3,
        "hasMore": True,
    }


@pytest.mark.parametrize("body", [{"environment": "staging"}, {"environment": None}, [1]])
def test_deployment_validation(emu: CraftEmulator, body: Any) -> None:
    project_id = new_project(emu)
    response = raw(emu, "POST", f"/projects/{project_id}/deployments", json=body)
    assert (response.status_code, error_of(response)["code"]) == (400, "INVALID_REQUEST")
    assert emu.deployments == {}


def test_a_deployment_needs_no_body(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    response = raw(emu, "POST", f"/projects/{project_id}/deployments")
    assert response.status_code == 201
    assert response.json()["data"]["environment"] == "preview"


# ---- OAuth ----------------------------------------------------------------------------------

APP = {"client_id": "app_1", "client_secret": "app_secret"}


def test_oauth_code_and_refresh_grants(call: Runner, emu: CraftEmulator) -> None:
    token = call(
        lambda c: c.oauth.exchange_code(code="code_1", redirect_uri="https://app.test/cb", **APP)
    )
    assert token.access_token.startswith("craft_at_")
    assert (token.expires_in, token.token_type) == (3600, "Bearer")
    assert token.expires_at is not None
    assert token.expires_at.timestamp() == START + 3600

    with emu.client(api_key=token.access_token) as as_user:
        assert as_user.me().id == "user_emulator"  # an access token is a key
        as_user.projects.create(name="Made with a token")

    assert token.refresh_token is not None
    refreshed = call(lambda c: c.oauth.refresh_token(refresh_token=token.refresh_token, **APP))
    assert refreshed.access_token != token.access_token
    with pytest.raises(craft_sdk.BadRequestError) as reused:  # refresh tokens rotate
        call(lambda c: c.oauth.refresh_token(refresh_token=token.refresh_token, **APP))
    assert reused.value.code == "invalid_grant"
    with pytest.raises(craft_sdk.BadRequestError) as replayed:  # codes work once
        call(lambda c: c.oauth.exchange_code(code="code_1", redirect_uri="https://x/cb", **APP))
    assert replayed.value.code == "invalid_grant"


def test_the_token_endpoint_needs_no_key_and_answers_unwrapped(emu: CraftEmulator) -> None:
    body = {"grant_type": "authorization_code", "code": "c", "redirect_uri": "https://x", **APP}
    response = raw(emu, "POST", "/oauth/token", key=None, json=body)
    assert response.status_code == 200
    assert set(response.json()) == {
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
        "scope",
    }
    assert response.headers["cache-control"] == "no-store"
    form = {**body, "code": "c2"}
    assert raw(emu, "POST", "/oauth/token", key=None, data=form).status_code == 200


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"grant_type": "password", **APP}, "unsupported_grant_type"),
        ({**APP}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "c", **APP}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "", **APP}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "made_up", **APP}, "invalid_grant"),
        (b"not json", "invalid_request"),
    ],
)
def test_token_errors_in_the_oauth_form(emu: CraftEmulator, body: Any, error: str) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = raw(emu, "POST", "/oauth/token", key=None, content=content)
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_an_access_token_expires_with_the_clock(emu: CraftEmulator) -> None:
    with emu.client() as client:
        token = client.oauth.exchange_code(code="c", redirect_uri="https://x/cb", **APP)
    with emu.client(api_key=token.access_token) as as_user:
        emu.clock.sleep(3599)
        as_user.me()
        emu.clock.sleep(1)
        with pytest.raises(craft_sdk.AuthenticationError, match="expired"):
            as_user.me()


# ---- rate limits ----------------------------------------------------------------------------


def test_rate_limit_headers() -> None:
    emu = CraftEmulator(rate_limit=3, clock=FakeClock())
    first, second = raw(emu, "GET", "/me"), raw(emu, "GET", "/projects/nope")
    for response, remaining in ((first, "2"), (second, "1")):
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == remaining
        assert response.headers["x-ratelimit-reset"] == str(WINDOW_END)
        assert response.headers["x-ratelimit-retryafter"] == "0"
    third = raw(emu, "GET", "/me")
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert third.headers["x-ratelimit-retryafter"] == "40"


def test_a_spent_quota_is_429_with_retry_after() -> None:
    emu = CraftEmulator(rate_limit=2, clock=FakeClock())
    project_id = new_project(emu)
    raw(emu, "GET", "/me")
    emu.clock.sleep(10)
    limited = raw(emu, "POST", "/projects", json={"name": "Too many"})
    assert limited.status_code == 429
    assert error_of(limited)["code"] == "RATE_LIMIT_EXCEEDED"
    assert error_of(limited)["retryAfter"] == 30
    assert limited.headers["retry-after"] == "30"
    assert limited.headers["x-ratelimit-retryafter"] == "30"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert list(emu.projects) == [project_id]  # a throttled create creates nothing

    with emu.client(max_retries=0) as fresh, pytest.raises(craft_sdk.RateLimitError) as caught:
        fresh.me()
    assert caught.value.retry_after == 30

    emu.clock.sleep(30)  # the next minute: a new window
    assert raw(emu, "GET", "/me").headers["x-ratelimit-remaining"] == "1"


def test_the_client_waits_for_the_window_instead_of_a_429() -> None:
    emu = CraftEmulator(rate_limit=3, clock=FakeClock())
    with emu.client() as client:
        for _ in range(5):
            client.me()
    assert statuses(emu) == [200] * 5
    clock = emu.clock
    assert isinstance(clock, FakeClock)
    assert len(clock.sleeps) == 1
    assert 40 <= clock.sleeps[0] <= 40.25
    assert client.rate_limit is not None
    assert client.rate_limit.remaining == 1


def test_a_401_does_not_spend_the_quota() -> None:
    emu = CraftEmulator(rate_limit=2, clock=FakeClock())
    for _ in range(3):
        unauthorized = raw(emu, "GET", "/me", key="wrong")
        assert unauthorized.status_code == 401
        assert unauthorized.headers["x-ratelimit-remaining"] == "2"
    assert raw(emu, "GET", "/me").status_code == 200


def test_the_token_endpoint_counts_too() -> None:
    emu = CraftEmulator(rate_limit=1, clock=FakeClock())
    response = raw(emu, "POST", "/oauth/token", key=None, json={})
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert raw(emu, "GET", "/me").status_code == 429


# ---- injected faults ------------------------------------------------------------------------


def test_an_injected_503_is_retried_for_a_get(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    emu.fail_next(2, status=503, method="GET")
    assert call(lambda c: c.projects.get(project_id)).name == "Demo"
    assert statuses(emu)[-3:] == [503, 503, 200]
    clock = emu.clock
    assert isinstance(clock, FakeClock)
    assert len(clock.sleeps) == 2


def test_an_injected_failure_has_no_effect(call: Runner, emu: CraftEmulator) -> None:
    emu.fail_next(status=500, method="POST", path="/projects")
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        call(lambda c: c.projects.create(name="Lost"))  # a POST is not retried after a 500
    assert caught.value.code == "INTERNAL_ERROR"
    assert emu.projects == {}
    assert call(lambda c: c.projects.create(name="Kept")).name == "Kept"


def test_an_injected_429_carries_retry_after(call: Runner, emu: CraftEmulator) -> None:
    emu.fail_next(status=429)
    assert call(lambda c: c.projects.create(name="After a wait")).name == "After a wait"
    clock = emu.clock
    assert isinstance(clock, FakeClock)
    assert clock.sleeps == [1.0]
    assert statuses(emu) == [429, 201]
    assert len(emu.projects) == 1


def test_an_injected_error_envelope(emu: CraftEmulator) -> None:
    emu.fail_next(status=502)
    emu.fail_next(status=429)
    bad_gateway = raw(emu, "GET", "/me")
    assert bad_gateway.status_code == 502
    assert error_of(bad_gateway)["code"] == "BAD_GATEWAY"
    assert "x-request-id" in bad_gateway.headers
    throttled = raw(emu, "GET", "/me")
    assert (throttled.headers["retry-after"], error_of(throttled)["retryAfter"]) == ("1", 1)


def test_a_dropped_connection(call: Runner, emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    emu.fail_next(drop=True, method="GET")
    assert call(lambda c: c.projects.get(project_id)).id == project_id  # a GET is retried
    emu.fail_next(drop=True)
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        call(lambda c: c.projects.update(project_id, name="Lost"))  # a PATCH is not
    assert caught.value.may_have_succeeded is True
    assert emu.projects[project_id]["name"] == "Demo"
    assert statuses(emu)[1:] == [0, 200, 0]  # a drop is logged with status 0


def test_the_handler_raises_the_transport_error_itself(emu: CraftEmulator) -> None:
    emu.fail_next(drop=True)
    request = httpx.Request("GET", f"{emu.base_url}/me")
    with pytest.raises(httpx.RemoteProtocolError):
        emu.handle(request)


def test_a_delay_passes_on_the_emulators_clock(emu: CraftEmulator) -> None:
    emu.fail_next(status=None, delay=7.5)
    with emu.client() as client:
        assert client.me().id == "user_emulator"  # slow, then handled as usual
        assert emu.clock.time() == START + 7.5
        emu.fail_next(status=503, delay=2, method="GET")
        client.me()
    assert statuses(emu) == [200, 503, 200]


def test_a_slow_failure_is_not_retried_past_the_deadline(emu: CraftEmulator) -> None:
    emu.fail_next(status=503, delay=30)
    with emu.client(deadline=10) as client, pytest.raises(craft_sdk.InternalServerError):
        client.me()
    assert statuses(emu) == [503]  # the deadline had passed: no second attempt
    assert emu.clock.time() == START + 30


def test_faults_match_method_and_path(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    emu.fail_next(status=503, method="delete", path=f"/v1/projects/{project_id}?x=1")
    emu.fail_next(status=504, path="/me")
    with emu.client(max_retries=0) as client:
        assert client.projects.get(project_id).id == project_id
        with pytest.raises(craft_sdk.InternalServerError) as caught:
            client.me()
        assert caught.value.status_code == 504
        client.me()
        with pytest.raises(craft_sdk.InternalServerError):
            client.projects.delete(project_id)
        assert client.projects.delete(project_id).deleted


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"count": 0}, ValueError, "count"),
        ({"count": True}, TypeError, "count"),
        ({"status": 200}, ValueError, "status"),
        ({"status": 600}, ValueError, "status"),
        ({"status": 503.0}, TypeError, "status"),
        ({"delay": -1.0}, ValueError, "delay"),
        ({"delay": float("nan")}, ValueError, "delay"),
        ({"delay": 10**400}, ValueError, "delay"),
        ({"fraction": 0}, ValueError, "fraction"),
        ({"fraction": 1.5}, ValueError, "fraction"),
        ({"fraction": True}, TypeError, "fraction"),
        ({"drop": "yes"}, TypeError, "drop"),
        ({"method": ""}, TypeError, "method"),
        ({"status": None}, ValueError, "does nothing"),
    ],
)
def test_fail_next_checks_its_arguments(
    emu: CraftEmulator, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        emu.fail_next(**options)
    assert emu.settings()["faults"] == []  # nothing half-added


# ---- webhooks -------------------------------------------------------------------------------


def test_webhooks_are_signed_and_cover_every_event(emu: CraftEmulator) -> None:
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emu.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=SECRET)
    emu.fail_next_deployment("boom")
    with emu.client() as client:
        project = client.projects.create(name="Hooked")
        emu.clock.sleep(1)
        client.projects.update(project.id, name="Renamed", description="new", status="active")
        failing = client.deployments.create(project.id)
        client.deployments.wait(project.id, failing.id, raise_on_failure=False)
        working = client.deployments.create(project.id)
        client.deployments.wait(project.id, working.id)
        client.projects.delete(project.id)

    events = [construct_event(body, headers=headers, secret=SECRET) for body, headers in deliveries]
    assert [type(e) for e in events] == [
        ProjectCreatedEvent,
        ProjectUpdatedEvent,
        BuildStartedEvent,
        BuildFailedEvent,
        BuildStartedEvent,
        BuildCompletedEvent,
        ProjectDeletedEvent,
    ]
    assert all(json.loads(body)["data"]["projectId"] == project.id for body, _ in deliveries)
    updated = events[1]
    assert isinstance(updated, ProjectUpdatedEvent)
    assert updated.data.changes == ["name", "description"]  # status was already active
    failed, completed = events[3], events[5]
    assert isinstance(failed, BuildFailedEvent)
    assert failed.data.error == "boom"
    assert failed.data.deployment_id == failing.id
    assert isinstance(completed, BuildCompletedEvent)
    assert completed.data.url == f"https://{working.id}.craft.app"
    assert events[0].timestamp is not None
    assert events[0].timestamp.timestamp() == START
    assert events[1].timestamp is not None
    assert events[1].timestamp.timestamp() == START + 1

    body, headers = deliveries[0]
    assert headers == {
        "Content-Type": "application/json",
        "X-Craft-Signature": craft_sdk.sign_webhook(body, SECRET),
    }
    assert json.loads(body) == {
        "event": "project.created",
        "timestamp": "2023-11-14T22:13:20Z",
        "data": {"projectId": project.id},
    }
    with pytest.raises(craft_sdk.WebhookSignatureMismatchError):
        construct_event(body, headers=headers, secret="another_secret")


def test_builds_finished_by_the_clock_send_their_webhooks_on_the_next_request(
    emu: CraftEmulator,
) -> None:
    events: list[str] = []
    emu.on_webhook(lambda body, _: events.append(json.loads(body)["event"]), secret=SECRET)
    project_id = new_project(emu)
    raw(emu, "POST", f"/projects/{project_id}/deployments")
    emu.clock.sleep(60)
    assert events == ["project.created"]  # nothing happens between requests
    raw(emu, "GET", "/me")
    assert events == ["project.created", "build.started", "build.completed"]


def test_a_webhook_callback_may_call_the_api(emu: CraftEmulator) -> None:
    names: list[str] = []
    client = emu.client()

    def receive(body: bytes, headers: dict[str, str]) -> None:
        event = construct_event(body, headers=headers, secret=SECRET)
        if isinstance(event, ProjectCreatedEvent) and event.data.project_id:
            names.append(str(client.projects.get(event.data.project_id).name))

    emu.on_webhook(receive, secret=SECRET)
    with client:
        client.projects.create(name="Seen by the hook")
    assert names == ["Seen by the hook"]


def test_a_failing_webhook_callback_does_not_stop_the_others(emu: CraftEmulator) -> None:
    received: list[bytes] = []

    def broken(body: bytes, headers: dict[str, str]) -> None:
        raise RuntimeError("the receiver is down")

    emu.on_webhook(broken, secret=SECRET)
    emu.on_webhook(lambda body, headers: received.append(body), secret=SECRET)
    request = httpx.Request(
        "POST",
        f"{emu.base_url}/projects",
        json={"name": "Noisy"},
        headers={"Authorization": f"Bearer {emu.api_key}"},
    )
    with pytest.raises(RuntimeError, match="the receiver is down"):
        emu.handle(request)
    assert [json.loads(body)["event"] for body in received] == ["project.created"]
    assert len(emu.projects) == 1  # the change happened; only its delivery failed
    emu.handle(httpx.Request("GET", f"{emu.base_url}/me", headers=request.headers))
    assert len(received) == 1  # nothing was left behind to go out with the next request


def test_on_webhook_needs_a_secret(emu: CraftEmulator) -> None:
    with pytest.raises(ValueError, match="secret"):
        emu.on_webhook(lambda body, headers: None, secret="")


# ---- threads --------------------------------------------------------------------------------


def test_state_is_safe_across_threads(emu: CraftEmulator) -> None:
    with emu.client() as client:

        def create(worker: int) -> None:
            for number in range(10):
                client.projects.create(name=f"w{worker}-{number}")

        threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(emu.projects) == 80
    assert len(emu.requests) == 80
    assert {p["name"] for p in emu.projects.values()} == {
        f"w{w}-{n}" for w in range(8) for n in range(10)
    }


# ---- over a real socket ---------------------------------------------------------------------


def test_serve_with_the_sync_client(emu: CraftEmulator) -> None:
    with emu.serve() as server:
        assert isinstance(server, EmulatorServer)
        assert server.url == f"http://127.0.0.1:{server.port}/v1"
        with CraftClient(api_key=emu.api_key, base_url=server.url, clock=emu.clock) as client:
            project = client.projects.create(name="Over the wire")
            client.files.write(project.id, "docs/read me.md", "# hi")
            assert client.files.read_text(project.id, "docs/read me.md") == "# hi"
            emu.fail_next(drop=True, method="GET")
            assert client.projects.get(project.id).name == "Over the wire"  # retried
            emu.fail_next(drop=True, method="POST")
            with pytest.raises(craft_sdk.APIConnectionError):
                client.projects.create(name="Dropped")
            with pytest.raises(craft_sdk.NotFoundError) as caught:
                client.projects.get("proj_missing")
            assert caught.value.request_id is not None
            assert caught.value.request_id.startswith("req_")
    assert [p["name"] for p in emu.projects.values()] == ["Over the wire"]
    assert ("GET", f"/projects/{project.id}", 0) in emu.requests


def test_serve_reads_chunked_bodies(emu: CraftEmulator) -> None:
    project_id = new_project(emu)
    content = os.urandom(200_000)
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(content)

    feeder = threading.Thread(target=feed)
    feeder.start()
    with emu.serve() as server, CraftClient(api_key=emu.api_key, base_url=server.url) as client:
        with os.fdopen(read_end, "rb") as pipe:  # not seekable: no length, so sent chunked
            entry = client.files.write(project_id, "blob.bin", pipe)
        assert entry.size == len(content)
        assert client.files.read(project_id, "blob.bin") == content
    feeder.join()
    assert emu.files[project_id]["blob.bin"] == content


@pytest.mark.anyio
async def test_serve_with_the_async_client(emu: CraftEmulator) -> None:
    with emu.serve() as server:
        async with AsyncCraftClient(
            api_key=emu.api_key, base_url=server.url, clock=emu.clock
        ) as client:
            created = await asyncio.gather(
                *(client.projects.create(name=f"n{n}") for n in range(6))
            )
            page = await client.projects.list(limit=4)
            emu.fail_next(drop=True, method="GET", path="/me")
            user = await client.me()
    assert len({p.id for p in created}) == 6
    assert page.pagination is not None
    assert page.pagination.total == 6
    assert user.id == "user_emulator"


def test_serve_keeps_connections_alive_and_closes_them(emu: CraftEmulator) -> None:
    server = emu.serve()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(2):  # one connection, two requests
            connection.request("GET", "/v1/me", headers={"Authorization": "Bearer test_key"})
            response = connection.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["data"]["id"] == "user_emulator"
        connection.request("GET", "/v1/me", headers={"Authorization": "Bearer test_key"})
        connection.getresponse().read()
        server.close()  # even with the connection still open
        server.close()
        connection.request("GET", "/v1/me")
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            connection.getresponse()
    finally:
        connection.close()
    assert "closed=True" in repr(server)


def test_serve_answers_a_malformed_body_with_400(emu: CraftEmulator) -> None:
    with emu.serve() as server, socket.create_connection(("127.0.0.1", server.port), 10) as sock:
        sock.sendall(
            b"PUT /v1/projects/p/files/a HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "", "::"])
def test_serve_refuses_anything_but_loopback(emu: CraftEmulator, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        emu.serve(host=host)


def test_serve_on_localhost_binds_127_0_0_1(emu: CraftEmulator) -> None:
    with emu.serve(host="localhost") as server:
        assert server.url.startswith("http://127.0.0.1:")


def test_serve_on_ipv6_loopback(emu: CraftEmulator) -> None:
    try:
        server = emu.serve(host="::1")
    except OSError as error:
        if error.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise  # any other failure to bind is a failure, not a missing IPv6
        pytest.skip("no IPv6 loopback here")
    with server, CraftClient(api_key=emu.api_key, base_url=server.url) as client:
        assert server.url == f"http://[::1]:{server.port}/v1"
        assert client.me().id == "user_emulator"


# ---- python -m craft_sdk.testing ------------------------------------------------------------


def abort_mid_upload(host: str, port: int) -> None:
    """A client that starts uploading a file, then gives up: its socket closes with a reset."""
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(
            b"PUT /v1/projects/proj_x/files/big.bin HTTP/1.1\r\nHost: emulator\r\n"
            b"Authorization: Bearer test_key\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000
        )
        # Linger 0: close() resets the connection instead of ending it in order.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, (1).to_bytes(4, "little") * 2)


def test_the_command_line_emulator(tmp_path: Any) -> None:
    with emulator_process("--rate-limit", "50") as process:
        assert process.stdout is not None
        printed = "".join(process.stdout.readline() for _ in range(4))
        assert re.fullmatch(
            r"# Craft emulator on http://127\.0\.0\.1:\d+/v1 \(in memory; Ctrl-C stops it\)\. "
            r"In another shell:\n"
            r"# Steer it while it runs: http://127\.0\.0\.1:\d+/_emulator \(see --help\)\.\n"
            r"export CRAFT_BASE_URL=http://127\.0\.0\.1:\d+/v1\nexport CRAFT_API_KEY=test_key\n",
            printed,
        ), printed
        # What it printed is shell, as it is: a shell that sources it has the two variables.
        (tmp_path / "craft.env").write_text(printed)
        sourced = subprocess.run(
            ["sh", "-c", '. ./craft.env && printf "%s %s" "$CRAFT_BASE_URL" "$CRAFT_API_KEY"'],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        base_url, api_key = sourced.split(" ")
        with CraftClient(api_key=api_key, base_url=base_url, max_retries=0) as client:
            assert client.me().id == "user_emulator"
            assert client.projects.create(name="From a shell").name == "From a shell"
            assert client.rate_limit is not None
            assert client.rate_limit.limit == 50
            port = int(base_url.rsplit(":", 1)[1].split("/")[0])
            abort_mid_upload("127.0.0.1", port)
            assert client.me().id == "user_emulator"  # the server goes on
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in stderr
    [note] = stderr.splitlines()  # the client that went away, in one line
    assert "went away mid-request" in note


def test_a_client_that_goes_away_costs_one_quiet_line(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="craft_sdk.testing")
    emulator = CraftEmulator(api_key="test_key")
    with emulator.serve() as server:
        host, port = server.url.removeprefix("http://").split("/")[0].rsplit(":", 1)
        abort_mid_upload(host, int(port))
        wait_until(lambda: bool(caplog.records))  # the server thread notices in its own time
        with CraftClient(api_key="test_key", base_url=server.url) as client:
            assert client.me().id == "user_emulator"
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert "went away mid-request" in record.getMessage()
    assert "Traceback" not in capsys.readouterr().err


def test_the_command_line_refuses_a_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["--host", "0.0.0.0", "--port", "0"])
    assert exited.value.code == 2
    assert "loopback" in capsys.readouterr().err


# ---- the pytest plugin ----------------------------------------------------------------------


def test_the_fixtures(craft_emulator: CraftEmulator, craft_client: CraftClient) -> None:
    project = craft_client.projects.create(name="From a fixture")
    assert project.id in craft_emulator.projects
    assert craft_client._clock is craft_emulator.clock


@pytest.mark.anyio
async def test_the_async_fixture(
    craft_emulator: CraftEmulator, async_craft_client: AsyncCraftClient
) -> None:
    project = await async_craft_client.projects.create(name="From an async fixture")
    assert craft_emulator.projects[project.id]["name"] == "From an async fixture"


def test_the_plugin_is_registered_and_only_defines_fixtures(
    pytestconfig: pytest.Config,
) -> None:
    assert pytestconfig.pluginmanager.get_plugin("craft_sdk") is pytest_plugin
    assert not [name for name in vars(pytest_plugin) if name.startswith("pytest_")]
    assert "pytest_asyncio" not in sys.modules


def test_the_fixtures_in_a_fresh_pytest_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        seen = []

        def test_sync(craft_emulator, craft_client):
            craft_client.projects.create(name="one")
            assert len(craft_emulator.projects) == 1
            seen.append(craft_client)

        def test_fresh_state_and_closed_client(craft_emulator):
            assert craft_emulator.projects == {}
            assert seen[0]._http.is_closed

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_async(async_craft_client, craft_emulator):
            await async_craft_client.projects.create(name="two")
            assert len(craft_emulator.projects) == 1
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
