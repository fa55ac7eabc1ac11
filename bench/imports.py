"""What `import craft_sdk` costs a fresh interpreter, beside `import httpx, pydantic` alone.

Each sample is a new interpreter that times the import in-process (`time.perf_counter` around
the `import` statement, so interpreter start-up is left out) and counts the modules it added
(`len(sys.modules)` after it, minus before it: a bare interpreter's modules). The imports
alternate, after one discarded run of each that writes the bytecode caches: to a temporary
PYTHONPYCACHEPREFIX, so that nothing is written beside the sources and PYTHONDONTWRITEBYTECODE
cannot leave the SDK (an editable install has no caches of its own) compiling at every import.

`import craft_sdk` loads its names on first use, so it is also measured the way a program uses
it: `from craft_sdk import CraftClient, AsyncCraftClient` in an interpreter that has already
imported httpx and pydantic and defined one pydantic model (pydantic loads most of its own
machinery only when the first model class is made, and every httpx + pydantic SDK pays that).
That figure is the time of the `from` statement alone; its module count is everything the
interpreter added since it started, httpx and pydantic included.

`import httpx` also imports httpx's command-line client, and with it click, rich and pygments,
whenever those happen to be installed (they are httpx's optional `cli` extra; a development
environment often has them). `pip install craft-sdk` does not install them, so the budgets are
judged with them hidden from the probe, as after a plain install; when they are installed, the
figures with them are measured and reported too.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

FIRST_USE: Final = "first use"
SUBJECTS: Final = {
    "craft_sdk": "craft_sdk",
    "httpx_pydantic": "httpx, pydantic",
    "first_use": FIRST_USE,
}
HIDE_HTTPX_CLI: Final = "sys.modules['click'] = None  # httpx's CLI then is not imported\n"
_PROBE: Final = """\
import sys, time
{prelude}before = len(sys.modules)
started = time.perf_counter()
import {modules}
seconds = time.perf_counter() - started
print(seconds, len(sys.modules) - before)
"""
_FIRST_USE_PROBE: Final = """\
import sys, time
{prelude}before = len(sys.modules)
import httpx, pydantic
class Model(pydantic.BaseModel):
    x: int
started = time.perf_counter()
from craft_sdk import AsyncCraftClient, CraftClient
seconds = time.perf_counter() - started
print(seconds, len(sys.modules) - before)
"""


def sample(modules: str, prelude: str, env: dict[str, str]) -> tuple[float, int]:
    """Seconds and modules added, for `import <modules>` in a new interpreter (for the subject
    "first use", see `_FIRST_USE_PROBE`)."""
    probe = _FIRST_USE_PROBE if modules == FIRST_USE else _PROBE
    done = subprocess.run(
        [sys.executable, "-c", probe.format(modules=modules, prelude=prelude)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,  # what `import` finds is what the bench itself imports
        env=env,
    )
    seconds, count = done.stdout.split()
    return float(seconds), int(count)


def _figures(times: dict[str, list[float]], counts: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        name: {
            "median_ms": round(statistics.median(times[name]), 1),
            "min_ms": round(min(times[name]), 1),
            "max_ms": round(max(times[name]), 1),
            "modules": counts[name],
        }
        for name in SUBJECTS
    }
    craft, base = result["craft_sdk"], result["httpx_pydantic"]
    result["extra_ms"] = round(craft["median_ms"] - base["median_ms"], 1)
    result["extra_modules"] = craft["modules"] - base["modules"]
    return result


def measure(runs: int) -> dict[str, Any]:
    httpx_cli = importlib.util.find_spec("click") is not None
    preludes = {"plain": HIDE_HTTPX_CLI, **({"as_installed": ""} if httpx_cli else {})}
    times: dict[tuple[str, str], list[float]] = {
        (variant, name): [] for variant in preludes for name in SUBJECTS
    }
    counts: dict[tuple[str, str], int] = {}
    with tempfile.TemporaryDirectory() as caches:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": caches}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for modules in SUBJECTS.values():
            sample(modules, "", env)
        for _ in range(runs):
            for variant, prelude in preludes.items():
                for name, modules in SUBJECTS.items():
                    seconds, counts[variant, name] = sample(modules, prelude, env)
                    times[variant, name].append(seconds * 1000)

    def variant_figures(variant: str) -> dict[str, Any]:
        return _figures(
            {name: times[variant, name] for name in SUBJECTS},
            {name: counts[variant, name] for name in SUBJECTS},
        )

    result = {"runs": runs, "httpx_cli_installed": httpx_cli, **variant_figures("plain")}
    if httpx_cli:
        result["as_installed"] = variant_figures("as_installed")
    return result
