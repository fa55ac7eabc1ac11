"""Deployments: start one, wait for it while printing its progress, list them, handle a failed
build, and cancel one that is still running.

    python examples/deployments.py

It deploys a project it creates and deletes. With CRAFT_API_KEY set it talks to the Craft API
(or to CRAFT_BASE_URL); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline, where builds finish in a few polls and the second one is made to fail.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from craft_sdk import (
    ConflictError,
    CraftClient,
    CraftError,
    DeploymentFailedError,
    WaitTimeoutError,
)

if TYPE_CHECKING:
    from craft_sdk.testing import CraftEmulator


def deploy(client: CraftClient, project_id: str) -> None:
    deployment = client.deployments.create(project_id, environment="preview")
    print(f"Started deployment {deployment.id} ({deployment.status})")
    try:
        deployment = client.deployments.wait(
            project_id,
            deployment.id,
            timeout=600,  # seconds in all; WaitTimeoutError after that
            poll_interval=2.0,  # the first wait between polls; it backs off to 30 s
            on_status=lambda d: print(f"  {d.id} is {d.status}"),
        )
        print(f"Deployed to {deployment.url}")
    except DeploymentFailedError as failed:
        print(f"Build failed: {failed.deployment.error}")
    except WaitTimeoutError as slow:
        print(f"Still {slow.deployment.status} after 10 minutes")


def run(client: CraftClient, emulator: CraftEmulator | None) -> None:
    project = client.projects.create(name="craft-sdk deployments example", template="blank")
    print(f"Created project {project.id}")
    try:
        client.files.write(project.id, "src/app/page.tsx", "export default () => 'Hi'\n")
        deploy(client, project.id)
        if emulator is not None:
            emulator.fail_next_deployment("Type error in src/app/page.tsx")
        deploy(client, project.id)

        started = client.deployments.create(project.id, environment="production")
        try:
            canceled = client.deployments.cancel(project.id, started.id)
            print(f"Canceled {canceled.id}: {canceled.status}")
        except ConflictError:  # it had already finished
            print(f"{started.id} finished before it could be canceled")

        for deployment in client.deployments.list(project.id, limit=10):
            print(f"  {deployment.id} {deployment.environment or '-':10} {deployment.status}")
    finally:
        client.projects.delete(project.id)
        print(f"Deleted project {project.id}")


def main() -> int:
    emulator: CraftEmulator | None = None
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = CraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            emulator = CraftEmulator()
            client = emulator.client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        with client:
            run(client, emulator)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
