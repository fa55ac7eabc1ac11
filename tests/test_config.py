"""Client settings: checked once when a client is built, and never echoing a secret."""

from __future__ import annotations

import asyncio
import math
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from craft_sdk import AsyncCraftClient, CraftClient, CraftError
from craft_sdk._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientConfig,
    Secret,
    resolve_api_key,
    resolve_base_url,
    resolve_headers,
    resolve_max_retries,
    resolve_timeout,
)

from .conftest import API_KEY, BASE_URL

SECRET = "sk_live_TOPSECRET_7q2w9e"


def build(**overrides: Any) -> ClientConfig:
    settings: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": None,
        "timeout": None,
        "max_retries": None,
        "default_headers": None,
    }
    settings.update(overrides)
    return ClientConfig.build(**settings)


def make_sync(**kwargs: Any) -> None:
    with CraftClient(**kwargs):
        pass


def make_async(**kwargs: Any) -> None:
    # Every check runs in the constructor; a client that is built is closed right away.
    client = AsyncCraftClient(**kwargs)
    asyncio.run(client.aclose())


# The three ways of making a client that all go through the same checks.
MAKERS: list[Callable[..., object]] = [build, make_sync, make_async]
MAKER_IDS = ["ClientConfig.build", "CraftClient", "AsyncCraftClient"]


def assert_no_secret(exc: BaseException, secret: str = SECRET) -> None:
    assert secret not in str(exc)
    assert secret not in repr(exc)
    assert all(secret not in str(arg) and secret not in repr(arg) for arg in exc.args)
    assert exc.__cause__ is None
    assert exc.__context__ is None or secret not in repr(exc.__context__)


# --- defaults --------------------------------------------------------------------------------


def test_defaults() -> None:
    config = build()
    assert config.api_key.reveal() == API_KEY
    assert str(config.base_url) == DEFAULT_BASE_URL == BASE_URL
    assert config.timeout == DEFAULT_TIMEOUT
    assert config.max_retries == DEFAULT_MAX_RETRIES == 3
    assert dict(config.default_headers) == {}


def test_client_exposes_its_settings() -> None:
    with CraftClient(api_key=API_KEY, timeout=12, max_retries=0) as client:
        assert str(client.base_url) == BASE_URL
        assert client.timeout == httpx.Timeout(12.0)
        assert client.max_retries == 0


@pytest.mark.anyio
async def test_async_client_exposes_its_settings() -> None:
    async with AsyncCraftClient(api_key=API_KEY, max_retries=5) as client:
        assert str(client.base_url) == BASE_URL
        assert client.max_retries == 5
        assert client.timeout == DEFAULT_TIMEOUT


def test_config_is_frozen() -> None:
    config = build()
    with pytest.raises(AttributeError):
        config.max_retries = 9  # type: ignore[misc]


