from __future__ import annotations

from typing import Annotated, Literal

from .._types import public
from ._base import CraftModel, OpenLiteral, Timestamp

ProjectStatus = Literal["active", "archived"]
"""A project's status: "active", or "archived" (kept, but out of the way)."""


@public
class ProjectSettings(CraftModel):
    """How a project is built."""

    framework: str | None = None
    """The front-end framework, such as "nextjs"."""
    styling: str | None = None
    """The styling system, such as "tailwind"."""


@public
class ProjectStats(CraftModel):
    """Counters the API keeps for a project."""

    files: int | None = None
    """How many files the project holds."""
    last_edited_at: Timestamp | None = None
    """When a file of the project last changed (`lastEditedAt` on the wire)."""


@public
class Project(CraftModel):
    """A Craft project. Any field but `id` may be missing: an update answers with only the fields
    it changed, and a list leaves out `settings` and `stats`."""

    id: str
    """The project id, such as "proj_abc123"."""
    name: str | None = None
    """The project's name (1 to 100 characters)."""
    description: str | None = None
    """The project's description (up to 500 characters)."""
    status: Annotated[ProjectStatus | str, OpenLiteral] | None = None
    """"active" or "archived"; a value the SDK does not know yet is kept as a plain string."""
    template: str | None = None
    """The template the project was created from, such as "landing-page"."""
    preview_url: str | None = None
    """Where the project's preview is served, `https://preview.craft.fast/<id>` (`previewUrl` on
    the wire)."""
    created_at: Timestamp | None = None
    """When the project was created (`createdAt` on the wire)."""
    updated_at: Timestamp | None = None
    """When the project last changed (`updatedAt` on the wire)."""
    settings: ProjectSettings | None = None
    """Present when the project was fetched with `projects.get`."""
    stats: ProjectStats | None = None
    """Present when the project was fetched with `projects.get`."""


@public
class DeletedProject(CraftModel):
    """The answer to `projects.delete`: the project is gone for good."""

    id: str
    """The id of the project deleted."""
    deleted: bool = True
    """Whether the project was deleted; True when the answer leaves it out."""
