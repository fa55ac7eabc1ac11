"""OAuth: the authorization URL, the token calls (sent without the client's key), `Token`,
`for_oauth()` clients, and keys given as functions."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient, Token
from craft_sdk.oauth import AUTHORIZE_URL, AuthorizationURL, authorization_url
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, PROJECT, USER, Runner, failure, ok, run_on

CLIENT_ID = "app_client_123"
CLIENT_SECRET = "app_secret_s3cr3t"
REDIRECT_URI = "https://app.example.com/oauth/callback"
ACCESS_TOKEN = "at_live_4ccE55t0k3n"
REFRESH_TOKEN = "rt_live_r3fr35ht0k3n"
TOKEN = {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "expires_in": 3600}
CAMEL_TOKEN = {"accessToken": ACCESS_TOKEN, "refreshToken": REFRESH_TOKEN, "expiresIn": 3600}


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


# --- authorization_url ----------------------------------------------------------------------


def test_authorization_url_has_the_documented_query() -> None:
    result = authorization_url(CLIENT_ID, REDIRECT_URI, ["read", "write"], state="st_123")
    assert isinstance(result, AuthorizationURL)
    assert result.url.startswith("https://craft.fast/oauth/authorize?")
    assert AUTHORIZE_URL == "https://craft.fast/oauth/authorize"
    parts = urlsplit(result.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "craft.fast", "/oauth/authorize")
    assert query_of(result.url) == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "response_type": ["code"],
        "scope": ["read write"],
        "state": ["st_123"],
    }
    # The space between scopes is encoded, and the redirect URI is one encoded value.
    assert " " not in result.url
    assert "scope=read+write" in parts.query or "scope=read%20write" in parts.query
    assert "redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback" in parts.query
    assert result.state == "st_123"


def test_authorization_url_defaults_to_read_write() -> None:
    result = authorization_url(CLIENT_ID, REDIRECT_URI, state="s")
    assert query_of(result.url)["scope"] == ["read write"]


def test_authorization_url_keeps_a_redirect_uri_with_its_own_query_whole() -> None:
    redirect = "http://localhost:8080/cb?next=/home&x=1#frag"
    result = authorization_url(CLIENT_ID, redirect, ["read"], state="s&t=u")
    query = query_of(result.url)
    assert query["redirect_uri"] == [redirect]
    assert query["state"] == ["s&t=u"]
    assert "#" not in result.url
    assert set(query) == {"client_id", "redirect_uri", "response_type", "scope", "state"}


def test_a_generated_state_is_long_random_and_returned() -> None:
    first = authorization_url(CLIENT_ID, REDIRECT_URI, ["read"])
    second = authorization_url(CLIENT_ID, REDIRECT_URI, ["read"])
    assert len(first.state) >= 32
    assert len(second.state) >= 32
    assert first.state != second.state
    assert query_of(first.url)["state"] == [first.state]
    assert query_of(second.url)["state"] == [second.state]


def test_a_given_state_is_used_as_is() -> None:
    result = authorization_url(CLIENT_ID, REDIRECT_URI, ["admin"], state="my state/+=")
    assert result.state == "my state/+="
    assert query_of(result.url)["state"] == ["my state/+="]


def test_all_four_scopes_are_accepted_and_duplicates_collapsed() -> None:
    every = authorization_url(CLIENT_ID, REDIRECT_URI, ("read", "write", "delete", "admin"))
    assert query_of(every.url)["scope"] == ["read write delete admin"]
    twice = authorization_url(CLIENT_ID, REDIRECT_URI, ["read", "write", "read", "write"])
    assert query_of(twice.url)["scope"] == ["read write"]
    from_a_set_like = authorization_url(CLIENT_ID, REDIRECT_URI, iter(["delete", "delete"]))
    assert query_of(from_a_set_like.url)["scope"] == ["delete"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"scopes": ["read", "sudo"]}, ValueError),
        ({"scopes": ["READ"]}, ValueError),
        ({"scopes": ["read write"]}, ValueError),
        ({"scopes": []}, ValueError),
        ({"scopes": ()}, ValueError),
        ({"scopes": "read"}, TypeError),
        ({"scopes": "read write"}, TypeError),
        ({"client_id": ""}, ValueError),
        ({"client_id": "   "}, ValueError),
        ({"redirect_uri": "/oauth/callback"}, ValueError),
        ({"redirect_uri": "app.example.com/callback"}, ValueError),
        ({"redirect_uri": "ftp://app.example.com/callback"}, ValueError),
        ({"redirect_uri": "javascript:alert(1)"}, ValueError),
        ({"redirect_uri": "https:///callback"}, ValueError),
        ({"redirect_uri": ""}, ValueError),
        ({"state": ""}, ValueError),
    ],
)
def test_authorization_url_refuses_bad_arguments(
    arguments: dict[str, Any], error: type[Exception]
) -> None:
    call: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scopes": ["read"],
        **arguments,
    }
    with pytest.raises(error):
        authorization_url(**call)


def test_authorization_url_is_reachable_from_the_package() -> None:
    assert craft_sdk.oauth.authorization_url is authorization_url


# --- exchange_code and refresh_token --------------------------------------------------------


class TokenEndpoint:
    """A respx side effect for POST /oauth/token that keeps what each request carried, as the
    server saw it (before the client redacts anything on its side)."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def exchange(c: Any) -> Any:
    return c.oauth.exchange_code(
        code="code_abc", redirect_uri=REDIRECT_URI, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


def refresh(c: Any) -> Any:
    return c.oauth.refresh_token(
        refresh_token=REFRESH_TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


EXCHANGE_BODY = {
    "grant_type": "authorization_code",
    "code": "code_abc",
    "redirect_uri": REDIRECT_URI,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
}
REFRESH_BODY = {
    "grant_type": "refresh_token",
    "refresh_token": REFRESH_TOKEN,
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
}
GRANTS = [(exchange, EXCHANGE_BODY), (refresh, REFRESH_BODY)]
GRANT_IDS = ["exchange_code", "refresh_token"]


@pytest.mark.parametrize(("operation", "body"), GRANTS, ids=GRANT_IDS)
def test_token_calls_send_the_documented_body_without_the_key(
    api: respx.MockRouter,
    run: Runner,
    operation: Callable[[Any], Any],
    body: dict[str, str],
) -> None:
    endpoint = TokenEndpoint(httpx.Response(200, json=TOKEN))
    route = api.post("/oauth/token").mock(side_effect=endpoint)
    token = run(operation)
    assert route.call_count == 1
    assert route.calls.last.request.url == "https://api.craft.fast/v1/oauth/token"
    assert endpoint.bodies == [body]
    sent = endpoint.headers[0]
    assert "authorization" not in sent
    assert API_KEY not in json.dumps(endpoint.headers)
    assert sent["content-type"] == "application/json"
    assert isinstance(token, Token)
    assert (token.access_token, token.refresh_token, token.expires_in) == (
        ACCESS_TOKEN,
        REFRESH_TOKEN,
        3600,
    )


@pytest.mark.parametrize(
    "answer",
    [TOKEN, ok(TOKEN), CAMEL_TOKEN, ok(CAMEL_TOKEN)],
    ids=["unwrapped", "wrapped", "camel-unwrapped", "camel-wrapped"],
)
@pytest.mark.parametrize(("operation", "body"), GRANTS, ids=GRANT_IDS)
def test_the_token_is_read_wrapped_or_not_in_either_case(
    api: respx.MockRouter,
    run: Runner,
    answer: dict[str, Any],
    operation: Callable[[Any], Any],
    body: dict[str, str],
) -> None:
    api.post("/oauth/token").respond(200, json={**answer})
    token = run(operation)
    assert isinstance(token, Token)
    assert token.access_token == ACCESS_TOKEN
    assert token.refresh_token == REFRESH_TOKEN
    assert token.expires_in == 3600
    assert token.expires_at is not None


def test_token_type_and_scope_and_unknown_fields_are_kept(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/oauth/token").respond(
        200, json={**TOKEN, "token_type": "Bearer", "scope": "read write", "id_token": "x"}
    )
    token = run(exchange)
    assert (token.token_type, token.scope) == ("Bearer", "read write")
    assert token.model_extra == {"id_token": "x"}


def test_expires_at_counts_from_the_date_header(api: respx.MockRouter, run: Runner) -> None:
    api.post("/oauth/token").respond(
        200, json=TOKEN, headers={"Date": "Wed, 15 Jan 2025 12:00:00 GMT"}
    )
    token = run(exchange)
    assert token.expires_at == datetime(2025, 1, 15, 13, 0, 0, tzinfo=timezone.utc)
    assert token.expires_at.tzinfo is not None


def test_expires_at_counts_from_a_wrapped_answer_date_too(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/oauth/token").respond(
        200,
        json=ok({**TOKEN, "expires_in": 60}),
        headers={"Date": "Sun, 06 Nov 1994 08:49:37 GMT"},
    )
    token = run(refresh)
    assert token.expires_at == datetime(1994, 11, 6, 8, 50, 37, tzinfo=timezone.utc)


def test_expires_at_counts_from_now_without_a_date(api: respx.MockRouter, run: Runner) -> None:
    api.post("/oauth/token").respond(200, json=TOKEN)
    before = datetime.now(timezone.utc)
    token = run(exchange)
    after = datetime.now(timezone.utc)
    assert token.expires_at is not None
    assert before + timedelta(seconds=3600) <= token.expires_at
    assert token.expires_at <= after + timedelta(seconds=3600)


def test_no_expires_in_means_no_expires_at(api: respx.MockRouter, run: Runner) -> None:
    api.post("/oauth/token").respond(200, json={"access_token": ACCESS_TOKEN})
    token = run(exchange)
    assert (token.access_token, token.refresh_token) == (ACCESS_TOKEN, None)
    assert token.expires_in is None
    assert token.expires_at is None


@pytest.mark.parametrize(("operation", "body"), GRANTS, ids=GRANT_IDS)
def test_an_oauth_error_answer_raises_bad_request(
    api: respx.MockRouter,
    run: Runner,
    sleeps: list[float],
    operation: Callable[[Any], Any],
    body: dict[str, str],
) -> None:
    route = api.post("/oauth/token").respond(
        400, json={"error": "invalid_grant", "error_description": "Code expired"}
    )
    with pytest.raises(craft_sdk.BadRequestError) as caught:
        run(operation)
    error = caught.value
    assert type(error) is craft_sdk.BadRequestError
    assert (error.status_code, error.code, error.message) == (400, "invalid_grant", "Code expired")
    assert str(error) == "400 invalid_grant: Code expired"
    assert CLIENT_SECRET not in str(error)
    assert route.call_count == 1
    assert sleeps == []


def test_an_oauth_error_without_a_description_still_carries_the_code(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/oauth/token").respond(401, json={"error": "invalid_client"})
    with pytest.raises(craft_sdk.AuthenticationError) as caught:
        run(exchange)
    assert caught.value.code == "invalid_client"
    assert caught.value.message


def test_an_envelope_error_from_the_token_endpoint_is_read_too(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/oauth/token").respond(401, json=failure("UNAUTHORIZED", "Bad client"))
    with pytest.raises(craft_sdk.AuthenticationError) as caught:
        run(refresh)
    assert (caught.value.code, caught.value.message) == ("UNAUTHORIZED", "Bad client")


@pytest.mark.parametrize(
    "answer",
    [{"refresh_token": REFRESH_TOKEN}, ok({"expires_in": 3600}), [TOKEN], "token"],
)
def test_an_answer_without_an_access_token_is_refused(
    api: respx.MockRouter, run: Runner, answer: Any
) -> None:
    api.post("/oauth/token").respond(200, json=answer)
    with pytest.raises(craft_sdk.APIResponseValidationError):
        run(exchange)


EMPTY_CREDENTIALS: list[tuple[Callable[[Any], Any], str]] = [
    (
        lambda c: c.oauth.exchange_code(
            code="c", redirect_uri=REDIRECT_URI, client_id=CLIENT_ID, client_secret=""
        ),
        "client_secret",
    ),
    (
        lambda c: c.oauth.exchange_code(
            code="", redirect_uri=REDIRECT_URI, client_id=CLIENT_ID, client_secret="s"
        ),
        "code",
    ),
    (
        lambda c: c.oauth.exchange_code(
            code="c", redirect_uri=REDIRECT_URI, client_id=" ", client_secret="s"
        ),
        "client_id",
    ),
    (
        lambda c: c.oauth.refresh_token(
            refresh_token=REFRESH_TOKEN, client_id=CLIENT_ID, client_secret=""
        ),
        "client_secret",
    ),
    (
        lambda c: c.oauth.refresh_token(refresh_token="", client_id=CLIENT_ID, client_secret="s"),
        "refresh_token",
    ),
]


@pytest.mark.parametrize(("operation", "field"), EMPTY_CREDENTIALS)
def test_empty_credentials_are_refused_before_sending(
    api: respx.MockRouter, run: Runner, operation: Callable[[Any], Any], field: str
) -> None:
    route = api.post("/oauth/token").respond(200, json=TOKEN)
    with pytest.raises(ValueError, match=f"{field} must not be empty"):
        run(operation)
    assert route.call_count == 0


# --- Token ----------------------------------------------------------------------------------


def test_a_token_never_shows_its_secrets() -> None:
    token = Token(access_token=ACCESS_TOKEN, refresh_token=REFRESH_TOKEN, expires_in=3600)
    for text in (repr(token), str(token), f"{token}", f"{token!r}", repr([token])):
        assert ACCESS_TOKEN not in text
        assert REFRESH_TOKEN not in text
    assert "3600" in repr(token)
    assert "**********" in repr(token)


def test_a_token_read_from_the_wire_never_shows_its_secrets(
    api: respx.MockRouter, run: Runner
) -> None:
    api.post("/oauth/token").respond(200, json=ok(CAMEL_TOKEN))
    token = run(exchange)
    for text in (repr(token), str(token)):
        assert ACCESS_TOKEN not in text
        assert REFRESH_TOKEN not in text


def test_token_expired_with_leeway() -> None:
    at = datetime(2025, 1, 15, 13, 0, tzinfo=timezone.utc)
    token = Token(access_token=ACCESS_TOKEN, expires_at=at)
    assert not token.expired(at - timedelta(seconds=120))
    assert not token.expired(at - timedelta(seconds=61))
    assert token.expired(at - timedelta(seconds=59))
    assert token.expired(at - timedelta(seconds=120), leeway=120)
    assert token.expired(at - timedelta(seconds=120), leeway=300)
    assert not token.expired(at - timedelta(seconds=1), leeway=0)
    assert token.expired(at, leeway=0)
    assert token.expired(at + timedelta(hours=1), leeway=0)
    # Another timezone, the same instant.
    plus_two = timezone(timedelta(hours=2))
    assert not token.expired(datetime(2025, 1, 15, 14, 50, tzinfo=plus_two), leeway=60)
    assert token.expired(datetime(2025, 1, 15, 14, 59, 30, tzinfo=plus_two), leeway=60)


def test_a_token_without_expiry_never_expires() -> None:
    token = Token(access_token=ACCESS_TOKEN)
    assert not token.expired(datetime(9999, 1, 1, tzinfo=timezone.utc), leeway=0)


# --- for_oauth clients ----------------------------------------------------------------------


def test_for_oauth_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRAFT_API_KEY", raising=False)
    with pytest.raises(craft_sdk.CraftError, match="No Craft API key"):
        CraftClient()
    with CraftClient.for_oauth() as client:
        assert isinstance(client, CraftClient)
        assert str(client.base_url) == "https://api.craft.fast/v1"
    assert isinstance(AsyncCraftClient.for_oauth(), AsyncCraftClient)


def test_for_oauth_takes_the_other_options() -> None:
    with CraftClient.for_oauth(max_retries=1, base_url="http://127.0.0.1:9/v1") as client:
        assert client.max_retries == 1
        assert str(client.base_url) == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(("operation", "body"), GRANTS, ids=GRANT_IDS)
def test_a_for_oauth_client_makes_token_calls(
    api: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    flavour: str,
    operation: Callable[[Any], Any],
    body: dict[str, str],
) -> None:
    monkeypatch.delenv("CRAFT_API_KEY", raising=False)
    endpoint = TokenEndpoint(httpx.Response(200, json=ok(TOKEN)))
    route = api.post("/oauth/token").mock(side_effect=endpoint)
    token = run_on(flavour, operation, for_oauth=True)
    assert route.call_count == 1
    assert endpoint.bodies == [body]
    assert "authorization" not in endpoint.headers[0]
    assert token.access_token == ACCESS_TOKEN


NOT_OAUTH: list[Callable[[Any], Any]] = [lambda c: c.me(), lambda c: c.projects.get("proj_abc123")]


@pytest.mark.parametrize("operation", NOT_OAUTH, ids=["me", "projects.get"])
def test_a_for_oauth_client_refuses_other_calls_without_sending(
    api: respx.MockRouter, flavour: str, operation: Callable[[Any], Any]
) -> None:
    api.get("/me").respond(200, json=ok(USER))
    api.get("/projects/proj_abc123").respond(200, json=ok(PROJECT))
    clock = FakeClock()
    with pytest.raises(craft_sdk.CraftError, match="for_oauth") as caught:
        run_on(flavour, operation, for_oauth=True, clock=clock)
    assert not isinstance(caught.value, (craft_sdk.APIError, craft_sdk.APIConnectionError))
    assert caught.value.attempts == 1
    assert api.calls.call_count == 0
    assert clock.sleeps == []


def test_an_access_token_is_sent_as_a_bearer_key(api: respx.MockRouter, flavour: str) -> None:
    api.post("/oauth/token").respond(200, json=TOKEN)
    seen: list[str | None] = []

    def me(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=ok(USER))

    api.get("/me").mock(side_effect=me)
    token = run_on(flavour, exchange, for_oauth=True)
    user = run_on(flavour, lambda c: c.me(), api_key=token.access_token)
    assert user.id == "user_1"
    assert seen == [f"Bearer {ACCESS_TOKEN}"]


# --- api_key as a function ------------------------------------------------------------------


def test_a_key_function_is_called_for_each_request(api: respx.MockRouter, flavour: str) -> None:
    current = {"key": "at_first_111"}
    calls: list[str] = []

    def api_key() -> str:
        calls.append(current["key"])
        return current["key"]

    seen: list[str | None] = []

    def me(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=ok(USER))

    api.get("/me").mock(side_effect=me)

    def twice(c: Any) -> Any:
        if isinstance(c, AsyncCraftClient):

            async def both() -> None:
                await c.me()
                current["key"] = "at_second_222"
                await c.me()

            return both()
        c.me()
        current["key"] = "at_second_222"
        return c.me()

    run_on(flavour, twice, api_key=api_key)
    assert seen == ["Bearer at_first_111", "Bearer at_second_222"]
    assert calls == ["at_first_111", "at_second_222"]


def test_a_key_function_is_called_again_for_a_retry(api: respx.MockRouter, flavour: str) -> None:
    keys = iter(["at_old", "at_new"])
    seen: list[str | None] = []
    answers = iter(
        [
            httpx.Response(503, json=failure("UNAVAILABLE")),
            httpx.Response(200, json=ok(USER)),
        ]
    )

    def me(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return next(answers)

    api.get("/me").mock(side_effect=me)
    run_on(flavour, lambda c: c.me(), api_key=lambda: next(keys))
    assert seen == ["Bearer at_old", "Bearer at_new"]


@pytest.mark.parametrize(
    "returned",
    ["", "   ", None, "at_leak_4242\n", "at_leak_4242\r\nX-Evil: 1", "at_leak_\x004242", 42],
    ids=["empty", "blank", "none", "newline", "crlf", "nul", "int"],
)
def test_a_key_function_returning_junk_raises_without_showing_it(
    api: respx.MockRouter, flavour: str, returned: Any
) -> None:
    route = api.get("/me").respond(200, json=ok(USER))
    with pytest.raises(craft_sdk.CraftError) as caught:
        run_on(flavour, lambda c: c.me(), api_key=lambda: returned)
    error = caught.value
    assert not isinstance(error, craft_sdk.APIError)
    assert "api_key" in str(error)
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    for text in shown:
        assert "at_leak" not in text
        if isinstance(returned, str) and returned.strip():
            assert returned not in text
            assert returned.strip() not in text
    assert route.call_count == 0
    assert api.calls.call_count == 0


def test_the_key_never_appears_in_the_clients_repr() -> None:
    key = "sk_live_very_secret_0042"
    with CraftClient(api_key=key) as plain, CraftClient(api_key=lambda: key) as function:
        clients = [
            plain,
            function,
            plain.with_options(max_retries=1),
            AsyncCraftClient(api_key=key),
        ]
        for client in clients:
            assert key not in repr(client)
            assert key not in str(client)
            assert type(client).__name__ in repr(client)
