"""Pagination: iterate every item of every page, walk page by page, or stop after `max_items`.

    python examples/pagination.py

It creates five projects, lists them in pages of two, and deletes them. With CRAFT_API_KEY set
it talks to the Craft API (or to CRAFT_BASE_URL); without it, it runs against the Craft emulator
from `craft_sdk.testing`, offline.
"""

from __future__ import annotations

import os
import sys

from craft_sdk import CraftClient, CraftError

PREFIX = "craft-sdk pagination example"


def run(client: CraftClient) -> None:
    created = [client.projects.create(name=f"{PREFIX} {n}").id for n in range(1, 6)]
    print(f"Created {len(created)} projects")
    try:
        # Every project of every page; each page is fetched when the loop reaches it.
        ours = [p.name for p in client.projects.list(limit=2) if p.name.startswith(PREFIX)]
        print(f"Iterated all pages: {len(ours)} of our projects")

        # One page at a time: the first page, what the API said about the list, the next page.
        first = client.projects.list(limit=2, sort="name", order="asc")
        info = first.pagination
        if info is not None:
            print(f"Page {info.page} of {info.total_pages}: {info.total} projects in all")
        print(f"First page holds {len(first.data)}; another page follows: {first.has_next_page()}")
        if first.has_next_page():
            second = first.get_next_page()
            print(f"Second page: {[p.name for p in second.data]}")

        # Page by page to the end.
        for page in first.iter_pages():
            number = page.pagination.page if page.pagination else "?"
            print(f"  page {number}: {len(page.data)} project(s)")

        # Only the first few, however long the list: no page past them is fetched.
        newest = [p.id for p in client.projects.list(limit=2, max_items=3)]
        print(f"max_items=3 gave {len(newest)} projects")

        # A project's deployments page the same way (files.list reads every page for you).
        print(f"Deployments of one project: {len(list(client.deployments.list(created[0])))}")
    finally:
        for project_id in created:
            client.projects.delete(project_id)
        print(f"Deleted {len(created)} projects")


def main() -> int:
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = CraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            client = CraftEmulator().client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        with client:
            run(client)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
