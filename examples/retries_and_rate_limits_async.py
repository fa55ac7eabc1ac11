"""Retries, rate limits and timeouts with asyncio: the client's options, per-call overrides with
`with_options`, and what the client does on its own when the API is busy or throttles you.

    python examples/retries_and_rate_limits_async.py

With CRAFT_API_KEY set it talks to the Craft API (or to CRAFT_BASE_URL); without it, it runs
against the Craft emulator from `craft_sdk.testing`, offline, with a limit of 5 requests a
minute and injected 503s. The emulator's clock is fake: the waits you see take no real time.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING

import httpx

from craft_sdk import AsyncCraftClient, CraftError, InternalServerError, RateLimitError

if TYPE_CHECKING:
    from craft_sdk.testing import CraftEmulator, FakeClock


async def run(base: AsyncCraftClient, emulator: CraftEmulator | None) -> None:
    # with_options: a copy with other settings that shares the connection pool and the rate
    # limit. The constructor takes the same keywords: AsyncCraftClient(max_retries=5, ...).
    client = base.with_options(
        max_retries=5,  # retries after the first attempt (default 3)
        timeout=httpx.Timeout(30.0, connect=5.0),  # each attempt (default 60 s, 5 s to connect)
        deadline=120.0,  # the whole call, retries and waits included (default 300 s)
        max_retry_wait=60.0,  # a longer wait asked for raises RateLimitError (default 60 s)
    )
    print(f"{client!r}: timeout {client.timeout.read} s, deadline {client.deadline} s")
    impatient = client.with_options(max_retries=0, deadline=None)  # no retries, no deadline
    print(f"A copy for one call: max_retries={impatient.max_retries}, deadline=None")

    # Rate limits: the client reads X-RateLimit-* and, once the window is spent, waits for its
    # reset instead of collecting 429s; a 429 that arrives anyway is retried after Retry-After.
    # The count is shared by every task, so calls run at once do not overspend it either.
    await asyncio.gather(*(client.me() for _ in range(8)))
    if (limit := client.rate_limit) is not None:  # None if the API sent no X-RateLimit-*
        print(f"8 requests at once; {limit.remaining} of {limit.limit} left until {limit.reset_at}")

    if emulator is None:
        return
    # A GET (or PUT, DELETE) is retried after a 5xx, with jittered exponential backoff.
    emulator.fail_next(2, status=503, method="GET")
    await client.me()
    print(f"Statuses of the last 3 requests: {[r[2] for r in emulator.requests[-3:]]}")

    emulator.fail_next(status=503, method="GET")
    try:
        await impatient.me()  # max_retries=0: the first failure is final
    except InternalServerError as error:
        print(f"Without retries: {error} after {error.attempts} attempt(s)")

    hasty = client.with_options(max_retry_wait=5.0)
    try:
        for _ in range(10):  # more than the window allows
            await hasty.me()
    except RateLimitError as error:
        print(f"Raised at once instead of waiting: {error}")


async def main() -> int:
    emulator: CraftEmulator | None = None
    clock: FakeClock | None = None  # the emulator's, when there is one
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = AsyncCraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator, FakeClock

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            clock = FakeClock()
            emulator = CraftEmulator(rate_limit=5, clock=clock)
            client = emulator.async_client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        async with client:
            await run(client, emulator)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if clock is not None:
        print(f"Waited {sum(clock.sleeps):.1f} s in all, on the emulator's fake clock")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
