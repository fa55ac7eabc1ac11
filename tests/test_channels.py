"""The two ways a request leaves (craft_sdk/_transport.py): from the httpx client the SDK makes for
itself, straight to its connection pool (`PoolChannel`), and through a caller's own httpx client
(`Channel`). The same request must go out either way, from either client."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import CraftClient
from craft_sdk._transport import Channel, PoolChannel

from .conftest import API_KEY, BASE_URL, PROJECT, calls_of, ok, run_on

Operation = Callable[[Any], Any]
Wire = tuple[str, str, list[tuple[str, str]], bytes]

TOKEN = {"accessToken": "tok_1", "tokenType": "Bearer", "expiresIn": 3600}
ENTRY = {"path": "src/app.tsx", "type": "file", "size": 5}


WAYS = [("sync", False), ("sync", True), ("async", False), ("async", True)]
WAY_IDS = ["sync, own pool", "sync, caller's client", "async, own pool", "async, caller's client"]

OPERATIONS: dict[str, Operation] = {
    "get": lambda c: c.projects.get("proj_1"),
    "list with a query": lambda c: c.projects.list(status="active", limit=20, page=2),
    "create (JSON)": lambda c: c.projects.create(name="Site", template="landing-page"),
    "write bytes": lambda c: c.files.write("proj_1", "src/app.tsx", b"hello"),
    "write a file object": lambda c: c.files.write("proj_1", "a b/ü.txt", io.BytesIO(b"hello")),
    "OAuth (no key)": lambda c: c.oauth.exchange_code(
        code="c", redirect_uri="https://example.com/cb", client_id="app", client_secret="s"
    ),
}


def serve(api: respx.MockRouter) -> None:
    api.get("/projects/proj_1").respond(200, json=ok(PROJECT))
    api.get("/projects").respond(200, json=ok([PROJECT], pagination={"page": 2, "limit": 20}))
    api.post("/projects").respond(201, json=ok(PROJECT))
    api.put(url__regex=r"/projects/proj_1/files/").respond(200, json=ok(ENTRY))
    api.post("/oauth/token").respond(200, json=ok(TOKEN))


def wire(request: httpx.Request) -> Wire:
    """What went out: method, URL, headers (any order, names in any case) and body."""
    headers = sorted((name.lower(), value) for name, value in request.headers.multi_items())
    return request.method, str(request.url), headers, request.read()


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_the_same_request_goes_out_every_way(api: respx.MockRouter, operation: Operation) -> None:
    serve(api)
    for flavour, callers_http in WAYS:
        run_on(flavour, operation, callers_http=callers_http, default_headers={"X-Team": "web"})
    sent = [wire(call.request) for call in calls_of(api)]
    assert sent == [sent[0]] * len(WAYS)  # one request each way, all the same
    method, url, headers, _ = sent[0]
    assert url.startswith(BASE_URL)
    names = [name for name, _ in headers]
    assert {"accept", "user-agent", "x-team", "connection"} <= set(names)
    assert len(names) == len(set(names))  # no header twice
    # Every call carries the key, but the OAuth token call, which carries the app's secret.
    assert ("authorization" in names) == (method != "POST" or "/oauth/" not in url)


def test_a_path_is_streamed_the_same_every_way(api: respx.MockRouter, tmp_path: Path) -> None:
    serve(api)
    source = tmp_path / "app.tsx"
    source.write_bytes(b"x" * 200_000)
    for flavour, callers_http in WAYS:
        run_on(
            flavour,
            lambda c: c.files.write("proj_1", "src/app.tsx", source),
            callers_http=callers_http,
        )
    sent = [wire(call.request) for call in calls_of(api)]
    assert sent == [sent[0]] * len(WAYS)  # one request each way, all the same
    assert ("content-length", "200000") in sent[0][2]
    assert sent[0][3] == b"x" * 200_000


@pytest.mark.parametrize(("flavour", "callers_http"), WAYS, ids=WAY_IDS)
def test_each_attempt_carries_the_timeout_cut_to_the_deadline(
    api: respx.MockRouter, flavour: str, callers_http: bool
) -> None:
    api.get("/projects/proj_1").respond(200, json=ok(PROJECT))
    timeout = httpx.Timeout(30.0, connect=2.0)
    run_on(flavour, OPERATIONS["get"], callers_http=callers_http, timeout=timeout)
    # A deadline shorter than the timeout cuts each phase to the time left (all of it, on the
    # FakeClock); connect is already under it.
    run_on(flavour, OPERATIONS["get"], callers_http=callers_http, timeout=timeout, deadline=10.0)
    sent = [call.request.extensions["timeout"] for call in calls_of(api)]
    assert sent == [
        {"connect": 2.0, "read": 30.0, "write": 30.0, "pool": 30.0},
        {"connect": 2.0, "read": 10.0, "write": 10.0, "pool": 10.0},
    ]


def test_the_sdks_own_client_sends_straight_to_its_pool_and_a_callers_through_httpx() -> None:
    with CraftClient(api_key=API_KEY) as own, httpx.Client() as http:
        assert type(own._channel) is PoolChannel
        # A with_options copy sends through the same channel, to the same pool.
        assert own.with_options(max_retries=0)._channel is own._channel
        with CraftClient(api_key=API_KEY, http_client=http) as callers:
            assert type(callers._channel) is Channel


def test_when_httpx_gives_no_transport_the_sdks_client_goes_through_httpx(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one private httpx method a PoolChannel relies on: if an httpx release changes it so
    # that it gives no transport when the client is made, the SDK keeps working the slower way
    # rather than failing.
    lookup = httpx.Client._transport_for_url
    answers: list[object] = [None]

    def changed(http: httpx.Client, url: httpx.URL) -> object:
        return answers.pop() if answers else lookup(http, url)

    monkeypatch.setattr(httpx.Client, "_transport_for_url", changed)
    api.get("/projects/proj_1").respond(200, json=ok(PROJECT))
    with CraftClient(api_key=API_KEY) as client:
        assert type(client._channel) is Channel
        assert client.projects.get("proj_1").id == PROJECT["id"]
    assert calls_of(api)[-1].request.headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize(("flavour", "callers_http"), WAYS, ids=WAY_IDS)
def test_an_httpx_error_keeps_the_request_it_was_sending_redacted(
    api: respx.MockRouter, flavour: str, callers_http: bool
) -> None:
    api.get("/projects/proj_1").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        run_on(flavour, OPERATIONS["get"], callers_http=callers_http, max_retries=0)
    cause = caught.value.__cause__
    assert isinstance(cause, httpx.ConnectError)
    assert cause.request.url == f"{BASE_URL}/projects/proj_1"
    assert cause.request.headers["authorization"] == "[redacted]"


def test_the_sdks_own_pool_keeps_no_cookies_a_callers_client_keeps_its_own(
    api: respx.MockRouter, flavour: str
) -> None:
    # The API authenticates each request by its key; a cookie set by anything on the way (a
    # load balancer, a proxy) is not sent back by the SDK's own client. A caller's client
    # keeps its cookie jar, as httpx does.
    api.get("/projects/proj_1").respond(
        200, json=ok(PROJECT), headers={"Set-Cookie": "lb=node-7; Path=/"}
    )

    def twice(client: Any) -> Any:
        if flavour == "sync":
            return [client.projects.get("proj_1") for _ in range(2)]

        async def both() -> Any:
            return [await client.projects.get("proj_1") for _ in range(2)]

        return both()

    run_on(flavour, twice)
    run_on(flavour, twice, callers_http=True)
    assert [call.request.headers.get("cookie") for call in calls_of(api)] == [
        None,
        None,  # the SDK's own pool
        None,
        "lb=node-7",  # a caller's client
    ]


@pytest.mark.parametrize(("flavour", "callers_http"), WAYS, ids=WAY_IDS)
def test_the_sdk_logs_every_request_either_way(
    api: respx.MockRouter, flavour: str, callers_http: bool, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/projects/proj_1").respond(200, json=ok(PROJECT))
    with caplog.at_level(logging.INFO):
        run_on(flavour, OPERATIONS["get"], callers_http=callers_http)
    lines = [r.getMessage() for r in caplog.records if r.name == "craft_sdk"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /v1/projects/proj_1 -> 200 in ")
    # httpx's own line comes only from its client's send, which the SDK's own pool skips.
    from_httpx = [r for r in caplog.records if r.name == "httpx"]
    assert len(from_httpx) == (1 if callers_http else 0)
