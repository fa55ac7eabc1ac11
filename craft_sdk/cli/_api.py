"""`craft api METHOD PATH`: any endpoint, through `client.request` (auth, retries, rate limits)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .. import APIResponseValidationError
from ._app import State, data_options, pass_state

QUERY_METHODS = ("GET", "DELETE")


def _field(value: str, typed: bool) -> tuple[str, Any]:
    name, equals, raw = value.partition("=")
    if not equals or not name:
        raise click.BadParameter(f"{value!r} is not key=value")
    if not typed:
        return name, raw
    # -F reads numbers, true/false, null, arrays and objects as JSON, and the rest as text.
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


@click.command()
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], False))
@click.argument("path")
@click.option(
    "-F",
    "--field",
    "typed_fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="A field; the value read as JSON when it is (1, true, null, [..]), else as text. "
    "Query parameters for GET and DELETE, the JSON body otherwise.",
)
@click.option(
    "-f", "--raw-field", "raw_fields", multiple=True, metavar="KEY=VALUE", help="A text field."
)
@click.option("--paginate", is_flag=True, help="GET every page, printed as one JSON array.")
@data_options
@pass_state
def api(
    state: State,
    method: str,
    path: str,
    typed_fields: tuple[str, ...],
    raw_fields: tuple[str, ...],
    paginate: bool,
) -> None:
    """Call any endpoint through the SDK; print its data as JSON.

    For example `craft api GET /projects -F limit=5 --paginate`.
    """
    method = method.upper()
    fields = dict(
        [_field(value, typed=True) for value in typed_fields]
        + [_field(value, typed=False) for value in raw_fields]
    )
    if paginate:
        if method != "GET":
            raise click.UsageError("--paginate is for GET")
        try:
            listed = state.client.request_list(path, params=fields or None)
            items = [item.to_dict() for item in listed]
        except APIResponseValidationError:
            message = f"{path} does not answer a list of objects: drop --paginate"
            raise click.UsageError(message) from None
        state.output.data(items)
        return
    if method in QUERY_METHODS:
        answer = state.client.request(method, path, params=fields or None)
    else:
        answer = state.client.request(method, path, json=fields or None)
    if isinstance(answer, bytes):
        sys.stdout.buffer.write(answer)
        sys.stdout.buffer.flush()
    elif answer is not None:
        state.output.data(answer)
