"""craft_sdk.redis against a real redis-server (tests/redis_server.py): the budget shared between
clients, what reaches Redis, and Redis's failures (stopped, restarted, slow, garbage under the
keys) never failing a call. The rules themselves are tests/test_rate_limit_rules.py's vectors;
many processes at once are tests/fleet/."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
import redis.asyncio

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk._clock import SystemClock
from craft_sdk.redis import DEFAULT_PREFIX, RETRY_REDIS_AFTER, RedisRateLimitStore
from craft_sdk.testing import FakeClock

from .loopback import LoopbackServer
from .redis_server import RedisServer
from .windowed import WindowedApi

KEY = "craft_live_fleet_secret_0123456789"


def serve(limit: int) -> Iterator[tuple[WindowedApi, str]]:
    windowed = WindowedApi(limit=limit, window=60.0)
    with LoopbackServer(windowed) as server:
        yield windowed, server.url


@pytest.fixture
def api() -> Iterator[tuple[WindowedApi, str]]:
    """A server that allows 1000 requests per 60-second window: more than any test sends."""
    yield from serve(limit=1000)


@pytest.fixture
def tight_api() -> Iterator[tuple[WindowedApi, str]]:
    """A server that allows 3 requests per 60-second window (no test waits one out)."""
    yield from serve(limit=3)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url) as client:  # pyright: ignore[reportUnknownMemberType]
        yield client


def sync_client(url: str, store: RedisRateLimitStore, **options: Any) -> CraftClient:
    return CraftClient(api_key=KEY, base_url=url, rate_limit_store=store, **options)


def budget_keys(redis_client: redis.Redis) -> list[str]:
    found = cast(list[bytes], redis_client.keys(f"{DEFAULT_PREFIX}*"))  # pyright: ignore[reportUnknownMemberType]
    return sorted(key.decode() for key in found)


# The budget, shared.


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_clients_on_one_store_share_one_budget(
    flavour: str, tight_api: tuple[WindowedApi, str], redis_url: str
) -> None:
    """Two clients that share nothing but the store (as two processes would) spend one budget:
    the fourth request of the window is held back, not sent for a 429."""
    windowed, url = tight_api
    store = RedisRateLimitStore.from_url(redis_url)
    # A wait for the reset longer than this raises at once, without sending: no real sleeping.
    options: dict[str, Any] = {"api_key": KEY, "base_url": url, "max_retry_wait": 0.001}
    if flavour == "sync":
        with (
            sync_client(url, store, max_retry_wait=0.001) as first,
            sync_client(url, store, max_retry_wait=0.001) as second,
        ):
            first.me()
            second.me()
            first.me()
            with pytest.raises(craft_sdk.RateLimitError) as caught:
                second.me()
    else:

        async def main() -> pytest.ExceptionInfo[craft_sdk.RateLimitError]:
            async with (
                AsyncCraftClient(rate_limit_store=store, **options) as first,
                AsyncCraftClient(rate_limit_store=store, **options) as second,
            ):
                await first.me()
                await second.me()
                await first.me()
                with pytest.raises(craft_sdk.RateLimitError) as caught:
                    await second.me()
                return caught

        caught = asyncio.run(main())
    assert caught.value.response is None  # refused before sending
    assert 0 < (caught.value.retry_after or 0) <= 60
    assert windowed.refused == 0
    assert sum(count.accepted for count in windowed.counts().values()) == 3
    store.close()


def test_without_the_store_two_clients_overspend(tight_api: tuple[WindowedApi, str]) -> None:
    """The control for the test above: each client alone keeps its own budget."""
    windowed, url = tight_api
    with (
        CraftClient(api_key=KEY, base_url=url, max_retries=0) as first,
        CraftClient(api_key=KEY, base_url=url, max_retries=0) as second,
    ):
        first.me()
        second.me()
        first.me()
        with pytest.raises(craft_sdk.RateLimitError) as caught:
            second.me()
    assert caught.value.response is not None  # sent, and refused by the server
    assert windowed.refused == 1


def test_other_keys_and_base_urls_have_budgets_of_their_own(
    api: tuple[WindowedApi, str], redis_url: str, redis_client: redis.Redis
) -> None:
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    for key, base in [(KEY, url), (KEY + "x", url), (KEY, url.replace("127.0.0.1", "localhost"))]:
        with CraftClient(api_key=key, base_url=base, rate_limit_store=store) as client:
            client.me()
    assert len(budget_keys(redis_client)) == 3  # one window each (no lease left)
    store.close()


def test_the_client_reports_the_fleets_rate_limit(
    tight_api: tuple[WindowedApi, str], redis_url: str
) -> None:
    _, url = tight_api
    store = RedisRateLimitStore.from_url(redis_url)
    with sync_client(url, store) as first, sync_client(url, store) as second:
        first.me()
        first.me()
        assert second.rate_limit is None  # it has not asked yet
        second.me()
        # What the fleet has spent, not only this client: 3 of 3.
        assert second.rate_limit is not None
        assert (second.rate_limit.limit, second.rate_limit.remaining) == (3, 0)
    store.close()


# What reaches Redis.


def test_the_key_never_reaches_redis_and_a_request_costs_two_round_trips(
    api: tuple[WindowedApi, str], redis_url: str, redis_client: redis.Redis
) -> None:
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url, prefix="myapp:craft:")
    with sync_client(url, store) as client:
        client.me()  # the connection opened, the script loaded
        # The slow log, with no threshold, keeps every command that clients send, with its
        # arguments (and not those that scripts run).
        redis_client.config_set("slowlog-log-slower-than", 0)  # pyright: ignore[reportUnknownMemberType]
        redis_client.slowlog_reset()  # pyright: ignore[reportUnknownMemberType]
        for _ in range(3):
            client.me()
        logged = redis_client.slowlog_get(100)  # pyright: ignore[reportUnknownMemberType]
        redis_client.config_set("slowlog-log-slower-than", 10_000)  # pyright: ignore[reportUnknownMemberType]
    store.close()
    commands = [
        [part.decode() for part in entry["command"].split()]  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        for entry in logged
    ]
    # One script before each request and one after: nothing else but what the scripts ran.
    scripts = [command for command in commands if command[0] == "EVALSHA"]
    assert len(scripts) == 6
    assert all(command[3].startswith("myapp:craft:{") for command in scripts)
    ran = {command[0] for command in commands} - {"EVALSHA", "SLOWLOG", "CONFIG"}
    assert ran <= {
        "TIME",
        "TYPE",
        "HMGET",
        "ZREMRANGEBYSCORE",
        "ZCARD",
        "ZADD",
        "PEXPIRE",
        "ZREM",
        "HSET",
    }
    words = [word for command in commands for word in command]
    assert not [word for word in words if KEY in word or KEY[-12:] in word]


def test_the_keys_expire_after_their_window(
    api: tuple[WindowedApi, str], redis_url: str, redis_client: redis.Redis
) -> None:
    windowed, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    with sync_client(url, store) as client:
        client.me()
    store.close()
    [window] = budget_keys(redis_client)  # the leases' key is gone with its last lease
    reset = (time.time() // windowed.window + 1) * windowed.window
    ttl = redis_client.pttl(window) / 1000
    assert reset - time.time() + 55 < ttl <= reset - time.time() + 62  # a minute past the reset


# Redis failing.


def redis_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "craft_sdk" and record.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_redis_stopped_mid_run_then_restarted(
    flavour: str,
    api: tuple[WindowedApi, str],
    redis_url: str,
    redis_server: RedisServer,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopped: every call still succeeds, on the in-process budget, with one warning in all.
    Restarted: the store is used again once `RETRY_REDIS_AFTER` has passed."""
    _, url = api
    clock = FakeClock(time.time())  # the retry interval is on the client's clock
    store = RedisRateLimitStore.from_url(redis_url)
    seen: dict[str, Any] = {}

    def steps(call: Any) -> Any:
        """The run, as a generator of calls to make (the same for sync and async)."""
        yield call
        seen["keys while up"] = budget_keys(redis_client)
        redis_server.stop()
        for _ in range(5):
            yield call
        seen["warnings while down"] = redis_warnings(caplog)
        redis_server.start()
        yield call  # within the retry interval: still in process
        seen["keys before retrying"] = budget_keys(redis_client)
        clock.advance(RETRY_REDIS_AFTER)
        yield call
        yield call
        seen["keys after"] = budget_keys(redis_client)

    caplog.set_level(logging.INFO, logger="craft_sdk")
    options: dict[str, Any] = {"api_key": KEY, "base_url": url, "clock": clock}
    if flavour == "sync":
        with CraftClient(rate_limit_store=store, **options) as client:
            results = [client.me() for _ in steps("me")]
    else:

        async def main() -> list[Any]:
            async with AsyncCraftClient(rate_limit_store=store, **options) as client:
                return [await client.me() for _ in steps("me")]

        results = asyncio.run(main())
    store.close()
    assert len(results) == 9
    assert all(user.id == "user_1" for user in results)
    assert len(seen["keys while up"]) == 1
    [warning] = seen["warnings while down"]
    assert "Redis failed" in warning
    assert KEY not in warning
    assert redis_warnings(caplog) == [warning]  # still one, after the restart
    assert seen["keys before retrying"] == []  # the restarted Redis is empty, not yet asked
    assert len(seen["keys after"]) == 1  # asked again, and used
    assert any("answers again" in record.getMessage() for record in caplog.records)


