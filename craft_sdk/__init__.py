"""craft-sdk: the official Python SDK for the Craft API.

```python
from craft_sdk import CraftClient

client = CraftClient()  # reads CRAFT_API_KEY
project = client.projects.create(name="My Landing Page", template="landing-page")
```
"""

from . import oauth as oauth  # craft_sdk.oauth.authorization_url, without a second import
from ._client import AsyncCraftClient, CraftClient
from ._clock import Clock
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
from ._pagination import AsyncPage, AsyncPaginator, SyncPage
from ._rate_limit import RateLimit
from ._types import NOT_GIVEN, NotGiven
from ._version import __version__
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
    "InternalServerError",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "Pagination",
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
    "ResponseTooLargeError",
    "SyncPage",
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
    "WriteManyError",
    "WrongEventLoopError",
    "__version__",
    "construct_event",
    "sign_webhook",
    "verify_webhook",
]

_setup_logging()

# Tracebacks and reprs say craft_sdk.NotFoundError, not craft_sdk._errors.NotFoundError.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("craft_sdk."):
        _obj.__module__ = "craft_sdk"
del _name, _obj
