"""Injected faults (issue #16, point 4): the next N requests or an evenly spread fraction of them,
answered with a status, slowed down, or dropped. `Faults` alone, then through an emulator in
process and through its server's control endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import craft_sdk
from craft_sdk.testing import CraftEmulator, FakeClock
from craft_sdk.testing._faults import Fault, Faults, parse_spec


def struck(faults: Faults, requests: list[tuple[str, str]]) -> list[int | None]:
    """The status each request met (None: no fault struck it)."""
    taken = [faults.take(method, path) for method, path in requests]
    return [None if fault is None else fault.status for fault in taken]


def test_a_fraction_is_spread_evenly_and_exactly() -> None:
    faults = Faults()
    faults.add(Fault.make(fraction=0.25, status=502))
    hits = struck(faults, [("GET", "/me")] * 12)
    assert hits == [None, None, None, 502] * 3  # the 4th, 8th, 12th: the same on every run
    faults.clear()
    faults.add(Fault.make(fraction=1 / 3, status=503, count=2, method="POST"))
    requests = [("POST", "/projects"), ("GET", "/me")] * 5 + [("POST", "/projects")] * 4
    # Counted over the POSTs alone: the 3rd and the 6th fail, then its count is spent.
    assert struck(faults, requests) == [None] * 4 + [503] + [None] * 5 + [503, None, None, None]
    faults.clear()
    assert faults.take("GET", "/me") is None


def test_a_fraction_that_floats_cannot_hold_exactly_still_fails_its_share() -> None:
    # 50 * 0.58 is 28.999999999999996 in floating point: still 29 of the first 50.
    faults = Faults()
    faults.add(Fault.make(fraction=0.58, status=503))
    assert struck(faults, [("GET", "/me")] * 50).count(503) == 29


def test_the_next_n_that_match_method_and_path() -> None:
    faults = Faults()
    faults.add(Fault.make(2, status=500, method="get", path="/projects"))
    requests = [("POST", "/projects"), ("GET", "/me"), ("GET", "/projects")] * 3
    assert struck(faults, requests) == [None, None, 500, None, None, 500, None, None, None]
    assert faults.wire() == []  # spent and gone


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ("status=503,count=3", {"status": 503, "count": 3}),
        ("drop, fraction=0.1, method=GET", {"drop": True, "fraction": 0.1, "method": "GET"}),
        ("status=none,delay=2,path=/projects", {"status": None, "delay": 2.0, "path": "/projects"}),
        ("drop=false,status=429", {"drop": False, "status": 429}),
    ],
)
def test_the_command_lines_spec(spec: str, fields: dict[str, Any]) -> None:
    assert parse_spec(spec) == fields
    Fault.make(**fields)  # and every one of them makes a fault


@pytest.mark.parametrize("spec", ["status", "status=abc", "drop=maybe", "delay=soon"])
def test_a_bad_spec_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="in the fault"):
        parse_spec(spec)


def test_in_process_a_fraction_of_requests_fails_and_the_sdk_retries_them() -> None:
    emu = CraftEmulator(clock=FakeClock())
    emu.fail_next(fraction=0.5, status=503, method="GET")
    with emu.client() as client:
        for _ in range(4):
            assert client.me().id == "user_emulator"
    # Requests 2, 4 and 6 fail; each call's retry goes through.
    assert [status for *_, status in emu.requests] == [200, 503, 200, 503, 200, 503, 200]
    emu.clear_faults()
    with emu.client(max_retries=0) as client:
        client.me()  # nothing waits any more


def test_over_the_server_faults_come_from_the_control_endpoint() -> None:
    emu = CraftEmulator(clock=FakeClock())
    with emu.serve() as server, httpx.Client(base_url=server.control_url) as control:
        added = control.post("/faults", json={"status": 500, "count": 2, "path": "/me"})
        assert added.status_code == 201
        assert added.json()["data"] == [
            {
                "status": 500,
                "delay": 0.0,
                "drop": False,
                "count": 2,
                "fraction": None,
                "method": None,
                "path": "/me",
            }
        ]
        control.post("/faults", json={"drop": True, "method": "DELETE"})
        with craft_sdk.CraftClient(
            api_key=emu.api_key, base_url=server.url, max_retries=0
        ) as client:
            with pytest.raises(craft_sdk.InternalServerError):
                client.me()
            project = client.projects.create(name="Untouched by the faults")
            with pytest.raises(craft_sdk.APIConnectionError):
                client.projects.delete(project.id)  # dropped: no answer at all
            assert project.id in emu.projects  # a fault has no effect
            with pytest.raises(craft_sdk.InternalServerError):
                client.me()
            assert client.me().id == "user_emulator"
        assert control.get("").json()["data"]["faults"] == []
        control.post("/faults", json={"status": 503, "fraction": 0.5})
        assert control.delete("/faults").json()["data"] == []
        bad = control.post("/faults", json={"status": 200})
        assert bad.status_code == 400
        assert "status" in bad.json()["error"]["message"]
        unknown = control.post("/faults", json={"statu": 503})
        assert unknown.status_code == 400
        assert control.get("").json()["data"]["faults"] == []  # nothing half-added
