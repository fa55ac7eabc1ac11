"""Deployments. The public API reference does not document them yet: the shape here is assumed
(see docs/assumptions.md) and parsed tolerantly."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from .._types import public
from ._base import CraftModel, OpenLiteral, Timestamp

DeploymentStatus = Literal["queued", "building", "completed", "failed", "canceled"]
"""Where a deployment stands: "queued", "building", or one of the final "completed", "failed"
and "canceled"."""
DeploymentEnvironment = Literal["preview", "production"]
"""Where a deployment goes: "preview" or "production"."""

FINAL_STATUSES: Final = frozenset({"completed", "failed", "canceled"})


@public
class Deployment(CraftModel):
    """A build and deployment of a project."""

    id: str
    """The deployment id, such as "dep_abc123"."""
    project_id: str | None = None
    """The id of the project deployed (`projectId` on the wire)."""
    status: Annotated[DeploymentStatus, OpenLiteral]
    """"queued", "building", "completed", "failed" or "canceled"; the last three are final. A
    status the SDK does not know yet (from a newer API) is kept as the string sent, and is not
    final, though type checkers only know these five."""
    environment: Annotated[DeploymentEnvironment, OpenLiteral] | None = None
    """"preview" or "production" (a value the SDK does not know yet is kept as the string
    sent); None when the answer does not say."""
    url: str | None = None
    """Where the deployment is served, once completed."""
    error: str | None = None
    """Why it failed, when it failed."""
    created_at: Timestamp
    """When the deployment was started (`createdAt` on the wire)."""
    updated_at: Timestamp | None = None
    """When the deployment last changed (`updatedAt` on the wire)."""
    completed_at: Timestamp | None = None
    """When the deployment reached a final status (`completedAt` on the wire)."""

    @property
    def is_final(self) -> bool:
        """Whether the deployment has stopped changing (completed, failed or canceled)."""
        return self.status in FINAL_STATUSES
