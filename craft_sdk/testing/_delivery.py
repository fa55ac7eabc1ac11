"""`WebhookSender`: the emulator's webhooks POSTed to a URL, signed, as the real API would.

Bodies go out one at a time from one background thread, in the order they were given, so a
receiver sees `build.started` before `build.completed`; a failed delivery is retried with
exponential backoff before the next body is sent. Backoff is waited in real time on an Event,
never on the emulator's clock: moving a FakeClock would move the API's time, and `close()` must
be able to cut a wait short.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import threading
import time
from typing import Any, Final, cast
from urllib.parse import urlsplit

from .._checks import check_int, check_seconds, check_text
from .._http import httpx
from .._types import json_object
from .._version import __version__
from ..webhooks import SIGNATURE_HEADER, sign_webhook

logger = logging.getLogger("craft_sdk.testing")
_USER_AGENT: Final = f"craft-emulator-webhooks/{__version__}"
KEPT_DELIVERIES: Final = 1000
"""How many of the latest attempts `deliveries` keeps."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One attempt at delivering a webhook body.

    Attributes:
        event: The body's "event" name, or "" when the body is not a JSON object with one.
        attempt: Which attempt at this body it was, from 1.
        status: The receiver's HTTP status, or None when there was no answer.
        error: Why the attempt failed ("HTTP 500", "ConnectError: ..."), or None.
        delivered: Whether the receiver answered with a 2xx.
        seconds: How long the attempt took.
    """

    event: str
    attempt: int
    status: int | None
    error: str | None
    delivered: bool
    seconds: float

    def wire(self) -> dict[str, Any]:
        """The attempt as a JSON object, for the control endpoint (without its timing).

        Returns:
            A dict with the keys event, attempt, status, error and delivered.
        """
        return {
            "event": self.event,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "delivered": self.delivered,
        }


class WebhookSender:
    """Delivers signed webhook bodies to one URL, in the order given, from one background
    thread, retrying a failed delivery with exponential backoff; every attempt is logged.

    Args:
        url: The http or https URL to POST each body to.
        secret: The secret each body is signed with, in `X-Craft-Signature`.
        attempts: How many times to try a body before giving up on it, at least 1.
        backoff: Seconds to wait after a first failed attempt; each further wait doubles.
        timeout: Seconds an attempt may wait to connect, send or read, each.

    Raises:
        TypeError: An argument has the wrong type.
        ValueError: `url` is not http(s) with a host, `secret` is empty, or a number is out of
            range.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        timeout: float = 5.0,
    ) -> None:
        check_text("url", url, max_length=None)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http or https URL with a host; got {url!r}")
        self.url: Final = url
        """The URL each body is POSTed to."""
        self._secret = check_text("secret", secret, max_length=None)
        self._attempts = check_int("attempts", attempts, minimum=1)
        self._backoff = check_seconds("backoff", backoff, zero_allowed=True)
        self._timeout = check_seconds("timeout", timeout, zero_allowed=False)
        # One condition guards the queue, the counters and the log: the thread waits on it for
        # work, `flush` for `finished` to catch up with `queued`.
        self._changed = threading.Condition()
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = self._finished = self._interrupted = 0
        # The latest attempts only, so that a long-running emulator does not grow without end.
        self._log: collections.deque[Delivery] = collections.deque(maxlen=KEPT_DELIVERIES)
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"WebhookSender(url={self.url!r}, attempts={self._attempts})"

    @property
    def deliveries(self) -> list[Delivery]:
        """The attempts so far (the latest `KEPT_DELIVERIES`), in the order made (a copy)."""
        with self._changed:
            return list(self._log)

    def send(self, payload: bytes) -> None:
        """Queue `payload` for delivery; returns at once, never waiting on the network.

        Args:
            payload: The body to POST, exactly as it is to be signed and sent.

        Raises:
            TypeError: `payload` is not bytes.
        """
        if not isinstance(cast(object, payload), bytes):
            raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
        with self._changed:
            if self._closed:
                logger.warning("Webhook %s to %s dropped: sender closed", _event(payload), self.url)
                return
            self._queue.append(payload)
            self._queued += 1
            self._changed.notify_all()
            if self._thread is None:  # no thread for a sender that is never used
                self._thread = threading.Thread(
                    target=self._run, name="craft-emulator-webhooks", daemon=True
                )
                self._thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every body queued so far is delivered or given up.

        Args:
            timeout: The most seconds to wait; None waits as long as it takes.

        Returns:
            True when they all are; False when `timeout` ran out first.
        """
        with self._changed:
            target = self._queued
            return self._changed.wait_for(lambda: self._finished >= target, timeout)

    def close(self) -> None:
        """Stop sending: bodies not yet delivered are dropped (and counted in one log line), a
        backoff wait is cut short, and the thread ends. Calling it again does nothing."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            dropped = len(self._queue)
            self._queue.clear()
            self._finished += dropped
            self._changed.notify_all()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._timeout)  # a request in flight ends within its timeout
        dropped += self._interrupted
        if dropped:
            logger.warning("Webhook sender to %s closed: %d bodies dropped", self.url, dropped)

    def _run(self) -> None:
        with httpx.Client(
            timeout=self._timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": _USER_AGENT},
        ) as client:
            while (payload := self._next()) is not None:
                self._deliver(client, payload)
                with self._changed:
                    self._finished += 1
                    self._changed.notify_all()

    def _next(self) -> bytes | None:
        with self._changed:
            self._changed.wait_for(lambda: self._queue or self._closed)
            return None if self._closed else self._queue.popleft()

    def _deliver(self, client: httpx.Client, payload: bytes) -> None:
        event = _event(payload)
        headers = signed_headers(payload, self._secret)
        for attempt in range(1, self._attempts + 1):
            started = time.monotonic()
            status: int | None = None
            try:
                status = client.post(self.url, content=payload, headers=headers).status_code
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:  # whatever the receiver does must not end the thread
                error = f"{type(exc).__name__}: {exc}"
            done = Delivery(
                event, attempt, status, error, error is None, time.monotonic() - started
            )
            with self._changed:
                self._log.append(done)
            if done.delivered:
                logger.info(
                    "Webhook %s delivered to %s (HTTP %d, attempt %d)",
                    event,
                    self.url,
                    status,
                    attempt,
                )
                return
            if attempt == self._attempts:
                logger.warning(
                    "Webhook %s to %s given up after %d attempts (%s)",
                    event,
                    self.url,
                    attempt,
                    error,
                )
                return
            delay = self._backoff * 2 ** (attempt - 1)
            logger.warning(
                "Webhook %s to %s failed (%s, attempt %d of %d); retrying in %.2f s",
                event,
                self.url,
                error,
                attempt,
                self._attempts,
                delay,
            )
            if self._stop.wait(delay):  # closed while waiting: `close` counts it as dropped
                self._interrupted += 1
                return


def signed_headers(payload: bytes, secret: str) -> dict[str, str]:
    """The headers a webhook body is delivered with, as the real API sends them."""
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(payload, secret)}


def _event(payload: bytes) -> str:
    try:
        body = json_object(json.loads(payload))
    except ValueError:  # not JSON, or not UTF-8
        return ""
    event = body.get("event") if body is not None else None
    return event if isinstance(event, str) else ""
