"""`craft files ...`: one file at a time (ls, cat, put, rm, download), or a folder (push, pull)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .. import SyncReport
from ._app import State, data_options, pass_state, progress_option
from ._output import Output
from ._progress import progress_bar

FILE_COLUMNS = ("path", "type", "size", "updatedAt")


@click.group()
def files() -> None:
    """Read, write and delete files; push and pull folders."""


@files.command("ls")
@click.argument("project_id")
@data_options
@pass_state
def list_files(state: State, project_id: str) -> None:
    """List a project's files."""
    state.output.items(state.client.files.list(project_id), FILE_COLUMNS, key="path")


@files.command("cat")
@click.argument("project_id")
@click.argument("path")
@pass_state
def cat_file(state: State, project_id: str, path: str) -> None:
    """Print a file's bytes to stdout, as they are."""
    content = state.client.files.read(project_id, path)
    stdout = sys.stdout.buffer
    stdout.write(content)
    stdout.flush()


@files.command("put")
@click.argument("project_id")
@click.argument("local", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("path", required=False)
@data_options
@progress_option
@pass_state
def put_file(state: State, project_id: str, local: Path, path: str | None) -> None:
    """Upload a file, streamed.

    LOCAL goes to the project as PATH, by default its own name.
    """
    remote = path or local.name
    with progress_bar(state.output, remote) as bar:
        entry = state.client.files.write(project_id, remote, local, on_progress=bar.bytes)
    state.output.item(entry, key="path")


@files.command("rm")
@click.argument("project_id")
@click.argument("path")
@data_options
@pass_state
def remove_file(state: State, project_id: str, path: str) -> None:
    """Delete a file from the project."""
    state.output.item(state.client.files.delete(project_id, path), key="path")


@files.command("download")
@click.argument("project_id")
@click.argument("path")
@click.argument("destination", required=False, type=click.Path(path_type=Path))
@data_options
@progress_option
@pass_state
def download_file(state: State, project_id: str, path: str, destination: Path | None) -> None:
    """Download a file, streamed to disk.

    PATH goes to DESTINATION, by default a file of its name here.
    """
    target = destination or Path(path.rsplit("/", 1)[-1])
    with progress_bar(state.output, path) as bar:
        downloaded = state.client.files.download(project_id, path, target, on_progress=bar.bytes)
    state.output.item(downloaded, key="path")


def _sync_options(command: Any) -> Any:
    for option in reversed(
        (
            click.option("--project", "project_id", required=True, metavar="ID"),
            click.option("--prefix", default="", help="Where in the project the folder sits."),
            click.option("--include", multiple=True, help="Only paths matching (gitignore)."),
            click.option("--exclude", multiple=True, help="Leave out paths matching."),
            click.option("--delete", is_flag=True, help="Delete what the source does not have."),
            click.option("--dry-run", is_flag=True, help="Say what would be done; do nothing."),
        )
    ):
        command = option(command)
    return command


@files.command("push")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_sync_options
@data_options
@progress_option
@pass_state
def push_folder(state: State, /, folder: Path, **options: Any) -> None:
    """Upload what changed in FOLDER to the project.

    With --delete, also delete the project's files FOLDER does not have.
    """
    _sync_folder(state, "push", folder, **options)


@files.command("pull")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@_sync_options
@data_options
@progress_option
@pass_state
def pull_folder(state: State, /, folder: Path, **options: Any) -> None:
    """Download what changed in the project into FOLDER.

    With --delete, also delete the local files the project does not have.
    """
    _sync_folder(state, "pull", folder, **options)


def _sync_folder(
    state: State,
    direction: str,
    folder: Path,
    *,
    project_id: str,
    prefix: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    delete: bool,
    dry_run: bool,
) -> None:
    """`push` and `pull`: one folder sync, with its progress bar, then its report."""
    files_resource = state.client.files
    sync = files_resource.upload_folder if direction == "push" else files_resource.download_folder
    with progress_bar(state.output, f"{direction} {folder}") as bar:
        report = sync(
            project_id,
            folder,
            prefix=prefix,
            include=include or None,
            exclude=exclude or None,
            delete=delete,
            dry_run=dry_run,
            on_progress=bar.folder,
        )
    _print_report(state.output, report)


def _print_report(output: Output, report: SyncReport) -> None:
    if output.json:
        click.echo(json.dumps(_report_dict(report), indent=2))
    elif output.quiet:
        for path in (*report.sent, *report.deleted):
            click.echo(path)
    else:
        verb = "upload" if report.direction == "upload" else "download"
        for path in report.sent:
            click.echo(f"{verb}\t{path}")
        for path in report.deleted:
            click.echo(f"delete\t{path}")
        for path, reason in report.refused.items():
            click.echo(f"refused\t{path}\t{reason}")
    output.status(str(report))


def _report_dict(report: SyncReport) -> dict[str, Any]:
    return {
        "direction": report.direction,
        "dryRun": report.dry_run,
        "sent": list(report.sent),
        "skipped": list(report.skipped),
        "deleted": list(report.deleted),
        "refused": dict(report.refused),
        "bytesSent": report.bytes_sent,
        "bytesSkipped": report.bytes_skipped,
        "bytesDeleted": report.bytes_deleted,
    }
