"""One rate-limit budget for every process that calls Craft with the same key.

```python
from craft_sdk import CraftClient
from craft_sdk.redis import RedisRateLimitStore

store = RedisRateLimitStore.from_url("redis://localhost:6379/0")
client = CraftClient(rate_limit_store=store)
```

Each client keeps its budget in process; a gunicorn app with 8 workers, or Celery workers on
several machines, would then spend the key's budget up to 8 times over. With this store, every
client of every process that shares the Redis asks one budget per key and base URL: what the API
last reported, minus the requests in flight anywhere.

How (docs/rate-limits-fleet.md says more):

- Every change is one Lua script (`_rate_limit.lua`, the rules of `_rate_limit.py`), run through
  redis-py's `Script`, which loads it again after a `NOSCRIPT`. "Now" is Redis's `TIME`; a reset
  is placed on it from the answer's own `Date`, so no process's clock enters.
- A request in flight is a lease that expires: a process killed mid-request gives its share back
  within `lease_seconds`. The keys expire a minute after their window.
- The keys are named by a digest of the key and base URL, under `prefix`; the key never reaches
  Redis.
- Redis down, slow or failing never fails a call: the client falls back to its in-process budget,
  logs one warning, and tries Redis again every `RETRY_REDIS_AFTER` seconds.
- One round trip before a request, one after.

`RedisDedup` is the webhook router's deduplication store for receivers that run as many
processes: a delivery is claimed with one atomic `SET NX` (a small Lua script) and expires by
itself, so that a process killed mid-handling blocks nothing for long.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import itertools
import logging
import os
import threading
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, Final, Union, cast

if importlib.util.find_spec("redis") is None:  # pragma: no cover - users without the extra
    raise ImportError('craft_sdk.redis needs redis-py: pip install "craft-sdk[redis]"')

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from ._checks import check_seconds, check_text
from ._clock import Clock
from ._dedup import Claim, Dedup
from ._errors import CraftError
from ._rate_limit import (
    Admission,
    Gate,
    Lease,
    Observation,
    RateLimit,
    RateLimitGate,
    RateLimitStore,
    Wait,
    Window,
    pace,
)

__all__ = ["RedisDedup", "RedisRateLimitStore"]

DEFAULT_PREFIX: Final = "craft:rate-limit:"
DEFAULT_LEASE_SECONDS: Final = 30.0
DEFAULT_SOCKET_TIMEOUT: Final = 0.25
MAX_LEASE_SECONDS: Final = 3600.0  # as MAX_LEASE in _rate_limit.lua
RETRY_REDIS_AFTER: Final = 1.0
"""Seconds between attempts to reach Redis again once it failed: one request tries, the others
use the in-process budget meanwhile."""

logger: Final = logging.getLogger("craft_sdk")

_SCRIPT: Final = resources.files("craft_sdk").joinpath("_rate_limit.lua").read_text("utf-8")

AnyRedis = Union["redis.Redis", "redis.asyncio.Redis"]


class RedisRateLimitStore(RateLimitStore):
    """Keeps the rate-limit budget in Redis (or Valkey), shared by every process that uses it.

    ```python
    store = RedisRateLimitStore.from_url("redis://localhost:6379/0")
    client = CraftClient(rate_limit_store=store)
    aclient = AsyncCraftClient(rate_limit_store=store)
    ```

    Clients of the same key and base URL share one budget, in any process; others get their own.

    Args:
        redis_client: A `redis.Redis` for `CraftClient`s, or a `redis.asyncio.Redis` for
            `AsyncCraftClient`s. Its `socket_timeout` bounds how long a slow Redis can hold a
            request (set a short one); the store never closes it. `from_url` makes its own.
        prefix: Put before every key the store writes.
        lease_seconds: How long a request in flight holds its place in the budget unless its
            answer arrives first: the time a process killed mid-request keeps its share.
            A request that takes longer loses its place, which only costs precision (the API
            has counted it by then). At most an hour.

    Raises:
        TypeError: `redis_client` is not a redis-py client.
        ValueError: `lease_seconds` is not between 0 and 3600.
    """

    prefix: str
    """Put before every key the store writes."""
    lease_seconds: float
    """How long a request in flight holds its place unless its answer arrives first."""

    def __init__(
        self,
        redis_client: redis.Redis | redis.asyncio.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        if not isinstance(cast(object, redis_client), (redis.Redis, redis.asyncio.Redis)):
            raise TypeError(
                "redis_client must be a redis.Redis or a redis.asyncio.Redis, not "
                f"{type(redis_client).__name__}."
            )
        self._setup(prefix, lease_seconds, redis_client=redis_client, url=None, options={})

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    ) -> RedisRateLimitStore:
        """A store on the Redis at `url`, for sync and async clients alike.

        Args:
            url: `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS, or
                `unix:///path/to/redis.sock`.
            prefix: Put before every key the store writes.
            lease_seconds: How long a request in flight holds its place unless answered first
                (see the class).
            socket_timeout: Seconds to connect, and to wait for each answer, before the client
                falls back to its in-process budget. Never retried: Redis is asked again only
                after `RETRY_REDIS_AFTER` seconds.

        Returns:
            The store. Sync clients share one connection pool; each async client opens its own
            on its event loop, and closes it when it is closed.
        """
        store = cls.__new__(cls)
        options = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
        store._setup(prefix, lease_seconds, redis_client=None, url=url, options=options)
        return store

    def _setup(
        self,
        prefix: str,
        lease_seconds: float,
        *,
        redis_client: AnyRedis | None,
        url: str | None,
        options: dict[str, Any],
    ) -> None:
        if not 0 < lease_seconds <= MAX_LEASE_SECONDS:
            raise ValueError(f"lease_seconds must be over 0 and at most 3600, not {lease_seconds}")
        self.prefix = prefix
        self.lease_seconds = float(lease_seconds)
        self._client = redis_client
        self._url = url
        self._options = options
        self._lock = threading.Lock()

    def gate_for(
        self,
        *,
        api_key: Callable[[], str],
        base_url: str,
        fallback: RateLimitGate,
        asynchronous: bool,
    ) -> Gate:
        """The gate of one client on this store (see `RateLimitStore.gate_for`).

        Raises:
            TypeError: The store wraps a sync client and the gate is for an async one, or the
                other way round.
        """
        client, owned = self._client_for(asynchronous)
        return _RedisGate(
            self,
            client,
            owned=owned,
            budget=functools.partial(_budget_keys, prefix=self.prefix, base_url=base_url),
            api_key=api_key,
            fallback=fallback,
        )

    def _client_for(self, asynchronous: bool) -> tuple[AnyRedis, bool]:
        """The Redis client a new gate uses, and whether the gate owns it (closes it)."""
        if self._url is None:
            assert self._client is not None
            if isinstance(self._client, redis.asyncio.Redis) != asynchronous:
                wanted = "redis.asyncio.Redis" if asynchronous else "redis.Redis"
                client = "AsyncCraftClient" if asynchronous else "CraftClient"
                raise TypeError(
                    f"This store wraps a {type(self._client).__module__}.Redis, and a {client} "
                    f"needs a {wanted}: give the store one, or use RedisRateLimitStore.from_url, "
                    "which serves both."
                )
            return self._client, False
        if asynchronous:
            # Its connections belong to the event loop it first runs on, as the client's do.
            # Never retried: a failure falls back at once (the same for the sync client below).
            no_retry = AsyncRetry(NoBackoff(), 0)
            made = redis.asyncio.Redis.from_url(self._url, retry=no_retry, **self._options)  # pyright: ignore[reportUnknownMemberType]
            return made, True
        with self._lock:
            if self._client is None:
                self._client = _unretried_client(self._url, **self._options)
            return self._client, False

    def close(self) -> None:
        """Close the sync connection pool `from_url` opened (async clients close their own)."""
        if self._url is not None and isinstance(self._client, redis.Redis):
            self._client.close()
            self._client = None

    def __repr__(self) -> str:
        # Never the URL: it may hold a password.
        return f"RedisRateLimitStore(prefix={self.prefix!r}, lease_seconds={self.lease_seconds})"


@functools.lru_cache(maxsize=16)
def _budget_keys(api_key: str, *, prefix: str, base_url: str) -> tuple[str, str]:
    """The Redis keys of one budget: the window and the leases, in one hash slot (the braces) so
    that a script may use both on a Redis Cluster. Cached: a client reveals the same key for
    every request, and hashing costs more than the lookup."""
    digest = hashlib.sha256(f"{base_url}\n{api_key}".encode()).hexdigest()[:32]
    return f"{prefix}{{{digest}}}", f"{prefix}{{{digest}}}:leases"


class _RedisGate:
    """A client's gate on the store: the Lua script when Redis answers, `fallback` when not.

    The sync and async methods differ only in awaiting Redis (`_run` and `_arun`, which also
    note its failures); what they do before and after is in the shared helpers below them.
    """

    def __init__(
        self,
        store: RedisRateLimitStore,
        client: AnyRedis,
        *,
        owned: bool,
        budget: Callable[[str], tuple[str, str]],
        api_key: Callable[[], str],
        fallback: RateLimitGate,
    ) -> None:
        self._store = store
        self._client = client
        self._owned = owned
        # A Script (sync) or an AsyncScript: called the same way, awaited by the async methods.
        self._script: Callable[..., Any] = client.register_script(_SCRIPT)
        self._budget = budget
        self._api_key = api_key
        self._fallback = fallback
        self._health = _Health(fallback.clock)
        # How long Redis may keep a request waiting: a call with less time left than this
        # before its deadline does not ask it.
        connection = cast(
            Mapping[str, object],
            client.get_connection_kwargs(),  # pyright: ignore[reportUnknownMemberType]
        )
        timeout = connection.get("socket_timeout")
        self._slowest_answer = timeout if isinstance(timeout, (int, float)) else None
        # Unique across the fleet: a random part for the gate, a counter for the request.
        self._lease_prefix = os.urandom(8).hex()
        self._lease_numbers = itertools.count()
        self._window = Window()

    @property
    def last(self) -> RateLimit | None:
        """The fleet's budget as the last script saw it; the in-process one while Redis is away."""
        return self._fallback.last if self._health.down else self._window.rate_limit

    def acquire(self, admission: Admission) -> Lease | Wait:
        lease = self._new_lease(admission)
        if lease is not None and (
            reply := self._run(lease.keys, self._admit_args(lease, admission))
        ):
            return self._admitted(reply, lease, admission)
        return self._fallback.acquire(admission)

    async def aacquire(self, admission: Admission) -> Lease | Wait:
        lease = self._new_lease(admission)
        if lease is not None and (
            reply := await self._arun(lease.keys, self._admit_args(lease, admission))
        ):
            return self._admitted(reply, lease, admission)
        return self._fallback.acquire(admission)

    def release(self, lease: Lease, headers: Mapping[str, str] | None, status: int | None) -> None:
        if not isinstance(lease, _RedisLease):  # admitted in process, while Redis was away
            self._fallback.release(lease, headers, status)
        elif reply := self._run(lease.keys, self._release_args(lease, headers, status)):
            self._answered(reply)

    async def arelease(
        self, lease: Lease, headers: Mapping[str, str] | None, status: int | None
    ) -> None:
        if not isinstance(lease, _RedisLease):
            self._fallback.release(lease, headers, status)
        elif reply := await self._arun(lease.keys, self._release_args(lease, headers, status)):
            self._answered(reply)

    def _run(self, keys: tuple[str, str], args: list[str]) -> list[Any] | None:
        """The script's reply, or None when Redis failed (and the failure was noted). After a
        failed release the lease expires by itself."""
        try:
            return cast(list[Any], self._script(keys=keys, args=args))
        except _REDIS_TROUBLE as error:
            self._health.failed(error)
            return None

    async def _arun(self, keys: tuple[str, str], args: list[str]) -> list[Any] | None:
        """`_run` for the async client."""
        try:
            return cast(list[Any], await self._script(keys=keys, args=args))
        except _REDIS_TROUBLE as error:
            self._health.failed(error)
            return None

    def close(self) -> None:
        if self._owned and isinstance(self._client, redis.Redis):
            self._client.close()

    async def aclose(self) -> None:
        if self._owned and isinstance(self._client, redis.asyncio.Redis):
            await self._client.aclose()

    # What the sync and async methods share.

    def _new_lease(self, admission: Admission) -> _RedisLease | None:
        """A lease to ask Redis for, or None to use the in-process budget for this request."""
        if not self._health.worth_asking():
            return None
        slowest, deadline_left = self._slowest_answer, admission.deadline_left()
        if deadline_left is not None and slowest is not None and deadline_left < slowest:
            return None  # Redis could keep it waiting past its deadline
        try:
            keys = self._budget(self._api_key())
        except CraftError:
            # No usable key (a for_oauth() client, or a key function that failed): the request
            # goes on the in-process budget, and fails or not as it would without the store.
            return None
        return _RedisLease(f"{self._lease_prefix}:{next(self._lease_numbers)}", keys)

    def _admit_args(self, lease: _RedisLease, admission: Admission) -> list[str]:
        return admit_args(lease.name, self._store.lease_seconds, insist=admission.insist)

    def _release_args(
        self, lease: _RedisLease, headers: Mapping[str, str] | None, status: int | None
    ) -> list[str]:
        if headers is None:  # no answer came: nothing to learn
            return release_args(lease.name, self._store.lease_seconds, None, answered=False)
        seen = Observation.read(headers, status)
        # The in-process budget learns too, so that it starts informed if Redis goes away.
        self._fallback.take_in(seen)
        return release_args(lease.name, self._store.lease_seconds, seen, answered=True)

    def _admitted(self, reply: list[Any], lease: _RedisLease, admission: Admission) -> Lease | Wait:
        verdict = self._answered(reply)
        if verdict == "go":
            return lease
        return pace(float(verdict), admission, jitter=self._fallback.jitter())

    def _answered(self, reply: list[Any]) -> str:
        """Note the fleet's window from a script's reply, and return its verdict."""
        self._health.answered()
        verdict, limit, remaining, reset = (_str(part) for part in reply)
        self._window = Window(
            known=True,
            limit=_int_or_none(limit),
            remaining=_int_or_none(remaining),
            reset=float(reset) if reset else None,
        )
        return verdict


