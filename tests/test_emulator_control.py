"""Steering the emulator (issue #16, points 3 and 4): builds on the real clock, failing builds,
webhook delivery to a URL, the control endpoint under /_emulator, and the command line's flags.
Each through an emulator in process and through its server (or the command line's process)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

import craft_sdk
from craft_sdk import CraftClient
from craft_sdk.testing import CraftEmulator, EmulatorServer, FakeClock, SystemClock
from craft_sdk.webhooks import SIGNATURE_HEADER, verify_webhook

from .conftest import emulator_process, read_exports
from .loopback import LoopbackServer, Reply, SeenRequest

SECRET = "whsec_control_test"


@pytest.fixture
def served() -> Iterator[tuple[CraftEmulator, EmulatorServer, httpx.Client]]:
    """An emulator on the real clock, its server, and an httpx client on its control endpoint."""
    emu = CraftEmulator(clock=SystemClock(), build_seconds=0.4)
    with emu.serve() as server, httpx.Client(base_url=server.url.removesuffix("/v1")) as http:
        yield emu, server, http
    emu.close()


def events_of(requests: list[SeenRequest]) -> list[str]:
    return [json.loads(request.body)["event"] for request in requests]


# ---- builds on the clock (point 3) ----------------------------------------------------------


def test_in_process_a_build_takes_build_seconds_of_the_clock() -> None:
    clock = FakeClock()
    emu = CraftEmulator(clock=clock, build_seconds=30, advance_on_poll=False)
    emu.fail_next_deployment("Missing index.html", count=2)
    with emu.client() as client:
        project = client.projects.create(name="Clocked")
        doomed = [client.deployments.create(project.id) for _ in range(2)]
        with pytest.raises(craft_sdk.WaitTimeoutError):
            client.deployments.wait(project.id, doomed[0].id, timeout=10, poll_interval=1)
        for deployment in doomed:
            with pytest.raises(craft_sdk.DeploymentFailedError, match=r"Missing index\.html"):
                client.deployments.wait(project.id, deployment.id, poll_interval=1)
        started = clock.time()
        fine = client.deployments.create(project.id)
        assert client.deployments.wait(project.id, fine.id, poll_interval=1).status == "completed"
        assert clock.time() - started >= 30  # no sooner than the build took


def test_over_the_server_a_build_takes_real_time(
    served: tuple[CraftEmulator, EmulatorServer, httpx.Client],
) -> None:
    emu, server, _ = served
    assert emu.advance_on_poll is False  # on a real clock, polling does not hurry a build
    with CraftClient(api_key=emu.api_key, base_url=server.url) as client:
        project = client.projects.create(name="Real time")
        deployment = client.deployments.create(project.id)
        began = time.monotonic()
        with pytest.raises(craft_sdk.WaitTimeoutError):
            client.deployments.wait(project.id, deployment.id, timeout=0.05, poll_interval=0.01)
        done = client.deployments.wait(project.id, deployment.id, poll_interval=0.02)
        assert done.status == "completed"
        assert time.monotonic() - began >= 0.35  # build_seconds, give or take the first poll
        emu.fail_next_deployment("Out of memory")
        failing = client.deployments.create(project.id)
        with pytest.raises(craft_sdk.DeploymentFailedError, match="Out of memory"):
            client.deployments.wait(project.id, failing.id, poll_interval=0.02)


# ---- the control endpoint (point 4) ---------------------------------------------------------


def test_the_control_endpoint_reads_and_changes_the_settings(
    served: tuple[CraftEmulator, EmulatorServer, httpx.Client],
) -> None:
    emu, server, http = served
    settings = http.get("/_emulator").json()["data"]
    assert server.control_url == f"http://127.0.0.1:{server.port}/_emulator"
    assert httpx.get(server.control_url).json()["data"] == settings
    assert settings["tier"] is None
    assert settings["rateLimit"] == 10_000
    assert settings["buildSeconds"] == 0.4
    assert settings["failingBuilds"] == 0
    assert settings["webhookUrl"] is None
    changed = http.patch(
        "/_emulator", json={"tier": "free", "buildSeconds": 0.1, "failBuilds": 2}
    ).json()["data"]
    assert (changed["tier"], changed["rateLimit"], changed["buildSeconds"]) == ("free", None, 0.1)
    assert changed["failingBuilds"] == 2
    assert (emu.tier, emu.build_seconds) == ("free", 0.1)
    with CraftClient(api_key=emu.api_key, base_url=server.url) as client:
        client.me()
        assert client.rate_limit is not None
        assert client.rate_limit.limit == 60  # the free tier's minute, at once
    http.patch("/_emulator", json={"rateLimit": 5, "tier": None})
    assert (emu.tier, emu.rate_limit) == (None, 5)
    log = http.get("/_emulator/requests").json()["data"]
    assert log == [{"method": "GET", "path": "/me", "status": 200}]  # the API's requests only


@pytest.mark.parametrize(
    "change",
    [
        {"buildSeconds": 1, "tier": "gold"},
        # A good field, then a bad one checked after it: nothing applies all the same.
        {"tier": "free", "buildSeconds": -1},
        {"buildSeconds": 1, "failBuilds": 0},
        {"advanceOnPoll": False, "webhookUrl": "ftp://example.com", "webhookSecret": SECRET},
        {"buildSeconds": -1},
        {"tier": "free", "rateLimit": 5},
        {"failBuilds": 0},
        {"advanceOnPoll": "yes"},
        {"webhookUrl": "ftp://example.com", "webhookSecret": SECRET},
        {"webhookUrl": "http://127.0.0.1:9/hook"},  # no secret
        {"buildSecs": 1},
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    served: tuple[CraftEmulator, EmulatorServer, httpx.Client], change: dict[str, object]
) -> None:
    _, _, http = served
    before = http.get("/_emulator").json()["data"]
    refused = http.patch("/_emulator", json=change)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "INVALID_REQUEST"
    assert http.get("/_emulator").json()["data"] == before


def test_the_control_endpoint_answers_only_its_own_paths(
    served: tuple[CraftEmulator, EmulatorServer, httpx.Client],
) -> None:
    emu, _, http = served
    assert http.get("/_emulator/nothing").status_code == 404
    assert http.put("/_emulator").status_code == 404
    assert http.patch("/_emulator", content=b"{not json").status_code == 400
    assert emu.requests == []  # none of them reached the API


# ---- webhooks to a URL (point 4) ------------------------------------------------------------


def test_in_process_events_are_posted_signed_and_retried() -> None:
    answers = iter([Reply(status=500), Reply(status=200)])
    with LoopbackServer(lambda request: next(answers, Reply(status=200))) as receiver:
        emu = CraftEmulator(clock=FakeClock())
        emu.deliver_webhooks(receiver.url + "/hooks", secret=SECRET, backoff=0.01)
        with emu.client() as client:
            client.projects.create(name="Announced")
        assert emu.flush_webhooks(timeout=10)
        emu.close()
    first, retried = receiver.requests
    assert first.body == retried.body
    assert retried.path.endswith("/hooks")
    assert verify_webhook(retried.body, retried.headers[SIGNATURE_HEADER.lower()], SECRET)
    assert [(d.attempt, d.status, d.delivered) for d in emu.webhook_deliveries] == [
        (1, 500, False),
        (2, 200, True),
    ]


def test_over_the_server_the_webhook_url_is_set_through_the_control_endpoint(
    served: tuple[CraftEmulator, EmulatorServer, httpx.Client],
) -> None:
    emu, server, http = served
    with LoopbackServer(lambda request: Reply(status=204)) as receiver:
        set_up = http.patch(
            "/_emulator",
            json={
                "webhookUrl": receiver.url,
                "webhookSecret": SECRET,
                "webhookBackoff": 0.01,
                "buildSeconds": 0,  # what is delivered is the point here, not how long it took
            },
        )
        assert set_up.json()["data"]["webhookUrl"] == receiver.url
        assert SECRET not in set_up.text  # the secret is never shown
        with CraftClient(api_key=emu.api_key, base_url=server.url) as client:
            project = client.projects.create(name="Watched")
            deployment = client.deployments.create(project.id)
            client.deployments.wait(project.id, deployment.id, poll_interval=0.05)
        assert emu.flush_webhooks(timeout=10)
        deliveries = http.get("/_emulator/deliveries").json()["data"]
        http.patch("/_emulator", json={"webhookUrl": None})
        assert http.get("/_emulator").json()["data"]["webhookUrl"] is None
    expected = ["project.created", "build.started", "build.completed"]
    assert events_of(receiver.requests) == expected
    assert [(d["event"], d["attempt"], d["delivered"]) for d in deliveries] == [
        (event, 1, True) for event in expected
    ]
    for request in receiver.requests:
        assert verify_webhook(request.body, request.headers[SIGNATURE_HEADER.lower()], SECRET)


# ---- the command line's flags ---------------------------------------------------------------


def test_the_command_line_takes_every_steering_flag() -> None:
    received: list[SeenRequest] = []
    delivered = threading.Event()

    def receive(request: SeenRequest) -> Reply:
        received.append(request)
        if json.loads(request.body)["event"] == "build.failed":
            delivered.set()
        return Reply(status=200)

    with LoopbackServer(receive) as receiver:
        flags = [
            "--tier", "free", "--build-seconds", "0.2", "--fail-builds", "1",
            "--build-error", "Broken on purpose", "--fault", "status=503,count=1,path=/me",
            "--webhook-url", receiver.url,
        ]  # fmt: skip
        environment = {"CRAFT_WEBHOOK_SECRET": SECRET, "PATH": ""}
        with emulator_process(*flags, env=environment) as process:
            base_url = read_exports(process)["CRAFT_BASE_URL"]
            with CraftClient(api_key="test_key", base_url=base_url, max_retries=0) as client:
                with pytest.raises(craft_sdk.InternalServerError):
                    client.me()  # the injected fault, once
                client.me()
                assert client.rate_limit is not None
                assert client.rate_limit.limit == 60  # the free tier's minute
                project = client.projects.create(name="From the command line")
                deployment = client.deployments.create(project.id)
                with pytest.raises(craft_sdk.DeploymentFailedError, match="Broken on purpose"):
                    client.deployments.wait(project.id, deployment.id, poll_interval=0.05)
            assert delivered.wait(10)
            process.terminate()
            _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert events_of(received) == ["project.created", "build.started", "build.failed"]
    assert verify_webhook(received[0].body, received[0].headers[SIGNATURE_HEADER.lower()], SECRET)
    assert "Traceback" not in stderr
    assert SECRET not in stderr
    assert "build.failed delivered" in stderr  # each delivery, one line on stderr
