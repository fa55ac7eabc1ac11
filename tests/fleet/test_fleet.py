"""Many processes on one key (issue #15): with a `RedisRateLimitStore` they share one budget, so
no 429 reaches a caller and the server refuses almost nothing while the fleet still gets what
the server allows; without it, the same fleet overspends. And a worker killed with requests in
flight gives its share back within the lease time.

Real processes, real time (a 2-second window, two of them a run), a real redis-server: about
30 s in all.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Final, Literal

import pytest

from craft_sdk import CraftClient
from craft_sdk.redis import RedisRateLimitStore

from ..conftest import API_KEY, wait_until
from ..loopback import LoopbackServer
from ..windowed import WindowedApi
from .harness import Fleet, FleetResult, run_fleet, start_worker

# With the store the server should refuse nothing: the fleet knows its budget from the first
# answer on (the first request goes alone), and each reset is placed from the answer's Date,
# which HTTP writes in whole seconds, so it is placed late, never early. A handful is allowed
# for what no client controls: a worker's requests can reach the loopback server in another
# order than they left the store, across a window's end, on a loaded machine.
STORE_REFUSALS_BOUND: Final = 5
# Below this share of the server's budget, the fleet would be over-throttling.
UTILISATION_FLOOR: Final = 0.90


def summary(result: FleetResult) -> str:
    return (
        f"{result.successes} successes, {result.caller_429s} 429s to callers, "
        f"{result.other_errors} other errors, {result.server_refusals} refused by the server, "
        f"accepted per window {result.accepted_per_window} (budget {result.budget} in all)"
    )


@pytest.mark.parametrize(
    ("flavour", "callers"), [("sync", 8), ("async", 32)], ids=["8x8 threads", "8x32 tasks"]
)
def test_a_fleet_sharing_the_store_spends_the_budget_without_429s(
    redis_url: str, flavour: Literal["sync", "async"], callers: int
) -> None:
    fleet = Fleet(
        processes=8, callers=callers, flavour=flavour, limit=40, window=2.0, whole_windows=2
    )
    result = run_fleet(fleet, redis_url=redis_url)
    assert result.caller_429s == 0, summary(result)
    assert result.other_errors == {}, summary(result)
    assert result.worker_stderr == []  # no warning: Redis answered throughout
    assert result.server_refusals <= STORE_REFUSALS_BOUND, summary(result)
    assert result.utilisation >= UTILISATION_FLOOR, summary(result)


def test_without_the_store_the_same_fleet_overspends() -> None:
    # The control, which proves the harness sees overspending: each process keeps its own
    # budget, so at each reset all eight spend it (30 to 60 refusals on this machine; the more
    # loaded the machine, the less the processes keep in step, and the fewer).
    fleet = Fleet(processes=8, callers=8, flavour="sync", limit=40, window=2.0, whole_windows=2)
    result = run_fleet(fleet)
    assert result.server_refusals > 2 * STORE_REFUSALS_BOUND, summary(result)


def test_a_killed_worker_gives_its_share_back_within_the_lease_time(redis_url: str) -> None:
    lease_seconds, limit, window = 1.0, 5, 60.0
    # The server's clock is set back so that this test runs at the start of its window: the
    # budget comes back by the leases' expiry alone, never by a reset (the store places resets
    # from the answer's Date, so a server clock off by under a minute is no matter).
    behind = time.time() % window - 1.0
    api = WindowedApi(limit=limit, window=window, clock=lambda: time.time() - behind)
    store = RedisRateLimitStore.from_url(redis_url, lease_seconds=lease_seconds)
    with (
        LoopbackServer(api) as server,
        CraftClient(api_key=API_KEY, base_url=server.url, rate_limit_store=store) as client,
    ):
        client.me()  # the fleet learns its budget: limit - 1 left
        # A worker takes all that is left, with requests the server holds unanswered...
        start_at = time.time() + 1.0  # time to import everything
        worker = start_worker(
            server.url,
            flavour="sync",
            callers=limit - 1,
            start_at=start_at,
            end_at=start_at + 60,
            redis_url=redis_url,
            lease_seconds=lease_seconds,
            held=True,
        )
        try:
            wait_until(lambda: api.held == limit - 1, timeout=20)
            held_by = time.time()  # every lease was taken by now
        finally:
            # ...and dies with them in flight: no answer, no release, only the leases' expiry.
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate()  # reaps it and closes its pipes
        # A wait past the leases' expiry is refused at once rather than taken (it would be the
        # window's reset, a minute off).
        client.with_options(max_retry_wait=lease_seconds + 2.0).me()
        went_at = time.time()
        assert api.refused == 0  # the budget the leases held was free at the server all along
        api.release_held()  # the dead worker's requests: answered to no one
    store.close()
    # The leases were taken after the worker's start time: the budget they held was not free
    # before that plus the lease time, and it was free again soon after.
    assert went_at >= start_at + lease_seconds - 0.05
    assert went_at <= held_by + lease_seconds + 2.0  # generous: a loaded 2-core machine