def test_config_repr_hides_the_key() -> None:
    config = build(api_key=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


def test_client_repr_hides_the_key() -> None:
    with CraftClient(api_key=SECRET) as client:
        assert SECRET not in repr(client)
        assert BASE_URL in repr(client)


# --- the API key -----------------------------------------------------------------------------


@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_no_key_anywhere_is_an_error_naming_the_env_variable(make: Callable[..., object]) -> None:
    with pytest.raises(CraftError, match="CRAFT_API_KEY") as info:
        make(api_key=None)
    assert type(info.value) is CraftError


@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_key_is_read_from_the_environment(
    make: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFT_API_KEY", SECRET)
    make(api_key=None)  # does not raise
    assert resolve_api_key(None) == SECRET
    assert build(api_key=None).api_key.reveal() == SECRET


def test_explicit_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_API_KEY", "sk_from_env")
    assert build(api_key="sk_explicit").api_key.reveal() == "sk_explicit"


@pytest.mark.parametrize("blank", ["", " ", "   ", "\t", "\n", " \r\n "])
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_empty_or_blank_key_is_missing(make: Callable[..., object], blank: str) -> None:
    with pytest.raises(CraftError, match="CRAFT_API_KEY"):
        make(api_key=blank)


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_empty_or_blank_key_in_the_environment_is_missing(
    blank: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFT_API_KEY", blank)
    with pytest.raises(CraftError, match="CRAFT_API_KEY"):
        resolve_api_key(None)


def test_key_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(CraftError) as info:
        resolve_api_key(b"sk_bytes")  # type: ignore[arg-type]
    assert "sk_bytes" not in str(info.value)


UNSAFE_KEYS = [
    SECRET + "\r",
    SECRET + "\n",
    SECRET + "\r\n",
    SECRET + "\x00",
    "\n" + SECRET,
    SECRET[:8] + "\r\nX-Injected: 1\r\n" + SECRET[8:],
    SECRET + "\x01",
    SECRET + "\x1b[31m",
    SECRET + "\x7f",
    SECRET + "\x0b",
    SECRET + "é",
    SECRET + "\u2028",
    SECRET + "\u00a0",
    SECRET + "🔑",
]
UNSAFE_IDS = [repr(key.replace(SECRET, "K"))[1:-1] for key in UNSAFE_KEYS]


@pytest.mark.parametrize("key", UNSAFE_KEYS, ids=UNSAFE_IDS)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_key_with_unsafe_characters_is_refused_without_echoing_it(
    make: Callable[..., object], key: str
) -> None:
    with pytest.raises(CraftError) as info:
        make(api_key=key)
    assert_no_secret(info.value)
    assert_no_secret(info.value, key)


# The environment cannot hold NUL.
ENV_KEYS = [
    (key, id_) for key, id_ in zip(UNSAFE_KEYS, UNSAFE_IDS, strict=True) if "\x00" not in key
]


@pytest.mark.parametrize("key", [key for key, _ in ENV_KEYS], ids=[id_ for _, id_ in ENV_KEYS])
def test_key_with_unsafe_characters_from_the_environment_is_refused(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAFT_API_KEY", key)
    with pytest.raises(CraftError) as info:
        CraftClient()
    assert_no_secret(info.value)


def test_key_with_a_tab_is_allowed() -> None:
    # Tab is legal in a header value (h11 accepts it); only the unsafe characters are refused.
    assert resolve_api_key("sk_a\tb") == "sk_a\tb"


# --- default_headers -------------------------------------------------------------------------


def test_default_headers_are_kept() -> None:
    headers = {"X-Trace": "abc", "User-Agent-Extra": "my-app/1.0"}
    assert dict(build(default_headers=headers).default_headers) == headers


@pytest.mark.parametrize("value", UNSAFE_KEYS, ids=UNSAFE_IDS)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_header_value_with_unsafe_characters_is_refused_without_echoing_it(
    make: Callable[..., object], value: str
) -> None:
    with pytest.raises(CraftError) as info:
        make(api_key=API_KEY, default_headers={"X-Api-Token": value})
    assert_no_secret(info.value)
    assert_no_secret(info.value, value)
    assert "X-Api-Token" in str(info.value)


@pytest.mark.parametrize("value", [5, None, b"bytes", ["a"]])
def test_header_value_that_is_not_a_string_is_refused(value: object) -> None:
    with pytest.raises(CraftError):
        resolve_headers({"X-Thing": value})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "name", ["Authorization", "authorization", "AUTHORIZATION", "Host", "Content-Length"]
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_reserved_header_is_refused(make: Callable[..., object], name: str) -> None:
    with pytest.raises(CraftError) as info:
        make(api_key=API_KEY, default_headers={name: f"Bearer {SECRET}"})
    assert name in str(info.value)
    assert_no_secret(info.value)


def test_authorization_refusal_points_to_api_key() -> None:
    with pytest.raises(CraftError, match="api_key"):
        resolve_headers({"Authorization": "Bearer x"})


@pytest.mark.parametrize(
    "name",
    ["", "X Trace", "X:Trace", "X-Trace\r\n", "X-Trace\n", "X\x00", "Ünïcode", "(x)", "a/b", "é"],
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_invalid_header_name_is_refused(make: Callable[..., object], name: str) -> None:
    with pytest.raises(CraftError, match="header name"):
        make(api_key=API_KEY, default_headers={name: "v"})


def test_header_name_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(CraftError, match="header name"):
        resolve_headers({b"X-Trace": "v"})  # type: ignore[dict-item]


# --- base_url --------------------------------------------------------------------------------


def test_base_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_BASE_URL", "https://staging.craft.fast/v1")
    assert str(build().base_url) == "https://staging.craft.fast/v1"
    with CraftClient(api_key=API_KEY) as client:
        assert str(client.base_url) == "https://staging.craft.fast/v1"


def test_explicit_base_url_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_BASE_URL", "https://staging.craft.fast/v1")
    assert str(build(base_url="https://eu.craft.fast/v1").base_url) == "https://eu.craft.fast/v1"


def test_empty_base_url_in_the_environment_means_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRAFT_BASE_URL", "")
    assert str(resolve_base_url(None)) == DEFAULT_BASE_URL


def test_bad_base_url_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_BASE_URL", "http://example.com/v1")
    with pytest.raises(CraftError, match="https"):
        CraftClient(api_key=API_KEY)


def test_default_base_url() -> None:
    assert resolve_base_url(None) == httpx.URL("https://api.craft.fast/v1")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://example.com/v1",
        "http://api.craft.fast/v1",
        "http://10.0.0.1/v1",
        "http://192.168.1.1:8080/v1",
        "http://localhost.evil.com/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://[2001:db8::1]/v1",
        "http://0.0.0.0/v1",
    ],
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_plain_http_is_refused_for_non_loopback_hosts(
    make: Callable[..., object], url: str
) -> None:
    with pytest.raises(CraftError, match="https"):
        make(api_key=API_KEY, base_url=url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/v1", "http://127.0.0.1/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://127.5.5.5:9000", "http://127.5.5.5:9000"),
        ("http://[::1]:8080/v1", "http://[::1]:8080/v1"),
        ("http://localhost:8080/v1", "http://localhost:8080/v1"),
        ("http://api.localhost/v1", "http://api.localhost/v1"),
    ],
)
def test_plain_http_is_accepted_for_loopback_hosts(url: str, expected: str) -> None:
    assert str(build(base_url=url).base_url) == expected
    with CraftClient(api_key=API_KEY, base_url=url) as client:
        assert str(client.base_url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pass@api.craft.fast/v1",
        f"https://{SECRET}@api.craft.fast/v1",
        "https://api.craft.fast/v1?key=abc",
        "https://api.craft.fast/v1#frag",
        "http://user@127.0.0.1/v1",
    ],
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_base_url_with_userinfo_query_or_fragment_is_refused(
    make: Callable[..., object], url: str
) -> None:
    with pytest.raises(CraftError) as info:
        make(api_key=API_KEY, base_url=url)
    assert_no_secret(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://api.craft.fast/v1",
        "ws://api.craft.fast/v1",
        "file:///etc/passwd",
        "api.craft.fast/v1",
        "//api.craft.fast/v1",
        "/v1",
        "",
        "https://",
        "https:///v1",
    ],
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_base_url_that_is_not_absolute_http_is_refused(
    make: Callable[..., object], url: str
) -> None:
    with pytest.raises(CraftError):
        make(api_key=API_KEY, base_url=url)


@pytest.mark.parametrize("url", [123, ["https://api.craft.fast"], b"https://api.craft.fast"])
def test_base_url_of_the_wrong_type_is_refused(url: object) -> None:
    with pytest.raises(CraftError):
        resolve_base_url(url)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.craft.fast/v1/", "https://api.craft.fast/v1"),
        ("https://api.craft.fast/v1//", "https://api.craft.fast/v1"),
        ("https://api.craft.fast/v1", "https://api.craft.fast/v1"),
        ("https://api.craft.fast/proxy/v1/", "https://api.craft.fast/proxy/v1"),
        ("HTTPS://API.CRAFT.FAST/v1/", "https://api.craft.fast/v1"),
    ],
)
def test_trailing_slash_is_normalised(url: str, expected: str) -> None:
    resolved = resolve_base_url(url)
    assert str(resolved) == expected
    assert not resolved.raw_path.endswith(b"/")


def test_base_url_may_be_an_httpx_url() -> None:
    assert resolve_base_url(httpx.URL("https://api.craft.fast/v1/")) == httpx.URL(
        "https://api.craft.fast/v1"
    )


def test_base_url_at_the_root_joins_paths_cleanly() -> None:
    resolved = ClientConfig.build(
        api_key="k",
        base_url="https://api.craft.fast/",
        timeout=None,
        max_retries=None,
        default_headers=None,
    )
    # What requests are built from: the text every path ("/me") is appended to.
    assert resolved.base_url_text + "/me" == "https://api.craft.fast/me"
    assert resolved.base_url.host == "api.craft.fast"


# --- timeout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (5, httpx.Timeout(5.0)),
        (0.5, httpx.Timeout(0.5)),
        (120.0, httpx.Timeout(120.0)),
        (1e-3, httpx.Timeout(0.001)),
    ],
)
def test_timeout_in_seconds(timeout: float, expected: httpx.Timeout) -> None:
    assert resolve_timeout(timeout) == expected
    assert build(timeout=timeout).timeout == expected


