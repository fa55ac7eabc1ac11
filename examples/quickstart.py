"""Create a Craft project, read it, rename it, archive and unarchive it, then delete it.

    export CRAFT_API_KEY=...
    python examples/quickstart.py

This talks to the real Craft API (https://api.craft.fast/v1) and leaves nothing behind when it
succeeds: the project it creates is deleted at the end. If a step fails, the project stays;
its id is printed, so it can be deleted with `client.projects.delete(id)`.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from craft_sdk import CraftClient, CraftError


def run(client: CraftClient) -> None:
    user = client.me()
    print(f"Signed in as {user.email or user.id}")

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    project = client.projects.create(
        name=f"craft-sdk quickstart {stamp}",
        description="Created by examples/quickstart.py; deleted when it finishes.",
    )
    print(f"Created {project.id}: {project.name!r}, status {project.status}")
    print(f"Preview: {project.preview_url}")

    project = client.projects.get(project.id)
    framework = project.settings.framework if project.settings else None
    files = project.stats.files if project.stats else None
    print(f"Fetched {project.id}: framework {framework}, {files} files")

    renamed = client.projects.update(project.id, name=f"craft-sdk quickstart (renamed) {stamp}")
    print(f"Renamed {project.id} to {renamed.name!r}")

    archived = client.projects.archive(project.id)
    print(f"Archived {project.id}: status {archived.status}")

    active = client.projects.unarchive(project.id)
    print(f"Unarchived {project.id}: status {active.status}")

    deleted = client.projects.delete(project.id)
    print(f"Deleted {deleted.id}: deleted={deleted.deleted}")


def main() -> int:
    try:
        client = CraftClient()  # reads CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
    except CraftError as error:
        # Raised before any request, for a missing or malformed key or base URL.
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
