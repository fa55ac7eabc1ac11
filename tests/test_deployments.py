"""Deployments: create, list, get, cancel and wait, through both clients (the `run` fixture), and
the wait flow stepped through by hand with no HTTP at all."""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, Deployment
from craft_sdk._call import Call
from craft_sdk._flow import Sleep
from craft_sdk.resources.deployments import _wait
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, Runner, calls_of, drain, failure, ok, record_statuses
from .loopback import LoopbackServer, Reply, SeenRequest

PROJECT_ID = "proj_abc123"
DEPLOYMENT_ID = "dep_abc123"
DEPLOYMENTS = f"/projects/{PROJECT_ID}/deployments"
ONE = f"{DEPLOYMENTS}/{DEPLOYMENT_ID}"

DEPLOYMENT = {
    "id": DEPLOYMENT_ID,
    "projectId": PROJECT_ID,
    "status": "completed",
    "environment": "production",
    "url": "https://proj-abc123.craft.app",
    "createdAt": "2024-01-15T12:30:00Z",
    "updatedAt": "2024-01-15T12:31:00Z",
    "completedAt": "2024-01-15T12:32:30Z",
}


# What every deployment answer carries (assumed, see docs/assumptions.md).
CREATED = {"id": DEPLOYMENT_ID, "status": "queued", "createdAt": "2024-01-15T12:30:00Z"}


def deployment(status: str, **fields: Any) -> dict[str, Any]:
    """The wire form of the deployment in `status`."""
    return {**DEPLOYMENT, "status": status, **fields}


