from __future__ import annotations

from typing import Annotated, Literal

from ._base import CraftModel, OpenLiteral, Timestamp

ProjectStatus = Literal["active", "archived"]


class ProjectSettings(CraftModel):
    """How a project is built."""

    framework: str | None = None
    """The front-end framework, such as "nextjs"."""
    styling: str | None = None
    """The styling system, such as "tailwind"."""


class ProjectStats(CraftModel):
    """Counters the API keeps for a project."""

    files: int | None = None
    """How many files the project holds."""
    last_edited_at: Timestamp | None = None
    """When a file of the project last changed."""


class Project(CraftModel):
    """A Craft project. Any field but `id` may be missing: an update answers with only the fields
    it changed, and a list leaves out `settings` and `stats`."""

    id: str
    """The project id, such as "proj_abc123"."""
    name: str | None = None
    description: str | None = None
    status: Annotated[ProjectStatus | str, OpenLiteral] | None = None
    """"active" or "archived"; a value the SDK does not know yet is kept as a plain string."""
    template: str | None = None
    """The template the project was created from, such as "landing-page"."""
    preview_url: str | None = None
    """Where the project's preview is served, `https://preview.craft.fast/<id>`."""
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    settings: ProjectSettings | None = None
    """Present when the project was fetched with `projects.get`."""
    stats: ProjectStats | None = None
    """Present when the project was fetched with `projects.get`."""


class DeletedProject(CraftModel):
    """The answer to `projects.delete`: the project is gone for good."""

    id: str
    deleted: bool = True
