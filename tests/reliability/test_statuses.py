"""3.2 Status codes and the retry policy (respx; the FakeClock records every wait).

Idempotent methods (GET, PUT, DELETE) are retried after 408/500/502/503/504; POST and PATCH never
are, since the server may have acted. 4xx answers are never retried. The error raised after the
last attempt is the SDK's class for the last failure, with `attempts` set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
import tenacity

import craft_sdk

from .conftest import PROJECT, USER, Runner, calls_of, failure, ok, raises

GATEWAY_HTML = "<html><head><title>{0}</title></head><body><h1>{0}</h1>nginx</body></html>"

# name: (HTTP method, path under the base URL, operation, success status)
OPERATIONS: dict[str, tuple[str, str, Callable[[Any], Any], int]] = {
    "GET": ("GET", "/projects/proj_1", lambda c: c.projects.get("proj_1"), 200),
    "PUT": (
        "PUT",
        "/projects/proj_1/files/a.txt",
        lambda c: c.files.write("proj_1", "a.txt", "x"),
        200,
    ),
    "DELETE": ("DELETE", "/projects/proj_1", lambda c: c.projects.delete("proj_1"), 200),
    "POST": ("POST", "/projects", lambda c: c.projects.create(name="Site"), 201),
    "PATCH": ("PATCH", "/projects/proj_1", lambda c: c.projects.update("proj_1", name="N"), 200),
}
DATA = {**PROJECT, "path": "a.txt", "type": "file", "deleted": True}


def route(api: respx.MockRouter, name: str, side_effect: Any) -> respx.Route:
    method, path, _, _ = OPERATIONS[name]
    return api.request(method, path).mock(side_effect=side_effect)


def success(name: str) -> httpx.Response:
    return httpx.Response(OPERATIONS[name][3], json=ok(DATA))


def status(code: int, **headers: str) -> httpx.Response:
    return httpx.Response(code, json=failure("SOME_ERROR", f"status {code}"), headers=headers)


@pytest.mark.parametrize("name", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("code", [408, 500, 502, 503, 504])
def test_an_idempotent_call_is_retried_after_a_retryable_status(
    api: respx.MockRouter, run: Runner, name: str, code: int
) -> None:
    calls = route(api, name, [status(code), success(name)])
    assert run(OPERATIONS[name][2]) is not None
    assert calls.call_count == 2
    assert len(run.clock.sleeps) == 1
    assert 0 <= run.clock.sleeps[0] <= 0.5


@pytest.mark.parametrize("name", ["POST", "PATCH"])
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (408, craft_sdk.APIError),
        (500, craft_sdk.InternalServerError),
        (502, craft_sdk.InternalServerError),
        (503, craft_sdk.InternalServerError),
        (504, craft_sdk.InternalServerError),
    ],
)
def test_a_write_is_sent_once_after_a_status_that_may_have_been_processed(
    api: respx.MockRouter, run: Runner, name: str, code: int, kind: type[craft_sdk.APIError]
) -> None:
    calls = route(api, name, [status(code), success(name)])
    with raises(kind, status_code=code, may_have_succeeded=True, attempts=1):
        run(OPERATIONS[name][2])
    assert calls.call_count == 1
    assert run.clock.sleeps == []


@pytest.mark.parametrize("code", [502, 503, 504])
def test_a_gateway_html_page_on_every_attempt(
    api: respx.MockRouter, run: Runner, code: int
) -> None:
    page = GATEWAY_HTML.format(f"{code} Gateway")
    calls = route(
        api, "GET", httpx.Response(code, text=page, headers={"Content-Type": "text/html"})
    )
    with raises(craft_sdk.InternalServerError, status_code=code, code=None, attempts=3) as caught:
        run(OPERATIONS["GET"][2], max_retries=2)
    assert calls.call_count == 3
    assert caught.value.body == page
    # The message says the call was retried, and how long it took in all.
    assert caught.value.elapsed is not None
    assert str(caught.value) == (
        f"{code}: {httpx.codes.get_reason_phrase(code)} "
        f"(after 3 attempts in {caught.value.elapsed:.1f} s)"
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (400, craft_sdk.BadRequestError),
        (401, craft_sdk.AuthenticationError),
        (403, craft_sdk.PermissionDeniedError),
        (404, craft_sdk.NotFoundError),
        (409, craft_sdk.ConflictError),
        (410, craft_sdk.APIError),
        (422, craft_sdk.UnprocessableEntityError),
    ],
)
def test_client_errors_are_raised_after_one_call_with_the_envelope_mapped(
    api: respx.MockRouter, run: Runner, code: int, kind: type[craft_sdk.APIError]
) -> None:
    answer = httpx.Response(
        code,
        json=failure("SOME_CODE", "What went wrong", details={"field": "name"}),
        headers={"X-Request-Id": "req_42", "Retry-After": "1"},  # no retry, even so
    )
    calls = route(api, "GET", answer)
    with raises(
        kind,
        status_code=code,
        code="SOME_CODE",
        message="What went wrong",
        details={"field": "name"},
        request_id="req_42",
        may_have_succeeded=False,
        attempts=1,
    ) as caught:
        run(OPERATIONS["GET"][2])
    assert type(caught.value) is kind
    assert calls.call_count == 1
    assert run.clock.sleeps == []


def test_the_error_after_mixed_failures_is_the_last_one_never_a_tenacity_error(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = route(
        api,
        "GET",
        [status(503), httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), status(502)],
    )
    with raises(craft_sdk.InternalServerError, status_code=502, attempts=4) as caught:
        run(OPERATIONS["GET"][2])
    assert not isinstance(caught.value, tenacity.RetryError)
    assert not isinstance(caught.value.__cause__, tenacity.RetryError)
    assert calls.call_count == 4
    assert len(run.clock.sleeps) == 3


def test_every_retry_sends_the_same_bytes_and_headers(api: respx.MockRouter, run: Runner) -> None:
    calls = route(api, "PUT", [status(503), status(500), success("PUT")])
    run(OPERATIONS["PUT"][2])
    assert calls.call_count == 3
    sent = [(call.request.content, dict(call.request.headers)) for call in calls_of(calls)]
    assert sent[0][0] == b"x"
    assert sent[0] == sent[1] == sent[2]


@pytest.mark.parametrize(
    "fault",
    [
        status(503),
        status(429, **{"Retry-After": "1"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
    ids=["503", "429", "connect-error", "read-timeout", "protocol-error"],
)
def test_max_retries_zero_sends_exactly_once(
    api: respx.MockRouter, run: Runner, fault: Any
) -> None:
    calls = route(api, "GET", [fault, success("GET")])
    with raises(craft_sdk.CraftError, attempts=1):
        run(OPERATIONS["GET"][2], max_retries=0)
    assert calls.call_count == 1
    assert run.clock.sleeps == []


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_the_same_origin_is_not_followed(
    api: respx.MockRouter, run: Runner, code: int
) -> None:
    source = route(api, "GET", httpx.Response(code, headers={"Location": "/v1/projects/proj_2"}))
    target = api.get("/projects/proj_2").respond(200, json=ok(PROJECT))
    with raises(craft_sdk.APIError, status_code=code, attempts=1) as caught:
        run(OPERATIONS["GET"][2])
    assert type(caught.value) is craft_sdk.APIError
    assert "redirect" in caught.value.message
    assert source.call_count == 1
    assert target.call_count == 0


def test_with_options_max_retries_applies_to_that_call_only(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = route(api, "GET", status(503))

    def both(client: Any) -> Any:
        async def steps() -> None:
            for options in ({"max_retries": 1}, {}):
                try:
                    await client.with_options(**options).projects.get("proj_1")
                except craft_sdk.InternalServerError as error:
                    attempts.append(error.attempts)

        if run.flavour == "async":
            return steps()
        for options in ({"max_retries": 1}, {}):
            try:
                client.with_options(**options).projects.get("proj_1")
            except craft_sdk.InternalServerError as error:
                attempts.append(error.attempts)
        return None

    attempts: list[int] = []
    run(both, max_retries=3)
    assert attempts == [2, 4]
    assert calls.call_count == 6


def test_a_200_with_user_data_after_retries_is_returned_whole(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = api.get("/me").mock(
        side_effect=[status(500), status(503), httpx.Response(200, json=ok(USER))]
    )
    user = run(lambda c: c.me())
    assert (user.id, user.email, user.name) == ("user_1", "ada@example.com", "Ada")
    assert calls.call_count == 3
