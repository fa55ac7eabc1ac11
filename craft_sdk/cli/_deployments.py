"""`craft deployments ...` and `craft deploy`: start a build and follow it to the end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import State, data_options, pass_state, progress_option
from ._progress import live_status, progress_bar

if TYPE_CHECKING:
    from .. import Deployment

DEPLOYMENT_COLUMNS = ("id", "status", "environment", "createdAt", "url")

timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds to wait for a final status (then exit code 6).",
)


@click.group()
def deployments() -> None:
    """List, show, cancel and wait for a project's deployments."""


@deployments.command("list")
@click.argument("project_id")
@click.option("--limit", type=click.IntRange(1, 100), help="Deployments per page.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--all", "every_page", is_flag=True, help="Every page, not only one.")
@data_options
@pass_state
def list_deployments(
    state: State, project_id: str, limit: int | None, page: int, every_page: bool
) -> None:
    """List a project's deployments (one page, or all with --all)."""
    first = state.client.deployments.list(project_id, limit=limit, page=page)
    state.output.items(list(first) if every_page else first.data, DEPLOYMENT_COLUMNS)


@deployments.command("get")
@click.argument("project_id")
@click.argument("deployment_id")
@data_options
@pass_state
def get_deployment(state: State, project_id: str, deployment_id: str) -> None:
    """Show one deployment as it stands now."""
    state.output.item(state.client.deployments.get(project_id, deployment_id))


@deployments.command("cancel")
@click.argument("project_id")
@click.argument("deployment_id")
@data_options
@pass_state
def cancel_deployment(state: State, project_id: str, deployment_id: str) -> None:
    """Cancel a deployment that is still queued or building."""
    state.output.item(state.client.deployments.cancel(project_id, deployment_id))


@deployments.command("wait")
@click.argument("project_id")
@click.argument("deployment_id")
@timeout_option
@data_options
@progress_option
@pass_state
def wait_deployment(state: State, project_id: str, deployment_id: str, timeout: float) -> None:
    """Follow a deployment to its end.

    The exit code says how it ended: 0 completed, 5 failed, 6 timed out.
    """
    follow(state, project_id, deployment_id, timeout)


@click.command()
@click.argument(
    "folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--project", "project_id", required=True, metavar="ID", help="The project.")
@click.option(
    "--env",
    "environment",
    type=click.Choice(["preview", "production"]),
    default="production",
    show_default=True,
    help="Where to deploy.",
)
@click.option("--include", multiple=True, help="Push only paths matching (gitignore).")
@click.option("--exclude", multiple=True, help="Leave out paths matching.")
@click.option("--delete", is_flag=True, help="Delete remote files the folder does not have.")
@timeout_option
@data_options
@progress_option
@pass_state
def deploy(
    state: State,
    folder: Path | None,
    project_id: str,
    environment: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    delete: bool,
    timeout: float,
) -> None:
    """Push FOLDER, deploy, and follow the build to its end.

    FOLDER is optional: without it, the project is deployed as it is.

    The exit code says how it ended: 0 completed, 5 failed, 6 timed out.
    """
    client = state.client
    if folder is not None:
        state.output.status(f"pushing {folder} to {project_id}")
        with progress_bar(state.output, f"push {folder}") as bar:
            report = client.files.upload_folder(
                project_id,
                folder,
                include=include or None,
                exclude=exclude or None,
                delete=delete,
                on_progress=bar.folder,
            )
        state.output.status(str(report))
    started = client.deployments.create(
        project_id,
        environment=environment,  # type: ignore[arg-type]  # click.Choice checked it
    )
    state.output.status(f"deployment {started.id} started ({environment})")
    follow(state, project_id, started.id, timeout)


def follow(state: State, project_id: str, deployment_id: str, timeout: float) -> None:
    """Wait for a deployment, a status line on stderr at each change (and on a terminal a live
    line with the time elapsed), and print how it ended.

    Raises:
        DeploymentFailedError: It failed (exit code 5).
        WaitTimeoutError: It was still going after `timeout` seconds (exit code 6).
    """
    with live_status(state.output, deployment_id) as status:

        def changed(deployment: Deployment) -> None:
            where = f" {deployment.url}" if deployment.url else ""
            status.say(f"{deployment.id} {deployment.status}{where}")
            status.show(f"{deployment.id} {deployment.status}")

        deployment = state.client.deployments.wait(
            project_id, deployment_id, timeout=timeout, on_status=changed
        )
    state.output.item(deployment)
