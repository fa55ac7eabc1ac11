"""Receive Craft webhooks in FastAPI, with the SDK's router.

    pip install craft-sdk fastapi uvicorn
    CRAFT_WEBHOOK_SECRET=... uvicorn examples.webhooks_fastapi:app

The router verifies each delivery (signature and timestamp), answers 400 to a bad one, runs the
handlers for its event, and answers a redelivered one without running them again. craft-sdk
does not depend on FastAPI; without a router, see docs/webhooks.md.
"""

from __future__ import annotations

from fastapi import FastAPI

from craft_sdk import BuildFailedEvent, ProjectUpdatedEvent
from craft_sdk.webhooks import MemoryDedup, WebhookRouter

# The secret comes from CRAFT_WEBHOOK_SECRET; deliveries older than 5 minutes are refused.
router = WebhookRouter(tolerance=300, dedup=MemoryDedup(ttl=3600))


@router.on("project.updated")
async def project_changed(event: ProjectUpdatedEvent) -> None:
    print(f"project {event.data.project_id} changed: {', '.join(event.data.changes)}")


@router.on("build.failed")
def build_failed(event: BuildFailedEvent) -> None:  # sync handlers run in a worker thread
    print(f"build of {event.data.project_id} failed: {event.data.error}")


app = FastAPI()
# A mount answers under the path with a trailing slash: give Craft .../webhooks/craft/ as the URL.
app.mount("/webhooks/craft", router.asgi())
