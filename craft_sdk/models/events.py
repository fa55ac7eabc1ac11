"""Webhook events: what `construct_event` returns, one class per event name.

The reference documents the event names and the body `{"event", "timestamp", "data"}`, with
`data.projectId` and, for `project.updated`, `data.changes`. That build events add
`deploymentId`, `status`, `url` and `error` is assumed (see docs/assumptions.md).
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

from pydantic import Field

from ._base import CraftModel, Timestamp


class ProjectEventData(CraftModel):
    project_id: str | None = None


class ProjectUpdatedData(ProjectEventData):
    changes: list[str] = Field(default_factory=list)
    """What changed, such as ["name", "settings"]."""


class BuildEventData(ProjectEventData):
    deployment_id: str | None = None
    status: str | None = None
    url: str | None = None
    """Where the build is served (build.completed)."""
    error: str | None = None
    """Why the build failed (build.failed)."""


class ProjectCreatedEvent(CraftModel):
    """A project was created."""

    event: Literal["project.created"]
    timestamp: Timestamp | None = None
    data: ProjectEventData


class ProjectUpdatedEvent(CraftModel):
    """A project's settings changed; `data.changes` says which."""

    event: Literal["project.updated"]
    timestamp: Timestamp | None = None
    data: ProjectUpdatedData


class ProjectDeletedEvent(CraftModel):
    """A project was deleted."""

    event: Literal["project.deleted"]
    timestamp: Timestamp | None = None
    data: ProjectEventData


class BuildStartedEvent(CraftModel):
    """A build (deployment) started."""

    event: Literal["build.started"]
    timestamp: Timestamp | None = None
    data: BuildEventData


class BuildCompletedEvent(CraftModel):
    """A build (deployment) completed."""

    event: Literal["build.completed"]
    timestamp: Timestamp | None = None
    data: BuildEventData


class BuildFailedEvent(CraftModel):
    """A build (deployment) failed; `data.error` says why, when the API said."""

    event: Literal["build.failed"]
    timestamp: Timestamp | None = None
    data: BuildEventData


class UnknownWebhookEvent(CraftModel):
    """An event this version of the SDK does not know yet, with its data kept as sent."""

    event: str
    timestamp: Timestamp | None = None
    data: dict[str, Any] = Field(default_factory=dict)


KNOWN_EVENTS: dict[str, type[CraftModel]] = {
    "project.created": ProjectCreatedEvent,
    "project.updated": ProjectUpdatedEvent,
    "project.deleted": ProjectDeletedEvent,
    "build.started": BuildStartedEvent,
    "build.completed": BuildCompletedEvent,
    "build.failed": BuildFailedEvent,
}

WebhookEvent: TypeAlias = (
    ProjectCreatedEvent
    | ProjectUpdatedEvent
    | ProjectDeletedEvent
    | BuildStartedEvent
    | BuildCompletedEvent
    | BuildFailedEvent
    | UnknownWebhookEvent
)
"""Any event `construct_event` returns; narrow it on `event.event` (or with isinstance)."""
