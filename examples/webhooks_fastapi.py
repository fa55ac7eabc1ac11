"""Receive Craft webhooks in FastAPI.

    pip install fastapi uvicorn
    CRAFT_WEBHOOK_SECRET=... uvicorn examples.webhooks_fastapi:app

craft-sdk does not depend on FastAPI: this file is an example to copy.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request

from craft_sdk import (
    BuildFailedEvent,
    ProjectUpdatedEvent,
    WebhookVerificationError,
    construct_event,
)

app = FastAPI()


@app.post("/webhooks/craft")
async def craft_webhook(request: Request) -> dict[str, bool]:
    # The raw bytes, exactly as they arrived: never a parsed model or request.json().
    body = await request.body()
    try:
        # The secret comes from CRAFT_WEBHOOK_SECRET; tolerance rejects old (replayed) bodies.
        event = construct_event(body, headers=request.headers, tolerance=300)
    except WebhookVerificationError:
        raise HTTPException(status_code=400, detail="invalid webhook") from None

    if isinstance(event, ProjectUpdatedEvent):
        print(f"project {event.data.project_id} changed: {', '.join(event.data.changes)}")
    elif isinstance(event, BuildFailedEvent):
        print(f"build of {event.data.project_id} failed: {event.data.error}")
    return {"received": True}
