"""The emulator's webhook delivery over HTTP: `WebhookSender` POSTing to a real receiver on
127.0.0.1. Backoffs are real waits, kept to hundredths of a second."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import craft_sdk
from craft_sdk.testing._delivery import Delivery, WebhookSender
from craft_sdk.webhooks import verify_webhook

from .conftest import free_port, wait_until
from .loopback import LoopbackServer, Reply, SeenRequest

SECRET = "whsec_emulator_3c1f9b"
LOGGER = "craft_sdk.testing"


def body(event: str, **data: Any) -> bytes:
    return json.dumps({"event": event, "timestamp": "2025-01-01T00:00:00Z", "data": data}).encode()


def event_of(request: SeenRequest) -> str:
    event: str = request.json()["event"]
    return event


@pytest.fixture
def sender_for() -> Iterator[list[WebhookSender]]:
    """Senders made by a case, closed after it even when it fails."""
    made: list[WebhookSender] = []
    yield made
    for sender in made:
        sender.close()


def sender(made: list[WebhookSender], url: str, **options: Any) -> WebhookSender:
    options.setdefault("backoff", 0.01)
    made.append(new := WebhookSender(url, SECRET, **options))
    return new


def sender_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "craft-emulator-webhooks"]


def test_a_body_is_posted_exactly_as_given_and_signed(sender_for: list[WebhookSender]) -> None:
    payload = body("build.completed", deploymentId="dep_1", note="café")
    with LoopbackServer(lambda _: Reply(204)) as server:
        webhooks = sender(sender_for, server.url)
        webhooks.send(payload)
        assert webhooks.flush(timeout=5)
    (seen,) = server.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1", payload)
    assert verify_webhook(seen.body, seen.headers["x-craft-signature"], SECRET)
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["user-agent"] == f"craft-emulator-webhooks/{craft_sdk.__version__}"
    (attempt,) = webhooks.deliveries
    assert attempt.wire() == {
        "event": "build.completed",
        "attempt": 1,
        "status": 204,
        "error": None,
        "delivered": True,
    }


def test_proxy_settings_in_the_environment_are_ignored(
    sender_for: list[WebhookSender], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing listens
    for exempt in ("NO_PROXY", "no_proxy"):  # which would exempt loopback, proxy or not
        monkeypatch.delenv(exempt, raising=False)
    with LoopbackServer(lambda _: Reply(200)) as server:
        webhooks = sender(sender_for, server.url, attempts=1)
        webhooks.send(body("project.created"))
        assert webhooks.flush(timeout=5)
    assert [d.delivered for d in webhooks.deliveries] == [True]


def test_bodies_arrive_in_order_each_after_the_last_is_delivered(
    sender_for: list[WebhookSender],
) -> None:
    names = ["project.created", "build.started", "build.completed", "project.deleted"]
    failed_once: set[str] = set()

    def receiver(request: SeenRequest) -> Reply:
        event = event_of(request)
        if event == "build.started" and event not in failed_once:
            failed_once.add(event)
            return Reply(503)
        return Reply(200)

    with LoopbackServer(receiver) as server:
        webhooks = sender(sender_for, server.url)
        for name in names:
            webhooks.send(body(name))
        assert webhooks.flush(timeout=5)
    arrived = [event_of(request) for request in server.requests]
    assert arrived == [names[0], names[1], names[1], names[2], names[3]]


def test_a_failed_delivery_is_retried_and_each_failure_logged(
    sender_for: list[WebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([500, 500, 200])
    with LoopbackServer(lambda _: Reply(next(answers))) as server, caplog.at_level(logging.INFO):
        webhooks = sender(sender_for, server.url)
        webhooks.send(body("build.completed"))
        assert webhooks.flush(timeout=5)
    assert [(d.attempt, d.status, d.error, d.delivered) for d in webhooks.deliveries] == [
        (1, 500, "HTTP 500", False),
        (2, 500, "HTTP 500", False),
        (3, 200, None, True),
    ]
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING, logging.INFO]
    assert "HTTP 500, attempt 2 of 4" in records[1].getMessage()
    # The backoff doubles: 0.01 s after the first failure, 0.02 s after the second.
    assert records[0].getMessage().endswith("retrying in 0.01 s")
    assert records[1].getMessage().endswith("retrying in 0.02 s")
    assert records[2].getMessage() == (
        f"Webhook build.completed delivered to {server.url} (HTTP 200, attempt 3)"
    )


@pytest.mark.parametrize("status", [302, 404])
def test_only_a_2xx_is_a_delivery_and_redirects_are_not_followed(
    sender_for: list[WebhookSender], status: int
) -> None:
    reply = Reply(status, headers={"Location": "/elsewhere"})
    with LoopbackServer(lambda _: reply) as server:
        webhooks = sender(sender_for, server.url, attempts=2)
        webhooks.send(body("build.failed"))
        assert webhooks.flush(timeout=5)
    assert [request.path for request in server.requests] == ["/v1", "/v1"]
    assert [(d.status, d.error, d.delivered) for d in webhooks.deliveries] == [
        (status, f"HTTP {status}", False)
    ] * 2


def test_a_body_given_up_after_its_attempts_does_not_hold_back_the_next(
    sender_for: list[WebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    def receiver(request: SeenRequest) -> Reply:
        return Reply(503 if event_of(request) == "project.created" else 200)

    with LoopbackServer(receiver) as server, caplog.at_level(logging.WARNING, logger=LOGGER):
        webhooks = sender(sender_for, server.url, attempts=3)
        webhooks.send(body("project.created"))
        webhooks.send(body("project.deleted"))
        assert webhooks.flush(timeout=5)
    assert [(d.event, d.attempt, d.delivered) for d in webhooks.deliveries] == [
        ("project.created", 1, False),
        ("project.created", 2, False),
        ("project.created", 3, False),
        ("project.deleted", 1, True),
    ]
    assert "given up after 3 attempts (HTTP 503)" in caplog.records[-1].getMessage()


def test_connection_errors_are_retried_and_logged_without_raising(
    sender_for: list[WebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        webhooks = sender(sender_for, f"http://127.0.0.1:{port}/hooks", attempts=2)
        webhooks.send(b"not json")
        assert webhooks.flush(timeout=5)
    assert [(d.event, d.attempt, d.status) for d in webhooks.deliveries] == [
        ("", 1, None),
        ("", 2, None),
    ]
    assert all((d.error or "").startswith("ConnectError: ") for d in webhooks.deliveries)
    assert len([r for r in caplog.records if r.name == LOGGER]) == 2  # a retry, a give-up


def test_close_cuts_a_long_backoff_short_and_ends_the_thread(
    sender_for: list[WebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    others = sender_threads()  # of senders other tests left open
    with LoopbackServer(lambda _: Reply(500)) as server:
        webhooks = sender(sender_for, server.url, backoff=30)
        assert sender_threads() == others  # started by the first send, not before
        webhooks.send(body("build.started"))
        webhooks.send(body("build.completed"))
        wait_until(lambda: len(webhooks.deliveries) == 1)  # now waiting out the 30 s backoff
        started = time.monotonic()
        webhooks.close()
        assert time.monotonic() - started < 3
        wait_until(lambda: sender_threads() == others, timeout=3)
        webhooks.close()
        webhooks.send(body("project.deleted"))  # after close: dropped, not raised
    assert webhooks.flush(timeout=1)
    assert len(server.requests) == 1
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert "retrying in 30.00 s" in messages[0]
    assert messages[1:] == [
        f"Webhook sender to {server.url} closed: 2 bodies dropped",
        f"Webhook project.deleted to {server.url} dropped: sender closed",
    ]


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"url": "ftp://hooks.test/in"}, ValueError, "url must be an http or https URL"),
        ({"url": "http:///in"}, ValueError, "url must be an http or https URL"),
        ({"url": "hooks.test/in"}, ValueError, "url must be an http or https URL"),
        ({"url": b"http://hooks.test"}, TypeError, "url must be a str"),
        ({"secret": ""}, ValueError, "secret must not be empty"),
        ({"secret": 42}, TypeError, "secret must be a str"),
        ({"attempts": 0}, ValueError, "attempts must be at least 1"),
        ({"attempts": 2.0}, TypeError, "attempts must be an int"),
        ({"backoff": -1}, ValueError, "backoff must be a finite number of seconds >= 0"),
        ({"timeout": 0}, ValueError, "timeout must be a finite number of seconds > 0"),
        ({"timeout": "5"}, TypeError, "timeout must be a number of seconds"),
    ],
)
def test_bad_arguments_are_named(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"url": "http://127.0.0.1:9/in", "secret": SECRET, **options}
    with pytest.raises(error, match=message) as raised:
        WebhookSender(**arguments)
    assert SECRET not in str(raised.value)


def test_the_secret_appears_in_no_log_repr_or_error(
    sender_for: list[WebhookSender], caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([500, 200])
    with LoopbackServer(lambda _: Reply(next(answers, 500))) as server:
        caplog.set_level(logging.DEBUG)
        webhooks = sender(sender_for, server.url, attempts=2)
        webhooks.send(body("project.updated"))  # retried, then delivered
        webhooks.send(body("project.deleted"))  # given up
        assert webhooks.flush(timeout=5)
        webhooks.close()
        webhooks.send(body("build.started"))  # dropped
    with pytest.raises(TypeError) as raised:
        webhooks.send("not bytes")  # type: ignore[arg-type]
    seen = [r.getMessage() for r in caplog.records] + [repr(webhooks), str(raised.value)]
    seen += [repr(d) for d in webhooks.deliveries]
    for logged in ("retrying", "delivered", "given up", "dropped"):
        assert any(logged in line for line in seen)
    assert repr(webhooks) == f"WebhookSender(url={server.url!r}, attempts=2)"
    assert not [line for line in seen if SECRET in line]


def test_flush_waits_for_the_queue_and_gives_up_at_its_timeout(
    sender_for: list[WebhookSender],
) -> None:
    arrived, release = threading.Event(), threading.Event()

    def receiver(_: SeenRequest) -> Reply:
        arrived.set()
        release.wait(5)
        return Reply(200)

    with LoopbackServer(receiver) as server:
        webhooks = sender(sender_for, server.url)
        assert webhooks.flush(timeout=0)  # nothing queued: drained already
        webhooks.send(body("build.started"))
        assert arrived.wait(5)  # the attempt is under way
        started = time.monotonic()
        assert not webhooks.flush(timeout=0.05)
        assert time.monotonic() - started >= 0.05
        release.set()
        assert webhooks.flush(timeout=5)
    (attempt,) = webhooks.deliveries
    assert attempt == Delivery("build.started", 1, 200, None, True, attempt.seconds)
    assert attempt.seconds >= 0.05  # the attempt's time, the receiver's wait included
