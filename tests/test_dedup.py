"""The webhook deduplication stores: the `Dedup` protocol's meaning, the same tests on
`MemoryDedup` (on a fake clock) and on `RedisDedup` (on the real redis-server of the session),
races between threads and between processes, and what each store alone promises."""

# redis-py's command methods take untyped **kwargs, which strict pyright reports at every call.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, cast

import pytest
import redis
import redis.asyncio

from craft_sdk._dedup import Claim, Dedup, MemoryDedup
from craft_sdk.redis import DEFAULT_DEDUP_PREFIX, RedisDedup
from craft_sdk.testing import FakeClock

from .conftest import run_together, wait_until

KEY: Final = "ab" * 32  # a delivery's signature: 64 hex characters
OTHER_KEY: Final = "cd" * 32
WORKER: Final = Path(__file__).parent / "dedup_worker.py"


@dataclasses.dataclass
class Store:
    """A store under test, and a way to let its entries run out."""

    dedup: MemoryDedup | RedisDedup
    lasts: Callable[[str, float], None]
    """`lasts(key, seconds)`: check that `key`'s entry lasts `seconds` (and no longer), then
    let that time pass."""


MakeStore = Callable[..., Store]


class YieldingRedis(redis.Redis):
    """A client that lets other threads run before each command: a claim made of several
    commands (a GET, then a SET) would interleave with the others', and more than one would
    get "new"."""

    def execute_command(self, *args: Any, **options: Any) -> object:
        time.sleep(0)  # gives up the GIL
        execute = cast(Callable[..., object], super().execute_command)
        return execute(*args, **options)


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """Makes stores of one kind, with the options given: `make_store(ttl=0.3)`."""
    clients: list[redis.Redis] = []

    def memory(**options: Any) -> Store:
        clock = FakeClock()
        dedup = MemoryDedup(clock=clock.monotonic, **options)

        def lasts(key: str, seconds: float) -> None:
            clock.advance(seconds * 0.99)
            assert dedup.claim(key) != "new"  # "busy" and "done" change nothing
            clock.advance(seconds * 0.02)

        return Store(dedup, lasts)

    def on_redis(**options: Any) -> Store:
        url: str = request.getfixturevalue("redis_url")
        # A generous timeout: a loaded machine must not fail a test that is not about speed.
        client = YieldingRedis.from_url(url, socket_timeout=10)
        clients.append(client)
        dedup = RedisDedup(client, **options)

        def lasts(key: str, seconds: float) -> None:
            # Redis's clock cannot be faked: its expiry, in milliseconds, is read instead, and
            # then waited out for real (a few tenths of a second).
            left = int(client.pttl(DEFAULT_DEDUP_PREFIX + key))
            assert seconds * 1000 / 2 < left <= seconds * 1000  # set for as long as asked
            time.sleep(left / 1000 + 0.01)

        return Store(dedup, lasts)

    yield memory if request.param == "memory" else on_redis
    for client in clients:
        client.close()


# The protocol, on both stores.


def test_a_delivery_is_new_then_busy_then_done(make_store: MakeStore) -> None:
    dedup = make_store().dedup
    assert isinstance(dedup, Dedup)
    assert dedup.claim(KEY) == "new"
    assert dedup.claim(KEY) == "busy"
    assert dedup.claim(OTHER_KEY) == "new"  # each delivery on its own
    dedup.complete(KEY)
    assert dedup.claim(KEY) == "done"
    assert dedup.claim(KEY) == "done"
    assert dedup.claim(OTHER_KEY) == "busy"


def test_a_released_delivery_is_new_again(make_store: MakeStore) -> None:
    """A failed handling is forgotten, so that the sender's retry runs the handlers again."""
    dedup = make_store().dedup
    assert dedup.claim(KEY) == "new"
    dedup.release(KEY)
    assert dedup.claim(KEY) == "new"
    assert dedup.claim(KEY) == "busy"


