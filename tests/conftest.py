"""Shared fixtures: clients pointed at the default base URL, with respx standing in for the API.

Every test talks to respx or to a server on 127.0.0.1; no sleep is real (`sleeps` records them).
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any, TypeAlias, TypeVar, cast

import httpx
import pytest
import respx
from respx.models import Call

from craft_sdk import AsyncCraftClient, CraftClient, Deployment
from craft_sdk.testing import CraftEmulator, FakeClock

from .redis_server import RedisServer

Done = TypeVar("Done")
Total = TypeVar("Total")

BASE_URL = "https://api.craft.fast/v1"
API_KEY = "sk_test_9f8e7d6c5b4a"


def needs_python_311(tool: str) -> pytest.MarkDecorator:
    """Skips a test on Python 3.10 only, where the dev extra leaves `tool` out (pyproject.toml):
    its pinned release needs Python 3.11. On 3.11 and later the test runs, and a missing `tool`
    fails it instead of skipping it, as `pytest.importorskip` would."""
    return pytest.mark.skipif(sys.version_info < (3, 11), reason=_needs_311(tool))


def skip_module_before_python_311(tool: str) -> None:
    """`needs_python_311` for a whole module that imports `tool`: call it before that import.

    A function rather than an inline `if sys.version_info < (3, 11): pytest.skip(...)`: mypy and
    pyright check the tests as Python 3.10, and would take the rest of the module for unreachable.
    """
    __tracebackhide__ = True  # the skip is reported at the caller's line, not at this one
    if sys.version_info < (3, 11):
        pytest.skip(_needs_311(tool), allow_module_level=True)


def _needs_311(tool: str) -> str:
    return f"{tool} needs Python 3.11 or later: the dev extra installs it there only"


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"success": True, "data": data, **extra}


def failure(code: str, message: str = "Something went wrong", **error: Any) -> dict[str, Any]:
    """An error envelope."""
    return {"success": False, "error": {"code": code, "message": message, **error}}


def calls_of(route: respx.Route | respx.MockRouter) -> list[Call]:
    """The calls a route (or the whole router) received, in order: `route.calls`, typed.

    respx's `CallList` subclasses a bare `list`, so type checkers see its items as unknown.
    """
    return cast("list[Call]", route.calls)


def each_request(answer: Callable[[], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
    """A respx `side_effect` that answers every request with a fresh `answer()`."""
    return lambda request: answer()


def record_statuses(seen: list[str | None]) -> Callable[[Deployment], None]:
    """An `on_status` callback for `deployments.wait` that appends each status to `seen`."""
    return lambda deployment: seen.append(deployment.status)


def record_progress(seen: list[tuple[Done, Total]]) -> Callable[[Done, Total], None]:
    """An `on_progress` callback that appends each `(done, total)` it is given to `seen`."""
    return lambda done, total: seen.append((done, total))


def statuses(emu: CraftEmulator) -> list[int]:
    """The status of every request the emulator handled, in order (0 for a dropped one)."""
    return [status for _, _, status in emu.requests]


def drain(listed: Any) -> Any:
    """Every item of a `list()`: a list from a sync paginator, an awaitable of one from an async
    paginator (for `run(lambda c: drain(c.projects.list()))`)."""
    if hasattr(listed, "__aiter__"):

        async def gather() -> list[Any]:
            return [item async for item in listed]

        return gather()
    return list(listed)


def run_on(
    flavour: str,
    operation: Callable[[Any], Any],
    *,
    callers_http: bool = False,
    for_oauth: bool = False,
    **options: Any,
) -> Any:
    """Run `operation` on a new client of `flavour` ("sync" or "async") and close it after.

    The client is built with `options` (API_KEY and a FakeClock unless they say otherwise), with
    `for_oauth(...)` when `for_oauth`, and on a caller's own httpx client when `callers_http`.
    """
    options.setdefault("clock", FakeClock())
    if not for_oauth:
        options.setdefault("api_key", API_KEY)
    if flavour == "sync":
        with ExitStack() as stack:
            if callers_http:
                options["http_client"] = stack.enter_context(httpx.Client())
            client = CraftClient.for_oauth(**options) if for_oauth else CraftClient(**options)
            return operation(stack.enter_context(client))

    async def main() -> Any:
        async with AsyncExitStack() as stack:
            if callers_http:
                options["http_client"] = await stack.enter_async_context(httpx.AsyncClient())
            client = (
                AsyncCraftClient.for_oauth(**options) if for_oauth else AsyncCraftClient(**options)
            )
            return await operation(await stack.enter_async_context(client))

    return asyncio.run(main())


USER = {"id": "user_1", "email": "ada@example.com", "name": "Ada"}
PROJECT = {
    "id": "proj_abc123",
    "name": "My Landing Page",
    "description": "A page",
    "status": "active",
    "template": "landing-page",
    "previewUrl": "https://preview.craft.fast/proj_abc123",
    "createdAt": "2024-01-15T12:30:00Z",
    "updatedAt": "2024-01-16T08:00:00Z",
    "settings": {"framework": "react", "styling": "tailwind"},
    "stats": {"files": 12, "lastEditedAt": "2024-01-16T08:00:00Z"},
}


def free_port() -> int:
    """A port on 127.0.0.1 just freed, where nothing listens (for a refused connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` from a thread, failing the case after `timeout` seconds: for an event
    another thread or process brings about in real time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.002)


async def await_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` from a task, failing the case after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.002)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    """Which client a test runs on: "sync" (CraftClient) or "async" (AsyncCraftClient)."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests decide the environment themselves; a developer's own key must never leak in.
    for name in ("CRAFT_API_KEY", "CRAFT_BASE_URL", "CRAFT_LOG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def clock() -> FakeClock:
    """The clients below run on this clock: no wait is real, and every wait is recorded."""
    return FakeClock()


@pytest.fixture
def sleeps(clock: FakeClock) -> list[float]:
    """The waits the client asked for, in order."""
    return clock.sleeps


@pytest.fixture
def client(clock: FakeClock) -> Iterator[CraftClient]:
    with CraftClient(api_key=API_KEY, clock=clock) as craft:
        yield craft


@pytest.fixture
async def async_client(clock: FakeClock) -> AsyncIterator[AsyncCraftClient]:
    async with AsyncCraftClient(api_key=API_KEY, clock=clock) as craft:
        yield craft


Runner: TypeAlias = Callable[[Callable[[Any], Any]], Any]


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Runner]:
    """Runs one operation on a CraftClient, or awaits it on an AsyncCraftClient, so that each
    test is written once and proves both clients: `run(lambda c: c.projects.get("proj_1"))`.

    Extra client options come from `@pytest.mark.client_options(max_retries=0, ...)`.
    """
    marker = request.node.get_closest_marker("client_options")
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "clock": clock,
        **(marker.kwargs if marker else {}),
    }

    if request.param == "sync":
        with CraftClient(**options) as craft:
            yield lambda operation: operation(craft)
        return

    def run_async(operation: Callable[[Any], Any]) -> Any:
        async def main() -> Any:
            async with AsyncCraftClient(**options) as craft:
                return await operation(craft)

        return asyncio.run(main())

    yield run_async


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests/redis_server.py); skips, or fails under
    CRAFT_REQUIRE_REDIS, without a redis-server binary. Tests take `redis_url`, which empties it."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied (FLUSHALL) for this test, and running again should a test
    before this one have stopped it."""
    return redis_server.reset()


