"""`craft me` and `craft projects ...`."""

from __future__ import annotations

import click

from .. import NOT_GIVEN
from ._app import State, data_options, pass_state

PROJECT_COLUMNS = ("id", "name", "status", "updatedAt")


@click.command()
@data_options
@pass_state
def me(state: State) -> None:
    """Show the user the API key belongs to."""
    state.output.item(state.client.me())


@click.group()
def projects() -> None:
    """List, show, create, change and delete projects."""


@projects.command("list")
@click.option("--status", type=click.Choice(["active", "archived"]), help="Only these.")
@click.option("--sort", type=click.Choice(["name", "createdAt", "updatedAt"]), help="Sort by.")
@click.option("--order", type=click.Choice(["asc", "desc"]), help="Sort order.")
@click.option(
    "--limit", type=click.IntRange(1, 100), help="Projects per page (the API's default: 20)."
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--all", "every_page", is_flag=True, help="Every page, not only one.")
@data_options
@pass_state
def list_projects(
    state: State,
    status: str | None,
    sort: str | None,
    order: str | None,
    limit: int | None,
    page: int,
    every_page: bool,
) -> None:
    """List projects: one page, or every page with --all."""
    first = state.client.projects.list(
        status=status,  # type: ignore[arg-type]  # click.Choice checked it
        sort=sort,  # type: ignore[arg-type]
        order=order,  # type: ignore[arg-type]
        limit=limit,
        page=page,
    )
    state.output.items(list(first) if every_page else first.data, PROJECT_COLUMNS)


@projects.command("get")
@click.argument("project_id")
@data_options
@pass_state
def get_project(state: State, project_id: str) -> None:
    """Show one project, with its settings and stats."""
    state.output.item(state.client.projects.get(project_id))


@projects.command("create")
@click.option("--name", required=True, help="1 to 100 characters.")
@click.option("--description", help="Up to 500 characters.")
@click.option("--template", help='A template to start from, such as "landing-page".')
@data_options
@pass_state
def create_project(state: State, name: str, description: str | None, template: str | None) -> None:
    """Create a project."""
    project = state.client.projects.create(name=name, description=description, template=template)
    state.output.item(project)


@projects.command("update")
@click.argument("project_id")
@click.option("--name", help="The new name.")
@click.option("--description", help='The new description ("" clears it).')
@data_options
@pass_state
def update_project(
    state: State, project_id: str, name: str | None, description: str | None
) -> None:
    """Change a project's name or description."""
    if name is None and description is None:
        raise click.UsageError("give --name or --description (or both)")
    project = state.client.projects.update(
        project_id,
        name=NOT_GIVEN if name is None else name,
        description=NOT_GIVEN if description is None else description,
    )
    state.output.item(project)


@projects.command("archive")
@click.argument("project_id")
@data_options
@pass_state
def archive_project(state: State, project_id: str) -> None:
    """Archive a project (it stays, read-only, until unarchived)."""
    state.output.item(state.client.projects.archive(project_id))


@projects.command("unarchive")
@click.argument("project_id")
@data_options
@pass_state
def unarchive_project(state: State, project_id: str) -> None:
    """Make an archived project active again."""
    state.output.item(state.client.projects.unarchive(project_id))


@projects.command("delete")
@click.argument("project_id")
@click.option("--yes", is_flag=True, help="Do not ask first.")
@data_options
@pass_state
def delete_project(state: State, project_id: str, yes: bool) -> None:
    """Delete a project and its files, for good."""
    if not yes:
        click.confirm(f"Delete {project_id} and all its files?", abort=True, err=True)
    state.output.item(state.client.projects.delete(project_id))
