"""craft-sdk: the official Python SDK for the Craft API.

```python
from craft_sdk import CraftClient

client = CraftClient()  # reads CRAFT_API_KEY
project = client.projects.create(name="My Landing Page", template="landing-page")
```
"""

import typing

from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CraftError,
    DeploymentFailedError,
    FolderSyncError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    UnprocessableEntityError,
    WaitTimeoutError,
    WebhookPayloadError,
    WebhookSignatureMismatchError,
    WebhookSignatureMissingError,
    WebhookTimestampError,
    WebhookVerificationError,
    WriteManyError,
    WrongEventLoopError,
)
from ._logging import setup_logging as _setup_logging
from ._types import (
    NOT_GIVEN,
    NotGiven,
)
from ._version import __version__

if typing.TYPE_CHECKING:
    from . import oauth as oauth
    from ._client import AsyncCraftClient, CraftClient
    from ._clock import Clock
    from ._folders.report import SyncProgress, SyncReport
    from ._pagination import AsyncPage, AsyncPaginator, SyncPage
    from ._rate_limit import RateLimit, RateLimitStore
    from ._raw import ResponseInfo, WithResponse
    from .models import (
        BuildCompletedEvent,
        BuildFailedEvent,
        BuildStartedEvent,
        DeletedFile,
        DeletedProject,
        Deployment,
        DeploymentEnvironment,
        DeploymentStatus,
        DownloadedFile,
        FileEntry,
        Pagination,
        PartialProject,
        Project,
        ProjectCreatedEvent,
        ProjectDeletedEvent,
        ProjectSettings,
        ProjectStats,
        ProjectStatus,
        ProjectUpdatedEvent,
        Token,
        UnknownWebhookEvent,
        User,
        WebhookEvent,
    )
    from .webhooks import construct_event, sign_webhook, verify_webhook

# Everything else loads on first use (PEP 562): `import craft_sdk` alone costs almost nothing,
# a webhook receiver never loads the HTTP client, and a script that only makes calls never loads
# the webhook code. Type checkers read the imports above instead.
_LAZY: dict[str, str] = {
    "AsyncCraftClient": "._client",
    "AsyncPage": "._pagination",
    "AsyncPaginator": "._pagination",
    "BuildCompletedEvent": ".models",
    "BuildFailedEvent": ".models",
    "BuildStartedEvent": ".models",
    "Clock": "._clock",
    "CraftClient": "._client",
    "DeletedFile": ".models",
    "DeletedProject": ".models",
    "Deployment": ".models",
    "DeploymentEnvironment": ".models",
    "DeploymentStatus": ".models",
    "DownloadedFile": ".models",
    "FileEntry": ".models",
    "Pagination": ".models",
    "PartialProject": ".models",
    "Project": ".models",
    "ProjectCreatedEvent": ".models",
    "ProjectDeletedEvent": ".models",
    "ProjectSettings": ".models",
    "ProjectStats": ".models",
    "ProjectStatus": ".models",
    "ProjectUpdatedEvent": ".models",
    "RateLimit": "._rate_limit",
    "RateLimitStore": "._rate_limit",
    "ResponseInfo": "._raw",
    "SyncPage": "._pagination",
    "SyncProgress": "._folders.report",
    "SyncReport": "._folders.report",
    "Token": ".models",
    "UnknownWebhookEvent": ".models",
    "User": ".models",
    "WebhookEvent": ".models",
    "WithResponse": "._raw",
    "construct_event": ".webhooks",
    "sign_webhook": ".webhooks",
    "verify_webhook": ".webhooks",
    "oauth": ".oauth",
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APITimeoutError",
    "AsyncCraftClient",
    "AsyncPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BuildCompletedEvent",
    "BuildFailedEvent",
    "BuildStartedEvent",
    "Clock",
    "ConflictError",
    "CraftClient",
    "CraftError",
    "DeletedFile",
    "DeletedProject",
    "Deployment",
    "DeploymentEnvironment",
    "DeploymentFailedError",
    "DeploymentStatus",
    "DownloadedFile",
    "FileEntry",
    "FolderSyncError",
    "InternalServerError",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "Pagination",
    "PartialProject",
    "PermissionDeniedError",
    "Project",
    "ProjectCreatedEvent",
    "ProjectDeletedEvent",
    "ProjectSettings",
    "ProjectStats",
    "ProjectStatus",
    "ProjectUpdatedEvent",
    "RateLimit",
    "RateLimitError",
    "RateLimitStore",
    "ResponseInfo",
    "ResponseTooLargeError",
    "SyncPage",
    "SyncProgress",
    "SyncReport",
    "Token",
    "UnknownWebhookEvent",
    "UnprocessableEntityError",
    "User",
    "WaitTimeoutError",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookSignatureMismatchError",
    "WebhookSignatureMissingError",
    "WebhookTimestampError",
    "WebhookVerificationError",
    "WithResponse",
    "WriteManyError",
    "WrongEventLoopError",
    "__version__",
    "construct_event",
    "sign_webhook",
    "verify_webhook",
]


def __getattr__(name: str) -> typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'craft_sdk' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name, __name__)
    value = module if name == "oauth" else getattr(module, name)
    globals()[name] = value  # found directly from now on, without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


_setup_logging()
