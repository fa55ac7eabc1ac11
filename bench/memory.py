"""Peak memory, each measured in a fresh child process so that nothing else the bench did counts.

    python bench/memory.py iterate BASE_URL ITEMS sync|async
        Iterate ITEMS projects (pages of 100). RSS is read after the first tenth of the items
        and the peak is reset there; the figure is the peak after it minus the RSS at it.
    python bench/memory.py upload BASE_URL BYTES sync|async
        Write a sparse file of BYTES from a Path with `files.write`. The figure is the peak
        during the upload minus the RSS before it (after a small warm-up write).

Each prints one JSON object; `iterate()` and `upload()` run them for the bench.

On Linux, RSS is VmRSS from /proc/self/status, and the peak is VmHWM, reset by writing 5 to
/proc/self/clear_refs. Elsewhere only `ru_maxrss` (the peak since the process started) is
available, so the baseline is that peak too.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from server import API_KEY, PROJECT_ID

MIB: Final = 1024 * 1024
PAGE_LIMIT: Final = 100
STATUS: Final = Path("/proc/self/status")
CLEAR_REFS: Final = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _max_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def rss_mib() -> float:
    """The resident set size now (the peak so far where that cannot be read)."""
    kib = _status_kib("VmRSS")
    return (kib if kib is not None else _max_rss_kib()) / 1024


def peak_mib() -> float:
    """The highest resident set size since the last `reset_peak()` (or since the start)."""
    kib = _status_kib("VmHWM")
    return (kib if kib is not None else _max_rss_kib()) / 1024


def reset_peak() -> bool:
    """Start the peak over from the current RSS; False where the OS cannot."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class Watch:
    """Marks the baseline once, then reports the peak growth past it."""

    def __init__(self) -> None:
        self.baseline: float | None = None
        self.peak_reset = False

    def mark(self) -> None:
        self.peak_reset = reset_peak()
        self.baseline = rss_mib()

    def report(self, **extra: Any) -> dict[str, Any]:
        assert self.baseline is not None
        peak = peak_mib()
        return {
            "baseline_mib": round(self.baseline, 2),
            "end_mib": round(rss_mib(), 2),
            "peak_mib": round(peak, 2),
            "growth_mib": round(peak - self.baseline, 2),
            "peak_reset": self.peak_reset,
            **extra,
        }


def child_iterate(base_url: str, items: int, mode: str) -> dict[str, Any]:
    from craft_sdk import AsyncCraftClient, CraftClient

    mark_at = items // 10
    watch, seen = Watch(), 0
    started = time.perf_counter()

    def count() -> None:
        nonlocal seen
        seen += 1
        if seen == mark_at:
            watch.mark()

    if mode == "sync":
        with CraftClient(api_key=API_KEY, base_url=base_url) as client:
            for _project in client.projects.list(limit=PAGE_LIMIT, max_items=items):
                count()
    else:

        async def iterate() -> None:
            async with AsyncCraftClient(api_key=API_KEY, base_url=base_url) as client:
                async for _project in client.projects.list(limit=PAGE_LIMIT, max_items=items):
                    count()

        asyncio.run(iterate())
    elapsed = time.perf_counter() - started
    return watch.report(items=seen, baseline_after_items=mark_at, seconds=round(elapsed, 2))


def child_upload(base_url: str, size: int, mode: str) -> dict[str, Any]:
    from craft_sdk import AsyncCraftClient, CraftClient

    watch = Watch()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "upload.bin")
        with path.open("wb") as file:
            file.truncate(size)  # sparse: no disk space, and reads back as zeros
        started = 0.0
        if mode == "sync":
            with CraftClient(api_key=API_KEY, base_url=base_url) as client:
                client.files.write(PROJECT_ID, "warm-up.txt", "warm-up")
                watch.mark()
                started = time.perf_counter()
                entry = client.files.write(PROJECT_ID, "upload.bin", path)
        else:

            async def upload() -> Any:
                nonlocal started
                async with AsyncCraftClient(api_key=API_KEY, base_url=base_url) as client:
                    await client.files.write(PROJECT_ID, "warm-up.txt", "warm-up")
                    watch.mark()
                    started = time.perf_counter()
                    return await client.files.write(PROJECT_ID, "upload.bin", path)

            entry = asyncio.run(upload())
        elapsed = time.perf_counter() - started
    if entry.size != size:
        raise AssertionError(f"the server received {entry.size} bytes, not {size}")
    return watch.report(
        bytes=size, seconds=round(elapsed, 2), mib_per_s=round(size / MIB / elapsed)
    )


def run_child(*args: object) -> dict[str, Any]:
    """Run `python bench/memory.py ARGS...` and return what it printed, or the error."""
    return run_script(Path(__file__), *args)


def run_script(script: Path, *args: object) -> dict[str, Any]:
    """Run `python SCRIPT ARGS...` in a fresh process: the JSON of its last line, or the last
    line of its error."""
    command = [sys.executable, str(script), *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return {"error": lines[-1]}
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def iterate(base_url: str, items: int, mode: str) -> dict[str, Any]:
    return {"items": items, **run_child("iterate", base_url, items, mode)}


def upload(base_url: str, size: int, mode: str) -> dict[str, Any]:
    return {"bytes": size, **run_child("upload", base_url, size, mode)}


def main() -> None:
    children: dict[str, Callable[[str, int, str], dict[str, Any]]] = {
        "iterate": child_iterate,
        "upload": child_upload,
    }
    what, base_url, amount, mode = sys.argv[1:]
    print(json.dumps(children[what](base_url, int(amount), mode)))


if __name__ == "__main__":
    main()