def test_a_late_release_leaves_a_delivery_done(make_store: MakeStore) -> None:
    dedup = make_store().dedup
    assert dedup.claim(KEY) == "new"
    dedup.complete(KEY)
    dedup.release(KEY)
    assert dedup.claim(KEY) == "done"


def test_a_claim_runs_out_after_the_lease(make_store: MakeStore) -> None:
    """A process that died mid-handling blocks its delivery for `lease` seconds only."""
    store = make_store(lease=0.2)
    assert store.dedup.claim(KEY) == "new"
    store.lasts(KEY, 0.2)
    assert store.dedup.claim(KEY) == "new"


def test_a_done_delivery_is_forgotten_after_the_ttl(make_store: MakeStore) -> None:
    store = make_store(ttl=0.3)
    assert store.dedup.claim(KEY) == "new"
    store.dedup.complete(KEY)
    store.lasts(KEY, 0.3)
    assert store.dedup.claim(KEY) == "new"


class YieldingKey(str):
    """A key that lets other threads run whenever a dict hashes it: without a lock around the
    whole claim, they would all look it up before any of them stored it."""

    def __hash__(self) -> int:
        time.sleep(0)  # gives up the GIL
        return super().__hash__()


def test_twenty_threads_claiming_one_delivery_get_one_new(make_store: MakeStore) -> None:
    dedup = make_store().dedup
    start = threading.Barrier(20, timeout=30)

    def claim(key: str) -> Claim:
        start.wait()
        return dedup.claim(key)

    with ThreadPoolExecutor(max_workers=20) as pool:
        claims = Counter(pool.map(claim, [YieldingKey(KEY)] * 20))
    assert claims == {"new": 1, "busy": 19}


# RedisDedup alone.


def test_four_processes_claiming_one_delivery_on_redis_get_one_new(redis_url: str) -> None:
    outputs = run_together([[sys.executable, str(WORKER), KEY, redis_url]] * 4)
    assert sorted(out.strip() for out, _ in outputs) == ["busy", "busy", "busy", "new"]


