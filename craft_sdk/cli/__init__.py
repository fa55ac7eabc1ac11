"""The `craft` command line (`pip install "craft-sdk[cli]"`): the SDK from a terminal.

Every command is a few lines on the public SDK. `main()` is the console script.
"""

from __future__ import annotations

from ._api import api
from ._app import cli
from ._deployments import deploy, deployments
from ._emulator import emulator
from ._files import files
from ._projects import me, projects
from ._webhooks import webhooks

cli.add_command(me)
cli.add_command(projects)
cli.add_command(deployments)
cli.add_command(deploy)
cli.add_command(files)
cli.add_command(api)
cli.add_command(webhooks)
cli.add_command(emulator)


def main() -> None:
    """Run `craft` with the process's arguments; exits with the command's exit code."""
    cli(prog_name="craft")


__all__ = ["cli", "main"]
