"""Folder sync (issue #17), measured: `python bench/folders.py` (`--smoke`: a small folder and 3
rounds; `--check`: exit 1 when a budget is missed).

It makes a folder of 1,000 files, about 20 MiB in all (sizes log-uniform from 1 KiB to 100 KiB,
content from a seeded RNG, in nested folders) in a temporary directory, starts bench/server.py
(which remembers the files written to each project and lists them) and times, with one sync
`CraftClient`, round after round:

1. `files.write_many` of the folder's files (as Paths), 8 at a time, to a new project: the
   baseline, the same uploads and nothing else;
2. `files.upload_folder`, first run: a new project and a new state file (outside the folder);
   it hashes every file, lists the project (empty) and uploads every file, 8 at a time;
3. `files.upload_folder` again with nothing changed: the hashing and the listing alone.

1 and 2 take turns to go first; 3 follows 2. Each figure is the median over the rounds (after
a warm-up round), and the server counts each run's requests (/_bench/stats). Then, in a fresh
child process (`--memory-child`), one first-run `upload_folder` of the same kind of folder with
a 50 MiB file added: its peak RSS growth over the RSS after a warm-up sync (bench/memory.py).

Budgets: requests = files + 1 on a first run and exactly 1 on a re-run, in every round; the
first run's wall time within 1.1x of write_many's (the ratio of the medians); peak RSS growth
under 16 MiB. It prints tables, then one last line of JSON; the exit code is 0 even when a
budget is missed, unless `--check` is given. docs/performance.md ("Folder sync") has the latest
figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import report
from memory import Watch, run_script
from run import clean_environment, ensure_installed, heading, log, spread
from server import API_KEY, BenchServer

MIB: Final = 1024 * 1024
KIB: Final = 1024
SEED: Final = 17
SMALLEST: Final = 1 * KIB
LARGEST: Final = 100 * KIB
FOLDER_NAMES: Final = ("assets", "blog", "css", "docs", "fonts", "img", "js", "posts")
EXTENSIONS: Final = ("html", "css", "js", "json", "svg", "png", "woff2")
CONCURRENCY: Final = 8
RATIO_BUDGET: Final = 1.10
GROWTH_BUDGET_MIB: Final = 16.0
COLUMNS: Final = ("write_many", "first run", "re-run")
BUDGET_FORMATS: Final = {
    "requests": "{rule} {budget:,}",
    "x": "{rule} {budget:.2f}x",
    "MiB": "{rule} {budget:g} MiB",
}
LABELS: Final = {
    "write_many": f"write_many, {CONCURRENCY} at a time (baseline)",
    "first run": "upload_folder, first run",
    "re-run": "upload_folder, re-run with nothing changed",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    name: str
    files: int
    rounds: int
    big_file_mib: int
    """The extra file in the memory child's folder."""


FULL: Final = Plan("full", files=1_000, rounds=15, big_file_mib=50)
SMOKE: Final = Plan("smoke", files=200, rounds=3, big_file_mib=50)


@dataclasses.dataclass(frozen=True)
class Run:
    """One timed call."""

    wall: float
    """Seconds (`time.perf_counter`)."""
    cpu: float
    """This process's CPU seconds, every thread (`time.process_time`)."""
    requests: int
    """Requests the server received during the call."""
    sent: int
    """Files uploaded."""


def make_folder(root: Path, files: int) -> dict[str, Path]:
    """`files` files of seeded random sizes and content in nested folders under `root` (the
    same ones each time): path relative to `root` -> the file."""
    rng = random.Random(SEED)
    made: dict[str, Path] = {}
    for number in range(files):
        folders = [rng.choice(FOLDER_NAMES) for _ in range(rng.randrange(4))]
        path = "/".join([*folders, f"file{number:04d}.{rng.choice(EXTENSIONS)}"])
        # Log-uniform: as many files of 1-10 KiB as of 10-100 KiB, about 21 KiB on average.
        size = round(SMALLEST * (LARGEST / SMALLEST) ** rng.random())
        location = root.joinpath(*path.split("/"))
        location.parent.mkdir(parents=True, exist_ok=True)
        location.write_bytes(rng.randbytes(size))
        made[path] = location
    return made


def add_big_file(root: Path, mib: int) -> None:
    """A file of `mib` MiB of random content, written 1 MiB at a time."""
    rng = random.Random(SEED)
    location = root / "media" / "film.mp4"
    location.parent.mkdir(parents=True, exist_ok=True)
    with location.open("wb") as file:
        for _ in range(mib):
            file.write(rng.randbytes(MIB))


