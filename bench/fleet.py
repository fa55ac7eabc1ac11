"""Fleet-wide rate limiting (issue #15), measured: `python bench/fleet.py` (`--quick`: fewer
rounds of the cost table, for a try).

1. The fleet: 8 processes on one key against a server that allows 40 requests per 2-second
   window (tests/fleet/harness.py, the fleet tests' harness), each a sync client with 8 threads
   or an async client with 32 tasks, with a `RedisRateLimitStore` and without: the calls that
   succeeded, the `RateLimitError`s that reached a caller, the requests the server refused, and
   the share of the server's budget the fleet got (utilisation).
2. The cost: sequential `me()` calls against bench/server.py through a client with the store
   and one without (the in-process gate), sync and async, interleaved round by round
   (bench/rounds.py): wall and CPU µs per request, store against in-process as a ratio and a
   difference. CPU is this process's (`time.process_time`); Redis's own is not in it.

It runs in the dev environment (redis-py, and pytest for the tests' helpers) and needs Debian's
redis-server, which it starts on a Unix socket of its own. It prints tables, then one line of
JSON with every figure. docs/performance.md ("Fleet-wide rate limiting") has the latest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import report
from rounds import Sample, Schedule, measure_async, measure_sync
from server import API_KEY, BenchServer

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the fleet harness and the Redis server of tests/

os.environ.pop("CRAFT_LOG", None)  # craft_sdk reads it when imported

from craft_sdk import AsyncCraftClient, CraftClient  # noqa: E402
from craft_sdk.redis import RedisRateLimitStore  # noqa: E402
from tests.fleet.harness import Fleet, FleetResult, run_fleet  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

FLEETS: Final = {
    "sync, 8 x 8 threads": Fleet(processes=8, callers=8, flavour="sync"),
    "async, 8 x 32 tasks": Fleet(processes=8, callers=32, flavour="async"),
}
COST_OPS: Final = 400
"""Sequential `me()` calls per block of the cost table."""
COST_ROUNDS: Final = Schedule(min_rounds=9, max_rounds=30, seconds=10)
QUICK_ROUNDS: Final = Schedule(min_rounds=3, max_rounds=3, seconds=0)


def log(message: str) -> None:
    print(f"[fleet] {message}", file=sys.stderr, flush=True)


def fleet_figures(redis: RedisServer) -> dict[str, dict[str, Any]]:
    """Every fleet, with the store and without, one after the other."""
    figures: dict[str, dict[str, Any]] = {}
    for name, fleet in FLEETS.items():
        for store in (True, False):
            label = f"{name}, {'store' if store else 'no store'}"
            log(f"fleet: {label}")
            started = time.perf_counter()
            result = run_fleet(fleet, redis_url=redis.reset() if store else None)
            figures[label] = summarise(result, time.perf_counter() - started)
    return figures


def summarise(result: FleetResult, seconds: float) -> dict[str, Any]:
    return {
        "successes": result.successes,
        "caller_429s": result.caller_429s,
        "other_errors": result.other_errors,
        "server_refusals": result.server_refusals,
        "accepted_per_window": result.accepted_per_window,
        "budget": result.budget,
        "utilisation": round(result.utilisation, 3),
        "late_start_s": round(result.late_by, 2),
        "worker_stderr": sorted(set(result.worker_stderr)),
        "wall_s": round(seconds, 1),
    }


def per_request(samples: dict[str, list[Sample]], ops: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU µs per request of each column."""
    return {
        name: {
            "wall_us": statistics.median(s.wall for s in runs) / ops * 1e6,
            "cpu_us": statistics.median(s.cpu for s in runs) / ops * 1e6,
        }
        for name, runs in samples.items()
    }