def test_redis_dedup_writes_under_its_prefix_with_an_expiry(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        # A client that decodes answers to str works as one that does not.
        dedup = RedisDedup(client, ttl=120, lease=30, prefix="app:")
        assert dedup.claim(KEY) == "new"
        assert client.get(f"app:{KEY}") == "busy"
        assert 29_000 < int(client.pttl(f"app:{KEY}")) <= 30_000
        assert dedup.claim(KEY) == "busy"
        dedup.complete(KEY)
        assert client.get(f"app:{KEY}") == "done"
        assert 119_000 < int(client.pttl(f"app:{KEY}")) <= 120_000
        assert dedup.claim(KEY) == "done"
        assert client.keys("*") == [f"app:{KEY}"]


def test_redis_dedup_raises_what_redis_raises() -> None:
    """Not swallowed: the router answers 503, so that the sender retries the delivery."""
    dedup = RedisDedup.from_url("unix:///nonexistent-craft-dedup/redis.sock")
    operations: list[Callable[[str], object]] = [dedup.claim, dedup.complete, dedup.release]
    for operation in operations:
        with pytest.raises(redis.ConnectionError):
            operation(KEY)


def test_redis_dedup_from_url_fails_fast_and_keeps_the_url_out_of_its_repr() -> None:
    dedup = RedisDedup.from_url("redis://:hunter2@127.0.0.1:1/0", ttl=10, socket_timeout=0.5)
    options = cast(dict[str, object], dedup._client.get_connection_kwargs())
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.5
    assert "hunter2" not in repr(dedup)
    assert repr(dedup) == "RedisDedup(prefix='craft:webhook:', ttl=10.0, lease=60.0)"
    dedup.close()


def test_redis_dedup_close_closes_only_the_connections_it_opened(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as watcher:

        def clients() -> int:
            return len(watcher.client_list())

        given = RedisDedup(redis.Redis.from_url(redis_url))
        given.claim(KEY)
        owned = RedisDedup.from_url(redis_url)
        owned.claim(OTHER_KEY)
        assert clients() == 3
        owned.close()
        wait_until(lambda: clients() == 2)
        given.close()
        assert given.claim(KEY) == "busy"  # on the connection it kept
        assert clients() == 2


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"redis_client": redis.asyncio.Redis.from_url("redis://127.0.0.1:1")},
            TypeError,
            "must be a redis.Redis",
        ),
        ({"redis_client": "redis://localhost"}, TypeError, "must be a redis.Redis"),
        ({"ttl": 0}, ValueError, "ttl must be a finite number of seconds > 0"),
        ({"lease": -1}, ValueError, "lease must be a finite number of seconds > 0"),
        ({"lease": "60"}, TypeError, "lease must be a number of seconds"),
        ({"prefix": None}, TypeError, "prefix must be a str"),
    ],
)
def test_redis_dedup_refuses_bad_arguments(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    options.setdefault("redis_client", redis.Redis(unix_socket_path="/nonexistent"))
    with pytest.raises(error, match=message):
        RedisDedup(**options)


# MemoryDedup alone.


def test_memory_dedup_forgets_the_oldest_done_deliveries_past_max_size() -> None:
    dedup = MemoryDedup(max_size=5, clock=FakeClock().monotonic)
    keys = [f"{number:064x}" for number in range(15)]
    for key in keys:
        assert dedup.claim(key) == "new"
        dedup.complete(key)
    assert repr(dedup).endswith("entries=5)")
    assert [dedup.claim(key) for key in keys[10:]] == ["done"] * 5
    assert [dedup.claim(key) for key in keys[:10]] == ["new"] * 10


def test_memory_dedup_never_forgets_a_busy_delivery_for_size() -> None:
    dedup = MemoryDedup(max_size=1, clock=FakeClock().monotonic)
    assert dedup.claim(KEY) == "new"
    for number in range(3):
        key = f"{number:064x}"
        assert dedup.claim(key) == "new"
        dedup.complete(key)
    assert dedup.claim(KEY) == "busy"
    assert repr(dedup).endswith("entries=2)")


def test_memory_dedup_drops_expired_entries_as_it_claims() -> None:
    """Memory stays bounded by what is live, not by what was ever claimed."""
    clock = FakeClock()
    dedup = MemoryDedup(ttl=10, lease=5, clock=clock.monotonic)
    for number in range(6):
        key = f"{number:064x}"
        assert dedup.claim(key) == "new"
        if number % 2:
            dedup.complete(key)  # half done, half still claimed
    assert repr(dedup).endswith("entries=6)")
    clock.advance(5)
    assert dedup.claim(KEY) == "new"
    assert repr(dedup).endswith("entries=4)")  # the three claims ran out
    dedup.complete(KEY)
    clock.advance(5)
    assert dedup.claim(OTHER_KEY) == "new"
    # The three first done ran out; KEY, done later, stays.
    assert repr(dedup) == "MemoryDedup(ttl=10.0, max_size=10000, lease=5.0, entries=2)"
    assert dedup.claim(KEY) == "done"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"ttl": 0}, ValueError, "ttl must be a finite number of seconds > 0"),
        ({"ttl": float("inf")}, ValueError, "ttl must be a finite number"),
        ({"ttl": "3600"}, TypeError, "ttl must be a number of seconds"),
        ({"lease": -5}, ValueError, "lease must be a finite number of seconds > 0"),
        ({"max_size": 0}, ValueError, "max_size must be at least 1"),
        ({"max_size": 10.5}, TypeError, "max_size must be an int"),
        ({"max_size": True}, TypeError, "max_size must be an int"),
        ({"clock": 12.0}, TypeError, "clock must be a function"),
    ],
)
def test_memory_dedup_refuses_bad_arguments(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        MemoryDedup(**options)
