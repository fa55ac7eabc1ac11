"""`craft emulator`: the emulator's server (`python -m craft_sdk.testing`), options and all."""

from __future__ import annotations

import click


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def emulator(options: tuple[str, ...]) -> None:
    """Run the in-memory Craft API emulator on a local port.

    `craft emulator --help` lists its options.

    It prints `export CRAFT_BASE_URL=... CRAFT_API_KEY=...` lines for another shell.
    """
    from ..testing.__main__ import main as serve_emulator

    raise click.exceptions.Exit(serve_emulator(list(options), prog="craft emulator"))