def test_a_slow_redis_is_bounded_by_the_socket_timeout(
    api: tuple[WindowedApi, str], caplog: pytest.LogCaptureFixture
) -> None:
    _, url = api
    # A Redis of its own, stopped at the end: a paused one answers no one, not even an UNPAUSE.
    with RedisServer() as slow, slow.client() as pauser:
        store = RedisRateLimitStore.from_url(slow.url, socket_timeout=0.2)
        with sync_client(url, store) as client:
            client.me()
            pauser.execute_command("CLIENT", "PAUSE", "10000", "ALL")  # pyright: ignore[reportUnknownMemberType]
            started = time.monotonic()
            assert client.me().id == "user_1"
            elapsed = time.monotonic() - started
        store.close()
    assert elapsed < 5  # the socket timeout (0.2 s), not the 10 s pause
    [warning] = redis_warnings(caplog)
    assert "Timeout" in warning


@pytest.mark.parametrize(
    "garbage",
    [
        {"window": ("set", "not a hash")},
        {"leases": ("lpush", "not a sorted set")},
        {
            "window": (
                "hset",
                {"known": "1", "limit": "lots", "remaining": "nan", "reset_at": "inf"},
            )
        },
        {"leases": ("zadd", {f"junk{n}": 1e12 for n in range(10)})},  # leases from far future
    ],
)
def test_garbage_under_the_keys_is_recovered(
    garbage: dict[str, tuple[str, Any]],
    api: tuple[WindowedApi, str],
    redis_url: str,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    with sync_client(url, store, max_retry_wait=0.001) as client:
        client.me()
        [window] = budget_keys(redis_client)
        keys = {"window": window, "leases": window + ":leases"}
        for which, (command, value) in garbage.items():
            redis_client.delete(keys[which])
            if command == "set":
                redis_client.set(keys[which], value)
            elif command == "lpush":
                redis_client.lpush(keys[which], value)
            elif command == "hset":
                redis_client.hset(keys[which], mapping=value)
            else:
                redis_client.zadd(keys[which], value)
        for _ in range(3):
            assert client.me().id == "user_1"
    store.close()
    assert redis_warnings(caplog) == []  # recovered inside the script, not by falling back
    assert redis_client.type(keys["window"]) == b"hash"
    assert redis_client.hget(keys["window"], "limit") == b"1000"


def test_a_flushed_script_cache_is_reloaded(
    api: tuple[WindowedApi, str],
    redis_url: str,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    with sync_client(url, store) as client:
        client.me()
        redis_client.script_flush()  # as after a Redis restart or failover
        client.me()
    store.close()
    assert redis_warnings(caplog) == []
    assert len(budget_keys(redis_client)) == 1


# Clocks.


class SkewedClock(SystemClock):
    """The real clock, `offset` seconds off: a process whose clock is wrong."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset


def test_clocks_minutes_apart_see_the_same_budget(
    tight_api: tuple[WindowedApi, str], redis_url: str
) -> None:
    """Two processes whose clocks differ by 10 minutes, and from the server's: the wait for the
    reset is the same for both, measured by Redis from the answers' Date."""
    _, url = tight_api
    store = RedisRateLimitStore.from_url(redis_url)
    waits: list[float] = []
    with (
        sync_client(url, store, clock=SkewedClock(-300), max_retry_wait=0.001) as behind,
        sync_client(url, store, clock=SkewedClock(+300), max_retry_wait=0.001) as ahead,
    ):
        behind.me()
        ahead.me()
        behind.me()
        for client in (behind, ahead):
            with pytest.raises(craft_sdk.RateLimitError) as caught:
                client.me()
            waits.append(caught.value.retry_after or 0)
    store.close()
    assert all(0 < wait <= 61 for wait in waits)  # the window's, not 5 minutes off
    assert abs(waits[0] - waits[1]) < 1


# Construction.


def test_a_store_serves_only_the_clients_its_redis_client_can(redis_url: str) -> None:
    sync_redis = redis.Redis.from_url(redis_url)  # pyright: ignore[reportUnknownMemberType]
    with pytest.raises(TypeError, match=r"AsyncCraftClient needs a redis\.asyncio\.Redis"):
        AsyncCraftClient(api_key=KEY, rate_limit_store=RedisRateLimitStore(sync_redis))
    async_redis = redis.asyncio.Redis.from_url(redis_url)  # pyright: ignore[reportUnknownMemberType]
    with pytest.raises(TypeError, match=r"CraftClient needs a redis\.Redis"):
        CraftClient(api_key=KEY, rate_limit_store=RedisRateLimitStore(async_redis))
    with pytest.raises(TypeError, match="redis_client must be"):
        RedisRateLimitStore("redis://localhost")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lease_seconds"):
        RedisRateLimitStore(sync_redis, lease_seconds=0)
    sync_redis.close()
    asyncio.run(async_redis.aclose())


def test_the_store_shows_no_url_it_may_hold_a_password() -> None:
    store = RedisRateLimitStore.from_url("redis://:hunter2@localhost:1/0")
    assert "hunter2" not in repr(store)
    assert "localhost" not in repr(store)


def test_one_store_serves_clients_on_successive_event_loops(
    api: tuple[WindowedApi, str],
    redis_url: str,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each async client opens its own connections on its loop, and closes them."""
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url)

    async def main() -> None:
        async with AsyncCraftClient(api_key=KEY, base_url=url, rate_limit_store=store) as client:
            await client.me()

    asyncio.run(main())
    asyncio.run(main())
    assert redis_warnings(caplog) == []
    assert len(budget_keys(redis_client)) == 1


# Windows that reset early or late.


@pytest.mark.parametrize("reset_offset", [-0.5, 0.5], ids=["early", "late"])
def test_a_window_that_resets_early_or_late_costs_no_caller_a_429(
    reset_offset: float, redis_url: str
) -> None:
    """The server's real reset comes half a second before (early) or after (late) the one it
    announces. Early: requests wait a little longer than needed. Late: the first requests after
    the announced reset get 429s, whose wait holds back the whole budget; their retries go
    through. Either way, 8 threads calling for 2.5 s see no RateLimitError."""
    windowed = WindowedApi(limit=10, window=2.0, reset_offset=reset_offset)
    store = RedisRateLimitStore.from_url(redis_url)
    errors: list[BaseException] = []
    calls = [0]
    with LoopbackServer(windowed) as server, sync_client(server.url, store) as client:
        ends = time.monotonic() + 2.5

        def caller() -> None:
            while time.monotonic() < ends:
                try:
                    client.me()
                    calls[0] += 1
                except craft_sdk.CraftError as error:
                    errors.append(error)
                    return

        threads = [threading.Thread(target=caller) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    store.close()
    assert errors == []
    assert calls[0] >= 10  # at least one window's budget went through
    if reset_offset < 0:
        assert windowed.refused == 0  # early: nothing is sent before the reset
    else:
        # Late: only the requests that arrived between the announced and the real reset.
        assert windowed.refused <= 10  # seen: 2 in 3 s


# What the store does not ask Redis for.


def test_a_call_with_less_time_left_than_redis_may_take_does_not_ask_it(
    api: tuple[WindowedApi, str], redis_url: str, redis_client: redis.Redis
) -> None:
    """A deadline shorter than the socket timeout: a slow Redis could outlast it."""
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url, socket_timeout=0.25)
    with sync_client(url, store) as client:
        assert client.with_options(deadline=0.2).me().id == "user_1"
        assert budget_keys(redis_client) == []  # not asked
        assert client.with_options(deadline=0.3).me().id == "user_1"
        assert len(budget_keys(redis_client)) == 1
    store.close()


def test_a_client_without_a_key_makes_its_token_calls(
    api: tuple[WindowedApi, str], redis_url: str
) -> None:
    """A for_oauth() client has no key to name a budget by: its calls, which need none, go on
    its in-process budget (this server has no OAuth endpoint, so the call is sent and gets a
    404), and a call that needs a key fails as it would without the store."""
    windowed, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    with CraftClient.for_oauth(base_url=url, rate_limit_store=store) as client:
        with pytest.raises(craft_sdk.NotFoundError):
            client.oauth.refresh_token(refresh_token="r", client_id="c", client_secret="s")
        with pytest.raises(craft_sdk.CraftError, match="made with for_oauth"):
            client.me()
    store.close()
    assert sum(count.accepted for count in windowed.counts().values()) == 1


def test_redis_stopped_under_many_threads_warns_once(
    api: tuple[WindowedApi, str],
    redis_url: str,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """16 threads calling while Redis goes away: every call succeeds, and the process logs one
    warning, not one per thread or request."""
    _, url = api
    store = RedisRateLimitStore.from_url(redis_url)
    failures: list[BaseException] = []
    done = [0]
    lock = threading.Lock()
    with sync_client(url, store) as client:
        client.me()
        redis_server.stop()
        barrier = threading.Barrier(16)

        def caller() -> None:
            barrier.wait(timeout=5)
            for _ in range(10):
                try:
                    client.me()
                except craft_sdk.CraftError as error:
                    failures.append(error)
                    return
                with lock:
                    done[0] += 1

        threads = [threading.Thread(target=caller) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    store.close()
    assert failures == []
    assert done[0] == 160
    assert len(redis_warnings(caplog)) == 1
