"""A real workflow with craft-sdk: create a project, write files, list with pagination, deploy and
wait, verify a webhook, clean up.

    python examples/quickstart.py

With CRAFT_API_KEY set it talks to the Craft API (or to CRAFT_BASE_URL). Without it, it says so
and runs against the Craft emulator that ships in `craft_sdk.testing`, offline.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

from craft_sdk import (
    CraftClient,
    CraftError,
    DeploymentFailedError,
    construct_event,
    sign_webhook,
)

WEBHOOK_SECRET = "whsec_quickstart"  # the emulator signs its deliveries with this


def run(client: CraftClient, deliveries: list[tuple[bytes, dict[str, str]]]) -> None:
    user = client.me()
    print(f"Signed in as {user.email}")

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    project = client.projects.create(
        name=f"craft-sdk quickstart {stamp}",
        description="Created by examples/quickstart.py; deleted when it finishes.",
        template="landing-page",
    )
    print(f"Created project {project.id} ({project.preview_url})")
    try:
        # An update may answer only the fields it changed: apply the answer to what you hold.
        answer = client.projects.update(project.id, name=f"{project.name} (renamed)")
        project = answer.applied_to(project)
        print(f"Renamed it {project.name!r}; still {project.status}")
        work_on(client, project.id, deliveries)
    finally:
        client.projects.delete(project.id)
        print(f"Deleted project {project.id}")


def work_on(
    client: CraftClient, project_id: str, deliveries: list[tuple[bytes, dict[str, str]]]
) -> None:
    written = client.files.write_many(
        project_id,
        {
            "src/app/page.tsx": "export default function Page() { return <h1>Hello</h1> }\n",
            "src/app/layout.tsx": "export default ({ children }) => children\n",
            "public/robots.txt": "User-agent: *\nAllow: /\n",
        },
        concurrency=3,
    )
    print(f"Wrote {len(written)} files")
    for entry in client.files.list(project_id):
        print(f"  {entry.type:9} {entry.path}")
    print(f"page.tsx starts with: {client.files.read_text(project_id, 'src/app/page.tsx')[:30]!r}")

    page = client.projects.list(limit=2, sort="createdAt", order="desc")
    pages = sum(1 for _ in page.iter_pages())
    total = page.pagination.total if page.pagination else len(page.data)
    print(f"Listed projects: {total} in all, {pages} page(s) of 2")

    deployment = client.deployments.create(project_id, environment="preview")
    print(f"Started deployment {deployment.id}")
    try:
        deployment = client.deployments.wait(
            project_id,
            deployment.id,
            timeout=300,
            poll_interval=1.0,
            on_status=lambda d: print(f"  deployment is {d.status}"),
        )
        print(f"Deployed to {deployment.url}")
    except DeploymentFailedError as failed:
        print(f"Deployment failed: {failed.deployment.error}")

    if deliveries:
        body, headers = deliveries[-1]
        event = construct_event(body, headers=headers, secret=WEBHOOK_SECRET)
        print(f"Verified webhook {event.event} ({len(deliveries)} received)")
    else:
        # A real webhook needs a public endpoint; show the check on a body signed here instead.
        body = b'{"event":"project.updated","timestamp":"2024-01-15T10:30:00Z","data":{}}'
        event = construct_event(body, sign_webhook(body, WEBHOOK_SECRET), WEBHOOK_SECRET)
        print(f"Verified a locally signed {event.event} webhook")


def main() -> int:
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = CraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            emulator = CraftEmulator()
            emulator.on_webhook(
                lambda body, headers: deliveries.append((body, headers)), secret=WEBHOOK_SECRET
            )
            client = emulator.client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        with client:
            run(client, deliveries)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
