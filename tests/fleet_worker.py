"""One process of a fleet (tests/fleet/harness.py starts them): a client, its callers, a report.

    python tests/fleet_worker.py --base-url URL --flavour sync|async --callers N \\
        [--start-at UNIX_TIME --end-at UNIX_TIME] [--redis-url URL --lease-seconds S] [--held]

Without start and end times, it prints `ready` once everything is imported, and reads them from
its standard input (`START END`, Unix times): the harness sends them once every worker is ready,
so that however slowly a loaded machine starts the processes, they begin together.

Every caller (a thread sharing one `CraftClient`, or a task sharing one `AsyncCraftClient`)
calls `client.me()` in a loop from the start time until the end time, with the client's default
options (429s are retried by the SDK; a call that would still be waiting at the end time is
dropped, see `ClockUntil`), and with a `RedisRateLimitStore` when a Redis URL is given;
the API key comes from `CRAFT_API_KEY`. `--held` calls `projects.get("proj_held")` instead, which
the windowed server holds unanswered (for a worker killed with requests in flight).

It then prints {"successes": n, "rate_limit_errors": n, "errors": {type name: n}, "late_by": s}:
calls that returned, `RateLimitError`s that reached a caller, other exceptions by type, and how
late after the start time it was ready to begin (0 when it was on time).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import json
import sys
import threading
import time

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk.redis import DEFAULT_LEASE_SECONDS, RedisRateLimitStore


class RunOver(Exception):
    """The end time came while a call waited (for the budget, or to retry): the call is dropped."""


class ClockUntil:
    """The real clock, but a wait that would last past the end of the run ends the call at once
    (with `RunOver`). Otherwise every call still waiting at the end would be run out: with 256
    async callers and 40 requests per 2-second window, that takes some 13 s of windows."""

    def __init__(self, end_at: float) -> None:
        self._end_at = end_at

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        self._check(seconds)
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self._check(seconds)
        await asyncio.sleep(seconds)

    def _check(self, seconds: float) -> None:
        if time.time() + seconds >= self._end_at:
            raise RunOver


@dataclasses.dataclass
class Tally:
    """What one caller's calls came to (each caller has its own: no lock)."""

    successes: int = 0
    rate_limit_errors: int = 0
    errors: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter[str])
    late_by: float = 0.0
    """Seconds past the start time at which the caller was ready to begin (0: on time)."""

    def wait_for_start(self, start_at: float) -> float:
        """Note how late the caller is, and return how long it has to wait for the start."""
        self.late_by = max(0.0, time.time() - start_at)
        return max(0.0, start_at - time.time())

    def count(self, error: Exception | None) -> None:
        if isinstance(error, RunOver):
            return  # cut short by the end of the run: neither a success nor an error
        if error is None:
            self.successes += 1
        elif isinstance(error, craft_sdk.RateLimitError):
            self.rate_limit_errors += 1
        else:
            self.errors[type(error).__name__] += 1


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--flavour", choices=("sync", "async"), required=True)
    parser.add_argument("--callers", type=int, required=True)
    parser.add_argument("--start-at", type=float)
    parser.add_argument("--end-at", type=float)
    parser.add_argument("--redis-url")
    parser.add_argument("--lease-seconds", type=float, default=DEFAULT_LEASE_SECONDS)
    parser.add_argument("--held", action="store_true")
    return parser.parse_args(argv)


def store(arguments: argparse.Namespace) -> RedisRateLimitStore | None:
    """The store every worker shares when there is a Redis; None for each its own budget."""
    if not arguments.redis_url:
        return None
    return RedisRateLimitStore.from_url(arguments.redis_url, lease_seconds=arguments.lease_seconds)


def run_sync(arguments: argparse.Namespace, tallies: list[Tally]) -> None:
    with CraftClient(
        base_url=arguments.base_url,
        rate_limit_store=store(arguments),
        clock=ClockUntil(arguments.end_at),
    ) as client:

        def call() -> object:
            return client.projects.get("proj_held") if arguments.held else client.me()

        def caller(tally: Tally) -> None:
            time.sleep(tally.wait_for_start(arguments.start_at))
            while time.time() < arguments.end_at:
                try:
                    call()
                except Exception as error:
                    tally.count(error)
                else:
                    tally.count(None)

        threads = [threading.Thread(target=caller, args=(tally,)) for tally in tallies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


async def run_async(arguments: argparse.Namespace, tallies: list[Tally]) -> None:
    async with AsyncCraftClient(
        base_url=arguments.base_url,
        rate_limit_store=store(arguments),
        clock=ClockUntil(arguments.end_at),
    ) as client:

        async def call() -> object:
            return await (client.projects.get("proj_held") if arguments.held else client.me())

        async def caller(tally: Tally) -> None:
            await asyncio.sleep(tally.wait_for_start(arguments.start_at))
            while time.time() < arguments.end_at:
                try:
                    await call()
                except Exception as error:
                    tally.count(error)
                else:
                    tally.count(None)

        await asyncio.gather(*(caller(tally) for tally in tallies))


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    if arguments.start_at is None or arguments.end_at is None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        arguments.start_at, arguments.end_at = map(float, sys.stdin.readline().split())
    tallies = [Tally() for _ in range(arguments.callers)]
    if arguments.flavour == "sync":
        run_sync(arguments, tallies)
    else:
        asyncio.run(run_async(arguments, tallies))
    errors: collections.Counter[str] = collections.Counter()
    for tally in tallies:
        errors.update(tally.errors)
    report = {
        "successes": sum(tally.successes for tally in tallies),
        "rate_limit_errors": sum(tally.rate_limit_errors for tally in tallies),
        "errors": dict(errors),
        "late_by": max(tally.late_by for tally in tallies),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
