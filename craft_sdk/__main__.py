"""`python -m craft_sdk` and the `craft` console script: the command line, or, when its extra is
not installed, one line saying how to install it."""

from __future__ import annotations

import sys

CLI_EXTRA = 'craft: the command line needs {name}: pip install "craft-sdk[cli]"'


def main() -> None:
    """Run `craft`; exits with its exit code (1, with what to install, without click or rich)."""
    # pip installs the console script with the SDK, extras or not: without them, say so
    # rather than end in an ImportError's traceback.
    try:
        import click  # noqa: F401  # pyright: ignore[reportUnusedImport]
        import rich  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ModuleNotFoundError as missing:
        if missing.name not in ("click", "rich"):
            raise
        sys.exit(CLI_EXTRA.format(name=missing.name))
    from craft_sdk.cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
