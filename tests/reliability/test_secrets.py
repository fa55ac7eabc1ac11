"""3.7 Secret leakage: the key in logs, exceptions, tracebacks, reprs and pickles.

Every case of this suite already checks the exception it receives (conftest.check_error, built
on tests/test_secrets.py's walker, plus a locals-capturing traceback). The cases here go after
the places a key hides that the other groups do not reach.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient

from ..test_secrets import reachable_text
from .conftest import KEY, PROJECT, USER, Runner, check_error, failure, ok, raises
from .faulty_server import (
    Behaviour,
    CloseAfterHead,
    FaultyServer,
    Garbage,
    GatewayPage,
    Json,
    Redirect,
    ResetMidBody,
    SlowHeaders,
)

CHILD = textwrap.dedent(
    """
    import asyncio, sys, traceback
    import craft_sdk
    from craft_sdk import AsyncCraftClient, CraftClient
    from craft_sdk.testing import FakeClock  # the retries' backoff is not slept for real

    OPERATIONS = [
        lambda c: c.me(),                               # 503, then 200
        lambda c: c.projects.get("nope"),               # 404
        lambda c: c.projects.create(name="Site"),       # the server hangs up
        lambda c: c.projects.get("proj_1"),             # 302 to the same origin
        lambda c: c.me(),                               # garbage, then 200
    ]

    def report(error):
        print("ERROR", type(error).__name__, str(error), repr(error), error.args)
        traceback.print_exception(error)
        formatted = traceback.TracebackException.from_exception(error, capture_locals=True)
        print("".join(formatted.format()))

    # The key comes from CRAFT_API_KEY.
    with CraftClient(base_url=sys.argv[1], max_retries=1, clock=FakeClock()) as client:
        for operation in OPERATIONS:
            try:
                print("OK", operation(client))
            except craft_sdk.CraftError as error:
                report(error)

    async def main():
        async with AsyncCraftClient(
            base_url=sys.argv[1], max_retries=1, clock=FakeClock()
        ) as client:
            for operation in OPERATIONS:
                try:
                    print("OK", await operation(client))
                except craft_sdk.CraftError as error:
                    report(error)

    asyncio.run(main())
    """
)


def child_script() -> list[Any]:
    return [
        Json(503, failure("UNAVAILABLE", "busy")),
        Json(200, ok(USER), headers={"X-Request-Id": "req_7"}),
        Json(404, failure("PROJECT_NOT_FOUND", "No such project")),
        CloseAfterHead(),
        Redirect(302, "/v1/projects/proj_2"),
        Garbage(),
        Json(200, ok(USER)),
    ]


def test_craft_log_debug_in_a_real_process_never_prints_the_key() -> None:
    with FaultyServer(*child_script(), *child_script()) as server:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, server.url],
            env={**os.environ, "CRAFT_LOG": "debug", "CRAFT_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
        assert len(server.requests) == 14
    output = result.stdout + result.stderr
    # It did log and report what happened, so there was something to leak...
    assert result.stderr.count("GET /v1/me -> 503") == 2
    assert len(re.findall(r"Retrying GET \S*/me \(attempt 2 of 2\)", result.stderr)) == 4
    assert "'authorization': '[redacted]'" in result.stderr
    assert result.stdout.count("ERROR NotFoundError 404 PROJECT_NOT_FOUND") == 2
    assert result.stdout.count("ERROR APIConnectionError ") == 2
    assert result.stdout.count("ERROR APIError 302") == 2
    # ...and the key is nowhere in it.
    assert KEY not in output


FAULTS: dict[str, Callable[[], list[Behaviour]]] = {
    "close-after-head": lambda: [CloseAfterHead()],
    "reset-mid-body": lambda: [ResetMidBody(b'{"success": true, "data": {}}', sent=5)],
    "garbage": lambda: [Garbage()],
    "gateway-502": lambda: [GatewayPage(502)],
    "read-timeout": lambda: [SlowHeaders(1.0)],
    "404": lambda: [Json(404, failure("PROJECT_NOT_FOUND", "No such project"))],
    "429-far": lambda: [Json(429, failure("RATE_LIMIT_EXCEEDED", "slow"), {"Retry-After": "999"})],
    "401": lambda: [Json(401, failure("UNAUTHORIZED", "Invalid API key"))],
    "200-not-json": lambda: [Json(200, b"<html>oops</html>", {"Content-Type": "text/html"})],
    "302-elsewhere": lambda: [Redirect(302, "https://elsewhere.example/v1/projects/proj_1")],
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_no_error_from_a_real_socket_holds_the_key_even_pickled_or_logged(
    run: Runner, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        FaultyServer(*FAULTS[fault]()) as server,
        raises(craft_sdk.CraftError, attempts=1) as caught,
    ):
        run(
            lambda c: c.projects.get("proj_1"),
            base_url=server.url,
            max_retries=0,
            timeout=0.2,
        )
    error = caught.value
    check_error(pickle.loads(pickle.dumps(error)))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("craft_sdk.test").exception("the call failed", exc_info=error)
    assert caplog.text.count("the call failed") == 1
    assert KEY not in caplog.text
    assert len(server.requests) == 1


def test_a_same_origin_redirect_does_not_keep_the_key_on_the_next_request(
    api: respx.MockRouter, run: Runner
) -> None:
    # httpx prepares `response.next_request` for a redirect it does not follow, with the
    # Authorization header copied when the target is the same origin.
    api.get("/projects/proj_1").respond(302, headers={"Location": "/v1/projects/proj_2"})
    with pytest.raises(craft_sdk.APIError) as caught:
        run(lambda c: c.projects.get("proj_1"))
    response = caught.value.response
    assert response is not None
    assert response.request.headers["authorization"] == "[redacted]"
    next_request = response.next_request
    assert next_request is None or KEY not in next_request.headers.get("authorization", "")
    check_error(caught.value)


def test_a_key_with_surrounding_whitespace_is_refused_or_trimmed_never_echoed() -> None:
    # A key pasted from a file often carries a space or a tab. The SDK checks keys for line
    # breaks and control characters when the client is built; h11 also refuses leading and
    # trailing whitespace in a header value, at send time, with the whole value in its message.
    # Over a real socket (respx does not check header values), either outcome is fine: refused
    # when built, saying nothing of the key, or sent trimmed.
    with FaultyServer(Json(200, ok(USER))) as server:
        try:
            client = CraftClient(api_key=f" {KEY}\t", base_url=server.url, max_retries=0)
        except craft_sdk.CraftError as refused:
            check_error(refused, frames=False)
            assert server.requests == []
            return
        with client:
            try:
                client.me()
            except craft_sdk.CraftError as error:
                check_error(error)
                raise
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_server_echoing_the_key_does_not_put_it_in_the_error(
    api: respx.MockRouter, run: Runner
) -> None:
    # Defence in depth (catalogue T-SEC-05): the README promises the key never appears in an
    # exception; some servers quote the credential they refused.
    api.get("/me").respond(
        401, json=failure("UNAUTHORIZED", f"Invalid API key: {KEY}", details={"key": KEY})
    )
    with raises(craft_sdk.AuthenticationError, status_code=401, code="UNAUTHORIZED"):
        run(lambda c: c.me())


def test_every_log_record_of_the_sdk_httpx_and_httpcore_is_free_of_the_key(
    api: respx.MockRouter, run: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    api.get("/me").mock(
        side_effect=[
            httpx.Response(503, text="busy"),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json=ok(USER)),
        ]
    )
    with caplog.at_level(logging.DEBUG):
        run(lambda c: c.me())
    names = {record.name for record in caplog.records}
    # There were records to leak through: httpx logs the requests of a caller's client; those
    # of the SDK's own go straight to the pool, and only the SDK logs them.
    assert names >= ({"craft_sdk", "httpx"} if run.callers_http else {"craft_sdk"})
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert all(KEY not in text for text in reachable_text(record.args))


def test_no_repr_str_or_pickle_of_a_client_shows_the_key() -> None:
    client = CraftClient(api_key=KEY)
    copy = client.with_options(max_retries=0)
    aclient = AsyncCraftClient(api_key=KEY)
    for shown in (client, copy, aclient):
        assert KEY not in repr(shown)
        assert KEY not in str(shown)
        assert all(KEY not in text for text in reachable_text(shown._config))
        with raises(TypeError) as caught:
            pickle.dumps(shown)
        assert "cannot be pickled" in str(caught.value)
    client.close()


def test_a_key_function_returning_a_bad_key_fails_without_sending_or_echoing(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    with raises(craft_sdk.CraftError) as caught:
        run(lambda c: c.me(), api_key=lambda: KEY + "\r\nX-Injected: 1")
    assert "returned no usable key" in str(caught.value)
    assert route.call_count == 0


def test_an_error_exposes_the_request_only_with_the_key_redacted(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/projects").respond(400, json=failure("INVALID_PROJECT_NAME", "Bad name"))
    with raises(craft_sdk.BadRequestError) as caught:
        run(lambda c: c.projects.create(name="Site"))
    response = caught.value.response
    assert response is not None
    assert response.request.headers["authorization"] == "[redacted]"
    assert response.request.url.path == "/v1/projects"


def test_a_failed_construction_can_be_reported_with_its_locals() -> None:
    # Error reporters (Sentry, traceback's capture_locals) call repr() on every local of every
    # frame; the half-built client is `self` in the constructor's frames.
    with pytest.raises(craft_sdk.CraftError) as caught:
        CraftClient(api_key="")
    formatted = "".join(
        traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
    )
    assert "No Craft API key" in formatted
    # From Python 3.13 a repr that raises no longer fails the formatting; it shows as this.
    assert "<local repr() failed>" not in formatted


def test_the_key_is_sent_only_in_the_authorization_header(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.post("/projects").respond(201, json=ok(PROJECT))
    run(lambda c: c.projects.create(name="Site"))
    request = route.calls.last.request
    assert [name for name, value in request.headers.items() if KEY in value] == ["authorization"]
    assert KEY not in str(request.url)
    assert KEY.encode() not in request.content
