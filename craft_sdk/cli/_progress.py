"""Progress bars: on stderr, only when it is a terminal, and never with `--no-progress` or `-q`."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Generator

from ._output import Output

Advance = Callable[[int, "int | None"], None]
"""`advance(done, total)`: bytes so far, and in all (None when unknown)."""


def shows_progress(output: Output) -> bool:
    """Whether a bar would be drawn: a terminal on stderr and no flag against it."""
    return output.progress and not output.quiet and sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(output: Output, description: str) -> Generator[Advance]:
    """A bar of bytes moved, as `on_progress(done, total)` callbacks report them.

    Yields:
        The callback to hand to the SDK; a no-op when no bar is shown.
    """
    if not shows_progress(output):
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    console = Console(file=sys.stderr, color_system=None if os.environ.get("NO_COLOR") else "auto")
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TransferSpeedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _ignore(done: int, total: int | None) -> None:
    pass
