"""Typed objects of the Craft API."""

from ._base import CraftModel, Timestamp
from .deployments import Deployment, DeploymentEnvironment, DeploymentStatus
from .events import (
    BuildCompletedEvent,
    BuildEventData,
    BuildFailedEvent,
    BuildStartedEvent,
    ProjectCreatedEvent,
    ProjectDeletedEvent,
    ProjectEventData,
    ProjectUpdatedData,
    ProjectUpdatedEvent,
    UnknownWebhookEvent,
    WebhookEvent,
)
from .files import DeletedFile, DownloadedFile, FileEntry, FileType
from .oauth import Token
from .pagination import Pagination
from .projects import (
    DeletedProject,
    PartialProject,
    Project,
    ProjectSettings,
    ProjectStats,
    ProjectStatus,
)
from .users import User

__all__ = [
    "BuildCompletedEvent",
    "BuildEventData",
    "BuildFailedEvent",
    "BuildStartedEvent",
    "CraftModel",
    "DeletedFile",
    "DeletedProject",
    "Deployment",
    "DeploymentEnvironment",
    "DeploymentStatus",
    "DownloadedFile",
    "FileEntry",
    "FileType",
    "Pagination",
    "PartialProject",
    "Project",
    "ProjectCreatedEvent",
    "ProjectDeletedEvent",
    "ProjectEventData",
    "ProjectSettings",
    "ProjectStats",
    "ProjectStatus",
    "ProjectUpdatedData",
    "ProjectUpdatedEvent",
    "Timestamp",
    "Token",
    "UnknownWebhookEvent",
    "User",
    "WebhookEvent",
]
