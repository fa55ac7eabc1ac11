"""What a person watching sees while a command works: a progress bar of bytes (and files, for a
folder), or a live line with a deployment's status and the time elapsed. Both go to stderr, only
when it is a terminal, and never with `--no-progress` or `-q`."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Generator
from typing import TYPE_CHECKING

from .. import SyncProgress
from ._output import Output, console

if TYPE_CHECKING:  # rich is imported only when something is drawn
    from rich.progress import Progress, TaskID


def shows_progress(output: Output) -> bool:
    """Whether anything would be drawn: a terminal on stderr and no flag against it."""
    return output.progress and not output.quiet and sys.stderr.isatty()


class Bar:
    """A progress bar's task; every method is a no-op when no bar is drawn."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self._progress = progress
        self._task = task

    def bytes(self, done: int, total: int | None) -> None:
        """`on_progress` for one file's transfer: bytes so far, and in all (None: unknown)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, total=total)

    def folder(self, progress: SyncProgress) -> None:
        """`on_progress` for a folder sync: files and bytes."""
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                completed=progress.bytes_done,
                total=progress.bytes_total,
                files=f"{progress.files_done}/{progress.files_total} files",
            )


@contextlib.contextmanager
def progress_bar(output: Output, description: str) -> Generator[Bar]:
    """A bar of the bytes moved (and, for a folder, the files), kept on screen at its end.

    Yields:
        The `Bar` whose methods to hand to the SDK as `on_progress`.
    """
    if not shows_progress(output):
        yield Bar()
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    with Progress(*columns, console=console(sys.stderr)) as progress:
        yield Bar(progress, progress.add_task(description, total=None, files=""))


class Status:
    """Status lines on stderr, stamped with the time elapsed, and on a terminal a live line
    below them (a spinner, what is going on, the time) redrawn as the seconds go by."""

    def __init__(self, output: Output, progress: Progress | None, task: TaskID | None) -> None:
        self._output = output
        self._progress = progress
        self._task = task
        self._started = time.monotonic()

    def say(self, line: str) -> None:
        """Print a status line (none with -q)."""
        stamped = f"[{time.monotonic() - self._started:5.1f}s] {line}"
        if self._progress is None:
            self._output.status(stamped)
        else:  # above the live line, through the console that draws it
            self._progress.console.print(stamped, highlight=False, soft_wrap=True)

    def show(self, now: str) -> None:
        """Change what the live line says."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=now)


@contextlib.contextmanager
def live_status(output: Output, now: str) -> Generator[Status]:
    """Status lines, and on a terminal a live line that starts by saying `now`; the live line
    goes when the block ends.

    Yields:
        The `Status` to report through.
    """
    if not shows_progress(output):
        yield Status(output, None, None)
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console(sys.stderr), transient=True) as progress:
        yield Status(output, progress, progress.add_task(now, total=None))
