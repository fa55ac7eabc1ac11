"""Where results go: data on stdout (a table on a terminal, plain columns when piped, `--json`
or ids with `-q`), and everything else (status lines, warnings) on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

import click

if TYPE_CHECKING:
    from rich.console import Console

Row = dict[str, Any]


class WireModel(Protocol):
    """An API object: every model of `craft_sdk.models` has `to_dict()`."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Output:
    """How one run of `craft` prints what it was asked for."""

    json: bool = False
    quiet: bool = False
    progress: bool = True
    verbose: bool = False

    def items(self, items: Iterable[WireModel], columns: Sequence[str], key: str = "id") -> None:
        """Print a list of API objects: one JSON array, their `key` (id) a line each with
        `-q`, or a table of `columns` (wire names)."""
        dicts = [item.to_dict() for item in items]
        if self.json:
            _print_json(dicts)
        elif self.quiet:
            for item in dicts:
                click.echo(item[key])
        else:
            _table([{column: item.get(column) for column in columns} for item in dicts], columns)

    def item(self, item: WireModel, key: str = "id") -> None:
        """Print one API object: a JSON object, its `key` (id) with `-q`, or its fields a line
        each."""
        wire = item.to_dict()
        if self.json:
            _print_json(wire)
        elif self.quiet:
            click.echo(wire.get(key, ""))
        else:
            _fields(wire)

    def data(self, value: object) -> None:
        """Print a value that is not a model (an answer of `craft api`): JSON, or with `-q`
        the `id` of each object in it that has one."""
        if not self.quiet:
            _print_json(value)
            return
        items = cast("list[object]", value) if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and "id" in item:
                click.echo(cast("dict[str, object]", item)["id"])

    def status(self, message: str) -> None:
        """A line for the person watching, on stderr; silent with `-q`."""
        if not self.quiet:
            click.echo(message, err=True)


def _print_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def console(stream: TextIO) -> Console:
    """A rich console on `stream`. NO_COLOR turns off every escape sequence, not only colours
    (rich alone would keep bold)."""
    from rich.console import Console

    return Console(file=stream, color_system=None if os.environ.get("NO_COLOR") else "auto")


def _table(rows: list[Row], columns: Sequence[str]) -> None:
    stdout = sys.stdout
    if _is_terminal(stdout):  # rich only where a person reads it
        from rich.table import Table

        table = Table(*columns, box=None, header_style="bold")
        for row in rows:
            table.add_row(*(_text(row[column]) for column in columns))
        console(stdout).print(table)
        return
    # Piped: tab-separated, a header then a line per item, for cut and awk.
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(_text(row[column]) for column in columns))


def _fields(wire: Row) -> None:
    width = max((len(name) for name in wire), default=0)
    for name, value in wire.items():
        click.echo(f"{name:<{width}}  {_text(value)}")
