"""Webhook events: what `construct_event` returns, one class per event name.

The reference documents the event names and the body `{"event", "timestamp", "data"}`, with
`data.projectId` and, for `project.updated`, `data.changes`. That build events add
`deploymentId`, `status`, `url` and `error` is assumed (see docs/assumptions.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field

from .._types import public
from ._base import CraftModel, OpenLiteral, Timestamp
from .deployments import DeploymentStatus


class ProjectEventData(CraftModel):
    """The `data` of a project event: which project it is about."""

    project_id: str | None = None
    """The id of the project (`projectId` on the wire)."""


class ProjectUpdatedData(ProjectEventData):
    """The `data` of `project.updated`: the project, and which of its fields changed."""

    changes: list[str] = Field(default_factory=list)
    """What changed, such as ["name", "settings"]; empty when the body does not say."""


class BuildEventData(ProjectEventData):
    """The `data` of a build event: the project, the deployment, and how the build stands.
    Every field but `project_id` is assumed (see docs/assumptions.md)."""

    deployment_id: str | None = None
    """The id of the deployment being built (`deploymentId` on the wire)."""
    status: Annotated[DeploymentStatus, OpenLiteral] | None = None
    """The deployment's status, such as "building", "completed" or "failed" (one the SDK does
    not know yet is kept as the string sent)."""
    url: str | None = None
    """Where the build is served (build.completed)."""
    error: str | None = None
    """Why the build failed (build.failed)."""


@public
class ProjectCreatedEvent(CraftModel):
    """A project was created."""

    event: Literal["project.created"]
    """The event name, `"project.created"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: ProjectEventData
    """Which project the event is about."""


@public
class ProjectUpdatedEvent(CraftModel):
    """A project's settings changed; `data.changes` says which."""

    event: Literal["project.updated"]
    """The event name, `"project.updated"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: ProjectUpdatedData
    """Which project changed, and which of its fields (`data.changes`)."""


@public
class ProjectDeletedEvent(CraftModel):
    """A project was deleted."""

    event: Literal["project.deleted"]
    """The event name, `"project.deleted"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: ProjectEventData
    """Which project the event is about."""


@public
class BuildStartedEvent(CraftModel):
    """A build (deployment) started."""

    event: Literal["build.started"]
    """The event name, `"build.started"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: BuildEventData
    """Which project and deployment the build is of, and its status."""


@public
class BuildCompletedEvent(CraftModel):
    """A build (deployment) completed."""

    event: Literal["build.completed"]
    """The event name, `"build.completed"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: BuildEventData
    """Which project and deployment the build is of, and its status."""


@public
class BuildFailedEvent(CraftModel):
    """A build (deployment) failed; `data.error` says why, when the API said."""

    event: Literal["build.failed"]
    """The event name, `"build.failed"`."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none. It is signed
    with the body, so `construct_event(..., tolerance=...)` can refuse stale deliveries."""
    data: BuildEventData
    """Which project and deployment the build is of, and its status."""


@public
class UnknownWebhookEvent(CraftModel):
    """An event this version of the SDK does not know yet, with its data kept as sent."""

    event: str
    """The event name, as sent."""
    timestamp: Timestamp | None = None
    """When the event happened (timezone-aware), or None when the body has none."""
    data: dict[str, Any] = Field(default_factory=dict)
    """The body's `data` as sent (wire names, not converted); empty when it has none."""


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
"""Any event `construct_event` returns; narrow it with `isinstance(event, BuildFailedEvent)` or
`match event: case BuildFailedEvent(): ...`. (`event.event == "build.failed"` does not narrow it:
`UnknownWebhookEvent.event` is any str, so the comparison cannot rule that class out.)"""
