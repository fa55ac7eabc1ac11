"""Receive Craft webhooks in Flask, with the SDK's router.

    pip install craft-sdk flask
    CRAFT_WEBHOOK_SECRET=... flask --app examples.webhooks_flask run

The router's WSGI app answers under /webhooks/craft; the rest of the Flask app is untouched.
craft-sdk does not depend on Flask; without a router, see docs/webhooks.md.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from craft_sdk import BuildFailedEvent
from craft_sdk.webhooks import MemoryDedup, WebhookRouter

router = WebhookRouter(tolerance=300, dedup=MemoryDedup(ttl=3600))


@router.on("build.failed")
def build_failed(event: BuildFailedEvent) -> None:
    print(f"build of {event.data.project_id} failed: {event.data.error}")


app = Flask(__name__)
app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/webhooks/craft": router.wsgi()})  # type: ignore[method-assign]
