from __future__ import annotations

from typing import Annotated, Literal

from .._types import public
from ._base import CraftModel, NotNull, OpenLiteral, Timestamp

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
    """A Craft project, as `projects.get`, `list` and `create` answer it. `settings` and `stats`
    come with `get` only; an update answers a `PartialProject`."""

    id: str
    """The project id, such as "proj_abc123"."""
    name: str
    """The project's name (1 to 100 characters)."""
    description: str | None = None
    """The project's description (up to 500 characters); None when it has none."""
    status: Annotated[ProjectStatus, OpenLiteral]
    """"active" or "archived". A status the SDK does not know yet (from a newer API) is kept as
    the string sent, though type checkers only know the two."""
    template: str | None = None
    """The template the project was created from, such as "landing-page"; None when unknown."""
    preview_url: str
    """Where the project's preview is served, `https://preview.craft.fast/<id>` (`previewUrl` on
    the wire)."""
    created_at: Timestamp
    """When the project was created (`createdAt` on the wire)."""
    updated_at: Timestamp
    """When the project last changed (`updatedAt` on the wire)."""
    settings: ProjectSettings | None = None
    """Present when the project was fetched with `projects.get`."""
    stats: ProjectStats | None = None
    """Present when the project was fetched with `projects.get`."""


@public
class PartialProject(CraftModel):
    """What `projects.update`, `archive` and `unarchive` answer: the project as the API's PATCH
    answer describes it, which may be only some of its fields.

    A field the answer left out is None, and so is a description it cleared: `fields_returned`
    tells the two apart, and `applied_to(project)` brings a `Project` you hold up to date with
    exactly what the answer carried.
    """

    id: str
    """The project id, always present."""
    name: Annotated[str | None, NotNull] = None
    """The project's name, when the answer carried it."""
    description: str | None = None
    """The project's description: None when the answer left it out or cleared it."""
    status: Annotated[ProjectStatus | None, OpenLiteral, NotNull] = None
    """"active" or "archived" (or a status the SDK does not know yet), when the answer carried
    it."""
    template: str | None = None
    """The template the project was created from, when the answer carried it."""
    preview_url: Annotated[str | None, NotNull] = None
    """Where the project's preview is served, when the answer carried it (`previewUrl` on the
    wire)."""
    created_at: Annotated[Timestamp | None, NotNull] = None
    """When the project was created, when the answer carried it (`createdAt` on the wire)."""
    updated_at: Annotated[Timestamp | None, NotNull] = None
    """When the project last changed, when the answer carried it (`updatedAt` on the wire)."""
    settings: ProjectSettings | None = None
    """The project's settings, when the answer carried them."""
    stats: ProjectStats | None = None
    """The project's counters, when the answer carried them."""

    @property
    def fields_returned(self) -> frozenset[str]:
        """The fields the answer carried: attribute names (snake_case) for the fields the SDK
        knows, wire names for the others (those are in `model_extra`)."""
        return frozenset(self.model_fields_set)

    def applied_to(self, project: Project) -> Project:
        """`project` brought up to date with this answer.

        Exactly the fields the answer carried are replaced, unknown ones included: a
        description the answer cleared (`null`) is cleared, one it left out is kept.

        Args:
            project: The same project as you hold it, such as from `projects.get`.

        Returns:
            A new `Project`; `project` itself is unchanged.

        Raises:
            ValueError: `project` is another project (its id is not this answer's).
        """
        if project.id != self.id:
            raise ValueError(f"This answer is about project {self.id!r}, not {project.id!r}.")
        # NotNull keeps every field `Project` requires from being None here once carried.
        return project.model_copy(
            update={field: getattr(self, field) for field in self.model_fields_set}
        )


@public
class DeletedProject(CraftModel):
    """The answer to `projects.delete`: the project is gone for good."""

    id: str
    """The id of the project deleted."""
    deleted: bool = True
    """Whether the project was deleted; True when the answer leaves it out."""