def time_rounds(
    plan: Plan, server: BenchServer, folder: Path, files: dict[str, Path], states: Path
) -> dict[str, list[Run]]:
    """Every column's runs, round by round; `states` is where the state files go."""
    from craft_sdk import CraftClient

    def requests_so_far() -> int:
        return int(server.stats()["requests"])

    numbers = itertools.count(1)
    latest: list[tuple[str, Path]] = []  # the first run's project and state, for the re-run
    with CraftClient(api_key=API_KEY, base_url=server.base_url) as client:

        def write_many() -> int:
            project = f"proj_many{next(numbers):04d}"
            return len(client.files.write_many(project, files, concurrency=CONCURRENCY))

        def first_run() -> int:
            project = f"proj_sync{next(numbers):04d}"
            state = states / f"{project}.json"
            latest.append((project, state))
            sync = client.files.upload_folder(project, folder, state=state)
            return len(sync.sent)

        def re_run() -> int:
            project, state = latest[-1]
            return len(client.files.upload_folder(project, folder, state=state).sent)

        actions = {"write_many": write_many, "first run": first_run, "re-run": re_run}

        def timed(action: Callable[[], int]) -> Run:
            before = requests_so_far()
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            sent = action()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            return Run(wall, cpu, requests_so_far() - before, sent)

        for name in COLUMNS:  # warm-up: connections open, the sync's modules imported
            timed(actions[name])
        runs: dict[str, list[Run]] = {name: [] for name in COLUMNS}
        for number in range(plan.rounds):
            # write_many and the first run take turns to go first; the re-run follows.
            order = COLUMNS if number % 2 == 0 else ("first run", "re-run", "write_many")
            for name in order:
                runs[name].append(timed(actions[name]))
            log(f"round {number + 1} of {plan.rounds}")
    return runs


def memory_child(base_url: str, folder: Path) -> dict[str, Any]:
    """One first-run `upload_folder` of `folder` (in a fresh process): its peak RSS growth over
    the RSS after a warm-up sync of one small file."""
    from craft_sdk import CraftClient

    watch = Watch()
    with tempfile.TemporaryDirectory(prefix="craft-bench-folders-") as scratch:
        warm_up = Path(scratch, "warm-up")
        warm_up.mkdir()
        (warm_up / "index.html").write_text("warm-up")
        with CraftClient(api_key=API_KEY, base_url=base_url) as client:
            # The sync's modules imported and a connection open before the baseline.
            client.files.upload_folder("proj_warm_up", warm_up, state=Path(scratch, "warm.json"))
            watch.mark()
            started = time.perf_counter()
            sync = client.files.upload_folder(
                "proj_memory", folder, state=Path(scratch, "state.json")
            )
            elapsed = time.perf_counter() - started
    return watch.report(files=len(sync.sent), bytes=sync.bytes_sent, seconds=round(elapsed, 2))


def run_memory_child(base_url: str, folder: Path) -> dict[str, Any]:
    """Run `memory_child` in `python bench/folders.py --memory-child ...`: its figures, or the
    error."""
    return run_script(Path(__file__), "--memory-child", base_url, folder)


def summarise(runs: list[Run]) -> dict[str, Any]:
    return {
        "wall_s": spread([run.wall for run in runs]),
        "cpu_s": spread([run.cpu for run in runs]),
        "requests": [run.requests for run in runs],
        "sent": [run.sent for run in runs],
    }


def measure(plan: Plan) -> dict[str, Any]:
    summary: dict[str, Any] = {
        **heading("craft-sdk folders", plan.name),
        "concurrency": CONCURRENCY,
        "rounds": plan.rounds,
    }
    with (
        tempfile.TemporaryDirectory(prefix="craft-bench-folders-") as scratch,
        BenchServer() as server,
    ):
        folder = Path(scratch, "site")
        files = make_folder(folder, plan.files)
        total = sum(location.stat().st_size for location in files.values())
        summary["folder"] = {"files": len(files), "bytes": total}
        log(f"server at {server.base_url}; {len(files):,} files, {total / MIB:.1f} MiB")
        runs = time_rounds(plan, server, folder, files, Path(scratch, "states"))
        summary["runs"] = {name: summarise(runs[name]) for name in COLUMNS}
        medians = {name: statistics.median(run.wall for run in runs[name]) for name in COLUMNS}
        summary["ratio"] = round(medians["first run"] / medians["write_many"], 3)
        # Information: the two ran next to each other, so a round's own ratio is spared a
        # drift in the machine's speed between rounds.
        pairs = zip(runs["first run"], runs["write_many"], strict=True)
        summary["ratio_per_round"] = spread([first.wall / many.wall for first, many in pairs])

        # The rounds are over: the folder may grow for the memory child.
        add_big_file(folder, plan.big_file_mib)
        log(f"peak memory of a first run, with a {plan.big_file_mib} MiB file added")
        summary["memory"] = run_memory_child(server.base_url, folder)
        summary["memory"]["big_file_mib"] = plan.big_file_mib
    return summary


