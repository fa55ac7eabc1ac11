"""The clients themselves: headers, redirects, options, lifecycle and the retry wiring."""

from __future__ import annotations

import platform
import pydoc
import re

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient

from .conftest import API_KEY, BASE_URL, PROJECT, Runner, failure, ok

USER = {"id": "user_1", "email": "ada@example.com", "name": "Ada"}


def test_every_request_carries_auth_user_agent_and_accept(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    run(lambda c: c.me())
    headers = route.calls.last.request.headers
    assert headers["accept"] == "application/json"
    user_agent = headers["user-agent"]
    assert user_agent.startswith(f"craft-sdk-python/{craft_sdk.__version__} ")
    assert f"/{platform.python_version()}" in user_agent
    assert f"httpx/{httpx.__version__}" in user_agent


def test_the_key_is_sent_as_a_bearer_token(api: respx.MockRouter, run: Runner) -> None:
    seen: list[str] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=ok(USER))

    api.get("/me").mock(side_effect=capture)
    run(lambda c: c.me())
    assert seen == [f"Bearer {API_KEY}"]


@pytest.mark.client_options(default_headers={"X-Team": "blue"})
def test_default_headers_are_sent(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    run(lambda c: c.me())
    assert route.calls.last.request.headers["x-team"] == "blue"


@pytest.mark.client_options(base_url="https://eu.api.craft.fast/v1/")
def test_base_url_prefix_is_kept(run: Runner) -> None:
    with respx.mock(base_url="https://eu.api.craft.fast/v1") as eu:
        route = eu.get("/projects/p").respond(200, json=ok({**PROJECT, "id": "p"}))
        run(lambda c: c.projects.get("p"))
    assert route.calls.last.request.url.raw_path == b"/v1/projects/p"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_never_followed(api: respx.MockRouter, run: Runner, status: int) -> None:
    # The target is mocked on the active router, so a followed redirect would be counted.
    elsewhere = api.get("/steal").respond(200, json=ok(USER))
    route = api.get("/me").respond(status, headers={"Location": f"{BASE_URL}/steal"})
    with pytest.raises(craft_sdk.APIError) as caught:
        run(lambda c: c.me())
    assert caught.value.status_code == status
    assert "does not follow redirects" in caught.value.message
    assert route.call_count == 1
    assert elsewhere.call_count == 0


def test_own_http_client_is_used_without_its_redirect_setting(api: respx.MockRouter) -> None:
    elsewhere = api.get("/steal").respond(200, json=ok(USER))
    api.get("/me").respond(302, headers={"Location": f"{BASE_URL}/steal"})
    own = httpx.Client(follow_redirects=True)
    client = CraftClient(api_key=API_KEY, http_client=own, max_retries=0)
    with pytest.raises(craft_sdk.APIError):
        client.me()
    assert elsewhere.call_count == 0
    client.close()
    assert not own.is_closed  # the caller's client is the caller's to close
    own.close()


def test_http_client_of_the_wrong_flavour_is_refused() -> None:
    with pytest.raises(craft_sdk.CraftError, match=r"http_client must be an httpx\.Client"):
        CraftClient(api_key=API_KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(craft_sdk.CraftError, match=r"http_client must be an httpx\.AsyncClient"):
        AsyncCraftClient(api_key=API_KEY, http_client=httpx.Client())  # type: ignore[arg-type]


def test_with_options_shares_the_pool_and_changes_only_what_it_says(
    api: respx.MockRouter, client: CraftClient
) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    fast = client.with_options(timeout=2.5, max_retries=0)
    assert fast._http is client._http
    assert (fast.max_retries, client.max_retries) == (0, 3)
    assert fast.base_url == client.base_url
    fast.me()
    assert route.calls.last.request.extensions["timeout"]["read"] == 2.5
    client.me()
    assert route.calls.last.request.extensions["timeout"]["read"] == 60.0
    fast.close()
    assert not client._http.is_closed  # only the client that made the pool closes it
    client.me()


def test_with_options_refuses_bad_values(client: CraftClient) -> None:
    with pytest.raises(craft_sdk.CraftError, match="max_retries"):
        client.with_options(max_retries=-1)
    with pytest.raises(craft_sdk.CraftError, match="timeout"):
        client.with_options(timeout=0)


def test_context_manager_closes_and_a_closed_client_says_so(api: respx.MockRouter) -> None:
    with CraftClient(api_key=API_KEY) as client:
        pass
    assert client._http.is_closed
    with pytest.raises(craft_sdk.CraftError, match="closed"):
        client.me()
    assert api.calls.call_count == 0


@pytest.mark.anyio
async def test_async_context_manager_closes(api: respx.MockRouter) -> None:
    async with AsyncCraftClient(api_key=API_KEY) as client:
        clone = client.with_options(max_retries=1)
        await clone.aclose()
        assert not client._http.is_closed
    assert client._http.is_closed
    with pytest.raises(craft_sdk.CraftError, match="closed"):
        await client.me()


def test_repr_shows_settings_not_the_key() -> None:
    client = CraftClient(api_key=API_KEY)
    assert repr(client) == f"CraftClient(base_url='{BASE_URL}', max_retries=3)"
    assert API_KEY not in str(client)
    client.close()


def test_environment_supplies_key_and_base_url(
    monkeypatch: pytest.MonkeyPatch, api: respx.MockRouter
) -> None:
    monkeypatch.setenv("CRAFT_API_KEY", "sk_from_env")
    monkeypatch.setenv("CRAFT_BASE_URL", "http://127.0.0.1:8765/v1")
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=ok(USER))

    with respx.mock(base_url="http://127.0.0.1:8765/v1") as local:
        local.get("/me").mock(side_effect=capture)
        with CraftClient() as client:
            client.me()
    assert seen[0].headers["authorization"] == "Bearer sk_from_env"


# The retry wiring; the policy itself is tested in test_retry.py.


def test_get_is_retried_on_503_with_backoff(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json=ok(USER))]
    )
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