def compared(figures: dict[str, dict[str, float]]) -> dict[str, float]:
    """The store against the in-process gate: per-request figures, ratios and differences."""
    alone, store = figures["in-process"], figures["store"]
    result: dict[str, float] = {}
    for measure in ("wall_us", "cpu_us"):
        result[f"in-process {measure}"] = round(alone[measure], 1)
        result[f"store {measure}"] = round(store[measure], 1)
        result[f"{measure} ratio"] = round(store[measure] / alone[measure], 2)
        result[f"{measure} added"] = round(store[measure] - alone[measure], 1)
    return result


def checked_me(client: CraftClient) -> Callable[[], int]:
    return lambda: int(client.me().id == "user_bench")


def sync_cost(base_url: str, redis_url: str, schedule: Schedule) -> dict[str, float]:
    store = RedisRateLimitStore.from_url(redis_url)
    with (
        CraftClient(api_key=API_KEY, base_url=base_url) as alone,
        CraftClient(api_key=API_KEY, base_url=base_url, rate_limit_store=store) as shared,
    ):
        columns = {"in-process": checked_me(alone), "store": checked_me(shared)}
        samples = measure_sync(columns, COST_OPS, schedule, expected=1)
    store.close()
    return compared(per_request(samples, COST_OPS))


async def _async_cost(base_url: str, redis_url: str, schedule: Schedule) -> dict[str, float]:
    store = RedisRateLimitStore.from_url(redis_url)
    async with (
        AsyncCraftClient(api_key=API_KEY, base_url=base_url) as alone,
        AsyncCraftClient(api_key=API_KEY, base_url=base_url, rate_limit_store=store) as shared,
    ):

        async def alone_me() -> int:
            return int((await alone.me()).id == "user_bench")

        async def shared_me() -> int:
            return int((await shared.me()).id == "user_bench")

        columns = {"in-process": alone_me, "store": shared_me}
        samples = await measure_async(columns, COST_OPS, schedule, expected=1, concurrency=1)
    return compared(per_request(samples, COST_OPS))


def async_cost(base_url: str, redis_url: str, schedule: Schedule) -> dict[str, float]:
    return asyncio.run(_async_cost(base_url, redis_url, schedule))


def fleet_table(figures: dict[str, dict[str, Any]]) -> str:
    header = ["fleet (8 processes, 40 requests / 2 s)", "successes", "429s to callers"]
    header += ["refused by the server", "accepted per whole window", "utilisation"]
    rows = [
        [
            label,
            str(run["successes"]),
            str(run["caller_429s"]),
            str(run["server_refusals"]),
            " ".join(map(str, run["accepted_per_window"])),
            f"{run['utilisation']:.0%}",
        ]
        for label, run in figures.items()
    ]
    return report.table(header, rows)


def cost_table(costs: dict[str, dict[str, float]]) -> str:
    header = ["client", "µs/req wall: in-process", "store", "ratio", "added"]
    header += ["µs/req CPU: in-process", "store", "ratio", "added"]
    rows = []
    for mode, cost in costs.items():
        row = [mode]
        for measure in ("wall_us", "cpu_us"):
            row += [
                f"{cost[f'in-process {measure}']:.0f}",
                f"{cost[f'store {measure}']:.0f}",
                f"{cost[f'{measure} ratio']:.2f}x",
                f"+{cost[f'{measure} added']:.0f}",
            ]
        rows.append(row)
    return report.table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 rounds of the cost table")
    arguments = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("bench/fleet.py needs redis-server on PATH (Debian: apt-get install redis-server)")
    schedule = QUICK_ROUNDS if arguments.quick else COST_ROUNDS
    with RedisServer(binary) as redis:
        with BenchServer() as bench_server:
            log(f"cost: {COST_OPS} sequential me() per block, sync")
            costs = {"sync": sync_cost(bench_server.base_url, redis.reset(), schedule)}
            log(f"cost: {COST_OPS} sequential me() per block, async")
            costs["async"] = async_cost(bench_server.base_url, redis.reset(), schedule)
        fleets = fleet_figures(redis)
    print(fleet_table(fleets))
    print()
    print(cost_table(costs))
    print()
    print(json.dumps({"fleet": fleets, "cost": costs}))


if __name__ == "__main__":
    main()
