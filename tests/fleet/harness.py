"""A fleet of processes on one API key against a server that enforces a fixed window:

    result = run_fleet(Fleet(processes=8, callers=8, flavour="sync"), redis_url=url)
    result.caller_429s, result.server_refusals, result.utilisation

(It is tests/fleet/harness.py, not tests/fleet.py: the package tests/fleet/ holds the fleet's
tests, which take real time and which `pytest --ignore=tests/fleet` leaves out, and a package
would hide a module of the same name.)

Each process is `python tests/fleet_worker.py` (a subprocess of its own, not a fork: each one
imports everything as a real worker would), one client with `callers` threads or tasks calling
`client.me()`, with or without a `RedisRateLimitStore` on `redis_url`. Each says `ready` once it
has imported everything; then all of them are sent one start time, shortly after, and stop at
the end of the last of `whole_windows` windows that lie wholly after it; the windowed server
(tests/windowed.py) runs in this process and counts what it accepted and refused.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Final, Literal

from ..conftest import API_KEY
from ..loopback import LoopbackServer
from ..windowed import WindowedApi

WORKER: Final = Path(__file__).parent.parent / "fleet_worker.py"
READY_TIMEOUT: Final = 60.0
"""The longest all the workers may take to start and import everything."""
GO_SECONDS: Final = 0.3
"""From the moment every worker is ready to the start: time for the start times to arrive."""
EXIT_GRACE: Final = 30.0
"""Seconds past the end a worker may take to finish its calls in flight and report."""


@dataclasses.dataclass(frozen=True)
class Fleet:
    """The shape of a run: the processes, their callers, and the server's window."""

    processes: int
    callers: int
    """Threads (sync) or tasks (async) per process, all sharing the process's one client."""
    flavour: Literal["sync", "async"]
    limit: int = 40
    window: float = 2.0
    whole_windows: int = 3
    """Windows of `window` seconds that the run covers from start to end (plus a part of one)."""


@dataclasses.dataclass(frozen=True)
class FleetResult:
    successes: int
    """Calls that returned a user."""
    caller_429s: int
    """`RateLimitError`s raised to callers (the SDK's own retries of a 429 are not counted)."""
    other_errors: dict[str, int]
    """Other exceptions raised to callers, by type name."""
    server_refusals: int
    """Requests the server refused with a 429 during the whole run."""
    accepted_per_window: list[int]
    """Requests the server accepted in each window that lay wholly inside the run (from the
    moment every caller was running: `whole_windows` of them unless workers started late)."""
    budget: int
    """Requests the server allowed in those windows."""
    worker_stderr: list[str]
    """What the workers wrote to their standard error (a warning, say), one entry per worker
    that wrote anything."""
    late_by: float
    """How long after the start time the last worker was ready to begin."""

    @property
    def utilisation(self) -> float:
        """The share of the budget the fleet got: accepted / allowed, over the whole windows."""
        return sum(self.accepted_per_window) / self.budget


def start_worker(
    base_url: str,
    *,
    flavour: Literal["sync", "async"],
    callers: int,
    start_at: float | None = None,
    end_at: float | None = None,
    redis_url: str | None = None,
    lease_seconds: float | None = None,
    held: bool = False,
) -> subprocess.Popen[str]:
    """One `fleet_worker.py` process; its report is the last line of its standard output.
    Without start and end times, it says `ready` and waits for them (`start_together`)."""
    command = [
        sys.executable,
        str(WORKER),
        *("--base-url", base_url, "--flavour", flavour, "--callers", str(callers)),
    ]
    if start_at is not None and end_at is not None:
        command += ["--start-at", repr(start_at), "--end-at", repr(end_at)]
    if redis_url is not None:
        command += ["--redis-url", redis_url]
    if lease_seconds is not None:
        command += ["--lease-seconds", repr(lease_seconds)]
    if held:
        command.append("--held")
    # The key travels in the environment, as in production, never on a command line.
    environment = {**os.environ, "CRAFT_API_KEY": API_KEY}
    for name in ("CRAFT_BASE_URL", "CRAFT_LOG"):
        environment.pop(name, None)
    return subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )


def start_together(workers: list[subprocess.Popen[str]], fleet: Fleet) -> tuple[float, float]:
    """Once every worker has said `ready` (however long a loaded machine takes to start them),
    send them all the same start and end times; return those."""

    def kill_all() -> None:
        for worker in workers:
            worker.kill()

    watchdog = threading.Timer(READY_TIMEOUT, kill_all)
    watchdog.start()  # a worker that hangs while starting is killed, so readline returns
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a fleet worker failed to start:\n{worker.communicate()[1]}")
    finally:
        watchdog.cancel()
    start_at = time.time() + GO_SECONDS
    # Ends on a window's end, so that the last window is whole.
    end_at = (math.ceil(start_at / fleet.window) + fleet.whole_windows) * fleet.window
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at!r} {end_at!r}\n")
        worker.stdin.flush()
    return start_at, end_at


def worker_report(worker: subprocess.Popen[str], *, timeout: float) -> tuple[dict[str, Any], str]:
    """Wait for a worker to end; its JSON report and its standard error."""
    try:
        out, err = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, err = worker.communicate()
        raise RuntimeError(f"a fleet worker did not finish in time:\n{err}") from None
    if worker.returncode != 0 or not out.strip():
        raise RuntimeError(f"a fleet worker failed (exit {worker.returncode}):\n{err}")
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report, err


def run_fleet(
    fleet: Fleet, *, redis_url: str | None = None, lease_seconds: float | None = None
) -> FleetResult:
    """Run `fleet` against a fresh windowed server, sharing `redis_url`'s store if given."""
    api = WindowedApi(limit=fleet.limit, window=fleet.window)
    with LoopbackServer(api) as server:
        workers = [
            start_worker(
                server.url,
                flavour=fleet.flavour,
                callers=fleet.callers,
                redis_url=redis_url,
                lease_seconds=lease_seconds,
            )
            for _ in range(fleet.processes)
        ]
        try:
            start_at, end_at = start_together(workers, fleet)
            reports = [
                worker_report(worker, timeout=end_at - time.time() + EXIT_GRACE)
                for worker in workers
            ]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()  # reaps it and closes its pipes
    late_by = max(report["late_by"] for report, _ in reports)
    # The run begins once every caller is running: on a loaded machine, some may be late.
    accepted = api.accepted_per_window(start_at + late_by, end_at)
    if not accepted:
        raise RuntimeError(f"the workers started {late_by:.1f} s late: no whole window was left")
    errors: Counter[str] = Counter()
    for report, _ in reports:
        errors.update(report["errors"])
    return FleetResult(
        successes=sum(report["successes"] for report, _ in reports),
        caller_429s=sum(report["rate_limit_errors"] for report, _ in reports),
        other_errors=dict(errors),
        server_refusals=api.refused,
        accepted_per_window=accepted,
        budget=fleet.limit * len(accepted),
        worker_stderr=[err for _, err in reports if err.strip()],
        late_by=late_by,
    )