def test_post_is_not_retried_after_a_500(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.post("/projects").respond(500, json=failure("INTERNAL_ERROR"))
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.projects.create(name="Once"))
    assert route.call_count == 1
    assert caught.value.may_have_succeeded is True
    assert caught.value.attempts == 1
    assert sleeps == []


def test_post_is_retried_after_a_429_honouring_retry_after(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.post("/projects").mock(
        side_effect=[
            httpx.Response(
                429, json=failure("RATE_LIMIT_EXCEEDED", retryAfter=2), headers={"Retry-After": "2"}
            ),
            httpx.Response(201, json=ok({**PROJECT, "id": "proj_1"})),
        ]
    )
    assert run(lambda c: c.projects.create(name="Once")).id == "proj_1"
    assert route.call_count == 2
    assert sleeps == [2.0]


def test_a_long_retry_after_is_raised_at_once(
    api: respx.MockRouter, run: Runner, sleeps: list[float]
) -> None:
    route = api.get("/me").respond(
        429, json=failure("RATE_LIMIT_EXCEEDED"), headers={"Retry-After": "3600"}
    )
    with pytest.raises(craft_sdk.RateLimitError) as caught:
        run(lambda c: c.me())
    assert caught.value.retry_after == 3600
    assert route.call_count == 1
    assert sleeps == []


def test_post_is_retried_when_the_connection_was_never_made(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.post("/projects").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(201, json=ok({**PROJECT, "id": "p"})),
        ]
    )
    assert run(lambda c: c.projects.create(name="x")).id == "p"
    assert route.call_count == 2


def test_post_is_not_retried_after_a_read_timeout(api: respx.MockRouter, run: Runner) -> None:
    route = api.post("/projects").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.projects.create(name="x"))
    assert route.call_count == 1
    assert caught.value.may_have_succeeded is True
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "failure_", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed")]
)
def test_get_is_retried_after_a_broken_answer(
    api: respx.MockRouter, run: Runner, failure_: Exception
) -> None:
    route = api.get("/me").mock(side_effect=[failure_, httpx.Response(200, json=ok(USER))])
    assert run(lambda c: c.me()).id == "user_1"
    assert route.call_count == 2


@pytest.mark.client_options(max_retries=0)
def test_max_retries_zero_sends_once(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").respond(503)
    with pytest.raises(craft_sdk.InternalServerError) as caught:
        run(lambda c: c.me())
    assert route.call_count == 1
    assert caught.value.attempts == 1


def test_errors_after_retries_say_how_many_attempts(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/me").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(craft_sdk.APIConnectionError) as caught:
        run(lambda c: c.me())
    assert route.call_count == 4
    assert caught.value.attempts == 4
    assert caught.value.may_have_succeeded is False


def test_own_http_client_keeps_its_timeout_unless_one_is_given(api: respx.MockRouter) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    own = httpx.Client(timeout=3.0)
    with CraftClient(api_key=API_KEY, http_client=own) as client:
        client.me()
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.0
    with CraftClient(api_key=API_KEY, http_client=own, timeout=7.0) as client:
        client.me()
    assert route.calls.last.request.extensions["timeout"]["read"] == 7.0
    own.close()


@pytest.mark.parametrize("client_class", [CraftClient, AsyncCraftClient])
def test_help_describes_the_resources_and_the_escape_hatches(client_class: type) -> None:
    # help() shows the class docstring, never the docstrings of annotated attributes: the
    # resources are described there, each on its own line.
    text = pydoc.plain(pydoc.render_doc(client_class))
    described = {
        "projects": "List, create, read, update, archive and delete projects",
        "files": "List, read, write, download and delete a project's files.",
        "deployments": "Start, list, read, cancel and wait for deployments.",
        "oauth": "Trade OAuth codes and refresh tokens for tokens.",
    }
    for name, description in described.items():
        assert re.search(rf"^\s*\|?\s*{name}: {re.escape(description)}", text, re.M), name
    for method in ("me()", "request()", "with_response()", "with_options()"):
        assert f"`{method}`" in text
