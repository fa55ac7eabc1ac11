"""What an error says (issue #14, points 6 and 7): where the request went, which direction was
slow, and how many attempts and how long a call took before it gave up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk.testing import FakeClock

from .conftest import PROJECT, Runner, each_request, failure, free_port, ok, run_on

ME = "GET https://api.craft.fast:443/v1/me"


# --- the origin, in every connection and timeout error -----------------------------------------


@pytest.mark.client_options(max_retries=0)
@pytest.mark.parametrize(
    ("raised", "says"),
    [
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            f"{ME} failed: ConnectError: [Errno -2] Name or service not known",
        ),
        (httpx.ConnectTimeout("timed out"), f"{ME} timed out connecting for 5 s (ConnectTimeout)"),
        (
            httpx.ReadTimeout("timed out"),
            f"{ME} timed out waiting for the answer: no byte arrived for 60 s (ReadTimeout)",
        ),
        (
            httpx.WriteTimeout("timed out"),
            f"{ME} timed out sending the request body: no byte could be sent for 60 s "
            "(WriteTimeout)",
        ),
        (
            httpx.PoolTimeout("timed out"),
            f"{ME} timed out waiting for a free connection for 60 s (PoolTimeout)",
        ),
        (httpx.RemoteProtocolError("Server disconnected"), f"{ME} failed: RemoteProtocolError: "),
    ],
)
def test_connection_and_timeout_errors_name_the_origin_and_the_direction(
    api: respx.MockRouter, run: Runner, raised: httpx.TransportError, says: str
) -> None:
    api.get("/me").mock(side_effect=raised)
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        run(lambda c: c.me())
    assert str(caught.value).startswith(says)


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://api.craft.fast/v1", "https://api.craft.fast:443"),
        ("https://eu.api.craft.fast:8443/v1", "https://eu.api.craft.fast:8443"),
        ("http://localhost/v1", "http://localhost:80"),
        ("http://[::1]:8787/v1", "http://[::1]:8787"),
    ],
)
def test_the_origin_always_has_its_port(flavour: str, base_url: str, origin: str) -> None:
    with respx.mock(assert_all_called=False) as api:
        api.get(url__startswith=origin.replace(":443", "").replace(":80", "")).mock(
            side_effect=httpx.ConnectError("refused")
        )
        with pytest.raises(craft_sdk.APIConnectionError) as caught:
            run_on(flavour, lambda c: c.projects.get("p 1"), base_url=base_url, max_retries=0)
    assert str(caught.value) == f"GET {origin}/v1/projects/p%201 failed: ConnectError: refused"


def test_a_refused_connection_on_a_real_socket_names_host_and_port(flavour: str) -> None:
    port = free_port()
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        run_on(flavour, lambda c: c.me(), base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    assert str(caught.value).startswith(f"GET http://127.0.0.1:{port}/v1/me failed: ConnectError")
    assert caught.value.may_have_succeeded is False


@pytest.mark.client_options(deadline=10, max_retries=0)
def test_a_deadline_spent_before_sending_names_the_request(
    api: respx.MockRouter, run: Runner, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rate-limit gate waits 12 s for the reset, within max_retry_wait but past the deadline
    # once a slow wake-up is counted: the request is then never sent.
    def oversleep(seconds: float) -> None:
        FakeClock.sleep(clock, seconds)
        clock.advance(11.0)

    monkeypatch.setattr(clock, "sleep", oversleep)
    route = api.get("/projects/p").mock(
        side_effect=[
            httpx.Response(
                200,
                json=ok({**PROJECT, "id": "p"}),
                headers={
                    "X-RateLimit-Limit": "60",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(clock.time()) + 5),
                },
            ),
            httpx.Response(200, json=ok({**PROJECT, "id": "p"})),
        ]
    )

    def two_gets(c: Any) -> Any:
        first = c.projects.get("p")
        if hasattr(first, "__await__"):

            async def both() -> Any:
                await first
                return await c.projects.get("p")

            return both()
        return c.projects.get("p")

    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(two_gets)
    assert str(caught.value).startswith(
        "GET https://api.craft.fast:443/v1/projects/p: the call's deadline of 10 s ran out "
        "before it could be sent (deadline= on the client, or with_options(deadline=...) for one "
        "call, changes it)"
    )
    assert caught.value.may_have_succeeded is False
    assert route.call_count == 1


# --- how many attempts, and how long, once retries gave up --------------------------------------


def test_an_error_after_retries_says_how_many_attempts_and_how_long(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    api.get("/me").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.with_options(timeout=0.5).me())
    error = caught.value
    assert error.attempts == 4
    assert error.elapsed == pytest.approx(sum(clock.sleeps))
    assert str(error) == (
        f"{ME} timed out waiting for the answer: no byte arrived for 0.5 s (ReadTimeout) "
        f"(after 4 attempts in {sum(clock.sleeps):.1f} s)"
    )


def test_an_api_error_after_retries_says_so_after_its_request_id(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    api.get("/me").mock(
        side_effect=each_request(
            lambda: httpx.Response(
                503, json=failure("UNAVAILABLE", "Try later"), headers={"X-Request-Id": "req_9"}
            )
        )
    )
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.with_options(max_retries=2).me())
    took = f"{sum(clock.sleeps):.1f}"
    assert str(caught.value) == (
        f"503 UNAVAILABLE: Try later (request_id: req_9) (after 3 attempts in {took} s)"
    )
    assert caught.value.message == "Try later"  # the API's own words stay as they were


def test_an_error_on_the_first_attempt_says_nothing_of_attempts(
    api: respx.MockRouter, run: Runner
) -> None:
    api.get("/me").respond(404, json=failure("USER_NOT_FOUND", "No such user"))
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        run(lambda c: c.me())
    assert str(caught.value) == "404 USER_NOT_FOUND: No such user"
    assert caught.value.attempts == 1
    assert caught.value.elapsed is not None  # measured even so


def test_a_write_many_error_quotes_the_retried_failure(api: respx.MockRouter, run: Runner) -> None:
    api.put("/projects/p/files/a.txt").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(craft_sdk.WriteManyError) as caught:
        run(lambda c: c.with_options(max_retries=1).files.write_many("p", {"a.txt": "A"}))
    assert "a.txt: PUT https://api.craft.fast:443/v1/projects/p/files/a.txt failed: " in str(
        caught.value
    )
    assert "(after 2 attempts in " in str(caught.value)
