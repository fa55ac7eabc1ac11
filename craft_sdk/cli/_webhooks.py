"""`craft webhooks trigger` (a signed sample event to your receiver) and `craft webhooks verify`
(a captured delivery checked with your secret)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import click

from ._app import State, data_options, pass_state
from ._errors import CliError

# craft_sdk.webhooks loads pydantic, so it is imported by the commands that run, not for
# `--help`; its SIGNATURE_HEADER is this (tests/cli/test_api.py checks that they agree).
SIGNATURE_HEADER = "X-Craft-Signature"

EVENTS = (
    "project.created",
    "project.updated",
    "project.deleted",
    "build.started",
    "build.completed",
    "build.failed",
)

secret_option = click.option(
    "--secret",
    envvar="CRAFT_WEBHOOK_SECRET",
    show_envvar=True,
    required=True,
    help="The webhook signing secret.",
)


def sample_event(event: str, project_id: str, now: datetime) -> dict[str, Any]:
    """A body as Craft sends it for `event` (craft-api.md's shape), about `project_id`."""
    data: dict[str, Any] = {"projectId": project_id}
    if event == "project.updated":
        data["changes"] = ["name", "settings"]
    if event.startswith("build."):
        deployment_id = "dep_sample0001"
        status = {"build.started": "building", "build.completed": "completed"}.get(event, "failed")
        data |= {"deploymentId": deployment_id, "status": status}
        if event == "build.completed":
            data["url"] = f"https://{deployment_id}.craft.app"
        if event == "build.failed":
            data["error"] = "Build failed: module 'react' not found"
    timestamp = now.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"event": event, "timestamp": timestamp, "data": data}


@click.group()
def webhooks() -> None:
    """Send signed sample events; verify captured deliveries."""


@webhooks.command("trigger")
@click.argument("event", type=click.Choice(EVENTS), metavar="EVENT")
@click.option("--to", "url", required=True, metavar="URL", help="Your receiver's URL.")
@secret_option
@click.option("--project", "project_id", default="proj_sample0001", show_default=True)
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=10.0)
@pass_state
def trigger(
    state: State, event: str, url: str, secret: str, project_id: str, timeout: float
) -> None:
    """Send a signed sample EVENT to your receiver.

    POSTs a realistic EVENT to URL, signed as Craft signs it, and prints the receiver's answer.

    EVENT is one of project.created, project.updated, project.deleted, build.started,
    build.completed and build.failed.

    The exit code is 0 when the receiver answered 2xx, 1 otherwise.
    """
    from ..webhooks import sign_webhook

    body = json.dumps(sample_event(event, project_id, datetime.now(timezone.utc))).encode()
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(body, secret)}
    status, answer = _post(url, body, headers, timeout)
    state.output.status(f"{event} -> {url}: HTTP {status}")
    text = answer.decode("utf-8", "replace")
    click.echo(text, nl=not text.endswith("\n"))
    if not 200 <= status < 300:
        raise CliError(f"the receiver answered HTTP {status}")


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    # The standard library, not the SDK's HTTP client: this is not a call to the Craft API (and
    # httpx stays behind craft_sdk/_http.py).
    import urllib.error
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{url!r} is not an http:// or https:// URL", param_hint="--to")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as refused:
        try:
            return refused.code, refused.read()
        finally:
            refused.close()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CliError(f"{url} did not answer ({reason}): is the receiver running?") from None


@webhooks.command("verify")
@secret_option
@click.option(
    "--signature",
    metavar="SIG",
    help=f"The {SIGNATURE_HEADER} header's value. Without it, stdin is the whole captured "
    "request (headers, a blank line, the body) and the header is read from it.",
)
@data_options
@pass_state
def verify(state: State, secret: str, signature: str | None) -> None:
    """Check a captured delivery's signature.

    Reads the delivery from stdin: `craft webhooks verify --signature SIG < body.json`.

    Prints the event on stdout when it is genuine; exit code 1 when it is not.
    """
    from ..webhooks import construct_event

    captured = sys.stdin.buffer.read()
    headers: dict[str, str] = {}
    body = captured
    if signature is None:
        headers, body = _split_request(captured)
    event = construct_event(body, signature, secret, headers=headers)
    state.output.status(f"verified: {event.event}")
    state.output.item(event, key="event")


def _split_request(captured: bytes) -> tuple[dict[str, str], bytes]:
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = captured.partition(separator)
        if found:
            break
    else:
        raise CliError(f"give --signature, or a captured request with its {SIGNATURE_HEADER}")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip()] = value.strip()
    return headers, body
