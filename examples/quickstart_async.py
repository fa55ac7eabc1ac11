"""The quickstart with asyncio: create a project, write files as concurrent tasks, iterate the
project list, deploy and wait, clean up.

    python examples/quickstart_async.py

With CRAFT_API_KEY set it talks to the Craft API (or to CRAFT_BASE_URL); without it, it runs
against the Craft emulator from `craft_sdk.testing`, offline.
"""

from __future__ import annotations

import asyncio
import os
import sys

from craft_sdk import AsyncCraftClient, CraftError


async def run(client: AsyncCraftClient) -> None:
    user = await client.me()
    print(f"Signed in as {user.email}")

    project = await client.projects.create(name="craft-sdk async quickstart")
    print(f"Created project {project.id}")
    try:
        # An update may answer only the fields it changed: apply the answer to what you hold.
        answer = await client.projects.update(project.id, description="Made by the quickstart")
        project = answer.applied_to(project)
        print(f"Described it as {project.description!r}")
        files = {f"src/pages/page{n}.tsx": f"export const n = {n}\n" for n in range(5)}
        written = await client.files.write_many(project.id, files, concurrency=5)
        print(f"Wrote {len(written)} files as concurrent tasks")

        names = [p.name async for p in client.projects.list(limit=20, max_items=50)]
        print(f"Listed {len(names)} project(s)")

        deployment = await client.deployments.create(project.id)
        deployment = await client.deployments.wait(
            project.id, deployment.id, timeout=300, poll_interval=1.0
        )
        print(f"Deployment {deployment.id} is {deployment.status}")
    finally:
        await client.projects.delete(project.id)
        print(f"Deleted project {project.id}")


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
