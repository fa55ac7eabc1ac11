"""Exit codes, and the one line each failure prints instead of a traceback."""

from __future__ import annotations

import enum
import os
import traceback

import click

from .. import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CraftError,
    DeploymentFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WaitTimeoutError,
)


class ExitCode(enum.IntEnum):
    """What `craft`'s exit status means; documented in `--help` and docs/cli.md."""

    OK = 0
    ERROR = 1
    USAGE = 2
    AUTHENTICATION = 3
    RATE_LIMITED = 4
    DEPLOYMENT_FAILED = 5
    TIMED_OUT = 6
    INTERRUPTED = 130


EXIT_CODES_HELP = """\b
Exit codes:
  0    success
  1    API or other error
  2    usage error
  3    authentication failed (no key, or a wrong one)
  4    rate limited beyond the wait allowed (--max-wait)
  5    deployment failed
  6    timed out
  130  interrupted (Ctrl-C)
Set CRAFT_DEBUG=1 for a full traceback on errors."""


class CliError(Exception):
    """A failure the command line reports as it is: one line, one exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.code = code


def explain(error: Exception) -> tuple[str, ExitCode]:
    """The line to print for `error` (naming what to do) and the exit code it ends with."""
    # The API's and the SDK's messages are sentences: their full stop would end the line early.
    said = str(getattr(error, "message", "")).rstrip(".")
    if isinstance(error, CliError):
        return str(error), error.code
    if isinstance(error, AuthenticationError):
        return (
            f"authentication failed ({said}): check CRAFT_API_KEY or --api-key",
            ExitCode.AUTHENTICATION,
        )
    if isinstance(error, RateLimitError):
        wait = "" if error.retry_after is None else f" for {error.retry_after:g} s"
        return (
            f"rate limited: wait{wait} and run it again, or allow a longer wait with --max-wait",
            ExitCode.RATE_LIMITED,
        )
    if isinstance(error, DeploymentFailedError):
        deployment = error.deployment
        reason = deployment.error or "no reason given"
        return f"deployment {deployment.id} failed: {reason}", ExitCode.DEPLOYMENT_FAILED
    if isinstance(error, WaitTimeoutError):
        deployment = error.deployment
        return (
            f"deployment {deployment.id} is still {deployment.status}: follow it with "
            f"`craft deployments wait {deployment.project_id or 'PROJECT'} {deployment.id}`",
            ExitCode.TIMED_OUT,
        )
    if isinstance(error, APITimeoutError):
        return f"timed out: {said}; try again later", ExitCode.TIMED_OUT
    if isinstance(error, APIConnectionError):
        return f"{said}: check --base-url and the network", ExitCode.ERROR
    if isinstance(error, NotFoundError):
        return f"not found: {said}; check the id", ExitCode.ERROR
    if isinstance(error, APIError):
        request = f", request {error.request_id}" if error.request_id else ""
        line = f"{said} (HTTP {error.status_code}{request}): {_advice(error)}"
        return line, ExitCode.ERROR
    if isinstance(error, CraftError):
        return str(error), ExitCode.ERROR
    # The SDK checks arguments before sending anything: a refused one is a usage error.
    if isinstance(error, (ValueError, TypeError)):
        return f"{error}; see --help", ExitCode.USAGE
    if isinstance(error, OSError):  # a local file (the SDK wraps network errors)
        return f"{error}: check the path and its permissions", ExitCode.ERROR
    return (
        f"unexpected {type(error).__name__}: {error} (a bug: run it again with CRAFT_DEBUG=1 "
        "and report the traceback)",
        ExitCode.ERROR,
    )


def _advice(error: APIError) -> str:
    if isinstance(error, PermissionDeniedError):
        return "this key may not do that; check its scopes or use another key"
    if isinstance(error, ConflictError):
        return "it clashes with the current state; look at it again, then retry"
    if isinstance(error, (BadRequestError, UnprocessableEntityError)):
        return "the API refused a value; check the arguments (see --help)"
    if error.may_have_succeeded:
        return "the API failed; check whether it was done, then try again later"
    return "see the message; CRAFT_DEBUG=1 shows more"


def report(error: Exception) -> ExitCode:
    """Print `error` to stderr as one line (a traceback first with CRAFT_DEBUG=1).

    Returns:
        The exit code the failure ends the command with.
    """
    message, code = explain(error)
    if os.environ.get("CRAFT_DEBUG") == "1":
        click.echo(traceback.format_exc(), err=True, nl=False)
    click.echo(f"craft: error: {message}", err=True)
    return code
