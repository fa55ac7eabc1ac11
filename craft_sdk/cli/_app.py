"""The `craft` group: its global options, the client every command shares, and the one place
where a failure becomes a line on stderr and an exit code."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from .._version import __version__
from ._errors import EXIT_CODES_HELP, CliError, ExitCode, report
from ._output import Output

if TYPE_CHECKING:
    # Not at run time: the SDK's client (httpx, pydantic) loads when a command first needs it,
    # so that `--help`, `--version` and shell completion answer at once.
    from .. import CraftClient

F = TypeVar("F", bound=Callable[..., Any])

JSON_HELP = "Print data as one JSON document."
QUIET_HELP = "Print ids only, one a line; no status lines."
NO_PROGRESS_HELP = "No progress bars or live status lines, even on a terminal."


@dataclass
class State:
    """What the group's options set up for the command that runs."""

    output: Output
    make_client: Callable[[], CraftClient]
    owns_client: bool = True
    _client: CraftClient | None = field(default=None, repr=False)

    @property
    def client(self) -> CraftClient:
        """The client, built on first use, so that `--help` and usage errors need no key."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    def close(self) -> None:
        """Close the client if this run built it (one handed in belongs to its maker)."""
        if self._client is not None and self.owns_client:
            self._client.close()


class CraftGroup(click.Group):
    """A group that turns failures into one line and an exit code (see `ExitCode`)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report a failure as one line on stderr and exit with its code."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            # Clean: no traceback, and the shell sees the conventional 128 + SIGINT.
            click.echo("craft: interrupted", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except Exception as error:
            raise click.exceptions.Exit(report(error)) from None


def _client_from_options(
    api_key: str | None, base_url: str | None, max_wait: float | None
) -> Callable[[], CraftClient]:
    def make() -> CraftClient:
        from .. import CraftClient

        if not api_key:
            raise CliError(
                "no API key: set CRAFT_API_KEY or pass --api-key", ExitCode.AUTHENTICATION
            )
        return CraftClient(api_key=api_key, base_url=base_url, max_retry_wait=max_wait)

    return make


@click.group(
    cls=CraftGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--api-key",
    envvar="CRAFT_API_KEY",
    show_envvar=True,
    metavar="KEY",
    help="Your API key (better from the environment: a flag shows in `ps`).",
)
@click.option(
    "--base-url", envvar="CRAFT_BASE_URL", show_envvar=True, metavar="URL", help="The API's URL."
)
@click.option(
    "--max-wait",
    envvar="CRAFT_MAX_WAIT",
    show_envvar=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="The longest wait for the rate limit before giving up with exit code 4 (default 60).",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)
@click.option("--no-progress", is_flag=True, help=NO_PROGRESS_HELP)
@click.option("-v", "--verbose", is_flag=True, help="Log each request to stderr.")
@click.version_option(__version__, prog_name="craft")
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: str | None,
    base_url: str | None,
    max_wait: float | None,
    as_json: bool,
    quiet: bool,
    no_progress: bool,
    verbose: bool,
) -> None:
    """The Craft API from a terminal: projects, files, deployments and webhooks.

    Data goes to stdout, everything else to stderr.
    """
    if verbose:
        ctx.call_on_close(_log_requests())
    output = Output(json=as_json, quiet=quiet, progress=not no_progress, verbose=verbose)
    # Tests hand in a client: CliRunner.invoke(cli, obj=emulator.client()).
    given = cast("CraftClient | None", ctx.obj)
    if given is not None:
        state = State(output, lambda: given, owns_client=False)
    else:
        state = State(output, _client_from_options(api_key, base_url, max_wait))
    ctx.obj = state
    ctx.call_on_close(state.close)


class _StderrLines(logging.Handler):
    """Log records as lines on whatever stderr is when each is written: under a live progress
    display that is rich's proxy, which prints them above the display instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(self.format(record), err=True)


def _log_requests() -> Callable[[], None]:
    # The SDK's INFO lines name the method, path, status and request id, never the key (its
    # DEBUG lines add headers, redacted; not needed here).
    handler = _StderrLines()
    handler.setFormatter(logging.Formatter("craft: %(message)s"))
    logger = logging.getLogger("craft_sdk")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return undo


pass_state = click.make_pass_decorator(State)


def _when_given(**setting: bool) -> Callable[[click.Context, click.Parameter, bool], None]:
    # A command's own --json, -q or --no-progress does what the group's does; the group has
    # made the State by the time a command's options are parsed.
    def callback(ctx: click.Context, param: click.Parameter, given: bool) -> None:
        state = ctx.find_object(State)
        if given and state is not None:
            state.output = dataclasses.replace(state.output, **setting)

    return callback


def data_options(command: F) -> F:
    """`--json` and `-q` on a command that prints data, so that they may follow it as well as
    precede it: `craft projects list --json` is `craft --json projects list`."""
    quiet = click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_when_given(quiet=True),
        help=QUIET_HELP,
    )  # fmt: skip
    as_json = click.option(
        "--json", is_flag=True, expose_value=False, callback=_when_given(json=True),
        help=JSON_HELP,
    )  # fmt: skip
    return as_json(quiet(command))


def progress_option(command: F) -> F:
    """`--no-progress` on a command that draws a progress bar or a live status line."""
    return click.option(
        "--no-progress", is_flag=True, expose_value=False, callback=_when_given(progress=False),
        help=NO_PROGRESS_HELP,
    )(command)  # fmt: skip
