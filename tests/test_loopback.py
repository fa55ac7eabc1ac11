"""Both clients over real sockets to a server on 127.0.0.1: what respx cannot show (connection
pooling, event-loop binding, bytes on the wire)."""

from __future__ import annotations

import asyncio
import json

import pytest

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, PROJECT, USER, failure, ok
from .loopback import LoopbackServer, Reply, SeenRequest


def craft_api(request: SeenRequest) -> Reply:
    """A small stand-in for the API: enough routes for these tests."""
    if request.path == "/v1/me":
        return Reply(200, json=ok(USER))
    if request.method == "POST" and request.path == "/v1/projects":
        return Reply(201, json=ok({**PROJECT, "name": request.json()["name"]}))
    if request.path == "/v1/projects/proj_abc123":
        return Reply(200, json=ok(PROJECT), headers={"X-Request-Id": "req_ok"})
    return Reply(
        404,
        json=failure("PROJECT_NOT_FOUND", "Project not found"),
        headers={"X-Request-Id": "req_404"},
    )


@pytest.mark.anyio
async def test_async_client_against_a_real_server() -> None:
    with LoopbackServer(craft_api) as server:
        async with AsyncCraftClient(api_key=API_KEY, base_url=server.url) as client:
            user, project, created = await asyncio.gather(
                client.me(),
                client.projects.get("proj_abc123"),
                client.projects.create(name="Over the wire"),
            )
            with pytest.raises(craft_sdk.NotFoundError) as caught:
                await client.projects.get("proj_missing")
    assert user.email == "ada@example.com"
    assert project.settings is not None
    assert project.settings.styling == "tailwind"
    assert created.name == "Over the wire"
    assert str(caught.value) == "404 PROJECT_NOT_FOUND: Project not found (request_id: req_404)"
    create = next(r for r in server.requests if r.method == "POST")
    assert json.loads(create.body) == {"name": "Over the wire"}
    assert create.headers["content-type"] == "application/json"
    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        assert request.headers["user-agent"].startswith("craft-sdk-python/")


@pytest.mark.anyio
async def test_async_client_retries_over_a_real_connection() -> None:
    answers = iter([Reply(503, body=b"busy"), Reply(200, json=ok(USER))])
    clock = FakeClock()
    with LoopbackServer(lambda request: next(answers)) as server:
        async with AsyncCraftClient(api_key=API_KEY, base_url=server.url, clock=clock) as client:
            assert (await client.me()).id == "user_1"
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1


def test_sync_client_against_a_real_server() -> None:
    with (
        LoopbackServer(craft_api) as server,
        CraftClient(api_key=API_KEY, base_url=server.url) as client,
    ):
        assert client.me().name == "Ada"
        assert client.projects.get("proj_abc123").id == "proj_abc123"
        with pytest.raises(craft_sdk.NotFoundError):
            client.projects.get("nope")
    assert [r.path for r in server.requests] == [
        "/v1/me",
        "/v1/projects/proj_abc123",
        "/v1/projects/nope",
    ]


def test_nothing_listening_is_a_connection_error_that_was_never_sent() -> None:
    with LoopbackServer(craft_api) as server:
        url = server.url  # the port is free again once the server is gone
    client = CraftClient(api_key=API_KEY, base_url=url, max_retries=0)
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        client.me()
    assert caught.value.may_have_succeeded is False
    assert not isinstance(caught.value, craft_sdk.APITimeoutError)
    client.close()


def deployments_and_oauth(request: SeenRequest) -> Reply:
    """Enough of the API for deployments and OAuth over a socket."""
    deployment = {
        "id": "dep_1",
        "projectId": "proj_1",
        "status": "queued",
        "createdAt": "2024-01-15T12:30:00Z",
    }
    routes = {
        ("POST", "/v1/projects/proj_1/deployments"): {**deployment, "environment": "preview"},
        ("GET", "/v1/projects/proj_1/deployments/dep_1"): {**deployment, "status": "building"},
        ("POST", "/v1/projects/proj_1/deployments/dep_1/cancel"): {
            **deployment,
            "status": "canceled",
        },
    }
    if (request.method, request.path) in routes:
        return Reply(200, json=ok(routes[(request.method, request.path)]))
    if request.path.startswith("/v1/projects/proj_1/deployments?"):
        pagination = {"page": 1, "limit": 20, "total": 1, "totalPages": 1, "hasMore": False}
        return Reply(200, json=ok([deployment], pagination=pagination))
    if request.path == "/v1/oauth/token":
        grant = request.json()["grant_type"]
        return Reply(200, json={"access_token": f"at_{grant}", "expires_in": 60})
    return Reply(404, json=failure("NOT_FOUND", request.path))


@pytest.mark.anyio
async def test_async_deployments_and_oauth_against_a_real_server() -> None:
    with LoopbackServer(deployments_and_oauth) as server:
        async with AsyncCraftClient(api_key=API_KEY, base_url=server.url) as client:
            created = await client.deployments.create("proj_1", environment="preview")
            listed = [d.id async for d in client.deployments.list("proj_1")]
            got = await client.deployments.get("proj_1", "dep_1")
            canceled = await client.deployments.cancel("proj_1", "dep_1")
            exchanged = await client.oauth.exchange_code(
                code="c", redirect_uri="https://app.example/cb", client_id="id", client_secret="s"
            )
            refreshed = await client.oauth.refresh_token(
                refresh_token="r", client_id="id", client_secret="s"
            )
    assert (created.environment, listed, got.status, canceled.status) == (
        "preview",
        ["dep_1"],
        "building",
        "canceled",
    )
    assert (exchanged.access_token, refreshed.access_token) == (
        "at_authorization_code",
        "at_refresh_token",
    )
    token_requests = [r for r in server.requests if r.path == "/v1/oauth/token"]
    assert len(token_requests) == 2
    assert all("authorization" not in r.headers for r in token_requests)
    assert all(
        r.headers["authorization"] == f"Bearer {API_KEY}"
        for r in server.requests
        if r.path != "/v1/oauth/token"
    )


def test_sync_deployments_and_oauth_against_a_real_server() -> None:
    with (
        LoopbackServer(deployments_and_oauth) as server,
        CraftClient.for_oauth(base_url=server.url) as app,
        CraftClient(api_key=API_KEY, base_url=server.url) as client,
    ):
        token = app.oauth.exchange_code(
            code="c", redirect_uri="https://app.example/cb", client_id="id", client_secret="s"
        )
        assert token.access_token == "at_authorization_code"
        assert [d.id for d in client.deployments.list("proj_1")] == ["dep_1"]
        assert client.deployments.cancel("proj_1", "dep_1").status == "canceled"
