"""`client.projects`: create, read, update, archive and delete projects.

The functions at the top build the calls (and check arguments before anything is sent); the two
classes below only send them, one line a method.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from .._call import Call, api_path
from .._checks import check_choice, check_int, check_text
from .._envelope import data
from .._pagination import AsyncPaginator, PageData, SyncPage, page_of
from .._types import NOT_GIVEN, NotGiven
from ..models import DeletedProject, PartialProject, Project, ProjectStatus
from ._base import AsyncResource, SyncResource

# Limits from the Projects API reference.
NAME_MAX_LENGTH: Final = 100
DESCRIPTION_MAX_LENGTH: Final = 500
PROJECT_STATUSES: Final = ("active", "archived")
SORT_FIELDS: Final = ("name", "createdAt", "updatedAt")
SORT_ORDERS: Final = ("asc", "desc")
PAGE_SIZE_MAX: Final = 100

ProjectSort = Literal["name", "createdAt", "updatedAt"]
SortOrder = Literal["asc", "desc"]

_project = data(Project)
_partial_project = data(PartialProject)


def _create(name: str, description: str | None, template: str | None) -> Call[Project]:
    body: dict[str, Any] = {"name": _check_name(name)}
    if description is not None:
        body["description"] = _check_description(description)
    if template is not None:
        body["template"] = check_text("template", template, max_length=None)
    return Call("POST", api_path("projects"), parse=_project, json=body)


def _list(
    *,
    page: int,
    limit: int | None,
    status: ProjectStatus | None,
    sort: ProjectSort | None,
    order: SortOrder | None,
) -> Call[PageData[Project]]:
    params: dict[str, str | int] = {"page": check_int("page", page, minimum=1)}
    if limit is not None:
        params["limit"] = check_int("limit", limit, minimum=1, maximum=PAGE_SIZE_MAX)
    if status is not None:
        params["status"] = _check_status(status)
    if sort is not None:
        params["sort"] = check_choice("sort", sort, SORT_FIELDS)
    if order is not None:
        params["order"] = check_choice("order", order, SORT_ORDERS)
    return Call("GET", api_path("projects"), parse=page_of(Project), params=params)


def _get(project_id: str) -> Call[Project]:
    return Call("GET", api_path("projects", project_id), parse=_project)


def _update(
    project_id: str,
    *,
    name: str | NotGiven = NOT_GIVEN,
    description: str | NotGiven | None = NOT_GIVEN,
    status: ProjectStatus | NotGiven = NOT_GIVEN,
) -> Call[PartialProject]:
    body: dict[str, Any] = {}
    if not isinstance(name, NotGiven):
        body["name"] = _check_name(name)
    if not isinstance(description, NotGiven):
        # None is sent as null: it clears the description.
        body["description"] = None if description is None else _check_description(description)
    if not isinstance(status, NotGiven):
        body["status"] = _check_status(status)
    if not body:
        raise ValueError("projects.update needs at least one of name, description or status")
    # The answer may carry only some fields (Projects API reference): a PartialProject says so.
    return Call("PATCH", api_path("projects", project_id), parse=_partial_project, json=body)


def _delete(project_id: str) -> Call[DeletedProject]:
    return Call("DELETE", api_path("projects", project_id), parse=data(DeletedProject))


class Projects(SyncResource):
    """Craft projects: `client.projects`."""

    def list(
        self,
        *,
        status: ProjectStatus | None = None,
        sort: ProjectSort | None = None,
        order: SortOrder | None = None,
        limit: int | None = None,
        page: int = 1,
        max_items: int | None = None,
    ) -> SyncPage[Project]:
        """List projects, page by page.

        Iterate the result for every project of every page (`for` on `CraftClient`, `async for`
        on `AsyncCraftClient`), or take the first page: `client.projects.list(limit=50)`
        (awaited on `AsyncCraftClient`) has `.data`, `.pagination`, `.has_next_page()`,
        `.get_next_page()` and `.iter_pages()`.

        Args:
            status: Only "active" or only "archived" projects; None for both.
            sort: The field to sort by: "name", "createdAt" or "updatedAt" (wire names); None
                leaves the order to the API.
            order: "asc" or "desc".
            limit: Projects per page, 1 to 100 (the API's default is 20).
            page: The page to start from, from 1.
            max_items: Stop iterating after this many projects (at least 1); None for all.

        Pages are fetched one at a time as the iteration reaches them.

        Returns:
            The first page, fetched at once; iterate it for every item of every page.

        Raises:
            ValueError: An argument is out of range or not one of its choices, before anything
                is sent (`TypeError` for a number of the wrong type).
        """
        call = _list(page=page, limit=limit, status=status, sort=sort, order=order)
        return self._paginate(call, max_items)

    def create(
        self, *, name: str, description: str | None = None, template: str | None = None
    ) -> Project:
        """Create a project.

        Args:
            name: 1 to 100 characters, not only whitespace.
            description: Up to 500 characters (may be empty).
            template: A template to start from, such as "landing-page" or "dashboard"; None
                leaves it to the API.

        A create is never retried after the request may have reached the API, so it cannot make
        two projects; if it fails with `may_have_succeeded`, list your projects before retrying.

        Returns:
            The new project.

        Raises:
            ValueError: `name`, `description` or `template` is refused (empty or too long),
                before anything is sent (`TypeError` when not a str).
            APIError: The API refused, with a `code` such as `INVALID_PROJECT_NAME`,
                `TEMPLATE_NOT_FOUND` or `PROJECT_LIMIT_EXCEEDED`.
        """
        return self._send(_create(name, description, template))

    def get(self, project_id: str) -> Project:
        """Fetch one project, with its `settings` and `stats`.

        Args:
            project_id: The project, such as "proj_abc123".

        Returns:
            The project.

        Raises:
            NotFoundError: No such project, or it belongs to someone else.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return self._send(_get(project_id))

    def update(
        self,
        project_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        status: ProjectStatus | NotGiven = NOT_GIVEN,
    ) -> PartialProject:
        """Change a project's name, description or status; fields not given stay as they are.

        Args:
            project_id: The project to change.
            name: The new name, 1 to 100 characters.
            description: The new description, up to 500 characters; None clears it.
            status: "active" or "archived".

        Returns:
            The answer, which may carry only some of the project's fields: a `PartialProject`
            whose `applied_to(project)` updates a `Project` you hold.

        Raises:
            ValueError: None of `name`, `description` and `status` is given, or one is refused,
                before anything is sent (`TypeError` for a value that is not a str).
            NotFoundError: No such project.
        """
        return self._send(_update(project_id, name=name, description=description, status=status))

    def archive(self, project_id: str) -> PartialProject:
        """Archive a project (the same as `update(project_id, status="archived")`).

        Args:
            project_id: The project to archive.

        Returns:
            The answer, possibly partial, as `update` returns it.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return self._send(_update(project_id, status="archived"))

    def unarchive(self, project_id: str) -> PartialProject:
        """Make an archived project active again (`update(project_id, status="active")`).

        Args:
            project_id: The project to make active.

        Returns:
            The answer, possibly partial, as `update` returns it.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return self._send(_update(project_id, status="active"))

    def delete(self, project_id: str) -> DeletedProject:
        """Delete a project and all its files, permanently.

        Args:
            project_id: The project to delete.

        Returns:
            The id of the project deleted.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return self._send(_delete(project_id))


class AsyncProjects(AsyncResource):
    """Craft projects: `client.projects`."""

    def list(
        self,
        *,
        status: ProjectStatus | None = None,
        sort: ProjectSort | None = None,
        order: SortOrder | None = None,
        limit: int | None = None,
        page: int = 1,
        max_items: int | None = None,
    ) -> AsyncPaginator[Project]:
        """List projects, page by page.

        Iterate the result for every project of every page (`for` on `CraftClient`, `async for`
        on `AsyncCraftClient`), or take the first page: `client.projects.list(limit=50)`
        (awaited on `AsyncCraftClient`) has `.data`, `.pagination`, `.has_next_page()`,
        `.get_next_page()` and `.iter_pages()`.

        Args:
            status: Only "active" or only "archived" projects; None for both.
            sort: The field to sort by: "name", "createdAt" or "updatedAt" (wire names); None
                leaves the order to the API.
            order: "asc" or "desc".
            limit: Projects per page, 1 to 100 (the API's default is 20).
            page: The page to start from, from 1.
            max_items: Stop iterating after this many projects (at least 1); None for all.

        Pages are fetched one at a time as the iteration reaches them.

        Returns:
            An `AsyncPaginator`, at once: `await` it for the first page, or `async for` it for
            every item of every page (nothing is sent until then).

        Raises:
            ValueError: An argument is out of range or not one of its choices, before anything
                is sent (`TypeError` for a number of the wrong type).
        """
        call = _list(page=page, limit=limit, status=status, sort=sort, order=order)
        return self._paginate(call, max_items)

    async def create(
        self, *, name: str, description: str | None = None, template: str | None = None
    ) -> Project:
        """Create a project.

        Args:
            name: 1 to 100 characters, not only whitespace.
            description: Up to 500 characters (may be empty).
            template: A template to start from, such as "landing-page" or "dashboard"; None
                leaves it to the API.

        A create is never retried after the request may have reached the API, so it cannot make
        two projects; if it fails with `may_have_succeeded`, list your projects before retrying.

        Returns:
            The new project.

        Raises:
            ValueError: `name`, `description` or `template` is refused (empty or too long),
                before anything is sent (`TypeError` when not a str).
            APIError: The API refused, with a `code` such as `INVALID_PROJECT_NAME`,
                `TEMPLATE_NOT_FOUND` or `PROJECT_LIMIT_EXCEEDED`.
        """
        return await self._send(_create(name, description, template))

    async def get(self, project_id: str) -> Project:
        """Fetch one project, with its `settings` and `stats`.

        Args:
            project_id: The project, such as "proj_abc123".

        Returns:
            The project.

        Raises:
            NotFoundError: No such project, or it belongs to someone else.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return await self._send(_get(project_id))

    async def update(
        self,
        project_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        status: ProjectStatus | NotGiven = NOT_GIVEN,
    ) -> PartialProject:
        """Change a project's name, description or status; fields not given stay as they are.

        Args:
            project_id: The project to change.
            name: The new name, 1 to 100 characters.
            description: The new description, up to 500 characters; None clears it.
            status: "active" or "archived".

        Returns:
            The answer, which may carry only some of the project's fields: a `PartialProject`
            whose `applied_to(project)` updates a `Project` you hold.

        Raises:
            ValueError: None of `name`, `description` and `status` is given, or one is refused,
                before anything is sent (`TypeError` for a value that is not a str).
            NotFoundError: No such project.
        """
        return await self._send(
            _update(project_id, name=name, description=description, status=status)
        )

    async def archive(self, project_id: str) -> PartialProject:
        """Archive a project (the same as `update(project_id, status="archived")`).

        Args:
            project_id: The project to archive.

        Returns:
            The answer, possibly partial, as `update` returns it.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return await self._send(_update(project_id, status="archived"))

    async def unarchive(self, project_id: str) -> PartialProject:
        """Make an archived project active again (`update(project_id, status="active")`).

        Args:
            project_id: The project to make active.

        Returns:
            The answer, possibly partial, as `update` returns it.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return await self._send(_update(project_id, status="active"))

    async def delete(self, project_id: str) -> DeletedProject:
        """Delete a project and all its files, permanently.

        Args:
            project_id: The project to delete.

        Returns:
            The id of the project deleted.

        Raises:
            NotFoundError: No such project.
            ValueError: `project_id` is empty, "." or ".." (`TypeError` when not a str), before
                anything is sent.
        """
        return await self._send(_delete(project_id))


def _check_name(name: str) -> str:
    return check_text("name", name, max_length=NAME_MAX_LENGTH)


def _check_description(description: str) -> str:
    return check_text("description", description, max_length=DESCRIPTION_MAX_LENGTH, empty=True)


def _check_status(status: str) -> str:
    return check_choice("status", status, PROJECT_STATUSES)


__all__ = ["AsyncProjects", "Projects"]
