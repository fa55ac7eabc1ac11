"""`craft api`, `craft webhooks trigger/verify` (against a real receiver on 127.0.0.1) and
`craft emulator`'s pass-through of the emulator's options."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from craft_sdk import CraftClient, WebhookVerificationError
from craft_sdk.cli import _webhooks as cli_webhooks
from craft_sdk.cli import cli
from craft_sdk.cli._webhooks import EVENTS
from craft_sdk.webhooks import SIGNATURE_HEADER, construct_event, sign_webhook

from ..loopback import LoopbackServer, Reply, SeenRequest
from .conftest import craft

SECRET = "whsec_cli_test_5150"


# ---- craft api ---------------------------------------------------------------------------------


def test_api_get_with_query_fields(client: CraftClient) -> None:
    for name in ("a", "b", "c"):
        client.projects.create(name=name)
    result = craft(
        client, "api", "GET", "/projects", "-F", "limit=2", "-f", "sort=name", "-f", "order=asc"
    )
    assert result.exit_code == 0, result.stderr
    assert [project["name"] for project in json.loads(result.stdout)] == ["a", "b"]


def test_api_post_sends_the_fields_as_json(client: CraftClient) -> None:
    result = craft(client, "api", "post", "/projects", "-f", "name=From the CLI")
    assert result.exit_code == 0, result.stderr
    created = json.loads(result.stdout)
    assert client.projects.get(created["id"]).name == "From the CLI"


def test_api_paginate_gets_every_page(client: CraftClient) -> None:
    made = {client.projects.create(name=f"p{i}").id for i in range(5)}
    result = craft(client, "api", "GET", "/projects", "-F", "limit=2", "--paginate")
    assert result.exit_code == 0, result.stderr
    assert {project["id"] for project in json.loads(result.stdout)} == made


def test_api_paginate_stops_a_list_that_does_not_advance() -> None:
    # A server that answers the same page, with more to come, for ever.
    page = {
        "success": True,
        "data": [{"id": "item_1"}],
        "pagination": {"page": 1, "limit": 1, "hasMore": True},
    }
    with LoopbackServer(lambda request: Reply(200, json=page)) as server:
        result = craft(
            None, "--api-key", "k", "--base-url", server.url, "api", "GET", "/items", "--paginate"
        )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Stopped so as not to loop" in result.stderr
    assert len(server.requests) == 2


def test_api_errors_and_usage(client: CraftClient) -> None:
    missing = craft(client, "api", "GET", "/projects/proj_nope")
    assert missing.exit_code == 1
    assert "not found" in missing.stderr
    assert craft(client, "api", "GET", "/projects", "-F", "novalue").exit_code == 2
    assert craft(client, "api", "POST", "/projects", "--paginate").exit_code == 2
    assert craft(client, "api", "GET", "/me", "--paginate").exit_code == 2
    assert craft(client, "api", "GET", "/a/../b").exit_code == 2  # refused by client.request


# ---- craft webhooks ----------------------------------------------------------------------------


def receiver(request: SeenRequest) -> Reply:
    """A receiver as an application would write it, on the SDK."""
    try:
        event = construct_event(request.body, headers=request.headers, secret=SECRET)
    except WebhookVerificationError as error:
        return Reply(400, json={"error": str(error)})
    return Reply(200, json={"received": event.event})


@pytest.mark.parametrize("event", EVENTS)
def test_trigger_posts_a_signed_event_a_receiver_accepts(event: str) -> None:
    with LoopbackServer(receiver) as server:
        result = craft(None, "webhooks", "trigger", event, "--to", server.url, "--secret", SECRET)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"received": event}
    assert f"{event} -> {server.url}: HTTP 200" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    (seen,) = server.requests
    sent = seen.json()
    assert sent["event"] == event
    assert sent["data"]["projectId"] == "proj_sample0001"
    assert sent["timestamp"].endswith("Z")
    # Parsed by the SDK's own model: the sample has the shape the reference gives.
    assert construct_event(seen.body, headers=seen.headers, secret=SECRET).event == event


def test_trigger_about_a_chosen_project() -> None:
    with LoopbackServer(receiver) as server:
        result = craft(
            None, "webhooks", "trigger", "project.created", "--to", server.url,
            "--secret", SECRET, "--project", "proj_mine42",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert server.requests[0].json()["data"]["projectId"] == "proj_mine42"


def test_trigger_gives_up_on_a_receiver_that_never_answers() -> None:
    # A socket that listens and never answers: the connection is made, the answer never comes.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hooks"
        started = time.monotonic()
        result = craft(
            None, "webhooks", "trigger", "build.started", "--to", url, "--secret", SECRET,
            "--timeout", "0.2",
        )  # fmt: skip
        waited = time.monotonic() - started
    assert result.exit_code == 1
    assert "did not answer" in result.stderr
    assert "timed out" in result.stderr
    assert waited < 5  # the 0.2 s asked for ended the wait, not the default 10 s


def test_trigger_with_the_wrong_secret_shows_the_refusal_and_exits_1() -> None:
    with LoopbackServer(receiver) as server:
        result = craft(
            None, "webhooks", "trigger", "build.started", "--to", server.url, "--secret", "nope"
        )
    assert result.exit_code == 1
    assert "signature does not match" in result.stdout
    assert result.stderr.splitlines()[-1] == "craft: error: the receiver answered HTTP 400"


def test_trigger_to_nothing_listening_exits_1() -> None:
    with LoopbackServer(receiver) as server:
        url = server.url
    result = craft(None, "webhooks", "trigger", "build.started", "--to", url, "--secret", SECRET)
    assert result.exit_code == 1
    assert "is the receiver running?" in result.stderr


def test_trigger_posts_over_http_only(tmp_path: Path) -> None:
    local = tmp_path / "secret.txt"
    local.write_text("private")
    args = ("webhooks", "trigger", "build.started", "--secret", SECRET, "--to")
    result = craft(None, *args, local.as_uri())
    assert result.exit_code == 2
    assert "private" not in result.stdout
    assert "is not an http:// or https:// URL" in result.stderr


def test_the_command_lines_signature_header_is_the_sdks() -> None:
    # Spelled out in craft_sdk/cli/_webhooks.py so that --help need not load pydantic.
    assert cli_webhooks.SIGNATURE_HEADER == SIGNATURE_HEADER
    verify_help = craft(None, "webhooks", "verify", "--help").stdout
    assert f"The {SIGNATURE_HEADER} header's value" in " ".join(verify_help.split())


BODY = b'{"event":"build.failed","timestamp":"2026-01-15T10:30:00Z","data":{"projectId":"p1"}}'


def test_verify_a_body_with_its_signature() -> None:
    signature = sign_webhook(BODY, SECRET)
    good = craft(
        None, "--json", "webhooks", "verify", "--secret", SECRET, "--signature", signature,
        stdin=BODY,
    )  # fmt: skip
    assert good.exit_code == 0, good.stderr
    assert json.loads(good.stdout)["data"]["projectId"] == "p1"
    assert good.stderr == "verified: build.failed\n"

    bad = craft(
        None, "webhooks", "verify", "--secret", "other", "--signature", signature, stdin=BODY
    )
    assert bad.exit_code == 1
    assert bad.stdout == ""
    assert "signature does not match" in bad.stderr


def test_verify_a_captured_request_reads_the_header_from_it() -> None:
    head = f"POST /hooks HTTP/1.1\r\nHost: x\r\n{SIGNATURE_HEADER}: {sign_webhook(BODY, SECRET)}"
    captured = head.encode() + b"\r\n\r\n" + BODY
    result = craft(None, "-q", "webhooks", "verify", "--secret", SECRET, stdin=captured)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "build.failed\n"
    unsigned = craft(None, "webhooks", "verify", "--secret", SECRET, stdin=BODY)
    assert unsigned.exit_code == 1
    assert "--signature" in unsigned.stderr


# ---- craft emulator ----------------------------------------------------------------------------


def test_emulator_passes_its_options_through() -> None:
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0
    assert "--fail-builds" in result.stdout
    assert result.stdout.startswith("usage: craft emulator")  # its own name, not the module's
    refused = CliRunner().invoke(cli, ["emulator", "--tier", "nope"])
    assert refused.exit_code == 2
