"""The API key never shows: not in a repr, a log line, an exception or anything it holds."""

from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterable
from typing import cast

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import CraftClient
from craft_sdk._logging import RedactingFilter
from craft_sdk._transport import ApiKeyAuth

from .conftest import API_KEY, USER, Runner, each_request, failure, ok
from .loopback import LoopbackServer, Reply, SeenRequest


def reachable_text(root: object, *, depth: int = 8) -> list[str]:
    """Every str and bytes reachable from `root` through attributes, containers, headers and
    exception chains, plus each object's repr: where a key could hide."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(obj: object, level: int) -> None:
        if level > depth or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (str, bytes)):
            found.append(obj.decode("latin-1") if isinstance(obj, bytes) else obj)
            return
        if isinstance(obj, (int, float, bool, type(None))):
            return
        found.append(repr(obj))
        if isinstance(obj, httpx.Headers):
            for name, value in obj.raw:
                walk(name, level + 1)
                walk(value, level + 1)
            return
        if isinstance(obj, dict):
            for key, item in cast("dict[object, object]", obj).items():
                walk(key, level + 1)
                walk(item, level + 1)
            return
        if isinstance(obj, (list, tuple, set, frozenset)):
            for item in cast("Iterable[object]", obj):
                walk(item, level + 1)
            return
        if isinstance(obj, BaseException):
            found.append(str(obj))
            walk(obj.args, level + 1)
            walk(obj.__cause__, level + 1)
            walk(obj.__context__, level + 1)
        if isinstance(obj, (httpx.Request, httpx.Response)):
            walk(obj.headers, level + 1)
            walk(obj.url.raw_path, level + 1)
        if isinstance(obj, httpx.Response):
            walk(obj.request, level + 1)
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            walk(cast(object, attributes), level + 1)

    walk(root, 0)
    return found


def assert_no_key(obj: object) -> None:
    leaks = [text for text in reachable_text(obj) if API_KEY in text]
    assert leaks == []


def test_the_walker_would_find_a_key() -> None:
    # Guards the guard: without redaction, the walker does see a key on a sent request.
    request = httpx.Request("GET", "https://x", headers={"Authorization": f"Bearer {API_KEY}"})
    error = craft_sdk.APIConnectionError("boom")
    error.__cause__ = httpx.ConnectError("refused", request=request)
    assert any(API_KEY in text for text in reachable_text(error))


def test_client_repr_and_str_hide_the_key() -> None:
    client = CraftClient(api_key=API_KEY)
    assert_no_key(client)
    assert API_KEY not in repr(ApiKeyAuth(client._config.api_key))
    assert API_KEY not in repr(client._config)
    client.close()


def test_a_client_cannot_be_pickled_with_its_key() -> None:
    client = CraftClient(api_key=API_KEY)
    with pytest.raises(TypeError, match="a Secret cannot be pickled"):
        pickle.dumps(client)
    client.close()


@pytest.mark.client_options(max_retries=1)
@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(404, json=failure("PROJECT_NOT_FOUND"), headers={"X-Request-Id": "r"}),
        httpx.Response(429, json=failure("RATE_LIMIT_EXCEEDED"), headers={"Retry-After": "9999"}),
        httpx.Response(503, text="<html>down</html>"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=ok({"no": "id"})),
        httpx.Response(302, headers={"Location": "https://elsewhere.example/"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=lambda answer: type(answer).__name__ + str(getattr(answer, "status_code", "")),
)
def test_no_error_carries_the_key(
    api: respx.MockRouter, run: Runner, answer: httpx.Response | Exception
) -> None:
    api.get("/projects/proj_1").mock(side_effect=each_request(lambda: _answer(answer)))
    with pytest.raises(craft_sdk.CraftError) as caught:
        run(lambda c: c.projects.get("proj_1"))
    assert_no_key(caught.value)
    # What a locals-capturing error reporter would record from the SDK's own frames.
    sdk_frames = [
        frame.f_locals
        for frame, _ in traceback.walk_tb(caught.value.__traceback__)
        if frame.f_globals.get("__name__", "").startswith("craft_sdk")
    ]
    assert sdk_frames
    assert_no_key(sdk_frames)
    unpickled = pickle.loads(pickle.dumps(caught.value))
    assert_no_key(unpickled)


def _answer(answer: httpx.Response | Exception) -> httpx.Response:
    if isinstance(answer, Exception):
        raise answer
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.mark.parametrize("callers_http", [False, True], ids=["own pool", "caller's client"])
def test_the_sent_request_object_is_redacted_after_sending(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, callers_http: bool
) -> None:
    # The very object the transport was given, whichever way it got there.
    sent: list[httpx.Request] = []
    handle_request = httpx.HTTPTransport.handle_request

    def recording(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(request)
        assert request.headers["authorization"] == f"Bearer {API_KEY}"  # sent with the key
        return handle_request(transport, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", recording)
    api.get("/me").respond(200, json=ok(USER))
    with (
        httpx.Client() as http,
        CraftClient(api_key=API_KEY, http_client=http if callers_http else None) as client,
    ):
        client.me()
    assert len(sent) == 1
    assert sent[0].headers["authorization"] == "[redacted]"


def test_log_records_never_hold_the_key(
    api: respx.MockRouter, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/me").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=ok(USER))])
    with caplog.at_level(logging.DEBUG, logger="craft_sdk"):
        run(lambda c: c.me())
    messages = [record.getMessage() for record in caplog.records]
    assert any("GET /v1/me -> 503" in message for message in messages)
    # The retry line names the same path as the request line.
    assert any("Retrying GET /v1/me (attempt 2 of 4)" in message for message in messages)
    # httpx times a response only once it is closed; the SDK closes it after reading it.
    assert any(re.search(r"GET /v1/me -> 200 in \d+ ms", message) for message in messages)
    assert any("'authorization': '[redacted]'" in message for message in messages)
    assert not [message for message in messages if API_KEY in message]


def test_the_filter_redacts_a_bearer_token_however_it_arrives() -> None:
    record = logging.LogRecord(
        "craft_sdk", logging.INFO, __file__, 1, "sent %s", (f"Bearer {API_KEY}",), None
    )
    record.msg = f"header Authorization: bearer {API_KEY}; then %s"
    RedactingFilter().filter(record)
    assert API_KEY not in record.getMessage()
    assert "bearer [redacted]" in record.getMessage()


def test_craft_log_prints_one_line_per_request_without_the_key() -> None:
    # A real process with CRAFT_LOG=debug against a loopback server: the path a user takes.
    def handler(request: SeenRequest) -> Reply:
        return Reply(200, json=ok(USER), headers={"X-Request-Id": "req_7"})

    script = textwrap.dedent(
        """
        import sys
        from craft_sdk import CraftClient
        with CraftClient(base_url=sys.argv[1]) as client:
            client.me()
        """
    )
    with LoopbackServer(handler) as server:
        env = {**os.environ, "CRAFT_LOG": "debug", "CRAFT_API_KEY": API_KEY}
        result = subprocess.run(
            [sys.executable, "-c", script, server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    lines = result.stderr.splitlines()
    assert any("INFO] GET /v1/me -> 200 in" in line and "req_7" in line for line in lines)
    assert API_KEY not in result.stderr + result.stdout


def test_without_craft_log_nothing_is_printed() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import craft_sdk, logging; logging.getLogger('craft_sdk').info('x')",
        ],
        env={k: v for k, v in os.environ.items() if k != "CRAFT_LOG"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stderr == ""
