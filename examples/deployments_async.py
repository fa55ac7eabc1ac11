"""Deployments with asyncio: deploy to preview and production at once and wait for both as
concurrent tasks, taking a failure as a result (`raise_on_failure=False`) instead of an error.

    python examples/deployments_async.py

It deploys a project it creates and deletes. With CRAFT_API_KEY set it talks to the Craft API
(or to CRAFT_BASE_URL); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline, where builds finish in a few polls.
"""

from __future__ import annotations

import asyncio
import os
import sys

from craft_sdk import AsyncCraftClient, CraftError, Deployment, DeploymentEnvironment


async def deploy(
    client: AsyncCraftClient, project_id: str, to: DeploymentEnvironment
) -> Deployment:
    deployment = await client.deployments.create(project_id, environment=to)
    print(f"Started {to} deployment {deployment.id}")
    return await client.deployments.wait(
        project_id,
        deployment.id,
        timeout=600,
        poll_interval=2.0,
        on_status=lambda d: print(f"  {to}: {d.status}"),
        raise_on_failure=False,  # a failed build is returned, with .status == "failed"
    )


async def run(client: AsyncCraftClient) -> None:
    project = await client.projects.create(name="craft-sdk async deployments example")
    print(f"Created project {project.id}")
    try:
        await client.files.write(project.id, "src/app/page.tsx", "export default () => 'Hi'\n")
        finished = await asyncio.gather(
            deploy(client, project.id, "preview"), deploy(client, project.id, "production")
        )
        for deployment in finished:
            outcome = deployment.url if deployment.status == "completed" else deployment.error
            print(f"{deployment.environment}: {deployment.status} ({outcome})")
        first = await client.deployments.list(project.id)  # await: the first page
        print(f"The project has {len(first.data)} deployments")
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