def test_timeout_may_be_an_httpx_timeout() -> None:
    timeout = httpx.Timeout(10.0, connect=2.0)
    assert resolve_timeout(timeout) is timeout
    with CraftClient(api_key=API_KEY, timeout=timeout) as client:
        assert client.timeout == timeout


@pytest.mark.parametrize(
    "timeout",
    [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "5", "1.5", [5], 10**400],
    ids=lambda value: "10**400" if value == 10**400 else repr(value),
)
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_bad_timeout_is_refused(make: Callable[..., object], timeout: object) -> None:
    with pytest.raises(CraftError, match="timeout"):
        make(api_key=API_KEY, timeout=timeout)


# --- max_retries -----------------------------------------------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 3, 10])
def test_max_retries(max_retries: int) -> None:
    assert resolve_max_retries(max_retries) == max_retries
    assert build(max_retries=max_retries).max_retries == max_retries


@pytest.mark.parametrize("max_retries", [-1, -10, True, False, 1.5, 2.0, "3", math.nan])
@pytest.mark.parametrize("make", MAKERS, ids=MAKER_IDS)
def test_bad_max_retries_is_refused(make: Callable[..., object], max_retries: object) -> None:
    with pytest.raises(CraftError, match="max_retries"):
        make(api_key=API_KEY, max_retries=max_retries)


