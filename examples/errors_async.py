"""Errors with asyncio: what a failed `await` raises, what it tells you, which failures are worth
retrying, and how errors come back from calls run at once with `asyncio.gather`.

    python examples/errors_async.py

The client retries what is safe to retry by itself (see retries_and_rate_limits_async.py): an
error that reaches you is one to fix, or one to retry later with care. With CRAFT_API_KEY set it
talks to the Craft API (or CRAFT_BASE_URL) and causes the errors it can for real (a missing
project, a bad key); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline, which also injects a 500, a dropped connection, an outage and 429s.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from craft_sdk import (
    APIConnectionError,
    AsyncCraftClient,
    CraftError,
    InternalServerError,
    RateLimitError,
)

if TYPE_CHECKING:
    from craft_sdk.testing import CraftEmulator


def safe_to_send_again(error: CraftError, *, idempotent: bool) -> bool:
    """Whether to send the same request again later, once the client's own retries ran out."""
    if isinstance(error, RateLimitError):
        return True  # the API did nothing; wait error.retry_after seconds first
    if isinstance(error, (APIConnectionError, InternalServerError)):
        # A read can be repeated. A create may already be done (may_have_succeeded): look
        # (list your projects) before you make it again.
        return idempotent or not error.may_have_succeeded
    return False  # any other 4xx is the API's answer: fix the request or the key instead


def report(what: str, error: CraftError, *, idempotent: bool) -> None:
    print(f"{what}: {type(error).__name__}: {error}")  # status, code and request_id
    maybe_done = getattr(error, "may_have_succeeded", False)
    again = safe_to_send_again(error, idempotent=idempotent)
    print(f"  sent {error.attempts}x; may have succeeded: {maybe_done}; send again: {again}")


async def attempt(what: str, action: Callable[[], Awaitable[object]], *, idempotent: bool) -> None:
    try:
        await action()  # the error is raised where the call is awaited
    except CraftError as error:
        report(what, error, idempotent=idempotent)


async def run(
    client: AsyncCraftClient, bad_key: AsyncCraftClient, emulator: CraftEmulator | None
) -> None:
    await attempt(
        "Read a missing project", lambda: client.projects.get("proj_missing"), idempotent=True
    )
    await attempt("Read with a bad key", bad_key.me, idempotent=True)
    try:
        await client.projects.create(name="")  # arguments are checked before anything is sent
    except ValueError as error:
        print(f"Refused before sending: ValueError: {error}")

    # Calls run at once: return_exceptions=True hands back every outcome, errors included,
    # instead of raising the first error and leaving the other results unread.
    print("Three calls at once, with asyncio.gather:")
    outcomes = await asyncio.gather(
        client.me(), client.projects.get("proj_missing"), bad_key.me(), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, CraftError):
            print(f"  gathered: {type(outcome).__name__} after {outcome.attempts} attempt(s)")
        elif isinstance(outcome, BaseException):
            raise outcome  # not the API's doing: a bug, or a cancellation
        else:
            print(f"  gathered: {type(outcome).__name__}")

    if emulator is None:
        print("Injected failures need the emulator: run without CRAFT_API_KEY to see them.")
        return
    emulator.fail_next(status=500, method="POST")  # a POST is never sent twice
    await attempt("Create during a 500", lambda: client.projects.create(name="x"), idempotent=False)
    emulator.fail_next(drop=True, method="POST")
    await attempt(
        "Create on a dropped line", lambda: client.projects.create(name="x"), idempotent=False
    )
    emulator.fail_next(4, status=503, method="GET")  # a GET is retried, up to max_retries
    await attempt("Read during an outage", client.me, idempotent=True)
    emulator.fail_next(2, status=429)
    await attempt("Read while throttled", client.with_options(max_retries=1).me, idempotent=True)


async def main() -> int:
    emulator: CraftEmulator | None = None
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = AsyncCraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
            bad_key = AsyncCraftClient(api_key="craft_not_a_real_key")
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            emulator = CraftEmulator()
            client = emulator.async_client()
            bad_key = emulator.async_client(api_key="craft_not_a_real_key")
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        async with client, bad_key:
            await run(client, bad_key, emulator)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
