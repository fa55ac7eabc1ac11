"""The fixed-window stand-in for the API (tests/windowed.py), on a fake clock: what it accepts,
what it answers, what it counts; and the SDK reading its answers over a real socket."""

from __future__ import annotations

import socket
import struct
import threading

import httpx
import pytest

import craft_sdk
from craft_sdk import CraftClient
from craft_sdk.testing import FakeClock

from .conftest import API_KEY, USER, wait_until
from .loopback import LoopbackServer, Reply, SeenRequest
from .windowed import HELD_PATH, ME_PATH, WindowedApi

START = 1_700_000_000.0  # a multiple of every window below: the start of a window


def get(path: str = ME_PATH) -> SeenRequest:
    return SeenRequest(method="GET", path=path, headers={}, body=b"")


def rate_headers(reply: Reply) -> dict[str, str]:
    return {name: value for name, value in reply.headers.items() if name != "Date"}


def test_it_accepts_the_limit_then_refuses_as_the_api_does() -> None:
    clock = FakeClock(START + 0.25)
    api = WindowedApi(limit=2, window=2.0, clock=clock.time)
    first, second, third = api(get()), api(get()), api(get())
    assert (first.status, second.status) == (200, 200)
    assert first.json == {"success": True, "data": USER}
    assert rate_headers(first) == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "1",
        "X-RateLimit-Reset": "1700000002",  # the window's end, in whole seconds
        "X-RateLimit-RetryAfter": "0",
    }
    assert first.headers["Date"] == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert second.headers["X-RateLimit-Remaining"] == "0"
    assert third.status == 429
    assert rate_headers(third) == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "1700000002",
        "X-RateLimit-RetryAfter": "2",  # 1.75 s, rounded up
        "Retry-After": "2",
    }
    assert third.json == {
        "success": False,
        "error": {
            "code": "RATE_LIMIT_EXCEEDED",
            "message": "Rate limit exceeded: 2 requests per 2 s",
            "retryAfter": 2,
        },
    }


def test_the_next_window_starts_afresh_and_each_window_is_counted() -> None:
    clock = FakeClock(START)
    api = WindowedApi(limit=1, window=2.0, clock=clock.time)
    assert [api(get()).status for _ in range(3)] == [200, 429, 429]
    clock.advance(1.999)
    assert api(get()).status == 429
    clock.advance(0.001)
    reply = api(get())
    assert reply.status == 200
    assert reply.headers["X-RateLimit-Reset"] == "1700000004"
    window = int(START / 2)
    assert {n: (c.accepted, c.refused) for n, c in api.counts().items()} == {
        window: (1, 3),
        window + 1: (1, 0),
    }
    assert api.refused == 3


def test_a_window_that_is_not_whole_seconds_announces_its_fraction() -> None:
    api = WindowedApi(limit=5, window=0.5, clock=FakeClock(START + 0.1).time)
    assert api(get()).headers["X-RateLimit-Reset"] == "1700000000.5"


def test_a_late_reset_refuses_past_the_announced_one_and_says_so_in_its_waits() -> None:
    clock = FakeClock(START)
    api = WindowedApi(limit=1, window=2.0, reset_offset=1.5, clock=clock.time)
    # At START the real window began at START - 0.5 and ends at START + 1.5.
    assert api(get()).headers["X-RateLimit-Reset"] == "1700000000"  # announced: already past
    refused = api(get())
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "2"  # 1.5 s to the real reset, rounded up
    clock.advance(1.5)
    assert api(get()).status == 200


def test_an_early_reset_accepts_before_the_announced_one() -> None:
    clock = FakeClock(START + 0.5)
    api = WindowedApi(limit=1, window=2.0, reset_offset=-1.0, clock=clock.time)
    # The real window runs from START - 1 to START + 1.
    assert api(get()).headers["X-RateLimit-Reset"] == "1700000002"
    assert api(get()).headers["Retry-After"] == "1"  # 0.5 s to the real reset, rounded up
    clock.advance(0.5)
    assert api(get()).status == 200  # a second before the announced reset


def test_utilisation_counts_only_the_windows_wholly_inside_the_run() -> None:
    clock = FakeClock(START + 1.0)
    api = WindowedApi(limit=4, window=2.0, clock=clock.time)
    # The first and last windows lie partly outside the run; refusals count for nothing.
    for requests in (2, 6, 3, 0, 1):
        for _ in range(requests):
            api(get())
        clock.advance(2.0)
    started, ended = START + 1.0, START + 9.5
    assert list(api.whole_windows(started, ended)) == [int(START / 2) + n for n in (1, 2, 3)]
    assert api.accepted_per_window(started, ended) == [4, 3, 0]
    assert api.refused == 2
    assert api.utilisation(started, ended) == 7 / 12
    with pytest.raises(ValueError, match="no whole window"):
        api.utilisation(START + 1.0, START + 2.5)


def test_a_held_request_is_answered_on_release_and_counted_then() -> None:
    clock = FakeClock(START)
    api = WindowedApi(limit=5, window=2.0, clock=clock.time)
    replies: list[Reply] = []
    holder = threading.Thread(target=lambda: replies.append(api(get(HELD_PATH))))
    holder.start()
    holder.join(timeout=0.2)
    assert holder.is_alive()
    assert replies == []
    assert api.held == 1
    assert api(get()).headers["X-RateLimit-Remaining"] == "4"  # nothing taken while held
    api.release_held()
    holder.join(timeout=5)
    [reply] = replies
    assert reply.status == 200
    assert reply.json["data"]["id"] == "proj_held"
    assert reply.headers["X-RateLimit-Remaining"] == "3"
    assert api.held == 1
    assert api(get(HELD_PATH)).status == 200  # released for good: no longer held


def test_an_unknown_path_is_a_404_that_still_counts() -> None:
    api = WindowedApi(limit=1, window=2.0, clock=FakeClock(START).time)
    assert api(get("/v1/nowhere")).status == 404
    assert api(get()).status == 429


def test_the_sdk_reads_its_answers_over_a_socket() -> None:
    clock = FakeClock(START + 0.5)
    api = WindowedApi(limit=1, window=2.0, clock=clock.time)
    with (
        LoopbackServer(api) as server,
        CraftClient(api_key=API_KEY, base_url=server.url, clock=clock, max_retries=0) as client,
    ):
        assert client.me().name == USER["name"]
        rate_limit = client.rate_limit
        assert rate_limit is not None
        assert (rate_limit.limit, rate_limit.remaining) == (1, 0)
        assert rate_limit.reset_at is not None
        assert rate_limit.reset_at.timestamp() == START + 2
        # The gate knows the budget is spent and refuses without sending: the reset is 1.5 s
        # away, 2 s by the answer's Date (HTTP dates are whole seconds), past max_retry_wait.
        with pytest.raises(craft_sdk.RateLimitError) as caught:
            client.with_options(max_retry_wait=1.0).me()
        assert caught.value.retry_after == 2.0
        assert len(server.requests) == 1


def test_a_held_request_whose_client_went_away_is_dropped_quietly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = WindowedApi(limit=5, window=2.0, clock=FakeClock(START).time)
    serving: list[threading.Thread] = []

    def handler(request: SeenRequest) -> Reply:
        serving.append(threading.current_thread())
        return api(request)

    with LoopbackServer(handler) as server:
        port = httpx.URL(server.url).port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port)) as gone:
            gone.sendall(f"GET {HELD_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            wait_until(lambda: api.held == 1)
            # Closed with a reset, as a killed process's socket may be: the answer cannot go.
            gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        api.release_held()
        [thread] = serving
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert capsys.readouterr().err == ""  # no traceback of a broken pipe
