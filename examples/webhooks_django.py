"""Receive Craft webhooks in Django, with the SDK's router: a view to add to your urls.py.

    path("webhooks/craft", craft_webhook)

Set CRAFT_WEBHOOK_SECRET in the environment. craft-sdk does not depend on Django; without a
router, see docs/webhooks.md.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from craft_sdk import BuildFailedEvent
from craft_sdk.webhooks import MemoryDedup, WebhookRouter

router = WebhookRouter(tolerance=300, dedup=MemoryDedup(ttl=3600))


@router.on("build.failed")
def build_failed(event: BuildFailedEvent) -> None:
    print(f"build of {event.data.project_id} failed: {event.data.error}")


@csrf_exempt  # Craft cannot send a CSRF token; the signature is what proves the sender
@require_POST
def craft_webhook(request: HttpRequest) -> HttpResponse:
    # request.body is the raw bytes, exactly as they arrived.
    result = router.handle(request.body, request.headers)
    return HttpResponse(result.body, status=result.status, headers=result.headers)
