"""The craft-sdk performance bench: `python bench/run.py` (`--smoke` for CI, `--check` to fail).

It installs this repository's SDK into the running interpreter if it cannot import it, starts the
bench server (bench/server.py) in its own process, and measures, against budgets:

* client CPU and wall time per request of `projects.get`, one page of 20 and iterating 1,000
  projects, with the sync client, the async client and the async client in 64 tasks, each
  interleaved with raw httpx floors (bench/throughput.py, timed by bench/rounds.py);
* peak RSS growth while iterating 100,000 projects, and while writing a 200 MiB file from a
  Path (bench/memory.py);
* `import craft_sdk` time and module count (bench/imports.py).

It prints tables (bench/report.py), then one last line of JSON with every figure and a pass/fail
per budget. The exit code is 0 even when a budget is missed, unless `--check` is given. What it
measures and how: docs/performance.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import report
from rounds import CaseResult, Schedule

ROOT: Final = Path(__file__).resolve().parent.parent
MIB: Final = 1024 * 1024

# Budgets. Ratios are of client CPU per request, SDK / (httpx + response.json()), medians over
# the rounds; "MB" in the issue is read as MiB.
RATIO_BUDGETS: Final = {"get": 1.15, "page20": 1.20, "iterate1000": 1.25}
ITERATE_GROWTH_BUDGET_MIB: Final = 5.0
UPLOAD_GROWTH_BUDGET_MIB: Final = 16.0
IMPORT_EXTRA_BUDGET_MS: Final = 40.0
IMPORT_MODULES_BUDGET: Final = 300


@dataclasses.dataclass(frozen=True)
class Plan:
    name: str
    cases: dict[str, tuple[int, Schedule]]
    """Per case ("operation.mode"): operations per block, and the rounds."""
    tasks_levels: tuple[int, ...]
    """Numbers of tasks for the async scaling table; each level runs `tasks_ops` gets..."""
    tasks_ops: int
    tasks_rounds: int
    """...`tasks_rounds` times."""
    pool_fresh_ops: int
    """Gets in 64 tasks on a new client, per row of the pool table."""
    iterate_items: int
    upload_bytes: int
    import_runs: int


# Rounds of a case: at least 9, then as many as fit in 12 s, at most 30. A round of the last
# case is 3 x 640 requests at 64 tasks, some 5 s on 2 cores: it gets 7 at least.
ROUNDS: Final = Schedule(min_rounds=9, max_rounds=30, seconds=12)
HEAVY_ROUNDS: Final = Schedule(min_rounds=7, max_rounds=30, seconds=12)
FULL: Final = Plan(
    name="full",
    cases={
        "get.sync": (150, ROUNDS),
        "get.async": (100, ROUNDS),
        "get.async64": (128, ROUNDS),
        "page20.sync": (100, ROUNDS),
        "page20.async": (64, ROUNDS),
        "page20.async64": (128, ROUNDS),
        "iterate1000.sync": (4, ROUNDS),
        "iterate1000.async": (3, ROUNDS),
        "iterate1000.async64": (64, HEAVY_ROUNDS),
    },
    tasks_levels=(1, 8, 16, 32, 64),
    tasks_ops=192,
    tasks_rounds=3,
    pool_fresh_ops=640,
    iterate_items=100_000,
    upload_bytes=200 * MIB,
    import_runs=9,
)
SMOKE_ROUNDS: Final = Schedule(min_rounds=2, max_rounds=3, seconds=0.5, warm_up=False)
SMOKE: Final = Plan(
    name="smoke",
    cases={
        "get.sync": (20, SMOKE_ROUNDS),
        "get.async": (20, SMOKE_ROUNDS),
        "get.async64": (64, SMOKE_ROUNDS),
        "page20.sync": (20, SMOKE_ROUNDS),
        "page20.async": (20, SMOKE_ROUNDS),
        "page20.async64": (64, SMOKE_ROUNDS),
        "iterate1000.sync": (1, SMOKE_ROUNDS),
        "iterate1000.async": (1, SMOKE_ROUNDS),
        "iterate1000.async64": (64, Schedule(1, 1, 0, warm_up=False)),
    },
    tasks_levels=(1, 64),
    tasks_ops=64,
    tasks_rounds=1,
    pool_fresh_ops=64,
    iterate_items=10_000,
    upload_bytes=20 * MIB,
    import_runs=3,
)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ensure_installed() -> None:
    """Install this repository's SDK (and with it httpx and pydantic) into the running
    interpreter if it cannot import them, then start over in the completed environment."""
    needed = ("craft_sdk", "httpx", "pydantic")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if not missing:
        return
    log(f"{', '.join(missing)} missing: pip install -e {ROOT} into {sys.prefix}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(ROOT)], check=True)
    os.execv(sys.executable, [sys.executable, *sys.argv])


def clean_environment() -> None:
    """Keep the caller's environment from changing what is measured (children inherit it)."""
    os.environ.pop("CRAFT_LOG", None)  # craft_sdk reads it when imported
    no_proxy = os.environ.get("NO_PROXY")
    os.environ["NO_PROXY"] = f"{no_proxy},127.0.0.1" if no_proxy else "127.0.0.1"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": cores, "cpu": cpu, "platform": platform.platform()}


