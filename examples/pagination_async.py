"""Pagination with asyncio: `async for` over every item, `await` for the first page, then walk
the pages, or stop after `max_items`.

    python examples/pagination_async.py

It creates five projects (as concurrent tasks), lists them in pages of two, and deletes them.
With CRAFT_API_KEY set it talks to the Craft API (or to CRAFT_BASE_URL); without it, it runs
against the Craft emulator from `craft_sdk.testing`, offline.
"""

from __future__ import annotations

import asyncio
import os
import sys

from craft_sdk import AsyncCraftClient, CraftError

PREFIX = "craft-sdk async pagination example"


async def run(client: AsyncCraftClient) -> None:
    creates = [client.projects.create(name=f"{PREFIX} {n}") for n in range(1, 6)]
    created = [project.id for project in await asyncio.gather(*creates)]
    print(f"Created {len(created)} projects")
    try:
        # `async for` on list(): every project of every page, one page fetched at a time.
        names = [p.name async for p in client.projects.list(limit=2)]
        print(f"Iterated all pages: {sum((n or '').startswith(PREFIX) for n in names)} of ours")

        # `await` list() for the first page alone; the rest follow on demand.
        first = await client.projects.list(limit=2, sort="name", order="asc")
        total = first.pagination.total if first.pagination else None
        print(f"First page holds {len(first.data)} of {total}; more: {first.has_next_page()}")
        if first.has_next_page():
            second = await first.get_next_page()
            print(f"Second page: {[p.name for p in second.data]}")

        async for page in first.iter_pages():
            number = page.pagination.page if page.pagination else "?"
            print(f"  page {number}: {len(page.data)} project(s)")

        newest = [p.id async for p in client.projects.list(limit=2, max_items=3)]
        print(f"max_items=3 gave {len(newest)} projects")
    finally:
        await asyncio.gather(*(client.projects.delete(project_id) for project_id in created))
        print(f"Deleted {len(created)} projects")


async def main() -> int:
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = AsyncCraftClient()
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            client = CraftEmulator().async_client()
    except CraftError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        async with client:
            await run(client)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
