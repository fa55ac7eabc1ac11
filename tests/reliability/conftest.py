"""What every reliability case shares: a distinctive key, a runner for both clients, and the one
check every exception a case receives goes through (`raises` / `check_error`).

The key appears only as the module constant `KEY`: no test keeps it in a local variable, so a
locals-capturing traceback of a test frame shows it only if the SDK put it somewhere.
"""

from __future__ import annotations

import asyncio
import faulthandler
import json
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from typing import Any, TypeVar

import httpx
import pytest

from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk._config import DEFAULT_TIMEOUT
from craft_sdk.testing import FakeClock

# tests/conftest.py's helpers, re-exported for the cases here.
from ..conftest import BASE_URL as BASE_URL
from ..conftest import await_until as await_until
from ..conftest import calls_of as calls_of
from ..conftest import failure as failure
from ..conftest import free_port as free_port
from ..conftest import ok as ok
from ..conftest import wait_until as wait_until
from ..test_secrets import reachable_text

KEY = "sk_live_RELIABILITY_canary_4e9d2c7b10af"
"""Distinctive: found anywhere, it can only have come from the client."""
USER = {"id": "user_1", "email": "ada@example.com", "name": "Ada"}
USER_BODY = json.dumps(ok(USER)).encode()
"""`ok(USER)` as the bytes a server sends."""
PROJECT = {
    "id": "proj_1",
    "name": "Site",
    "status": "active",
    "previewUrl": "https://preview.craft.fast/proj_1",
    "createdAt": "2024-01-15T12:30:00Z",
    "updatedAt": "2024-01-15T12:30:00Z",
}

E = TypeVar("E", bound=BaseException)

Operation = Callable[[Any], Any]
"""What `run` is given: one call on a client, `lambda c: c.me()`. A list or dict of them is
annotated with this, so that their `c` is typed (`Any`, as either client may be passed)."""


def check_error(error: BaseException, *, frames: bool = True) -> None:
    """The check every exception seen by this suite goes through: the key is nowhere in what
    the exception holds (walked by tests/test_secrets.py's walker), nor in its traceback
    formatted with the locals of every frame, chained exceptions included.

    `frames=False` skips the locals of the frames, for errors raised while a client is being
    built from a key: the constructor's own `api_key` argument holds the key there, whatever
    the SDK does."""
    leaks = [text for text in reachable_text(error) if KEY in text]
    assert leaks == [], f"the key leaked through {type(error).__name__}"
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=frames).format()
    )
    assert KEY not in formatted, f"the key is in the traceback of {error!r}"


@contextmanager
def raises(
    kind: type[E], *, frames: bool = True, **attributes: Any
) -> Generator[pytest.ExceptionInfo[E], None, None]:
    """`pytest.raises(kind)` that also checks the given attributes
    (`raises(X, status_code=503, attempts=4)`) and, last, the exception for the key."""
    with pytest.raises(kind) as caught:
        yield caught
    error = caught.value
    actual = {name: getattr(error, name) for name in attributes}
    assert actual == attributes
    check_error(error, frames=frames)


class Runner:
    """Runs one operation on a `CraftClient`, or awaits it on an `AsyncCraftClient` (in a fresh
    event loop), so that each case is written once and proves both:
    `run(lambda c: c.me(), base_url=server.url, max_retries=0)`.

    Each flavour runs twice: on the httpx client the SDK makes for itself, whose requests go
    straight to its connection pool, and ("+http_client") on a caller's own httpx client, whose
    requests go through all of httpx's client; every guarantee must hold on both."""

    def __init__(self, flavour: str, clock: FakeClock) -> None:
        self.flavour, _, callers = flavour.partition("+")
        self.callers_http = callers == "http_client"
        self.clock = clock

    def options(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"api_key": KEY, "clock": self.clock, "base_url": BASE_URL, **options}

    def __call__(self, operation: Operation, **given: Any) -> Any:
        # The options with the key are made inline, never kept in a local of this frame: a
        # locals-capturing traceback must show the key only if the SDK kept it.
        callers_http = self.callers_http and "http_client" not in given
        if self.flavour == "sync":
            with ExitStack() as stack:
                if callers_http:
                    http = httpx.Client(timeout=DEFAULT_TIMEOUT)
                    given["http_client"] = stack.enter_context(http)
                return operation(stack.enter_context(CraftClient(**self.options(given))))

        async def main() -> Any:
            async with AsyncExitStack() as stack:
                if callers_http:
                    http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
                    given["http_client"] = await stack.enter_async_context(http)
                client = AsyncCraftClient(**self.options(given))
                return await operation(await stack.enter_async_context(client))

        return asyncio.run(main())


@pytest.fixture(params=["sync", "async", "sync+http_client", "async+http_client"])
def run(request: pytest.FixtureRequest, clock: FakeClock) -> Runner:
    return Runner(request.param, clock)


@pytest.fixture(params=["sync", "async"])
def run_own(request: pytest.FixtureRequest, clock: FakeClock) -> Runner:
    """`run`, on the httpx client the SDK makes for itself only: for what only it does."""
    return Runner(request.param, clock)


@pytest.fixture(autouse=True)
def _watchdog() -> Iterator[None]:
    # No pytest-timeout here: a case that hangs dumps every thread's stack and ends the run
    # instead of blocking it forever. Cases bound their own waits far below this.
    stderr = sys.__stderr__
    assert stderr is not None
    faulthandler.dump_traceback_later(120, exit=True, file=stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


class ScriptedClock(FakeClock):
    """A FakeClock whose next sleep can be made to misbehave: `hang` makes the next async sleep
    wait until it is cancelled (so a test can cancel a task mid-wait), `interrupt` makes the next
    sleep raise KeyboardInterrupt (Ctrl-C during a backoff)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False
        self.interrupt = False
        self.sleeping = threading.Event()

    def sleep(self, seconds: float) -> None:
        if self.interrupt:
            self.interrupt = False
            self.sleeps.append(seconds)
            raise KeyboardInterrupt
        super().sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        if self.hang:
            self.hang = False
            self.sleeps.append(seconds)
            self.sleeping.set()
            await asyncio.Event().wait()  # until cancelled
        await super().asleep(seconds)
