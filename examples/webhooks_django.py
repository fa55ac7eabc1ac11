"""Receive Craft webhooks in Django: a view to add to your urls.py.

    path("webhooks/craft", craft_webhook)

Set CRAFT_WEBHOOK_SECRET in the environment. craft-sdk does not depend on Django: this file is
an example to copy.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from craft_sdk import BuildFailedEvent, WebhookVerificationError, construct_event


@csrf_exempt  # Craft cannot send a CSRF token; the signature is what proves the sender
@require_POST
def craft_webhook(request: HttpRequest) -> HttpResponse:
    try:
        # request.body is the raw bytes, exactly as they arrived.
        event = construct_event(request.body, headers=request.headers, tolerance=300)
    except WebhookVerificationError:
        return HttpResponseBadRequest("invalid webhook")

    if isinstance(event, BuildFailedEvent):
        print(f"build of {event.data.project_id} failed: {event.data.error}")
    return HttpResponse(status=204)