class _RedisLease(Lease):
    """A place in the budget kept in Redis: its name among the leases, and the budget's keys."""

    __slots__ = ("keys", "name")

    def __init__(self, name: str, keys: tuple[str, str]) -> None:
        self.name = name
        self.keys = keys


class _Health:
    """Whether Redis is worth asking, and the one warning when it stops answering."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.down = False
        self._next_try = 0.0

    def worth_asking(self) -> bool:
        if not self.down:
            return True
        now = self._clock.monotonic()
        with self._lock:
            if now < self._next_try:
                return False
            self._next_try = now + RETRY_REDIS_AFTER  # this request tries; the others wait
            return True

    def failed(self, error: Exception) -> None:
        with self._lock:
            first = not self.down
            self.down = True
            self._next_try = self._clock.monotonic() + RETRY_REDIS_AFTER
        if first:
            logger.warning(
                "The rate-limit store's Redis failed (%s: %s); this process counts its own "
                "requests against the rate limit until Redis answers again.",
                type(error).__name__,
                error,
            )

    def answered(self) -> None:
        if not self.down:
            return
        with self._lock:
            was_down, self.down = self.down, False
        if was_down:
            logger.info("The rate-limit store's Redis answers again: the budget is shared again.")


def admit_args(
    lease: str, lease_seconds: float, *, insist: bool, now: float | None = None
) -> list[str]:
    """The script's arguments to admit a request under `lease` (see _rate_limit.lua; `insist`
    as for `admit`). `now` is for the tests' vectors only: without it the script reads Redis's
    clock."""
    return ["admit", lease, repr(lease_seconds), _text(now), "1" if insist else ""]


def release_args(
    lease: str,
    lease_seconds: float,
    seen: Observation | None,
    *,
    answered: bool,
    now: float | None = None,
) -> list[str]:
    """The script's arguments to give `lease` back and, if an answer came, take in what it said
    (`seen`: None when it said nothing of the limit)."""
    if not answered:
        return ["release", lease, repr(lease_seconds), _text(now)]
    said = ("",) * 5 if seen is None else (_text(value) for value in seen)
    return ["observe", lease, repr(lease_seconds), _text(now), *said]


# Every way Redis can fail a request: its own errors (connection, timeout, a script error),
# and an OSError that escaped redis-py's wrapping.
_REDIS_TROUBLE: Final = (redis.RedisError, OSError)


def _text(value: float | None) -> str:
    return "" if value is None else repr(value)


def _str(part: object) -> str:
    return part.decode() if isinstance(part, bytes) else str(part)


def _unretried_client(url: str, **options: Any) -> redis.Redis:
    """A sync client on `url` that never retries: a failure is answered at once (by falling
    back, for the rate-limit store; by a 503 and the sender's retry, for the dedup store)."""
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **options)  # pyright: ignore[reportUnknownMemberType]


