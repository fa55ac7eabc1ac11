"""Receive Craft webhooks in Flask.

    pip install flask
    CRAFT_WEBHOOK_SECRET=... flask --app examples.webhooks_flask run

craft-sdk does not depend on Flask: this file is an example to copy.
"""

from __future__ import annotations

from flask import Flask, abort, request

from craft_sdk import BuildFailedEvent, WebhookVerificationError, construct_event

app = Flask(__name__)


@app.post("/webhooks/craft")
def craft_webhook() -> tuple[str, int]:
    # The raw bytes; do not call request.get_json() first, and do not pass its result.
    body = request.get_data()
    try:
        event = construct_event(body, headers=request.headers, tolerance=300)
    except WebhookVerificationError:
        abort(400)

    if isinstance(event, BuildFailedEvent):
        print(f"build of {event.data.project_id} failed: {event.data.error}")
    return "", 204
