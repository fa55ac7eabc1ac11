"""3.8 TLS, redirects and proxies: the key goes only to the configured origin.

Two loopback servers stand for the API and for a host a redirect points at; a self-signed TLS
server for a certificate that does not verify; a loopback "proxy" that records what it is asked
and refuses it.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient

from .conftest import KEY, PROJECT, USER, Operation, Runner, ok, raises
from .faulty_server import FaultyServer, Json, Raw, Redirect, head


def all_text(server: FaultyServer) -> str:
    return repr([(r.method, r.path, r.headers, r.body) for r in server.requests])


# --- T-TLS-03/05: redirects to another host are never followed ---------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("name", ["GET", "POST"])
def test_a_redirect_to_another_host_is_raised_and_nothing_reaches_that_host(
    run: Runner, code: int, name: str
) -> None:
    operation: Operation = (
        (lambda c: c.projects.get("proj_1"))
        if name == "GET"
        else (lambda c: c.projects.create(name="Site"))
    )
    with FaultyServer(default=Json(200, ok(PROJECT))) as elsewhere:
        target = elsewhere.url + "/steal"
        with (
            FaultyServer(Redirect(code, target), Redirect(code, target)) as api,
            raises(craft_sdk.APIError, status_code=code, attempts=1) as caught,
        ):
            run(operation, base_url=api.url)
    assert type(caught.value) is craft_sdk.APIError
    assert caught.value.may_have_succeeded is False
    assert [r.method for r in api.requests] == [name]
    assert elsewhere.connections == 0
    assert KEY not in all_text(elsewhere)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_redirects_stay_unfollowed_with_a_users_client_that_follows_them(flavour: str) -> None:
    with (
        FaultyServer(default=Json(200, ok(USER))) as elsewhere,
        FaultyServer(Redirect(307, elsewhere.url + "/me")) as api,
    ):
        if flavour == "sync":
            http = httpx.Client(follow_redirects=True)
            with (
                http,
                CraftClient(api_key=KEY, base_url=api.url, http_client=http) as client,
                raises(craft_sdk.APIError, status_code=307),
            ):
                client.me()
        else:

            async def main() -> None:
                http = httpx.AsyncClient(follow_redirects=True)
                async with (
                    http,
                    AsyncCraftClient(api_key=KEY, base_url=api.url, http_client=http) as client,
                ):
                    with raises(craft_sdk.APIError, status_code=307):
                        await client.me()

            asyncio.run(main())
    assert len(api.requests) == 1
    assert elsewhere.connections == 0


# --- T-TLS-01/02: base URLs that would send the key in clear text, or somewhere odd ------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.craft.fast/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://localhost.evil.example/v1",
        "http://10.0.0.1/v1",
        "http://0.0.0.0:8080/v1",
        "http://[::ffff:8.8.8.8]/v1",
        "ftp://api.craft.fast/v1",
        "api.craft.fast/v1",
        "https://user:hunter2@api.craft.fast/v1",
        "https://api.craft.fast/v1?key=1",
        "https://api.craft.fast/v1#frag",
        "https:///v1",
    ],
    ids=[
        "http-remote",
        "http-loopback-lookalike",
        "http-localhost-lookalike",
        "http-private",
        "http-any-address",
        "http-mapped-ipv6",
        "ftp",
        "no-scheme",
        "userinfo",
        "query",
        "fragment",
        "no-host",
    ],
)
def test_unsafe_base_urls_are_refused_when_the_client_is_built(base_url: str) -> None:
    with raises(craft_sdk.CraftError, frames=False) as caught:
        CraftClient(api_key=KEY, base_url=base_url)
    assert "hunter2" not in str(caught.value)


def test_an_unsafe_base_url_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRAFT_BASE_URL", "http://api.craft.fast/v1")
    with raises(craft_sdk.CraftError, frames=False) as caught:
        CraftClient(api_key=KEY)
    assert "plain http://" in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.5.5.5", "api.localhost"])
def test_plain_http_is_allowed_for_loopback_hosts(host: str) -> None:
    with CraftClient(api_key=KEY, base_url=f"http://{host}:8080/v1") as client:
        assert str(client.base_url) == f"http://{host}:8080/v1"


# --- T-NET-14: a certificate that does not verify ---------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - the CI image has it
        pytest.fail("openssl is needed to make a throwaway certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[FaultyServer]:
    cert, key = self_signed
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with FaultyServer(default=Json(200, ok(USER)), tls=context) as server:
        yield server


def test_a_certificate_that_does_not_verify_fails_at_once_and_is_not_retried(
    run: Runner, tls_server: FaultyServer
) -> None:
    with raises(craft_sdk.APIConnectionError, may_have_succeeded=False, attempts=1) as caught:
        run(lambda c: c.me(), base_url=tls_server.url, max_retries=2)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert tls_server.requests == []  # no request was ever read
    # A configuration (or interception) problem: retrying cannot fix it.
    assert tls_server.connections == 1


def test_the_same_server_works_with_its_certificate_trusted(
    self_signed: tuple[Path, Path], tls_server: FaultyServer
) -> None:
    trusted = ssl.create_default_context(cafile=str(self_signed[0]))
    with (
        httpx.Client(verify=trusted) as http,
        CraftClient(api_key=KEY, base_url=tls_server.url, http_client=http) as client,
    ):
        assert client.me().id == "user_1"
    assert tls_server.requests[0].headers["authorization"] == f"Bearer {KEY}"


# --- T-TLS-07: HTTPS_PROXY from the environment -----------------------------------------------
#
# The SDK builds its own httpx client with httpx's default trust_env=True, so HTTPS_PROXY is
# honoured: the request to https://api.craft.fast goes as a CONNECT tunnel through the proxy,
# which sees the host and port but none of the request (the key travels inside TLS). A proxy
# that refuses the tunnel (403) is an httpx.ProxyError, raised as APIConnectionError with
# may_have_succeeded=False: the request never went through the tunnel, so a POST is retried
# as safely as a GET.


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyServer]:
    refuse = Raw(head(403, {"Content-Length": "0"}), keep_alive=False)
    with FaultyServer(default=refuse) as recorder:
        for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", recorder.origin)
        yield recorder


@pytest.mark.parametrize("name", ["GET", "POST"])
def test_https_proxy_from_the_environment_is_used_and_sees_no_key(
    run: Runner, proxy: FaultyServer, name: str
) -> None:
    tunnels = 2  # max_retries=1: a refused tunnel is retried for a POST as for a GET
    operation: Operation = (
        (lambda c: c.me()) if name == "GET" else (lambda c: c.projects.create(name="x"))
    )
    with raises(craft_sdk.APIConnectionError, may_have_succeeded=False, attempts=tunnels) as caught:
        run(operation, max_retries=1)  # the default base URL, https://api.craft.fast/v1
    assert "ProxyError" in str(caught.value)
    assert [(r.method, r.path) for r in proxy.requests] == [
        ("CONNECT", "api.craft.fast:443")
    ] * tunnels
    assert KEY not in all_text(proxy)


def test_a_users_client_with_trust_env_off_ignores_https_proxy(
    proxy: FaultyServer, tls_server: FaultyServer, self_signed: tuple[Path, Path]
) -> None:
    # An https:// server: HTTPS_PROXY applies to nothing else.
    trusted = ssl.create_default_context(cafile=str(self_signed[0]))
    # The control: with trust_env on, this very call goes to the proxy, which refuses it.
    with (
        httpx.Client(verify=trusted) as http,
        CraftClient(
            api_key=KEY, base_url=tls_server.url, http_client=http, max_retries=0
        ) as client,
        raises(craft_sdk.APIConnectionError, may_have_succeeded=False),
    ):
        client.me()
    assert proxy.connections == 1
    with (
        httpx.Client(trust_env=False, verify=trusted) as http,
        CraftClient(api_key=KEY, base_url=tls_server.url, http_client=http) as client,
    ):
        assert client.me().id == "user_1"
    assert proxy.connections == 1
    assert len(tls_server.requests) == 1