@contextlib.contextmanager
def emulator_process(
    *flags: str, env: dict[str, str] | None = None
) -> Generator[subprocess.Popen[str], None, None]:
    """`python -m craft_sdk.testing --port 0 FLAGS` in a subprocess, its output piped as text.

    A watchdog kills it after 30 s whatever happens, which bounds every read of its output; it
    is killed on the way out if it still runs.
    """
    command = [sys.executable, "-m", "craft_sdk.testing", "--port", "0", *flags]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    watchdog = threading.Timer(30, process.kill)
    watchdog.start()
    try:
        yield process
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` (a relative "/"-separated path -> text or bytes) under `root`, folders and
    all; returns `root`."""
    for path, content in files.items():
        target = root.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
    return root


def read_exports(process: subprocess.Popen[str]) -> dict[str, str]:
    """The variables of the `export NAME=VALUE` lines an emulator prints once it listens (the
    last is CRAFT_API_KEY), read from its piped standard output."""
    assert process.stdout is not None
    exports: dict[str, str] = {}
    while "CRAFT_API_KEY" not in exports:
        line = process.stdout.readline()
        assert line, "the emulator ended before it listened"
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = shlex.split(value)[0]  # the emulator quotes them for a shell
    return exports


@contextlib.contextmanager
def either_client(
    emulator: CraftEmulator, flavour: str, **options: Any
) -> Generator[Runner, None, None]:
    """A `Runner` on a `CraftClient` ("sync") or an `AsyncCraftClient` ("async", each operation
    awaited on one event loop) from `emulator`, so that one test proves both clients."""
    if flavour == "sync":
        with emulator.client(**options) as client:
            yield lambda operation: operation(client)
        return
    async_client = emulator.async_client(**options)
    loop = asyncio.new_event_loop()

    def run_async(operation: Callable[[Any], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            return await operation(async_client)

        return loop.run_until_complete(main())

    try:
        yield run_async
    finally:
        loop.run_until_complete(async_client.aclose())
        loop.close()


def run_together(commands: list[list[str]], *, timeout: float = 60) -> list[tuple[str, str]]:
    """Start the processes, wait until each says `ready` (however slowly a loaded machine starts
    them), send each a `go` line at once, and return what each printed after: (stdout, stderr).

    A watchdog kills them all after `timeout`, so that no read waits forever; every process must
    exit 0.
    """
    processes = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]

    def kill_all() -> None:
        for process in processes:
            process.kill()

    watchdog = threading.Timer(timeout, kill_all)
    watchdog.start()
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready", process.communicate()[1]
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate() for process in processes]
    finally:
        watchdog.cancel()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert [process.returncode for process in processes] == [0] * len(processes), outputs
    return outputs