def answers(*statuses: str | httpx.Response) -> list[httpx.Response]:
    """Successive answers to a poll: a status becomes an envelope holding the deployment."""
    return [
        s if isinstance(s, httpx.Response) else httpx.Response(200, json=ok(deployment(s)))
        for s in statuses
    ]


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def listing(total: int, *, per_page: int = 2) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect serving `total` deployments in pages of `per_page`."""
    pages = max(1, -(-total // per_page))

    def serve(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        start = (page - 1) * per_page
        items = [
            deployment("completed", id=f"dep_{n}")
            for n in range(start, min(start + per_page, total))
        ]
        pagination = {
            "page": page,
            "limit": per_page,
            "total": total,
            "totalPages": pages,
            "hasMore": page < pages,
        }
        return httpx.Response(200, json=ok(items, pagination=pagination))

    return serve


# --- create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ["production", "preview"])
def test_create_sends_the_environment(api: respx.MockRouter, run: Runner, environment: str) -> None:
    route = api.post(DEPLOYMENTS).respond(
        201, json=ok(deployment("queued", environment=environment))
    )
    created = run(lambda c: c.deployments.create(PROJECT_ID, environment=environment))
    assert route.call_count == 1
    assert sent_json(route) == {"environment": environment}
    assert route.calls.last.request.headers["content-type"] == "application/json"
    assert isinstance(created, Deployment)
    assert (created.id, created.status, created.environment) == (
        DEPLOYMENT_ID,
        "queued",
        environment,
    )


def test_create_without_environment_sends_an_empty_object(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.post(DEPLOYMENTS).respond(201, json=ok(deployment("queued")))
    run(lambda c: c.deployments.create(PROJECT_ID))
    assert route.call_count == 1
    assert sent_json(route) == {}


@pytest.mark.parametrize("environment", ["staging", "", "Production", "dev"])
def test_create_refuses_an_unknown_environment_before_sending(
    api: respx.MockRouter, run: Runner, environment: str
) -> None:
    with pytest.raises(ValueError, match="environment must be one of 'preview', 'production'"):
        run(lambda c: c.deployments.create(PROJECT_ID, environment=environment))
    assert api.calls.call_count == 0


def test_a_deployment_is_read_from_camel_case(api: respx.MockRouter, run: Runner) -> None:
    api.get(ONE).respond(200, json=ok(DEPLOYMENT))
    got = run(lambda c: c.deployments.get(PROJECT_ID, DEPLOYMENT_ID))
    assert isinstance(got, Deployment)
    assert got.id == DEPLOYMENT_ID
    assert got.project_id == PROJECT_ID
    assert got.status == "completed"
    assert got.environment == "production"
    assert got.url == "https://proj-abc123.craft.app"
    assert got.error is None
    assert got.created_at == datetime(2024, 1, 15, 12, 30, tzinfo=timezone.utc)
    assert got.updated_at == datetime(2024, 1, 15, 12, 31, tzinfo=timezone.utc)
    assert got.completed_at == datetime(2024, 1, 15, 12, 32, 30, tzinfo=timezone.utc)
    assert got.is_final
    assert got.model_extra == {}


def test_an_unknown_status_is_kept_and_not_final_and_unknown_fields_are_kept(
    api: respx.MockRouter, run: Runner
) -> None:
    api.get(ONE).respond(
        200,
        json=ok({**CREATED, "status": "paused", "region": "eu-west", "buildMs": 1234}),
    )
    got = run(lambda c: c.deployments.get(PROJECT_ID, DEPLOYMENT_ID))
    assert got.status == "paused"
    assert not got.is_final
    assert got.model_extra == {"region": "eu-west", "buildMs": 1234}
    assert got.to_dict() == {
        **CREATED,
        "status": "paused",
        "region": "eu-west",
        "buildMs": 1234,
    }
    assert got.project_id is None


@pytest.mark.parametrize(
    ("status", "final"),
    [
        ("queued", False),
        ("building", False),
        ("completed", True),
        ("failed", True),
        ("canceled", True),
        ("cancelled", False),
    ],
)
def test_which_statuses_are_final(status: str, final: bool) -> None:
    assert Deployment.model_validate(deployment(status)).is_final is final


# --- list -----------------------------------------------------------------------------------


def test_list_walks_every_page_with_page_and_limit(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(5))
    items = run(lambda c: drain(c.deployments.list(PROJECT_ID, limit=2)))
    assert [d.id for d in items] == [f"dep_{n}" for n in range(5)]
    assert all(isinstance(d, Deployment) for d in items)
    assert [dict(call.request.url.params) for call in calls_of(route)] == [
        {"page": "1", "limit": "2"},
        {"page": "2", "limit": "2"},
        {"page": "3", "limit": "2"},
    ]


def test_list_without_limit_sends_only_the_page(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(1))
    items = run(lambda c: drain(c.deployments.list(PROJECT_ID)))
    assert [d.id for d in items] == ["dep_0"]
    assert [dict(call.request.url.params) for call in calls_of(route)] == [{"page": "1"}]


def test_list_starts_at_the_given_page(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(6))
    items = run(lambda c: drain(c.deployments.list(PROJECT_ID, page=2, limit=2)))
    assert [d.id for d in items] == ["dep_2", "dep_3", "dep_4", "dep_5"]
    assert [call.request.url.params["page"] for call in calls_of(route)] == ["2", "3"]


@pytest.mark.parametrize(("max_items", "pages_fetched"), [(1, 1), (2, 1), (3, 2), (5, 3)])
def test_list_max_items_stops_without_fetching_more(
    api: respx.MockRouter, run: Runner, max_items: int, pages_fetched: int
) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(9))
    items = run(lambda c: drain(c.deployments.list(PROJECT_ID, limit=2, max_items=max_items)))
    assert [d.id for d in items] == [f"dep_{n}" for n in range(max_items)]
    assert route.call_count == pages_fetched


def test_sync_list_is_the_first_page(api: respx.MockRouter, client: craft_sdk.CraftClient) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(3))
    page = client.deployments.list(PROJECT_ID, limit=2)
    assert isinstance(page, craft_sdk.SyncPage)
    assert route.call_count == 1
    assert [d.id for d in page.data] == ["dep_0", "dep_1"]
    assert page.has_next_page()
    assert [d.id for d in page.get_next_page().data] == ["dep_2"]
    assert route.call_count == 2


@pytest.mark.anyio
async def test_async_list_is_awaitable_for_the_first_page(api: respx.MockRouter) -> None:
    route = api.get(DEPLOYMENTS).mock(side_effect=listing(3))
    async with AsyncCraftClient(api_key=API_KEY, clock=FakeClock()) as client:
        listed = client.deployments.list(PROJECT_ID, limit=2)
        assert route.call_count == 0  # nothing is sent before it is awaited
        page = await listed
        assert route.call_count == 1
        assert [d.id for d in page.data] == ["dep_0", "dep_1"]
        assert page.has_next_page()
        second = await page.get_next_page()
        assert [d.id for d in second.data] == ["dep_2"]
        assert not second.has_next_page()
    assert [dict(call.request.url.params) for call in calls_of(route)] == [
        {"page": "1", "limit": "2"},
        {"page": "2", "limit": "2"},
    ]


@pytest.mark.parametrize("limit", [0, -1, 101, 1000])
def test_list_refuses_a_limit_outside_1_to_100(
    api: respx.MockRouter, run: Runner, limit: int
) -> None:
    with pytest.raises(ValueError, match="limit must be from 1 to 100"):
        run(lambda c: drain(c.deployments.list(PROJECT_ID, limit=limit)))
    assert api.calls.call_count == 0


@pytest.mark.parametrize("limit", [1, 100])
def test_list_accepts_the_limits_of_1_and_100(
    api: respx.MockRouter, run: Runner, limit: int
) -> None:
    route = api.get(DEPLOYMENTS).respond(
        200, json=ok([], pagination={"page": 1, "limit": limit, "hasMore": False})
    )
    assert run(lambda c: drain(c.deployments.list(PROJECT_ID, limit=limit))) == []
    assert route.calls.last.request.url.params["limit"] == str(limit)


# --- get and cancel -------------------------------------------------------------------------


def test_get_reads_one_deployment(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(ONE).respond(200, json=ok(deployment("building")))
    got = run(lambda c: c.deployments.get(PROJECT_ID, DEPLOYMENT_ID))
    assert route.call_count == 1
    assert route.calls.last.request.headers["authorization"] == f"Bearer {API_KEY}"
    assert got.status == "building"


def test_cancel_posts_to_cancel(api: respx.MockRouter, run: Runner) -> None:
    route = api.post(f"{ONE}/cancel").respond(200, json=ok(deployment("canceled")))
    got = run(lambda c: c.deployments.cancel(PROJECT_ID, DEPLOYMENT_ID))
    assert route.call_count == 1
    assert route.calls.last.request.method == "POST"
    assert got.status == "canceled"
    assert got.is_final


@pytest.mark.parametrize(
    ("method", "http_method", "suffix"), [("get", "GET", b""), ("cancel", "POST", b"/cancel")]
)
def test_ids_are_encoded_as_one_segment_each(
    api: respx.MockRouter, run: Runner, method: str, http_method: str, suffix: bytes
) -> None:
    route = api.route(method=http_method).respond(200, json=ok(deployment("queued")))
    run(lambda c: getattr(c.deployments, method)("p/../../admin", "d?x=1#f /"))
    url = route.calls.last.request.url
    assert route.call_count == 1
    assert url.host == "api.craft.fast"
    assert url.raw_path == b"/v1/projects/p%2F..%2F..%2Fadmin/deployments/d%3Fx%3D1%23f%20%2F" + (
        suffix
    )
    assert url.query == b""


def test_create_and_list_encode_the_project_id(api: respx.MockRouter, run: Runner) -> None:
    listed = api.get().respond(200, json=ok([], pagination={"page": 1, "hasMore": False}))
    created = api.post().respond(201, json=ok(deployment("queued")))
    run(lambda c: drain(c.deployments.list("a/b")))
    run(lambda c: c.deployments.create("a/b"))
    assert listed.calls.last.request.url.raw_path == b"/v1/projects/a%2Fb/deployments?page=1"
    assert created.calls.last.request.url.raw_path == b"/v1/projects/a%2Fb/deployments"


BAD_IDS = ["", ".", ".."]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("method", ["get", "cancel", "wait"])
@pytest.mark.parametrize("which", ["project", "deployment"])
def test_empty_and_dot_ids_are_refused_before_sending(
    api: respx.MockRouter, run: Runner, sleeps: list[float], bad: str, method: str, which: str
) -> None:
    ids = (bad, DEPLOYMENT_ID) if which == "project" else (PROJECT_ID, bad)
    with pytest.raises(ValueError, match=re.escape("must not be empty, '.' or '..'")):
        run(lambda c: getattr(c.deployments, method)(*ids))
    assert api.calls.call_count == 0
    assert sleeps == []


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("method", ["create", "list"])
def test_empty_and_dot_project_ids_are_refused_by_create_and_list(
    api: respx.MockRouter, run: Runner, bad: str, method: str
) -> None:
    def operation(c: Any) -> Any:
        if method == "create":
            return c.deployments.create(bad)
        return drain(c.deployments.list(bad))

    with pytest.raises(ValueError, match=re.escape("must not be empty, '.' or '..'")):
        run(operation)
    assert api.calls.call_count == 0


def test_a_cancel_answered_503_is_not_retried(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.post(f"{ONE}/cancel").respond(503, json=failure("UNAVAILABLE", "Try later"))
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.deployments.cancel(PROJECT_ID, DEPLOYMENT_ID))
    assert route.call_count == 1
    assert caught.value.status_code == 503
    assert caught.value.may_have_succeeded is True
    assert caught.value.attempts == 1
    assert sleeps == []


def test_a_get_answered_503_is_retried(api: respx.MockRouter, run: Runner) -> None:
    route = api.get(ONE).mock(
        side_effect=answers(httpx.Response(503, json=failure("UNAVAILABLE")), "building")
    )
    got = run(lambda c: c.deployments.get(PROJECT_ID, DEPLOYMENT_ID))
    assert route.call_count == 2
    assert got.status == "building"


# --- wait through the clients ---------------------------------------------------------------


def test_wait_returns_the_completed_deployment(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers("queued", "building", "completed"))
    done = run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, poll_interval=2))
    assert isinstance(done, Deployment)
    assert done.status == "completed"
    assert done.url == "https://proj-abc123.craft.app"
    assert route.call_count == 3
    assert all(call.request.method == "GET" for call in calls_of(route))
    assert sleeps == [2, 3]


def test_on_status_is_called_once_per_status_change(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(
        side_effect=answers("queued", "queued", "building", "building", "building", "completed")
    )
    seen: list[str | None] = []

    def on_status(d: Deployment) -> None:
        assert isinstance(d, Deployment)
        seen.append(d.status)

    done = run(
        lambda c: c.deployments.wait(
            PROJECT_ID, DEPLOYMENT_ID, poll_interval=1, on_status=on_status
        )
    )
    assert route.call_count == 6
    assert seen == ["queued", "building", "completed"]
    assert done.status == "completed"
    assert len(sleeps) == 5


def test_wait_backs_off_by_one_and_a_half_up_to_30_seconds(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers(*["building"] * 10, "completed"))
    done = run(
        lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, timeout=3600, poll_interval=2)
    )
    assert done.status == "completed"
    assert route.call_count == 11
    assert sleeps == pytest.approx(
        [2, 3, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30, 30, 30], abs=1e-9
    )


def test_wait_with_a_long_poll_interval_is_capped_at_30_seconds(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    api.get(ONE).mock(side_effect=answers("building", "building", "building", "completed"))
    run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, timeout=3600, poll_interval=25))
    assert sleeps == [25, 30, 30]


def test_a_failed_deployment_raises_with_the_deployment(api: respx.MockRouter, run: Runner) -> None:
    failed = httpx.Response(
        200, json=ok(deployment("failed", error="Build failed: npm ERR! missing script: build"))
    )
    route = api.get(ONE).mock(side_effect=answers("building", failed))
    with pytest.raises(craft_sdk.DeploymentFailedError) as caught:
        run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID))
    error = caught.value
    assert isinstance(error, craft_sdk.CraftError)
    assert isinstance(error.deployment, Deployment)
    assert error.deployment.status == "failed"
    assert error.deployment.id == DEPLOYMENT_ID
    assert error.deployment.error == "Build failed: npm ERR! missing script: build"
    assert "Build failed: npm ERR! missing script: build" in str(error)
    assert DEPLOYMENT_ID in str(error)
    assert route.call_count == 2


def test_a_failed_deployment_is_returned_when_asked_not_to_raise(
    api: respx.MockRouter, run: Runner
) -> None:
    failed = httpx.Response(200, json=ok(deployment("failed", error="Out of memory")))
    seen: list[str | None] = []
    route = api.get(ONE).mock(side_effect=answers("queued", failed))
    got = run(
        lambda c: c.deployments.wait(
            PROJECT_ID,
            DEPLOYMENT_ID,
            raise_on_failure=False,
            on_status=record_statuses(seen),
        )
    )
    assert isinstance(got, Deployment)
    assert (got.status, got.error) == ("failed", "Out of memory")
    assert seen == ["queued", "failed"]
    assert route.call_count == 2


def test_a_canceled_deployment_is_returned(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers("building", "canceled"))
    got = run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, poll_interval=2))
    assert got.status == "canceled"
    assert route.call_count == 2
    assert sleeps == [2]


def test_a_deployment_already_final_is_returned_without_sleeping(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers("completed"))
    assert run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID)).status == "completed"
    assert route.call_count == 1
    assert sleeps == []


def test_wait_goes_on_through_an_unknown_status(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers("queued", "optimizing", "completed"))
    seen: list[str | None] = []
    got = run(
        lambda c: c.deployments.wait(
            PROJECT_ID, DEPLOYMENT_ID, poll_interval=2, on_status=record_statuses(seen)
        )
    )
    assert got.status == "completed"
    assert seen == ["queued", "optimizing", "completed"]
    assert route.call_count == 3
    assert sleeps == [2, 3]


def test_wait_times_out_with_the_last_deployment(
    api: respx.MockRouter, run: Runner, clock: FakeClock, sleeps: list[float]
) -> None:
    started = clock.monotonic()
    polled_at: list[float] = []

    def building(request: httpx.Request) -> httpx.Response:
        polled_at.append(clock.monotonic() - started)
        return httpx.Response(200, json=ok(deployment("building", url=None)))

    route = api.get(ONE).mock(side_effect=building)
    with pytest.raises(craft_sdk.WaitTimeoutError) as caught:
        run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, timeout=10, poll_interval=2))
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, craft_sdk.CraftError)
    assert isinstance(error.deployment, Deployment)
    assert (error.deployment.id, error.deployment.status) == (DEPLOYMENT_ID, "building")
    assert "building" in str(error)
    assert DEPLOYMENT_ID in str(error)
    # Sleeps back off, the last one cut short so that it ends at the timeout, never past it.
    assert sleeps == [2, 3, 4.5, 0.5]
    assert sum(sleeps) <= 10
    # ...where one last poll looks at the deployment.
    assert polled_at == [0, 2, 5, 9.5, 10]
    assert route.call_count == 5


def test_wait_with_a_poll_interval_longer_than_the_timeout(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(side_effect=answers("queued", "queued", "queued"))
    with pytest.raises(craft_sdk.WaitTimeoutError) as caught:
        run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, timeout=1, poll_interval=5))
    assert caught.value.deployment.status == "queued"
    assert sleeps == [1]
    assert route.call_count == 2


def test_a_deployment_completing_at_the_last_poll_is_returned(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get(ONE).mock(
        side_effect=answers("building", "building", "building", "building", "completed")
    )
    got = run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, timeout=10, poll_interval=2))
    assert got.status == "completed"
    assert sleeps == [2, 3, 4.5, 0.5]
    assert route.call_count == 5


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("timeout", 0, ValueError),
        ("timeout", -1, ValueError),
        ("timeout", math.nan, ValueError),
        ("timeout", math.inf, ValueError),
        ("timeout", 10**400, ValueError),  # too large for a float: refused, not OverflowError
        ("timeout", "2", TypeError),
        ("timeout", None, TypeError),
        ("timeout", True, TypeError),
        ("poll_interval", 0, ValueError),
        ("poll_interval", -1, ValueError),
        ("poll_interval", math.nan, ValueError),
        ("poll_interval", -math.inf, ValueError),
        ("poll_interval", "2", TypeError),
        ("poll_interval", False, TypeError),
    ],
)
def test_wait_refuses_bad_seconds_before_sending(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    option: str,
    value: Any,
    error: type[Exception],
) -> None:
    route = api.get(ONE).mock(side_effect=answers("completed"))
    with pytest.raises(error, match=option):
        run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID, **{option: value}))
    assert route.call_count == 0
    assert sleeps == []


def test_a_transient_503_on_a_poll_is_retried_and_the_wait_goes_on(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    unavailable = httpx.Response(503, json=failure("UNAVAILABLE", "Busy"))
    route = api.get(ONE).mock(side_effect=answers("queued", unavailable, "building", "completed"))
    seen: list[str | None] = []
    got = run(
        lambda c: c.deployments.wait(
            PROJECT_ID, DEPLOYMENT_ID, poll_interval=2, on_status=record_statuses(seen)
        )
    )
    assert got.status == "completed"
    assert route.call_count == 4
    assert seen == ["queued", "building", "completed"]
    # The poll sleeps, with the client's own retry backoff (jittered, at most 0.5 s) between.
    assert len(sleeps) == 3
    assert sleeps[0] == 2
    assert 0 <= sleeps[1] <= 0.5
    assert sleeps[2] == 3


@pytest.mark.client_options(max_retries=0)
def test_an_error_on_a_poll_that_is_not_retried_ends_the_wait(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get(ONE).mock(
        side_effect=answers(
            "queued", httpx.Response(404, json=failure("DEPLOYMENT_NOT_FOUND", "Gone"))
        )
    )
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        run(lambda c: c.deployments.wait(PROJECT_ID, DEPLOYMENT_ID))
    assert caught.value.code == "DEPLOYMENT_NOT_FOUND"
    assert route.call_count == 2


# --- the wait flow by hand, no HTTP ---------------------------------------------------------


def flow(clock: FakeClock, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "timeout": 600.0,
        "poll_interval": 2.0,
        "on_status": None,
        "raise_on_failure": True,
        "clock": clock,
        **options,
    }
    return _wait(PROJECT_ID, DEPLOYMENT_ID, **settings)


def dep(status: str, **fields: Any) -> Deployment:
    return Deployment.model_validate(deployment(status, **fields))


def assert_poll(step: object, path: str = ONE) -> None:
    assert isinstance(step, Call)
    assert step.method == "GET"
    assert step.path == path
    assert step.authenticated is True


def test_the_flow_polls_sleeps_and_returns() -> None:
    clock = FakeClock()
    seen: list[str | None] = []
    steps = flow(clock, on_status=record_statuses(seen))
    assert_poll(next(steps))
    step = steps.send(dep("queued"))
    assert step == Sleep(2.0)
    clock.sleep(step.seconds)
    assert_poll(steps.send(None))
    step = steps.send(dep("building"))
    assert step == Sleep(3.0)
    clock.sleep(step.seconds)
    assert_poll(steps.send(None))
    step = steps.send(dep("building"))
    assert step == Sleep(4.5)
    clock.sleep(step.seconds)
    assert_poll(steps.send(None))
    final = dep("completed")
    with pytest.raises(StopIteration) as finished:
        steps.send(final)
    assert finished.value.value is final
    assert seen == ["queued", "building", "completed"]


def test_the_flow_encodes_the_ids_of_its_poll() -> None:
    steps = _wait(
        "p/1",
        "d 1?",
        timeout=10,
        poll_interval=1,
        on_status=None,
        raise_on_failure=True,
        clock=FakeClock(),
    )
    assert_poll(next(steps), "/projects/p%2F1/deployments/d%201%3F")


def test_the_flow_raises_on_failure() -> None:
    steps = flow(FakeClock())
    assert_poll(next(steps))
    with pytest.raises(craft_sdk.DeploymentFailedError, match="Disk full") as caught:
        steps.send(dep("failed", error="Disk full"))
    assert caught.value.deployment.status == "failed"


def test_the_flow_returns_a_failure_when_asked_not_to_raise() -> None:
    steps = flow(FakeClock(), raise_on_failure=False)
    assert_poll(next(steps))
    failed = dep("failed", error="Disk full")
    with pytest.raises(StopIteration) as finished:
        steps.send(failed)
    assert finished.value.value is failed


def test_the_flow_returns_a_canceled_deployment() -> None:
    steps = flow(FakeClock())
    next(steps)
    assert isinstance(steps.send(dep("queued")), Sleep)
    assert_poll(steps.send(None))
    canceled = dep("canceled")
    with pytest.raises(StopIteration) as finished:
        steps.send(canceled)
    assert finished.value.value is canceled


@pytest.mark.parametrize(
    ("timeout", "sleeps", "polls"),
    [
        (10, [2, 3, 4.5, 0.5], [0, 2, 5, 9.5, 10]),
        (9.75, [2, 3, 4.5, 0.25], [0, 2, 5, 9.5, 9.75]),
        (2, [2], [0, 2]),
        (1, [1], [0, 1]),
    ],
)
def test_the_flow_times_out_after_one_last_poll_at_the_timeout(
    timeout: float, sleeps: list[float], polls: list[float]
) -> None:
    clock = FakeClock()
    started = clock.monotonic()
    steps = flow(clock, timeout=timeout, poll_interval=2)
    slept: list[float] = []
    polled_at: list[float] = []

    def poll_while_building() -> None:
        step = next(steps)
        while True:  # ends when the flow raises
            assert_poll(step)
            polled_at.append(clock.monotonic() - started)
            assert len(polled_at) < 20, "the flow never times out"
            step = steps.send(dep("building"))
            assert isinstance(step, Sleep)
            slept.append(step.seconds)
            clock.sleep(step.seconds)
            step = steps.send(None)

    with pytest.raises(craft_sdk.WaitTimeoutError) as caught:
        poll_while_building()
    assert slept == sleeps
    assert sum(slept) <= timeout
    assert polled_at == polls
    assert caught.value.deployment.status == "building"


def test_the_flow_counts_time_spent_outside_its_sleeps() -> None:
    # Time also passes while a poll is answered (and retried): the timeout still holds.
    clock = FakeClock()
    steps = flow(clock, timeout=10, poll_interval=2)
    next(steps)
    clock.advance(9)  # a slow first poll
    step = steps.send(dep("queued"))
    assert step == Sleep(1)
    clock.sleep(step.seconds)
    assert_poll(steps.send(None))
    with pytest.raises(craft_sdk.WaitTimeoutError):
        steps.send(dep("queued"))


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("timeout", 0, ValueError),
        ("timeout", -1, ValueError),
        ("timeout", math.nan, ValueError),
        ("timeout", "2", TypeError),
        ("poll_interval", 0, ValueError),
        ("poll_interval", -1, ValueError),
        ("poll_interval", math.nan, ValueError),
        ("poll_interval", "2", TypeError),
    ],
)
def test_the_flow_checks_its_seconds_before_its_first_step(
    option: str, value: Any, error: type[Exception]
) -> None:
    steps = flow(FakeClock(), **{option: value})
    with pytest.raises(error, match=option):
        next(steps)


# --- wait over a real socket ----------------------------------------------------------------


@pytest.mark.anyio
async def test_async_wait_against_a_real_server() -> None:
    statuses: Iterator[str] = iter(["queued", "building", "completed"])
    lock = threading.Lock()

    def serve(request: SeenRequest) -> Reply:
        if request.method != "GET" or request.path != f"/v1{ONE}":
            return Reply(404, json=failure("NOT_FOUND", "No such route"))
        with lock:
            status = next(statuses)
        return Reply(200, json=ok(deployment(status)))

    clock = FakeClock()
    seen: list[str | None] = []
    with LoopbackServer(serve) as server:
        async with AsyncCraftClient(api_key=API_KEY, base_url=server.url, clock=clock) as client:
            done = await client.deployments.wait(
                PROJECT_ID,
                DEPLOYMENT_ID,
                poll_interval=2,
                on_status=record_statuses(seen),
            )
    assert isinstance(done, Deployment)
    assert done.status == "completed"
    assert done.completed_at == datetime(2024, 1, 15, 12, 32, 30, tzinfo=timezone.utc)
    assert seen == ["queued", "building", "completed"]
    assert clock.sleeps == [2, 3]
    assert [(r.method, r.path) for r in server.requests] == [("GET", f"/v1{ONE}")] * 3
    assert all(r.headers["authorization"] == f"Bearer {API_KEY}" for r in server.requests)