def heading(bench: str, plan: str) -> dict[str, Any]:
    """What a bench's summary starts with: which bench and plan, when, and on what."""
    import craft_sdk  # only once the environment is clean: it reads it when imported

    return {
        "bench": bench,
        "plan": plan,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "craft_sdk": craft_sdk.__version__,
        "machine": machine(),
    }


def spread(values: list[float]) -> dict[str, float]:
    """Median, quartiles and range."""
    if len(values) > 1:
        p25, median, p75 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        p25 = median = p75 = values[0]
    figures = {"median": median, "p25": p25, "p75": p75, "min": min(values), "max": max(values)}
    return {name: round(value, 3) for name, value in figures.items()}


def summarise_case(result: CaseResult) -> dict[str, Any]:
    """A case's figures: per column, the median µs per request; per floor, the spread of the
    per-round ratios SDK / floor."""
    summary: dict[str, Any] = {
        "operation": result.operation,
        "mode": result.mode,
        "requests_per_round": result.requests,
        "rounds": result.rounds,
        "error": result.error,
    }
    if result.error:
        return summary
    samples = result.samples
    for kind in ("cpu", "wall"):
        summary[f"{kind}_us_per_request"] = {
            name: round(
                statistics.median(getattr(s, kind) for s in runs) * 1e6 / result.requests, 1
            )
            for name, runs in samples.items()
        }

    def ratios(over: str, under: str, kind: str) -> dict[str, float]:
        pairs = zip(samples[over], samples[under], strict=True)
        return spread([getattr(a, kind) / getattr(b, kind) for a, b in pairs])

    summary["ratios"] = {
        f"{over}/{under} {kind}": ratios(over, under, kind)
        for over, under in [
            ("sdk", "json"),
            ("sdk", "pydantic"),
            ("sdk", "transport"),
            ("transport", "json"),
            ("httpx2", "json"),
        ]
        if over in samples
        for kind in ("cpu", "wall")
    }
    return summary