# --- replace ---------------------------------------------------------------------------------


def test_replace_changes_only_what_is_given() -> None:
    config = build(default_headers={"X-Trace": "1"}, base_url="https://eu.craft.fast/v1")
    changed = config.replace(timeout=3, max_retries=7)
    assert changed.timeout == httpx.Timeout(3.0)
    assert changed.max_retries == 7
    assert changed.api_key is config.api_key
    assert changed.base_url == config.base_url
    assert changed.default_headers == config.default_headers
    # the original is untouched
    assert config.timeout == DEFAULT_TIMEOUT
    assert config.max_retries == DEFAULT_MAX_RETRIES


def test_replace_with_nothing_keeps_everything() -> None:
    config = build(timeout=9, max_retries=2)
    assert config.replace() == config


def test_replace_to_zero_retries() -> None:
    assert build().replace(max_retries=0).max_retries == 0


def test_replace_with_a_timeout_object() -> None:
    timeout = httpx.Timeout(1.0, read=30.0)
    assert build().replace(timeout=timeout).timeout is timeout


@pytest.mark.parametrize(
    "changes", [{"timeout": 0}, {"timeout": math.nan}, {"max_retries": -1}, {"max_retries": True}]
)
def test_replace_checks_its_values(changes: dict[str, Any]) -> None:
    with pytest.raises(CraftError):
        build().replace(**changes)


def test_with_options_uses_replace() -> None:
    with CraftClient(api_key=API_KEY) as client:
        other = client.with_options(max_retries=0, timeout=2)
        assert other.max_retries == 0
        assert other.timeout == httpx.Timeout(2.0)
        assert client.max_retries == DEFAULT_MAX_RETRIES
        with pytest.raises(CraftError, match="max_retries"):
            client.with_options(max_retries=-1)


# --- Secret ----------------------------------------------------------------------------------


def test_secret_reveals_its_value() -> None:
    assert Secret(SECRET).reveal() == SECRET


# Every way a secret could be turned into text.
SHOWS: list[Callable[[Secret], str]] = [
    repr,
    str,
    lambda s: f"{s}",
    lambda s: f"{s!r}",
    lambda s: f"{s!s}",
    lambda s: "%s" % s,  # noqa: UP031
    lambda s: "%r" % s,  # noqa: UP031
    lambda s: "{}".format(s),  # noqa: UP032
    lambda s: repr([s]),
    lambda s: str({"key": s}),
]


@pytest.mark.parametrize(
    "show",
    SHOWS,
    ids=[
        "repr",
        "str",
        "fstring",
        "fstring-r",
        "fstring-s",
        "percent-s",
        "percent-r",
        "format",
        "in-list",
        "in-dict",
    ],
)
def test_secret_never_shows_its_value(show: Callable[[Secret], str]) -> None:
    text = show(Secret(SECRET))
    assert SECRET not in text
    assert "*" in text


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_secret_cannot_be_pickled(protocol: int) -> None:
    with pytest.raises(TypeError) as info:
        pickle.dumps(Secret(SECRET), protocol=protocol)
    assert SECRET not in str(info.value)


def test_config_cannot_be_pickled_with_its_key() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(build(api_key=SECRET))


def test_secret_has_no_instance_dict() -> None:
    secret = Secret(SECRET)
    assert not hasattr(secret, "__dict__")