def judge(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every budget, with its figure and whether the figure meets it."""
    files = summary["folder"]["files"]
    runs = summary["runs"]
    memory = summary["memory"]
    verdicts: list[dict[str, Any]] = []

    def add(name: str, value: Any, rule: str, budget: float, unit: str, passed: bool) -> None:
        verdicts.append(
            {"name": name, "value": value, "rule": rule, "budget": budget, "unit": unit}
            | {"pass": passed}
        )

    first, again = runs["first run"]["requests"], runs["re-run"]["requests"]
    add("first_run.requests", first, "=", files + 1, "requests", set(first) == {files + 1})
    add("re_run.requests", again, "=", 1, "requests", set(again) == {1})
    ratio = summary["ratio"]
    add("first_run/write_many.wall", ratio, "≤", RATIO_BUDGET, "x", ratio <= RATIO_BUDGET)
    growth = memory.get("growth_mib")
    complete = memory.get("files") == files + 1  # every file, the big one too, was sent
    add(
        "first_run.memory_growth",
        growth,
        "<",
        GROWTH_BUDGET_MIB,
        "MiB",
        growth is not None and complete and growth < GROWTH_BUDGET_MIB,
    )
    return verdicts


def _counts(counts: list[int]) -> str:
    """The count of every round, or each round's where they differ."""
    if len(set(counts)) == 1:
        return f"{counts[0]:,}"
    return "per round: " + ", ".join(f"{count:,}" for count in counts)


def render(summary: dict[str, Any]) -> str:
    system, folder, runs = summary["machine"], summary["folder"], summary["runs"]
    verdicts = {verdict["name"]: verdict for verdict in summary["budgets"]}
    timing = [
        [
            LABELS[name],
            f"{figures['wall_s']['median']:.3f} ({figures['wall_s']['p25']:.3f}-"
            f"{figures['wall_s']['p75']:.3f})",
            f"{figures['cpu_s']['median']:.3f}",
            _counts(figures["requests"]),
            _counts(figures["sent"]),
        ]
        for name, figures in runs.items()
    ]
    memory, per_round = summary["memory"], summary["ratio_per_round"]
    if "error" in memory:
        growth = f"error: {memory['error']}"
    else:
        growth = (
            f"{memory['growth_mib']:.2f} MiB (from {memory['baseline_mib']:.1f} MiB; "
            f"{memory['files']:,} files, {memory['bytes'] / MIB:.1f} MiB in {memory['seconds']} s)"
        )
    medians = (runs["first run"]["wall_s"]["median"], runs["write_many"]["wall_s"]["median"])
    values = {
        "first_run.requests": _counts(runs["first run"]["requests"]),
        "re_run.requests": _counts(runs["re-run"]["requests"]),
        "first_run/write_many.wall": f"{summary['ratio']:.3f}x ({medians[0]:.3f} s / "
        f"{medians[1]:.3f} s)",
        "first_run.memory_growth": growth,
    }
    figures = {
        "first_run.requests": "first run: requests, in every round (files + 1)",
        "re_run.requests": "re-run with nothing changed: requests, in every round",
        "first_run/write_many.wall": "first run / write_many: wall time, ratio of the medians",
        "first_run.memory_growth": f"first run with a {memory['big_file_mib']} MiB file added "
        "(a fresh process): peak RSS growth",
    }
    budgets = [
        [
            figures[name],
            values[name],
            BUDGET_FORMATS[verdict["unit"]].format(**verdict),
            "pass" if verdict["pass"] else "MISS",
        ]
        for name, verdict in verdicts.items()
    ]
    missed = summary["missed"]
    return "\n".join(
        [
            f"craft-sdk {summary['craft_sdk']} folder-sync bench, {summary['plan']} plan, "
            f"{summary['date']}: Python {summary['python']}; {system['nproc']} CPUs, "
            f"{system['cpu']}",
            "",
            f"A folder of {folder['files']:,} files, {folder['bytes'] / MIB:.1f} MiB, against "
            f"bench/server.py; one sync CraftClient, {summary['concurrency']} uploads at a time; "
            f"{summary['rounds']} rounds after a warm-up. Seconds: median (p25-p75).",
            "",
            report.table(
                ["run", "wall s", "client CPU s", "requests per run", "files sent per run"],
                timing,
            ),
            "",
            f"First run / write_many, per round: {per_round['median']:.3f}x median "
            f"({per_round['p25']:.3f}-{per_round['p75']:.3f}).",
            "",
            report.table(["figure", "value", "budget", "result"], budgets),
            "",
            f"Budgets missed: {len(missed)} of {len(verdicts)}"
            + (f" ({', '.join(missed)})" if missed else "")
            + f". The bench took {summary['elapsed_s']:.0f} s.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="Folder sync, measured.")
    parser.add_argument("--smoke", action="store_true", help="200 files, 3 rounds")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    parser.add_argument(
        "--memory-child", nargs=2, metavar=("BASE_URL", "FOLDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.memory_child:
        base_url, folder = args.memory_child
        print(json.dumps(memory_child(base_url, Path(folder))))
        return 0
    ensure_installed()
    clean_environment()
    started = time.perf_counter()
    summary = measure(SMOKE if args.smoke else FULL)
    summary["budgets"] = judge(summary)
    summary["missed"] = [verdict["name"] for verdict in summary["budgets"] if not verdict["pass"]]
    summary["passed"] = not summary["missed"]
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(render(summary))
    print(json.dumps(summary, separators=(",", ":")))  # the last line, for machines
    return 1 if args.check and summary["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