def _int_or_none(text: str) -> int | None:
    return int(float(text)) if text else None


# Webhook deduplication.

DEFAULT_DEDUP_PREFIX: Final = "craft:webhook:"

# One round trip, atomic: the key is set only if absent, and read back in the same script, so
# that a release between the two can never make a claim answer wrongly.
_CLAIM_SCRIPT: Final = """
if redis.call('SET', KEYS[1], 'busy', 'NX', 'PX', ARGV[1]) then return 'new' end
if redis.call('GET', KEYS[1]) == 'done' then return 'done' end
return 'busy'
"""
# Only a claim is forgotten: a release that comes after a completion leaves it done.
_RELEASE_SCRIPT: Final = """
if redis.call('GET', KEYS[1]) == 'busy' then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisDedup(Dedup):
    """Remembers handled webhook deliveries in Redis (or Valkey), for every process that uses it.

    ```python
    from craft_sdk.redis import RedisDedup

    dedup = RedisDedup.from_url("redis://localhost:6379/0", ttl=3600)
    ```

    A claim is one atomic round trip (`SET NX` with an expiry, in a Lua script), so of many
    processes claiming one delivery at once exactly one runs it. Claims and completions expire
    by themselves: a process killed mid-handling holds its delivery for at most `lease` seconds.

    Redis failing is not hidden: `claim`, `complete` and `release` raise redis-py's
    `redis.RedisError` (a connection error, a timeout), and the router then answers 503 so that
    the sender retries the delivery later.

    Args:
        redis_client: A sync `redis.Redis`; the store never closes it.
        ttl: Seconds a handled delivery is remembered as done. Longer than the sender retries.
        lease: Seconds a claim lasts unless completed or released first: a handler that runs
            longer may see its delivery claimed again.
        prefix: Put before every key the store writes.

    Raises:
        TypeError: `redis_client` is not a sync redis-py client, or an argument has the wrong
            type.
        ValueError: `ttl` or `lease` is not a finite number over 0.
    """

    prefix: str
    """Put before every key the store writes."""
    ttl: float
    """Seconds a handled delivery is remembered as done."""
    lease: float
    """Seconds a claim lasts unless completed or released first."""

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        ttl: float = 3600,
        lease: float = 60,
        prefix: str = DEFAULT_DEDUP_PREFIX,
    ) -> None:
        if not isinstance(cast(object, redis_client), redis.Redis):
            raise TypeError(
                f"redis_client must be a redis.Redis, not {type(redis_client).__name__}"
            )
        self.ttl = check_seconds("ttl", ttl, zero_allowed=False)
        self.lease = check_seconds("lease", lease, zero_allowed=False)
        self.prefix = check_text("prefix", prefix, max_length=None, empty=True)
        self._client = redis_client
        self._owned = False
        self._claim = redis_client.register_script(_CLAIM_SCRIPT)
        self._release = redis_client.register_script(_RELEASE_SCRIPT)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        ttl: float = 3600,
        lease: float = 60,
        prefix: str = DEFAULT_DEDUP_PREFIX,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    ) -> RedisDedup:
        """A store on the Redis at `url`, with its own connection pool (`close` closes it).

        Args:
            url: `redis://[[user]:password@]host[:port][/db]`, `rediss://` for TLS, or
                `unix:///path/to/redis.sock`.
            ttl: Seconds a handled delivery is remembered as done.
            lease: Seconds a claim lasts unless completed or released first.
            prefix: Put before every key the store writes.
            socket_timeout: Seconds to connect, and to wait for each answer, before a call
                raises. Never retried: the sender retries the delivery instead.

        Returns:
            The store.
        """
        client = _unretried_client(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )
        store = cls(client, ttl=ttl, lease=lease, prefix=prefix)
        store._owned = True
        return store

    def claim(self, key: str) -> Claim:
        """Claim a delivery before handling it (see `craft_sdk.webhooks.Dedup.claim`).

        Args:
            key: The delivery's identity.

        Returns:
            "new", "done" or "busy".

        Raises:
            redis.RedisError: Redis could not be reached or failed.
        """
        reply = self._claim(keys=[self.prefix + key], args=[_milliseconds(self.lease)])
        return cast(Claim, _str(reply))  # the script answers nothing else

    def complete(self, key: str) -> None:
        """Remember a delivery as handled, for `ttl` seconds.

        Args:
            key: The delivery's identity.

        Raises:
            redis.RedisError: Redis could not be reached or failed.
        """
        self._client.set(self.prefix + key, "done", px=_milliseconds(self.ttl))

    def release(self, key: str) -> None:
        """Forget a claimed delivery so that a retry runs it; a done one stays done.

        Args:
            key: The delivery's identity.

        Raises:
            redis.RedisError: Redis could not be reached or failed.
        """
        self._release(keys=[self.prefix + key])

    def close(self) -> None:
        """Close the connection pool `from_url` opened (a client given to the store stays open)."""
        if self._owned:
            self._client.close()

    def __repr__(self) -> str:
        # Never the URL: it may hold a password.
        return f"RedisDedup(prefix={self.prefix!r}, ttl={self.ttl!r}, lease={self.lease!r})"


def _milliseconds(seconds: float) -> int:
    """Redis's `PX`: whole milliseconds, at least one."""
    return max(1, round(seconds * 1000))