def judge(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every budget, with its figure and whether the figure is within it."""
    verdicts: list[dict[str, Any]] = []

    def add(name: str, value: float | None, budget: float, unit: str) -> None:
        within = value is not None and value <= budget
        verdicts.append(
            {"name": name, "value": value, "budget": budget, "unit": unit, "pass": within}
        )

    for name, case in summary["cases"].items():
        ratio = None if case["error"] else case["ratios"]["sdk/json cpu"]["median"]
        add(name, ratio, RATIO_BUDGETS[case["operation"]], "x")
    for name, figures in summary["memory"].items():
        budget = (
            ITERATE_GROWTH_BUDGET_MIB if name.startswith("iterate") else UPLOAD_GROWTH_BUDGET_MIB
        )
        add(name, figures.get("growth_mib"), budget, "MiB")
    imports = summary["imports"]
    add("import.extra_ms", imports["extra_ms"], IMPORT_EXTRA_BUDGET_MS, "ms")
    add("import.modules", imports["craft_sdk"]["modules"], IMPORT_MODULES_BUDGET, "modules")
    first_use = imports["first_use"]
    add("import.first_use_ms", first_use["median_ms"], IMPORT_EXTRA_BUDGET_MS, "ms")
    add("import.first_use_modules", first_use["modules"], IMPORT_MODULES_BUDGET, "modules")
    return verdicts


def measure(plan: Plan) -> dict[str, Any]:
    # Imported only now, once the environment is clean: craft_sdk reads it when imported.
    import httpx
    import imports
    import memory
    import pydantic
    import throughput
    from server import BenchServer

    import craft_sdk

    httpx2 = throughput.httpx2_module()
    summary: dict[str, Any] = {
        **heading("craft-sdk", plan.name),
        "craft_sdk_path": str(Path(craft_sdk.__file__).parent),
        "httpx": httpx.__version__,
        "pydantic": pydantic.VERSION,
        "httpx2": getattr(httpx2, "__version__", "installed") if httpx2 else None,
        "cases": {},
        "memory": {},
    }
    with BenchServer() as server:
        log(f"server at {server.base_url}; {plan.name} plan")
        before = server.stats()
        for name, (ops, schedule) in plan.cases.items():
            started = time.perf_counter()
            operation, mode = name.split(".")
            result = throughput.run_case(server.base_url, operation, mode, ops, schedule)
            summary["cases"][name] = summarise_case(result)
            took = time.perf_counter() - started
            log(f"{name}: {result.rounds} rounds of {result.requests} requests, {took:.1f} s")
        after = server.stats()
        requests = after["requests"] - before["requests"]
        summary["server"] = {
            "requests": requests,
            "cpu_us_per_request": round(
                (after["cpu_seconds"] - before["cpu_seconds"]) / max(requests, 1) * 1e6, 1
            ),
        }
        log(f"get with 1 to {plan.tasks_levels[-1]} tasks sharing an async client")
        summary["cpu_by_tasks"] = throughput.cpu_by_tasks(
            server.base_url, plan.tasks_levels, plan.tasks_ops, plan.tasks_rounds
        )
        log(f"get with 64 tasks, for {len(throughput.POOL_LIMITS)} connection-pool limits")
        summary["cost_by_pool_limits"] = throughput.cost_by_pool_limits(
            server.base_url, plan.tasks_ops, plan.tasks_rounds, plan.pool_fresh_ops
        )
        for mode in ("sync", "async"):
            log(f"iterating {plan.iterate_items:,} projects ({mode})")
            summary["memory"][f"iterate.{mode}"] = memory.iterate(
                server.base_url, plan.iterate_items, mode
            )
        for mode in ("sync", "async"):
            log(f"writing a {plan.upload_bytes // MIB} MiB file ({mode})")
            summary["memory"][f"upload.{mode}"] = memory.upload(
                server.base_url, plan.upload_bytes, mode
            )
    log(f"timing imports ({plan.import_runs} interpreters each)")
    summary["imports"] = imports.measure(plan.import_runs)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="The craft-sdk performance bench.")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI (seconds)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    args = parser.parse_args()
    ensure_installed()
    clean_environment()
    plan = SMOKE if args.smoke else FULL

    started = time.perf_counter()
    summary = measure(plan)
    summary["budgets"] = judge(summary)
    summary["missed"] = [verdict["name"] for verdict in summary["budgets"] if not verdict["pass"]]
    summary["passed"] = not summary["missed"]
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)

    print(report.render(summary))
    print(json.dumps(summary, separators=(",", ":")))  # the last line, for machines
    return 1 if args.check and summary["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
