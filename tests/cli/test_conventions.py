"""The conventions every command is held to, checked on every command: `--json` (parsed back)
and `-q` after the command as well as before it, no key in any output (with `--verbose` and
`CRAFT_DEBUG=1`, on success and on failure), and every option of every command exercised by a
test of this folder."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest

from craft_sdk import CraftClient
from craft_sdk.cli import cli
from craft_sdk.testing import CraftEmulator
from craft_sdk.webhooks import sign_webhook

from .conftest import DRAWING_COMMANDS, craft

SECRET = "whsec_conventions_77"
BODY = b'{"event":"build.started","timestamp":"2026-01-15T10:30:00Z","data":{"projectId":"p1"}}'
SIGNATURE = sign_webhook(BODY, SECRET)


@dataclass
class World:
    """What the commands act on: a project with a file and two deployments, a second project,
    a local folder and a local file."""

    client: CraftClient
    project: str
    spare: str
    deployment: str
    queued: str
    folder: Path
    local: Path
    into: Path


@pytest.fixture
def world(client: CraftClient, project_id: str, tmp_path: Path) -> World:
    client.files.write(project_id, "index.html", "<h1>hi</h1>")
    done = client.deployments.create(project_id)
    client.deployments.wait(project_id, done.id)
    queued = client.deployments.create(project_id)
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "about.html").write_text("about")
    local = tmp_path / "logo.bin"
    local.write_bytes(b"\x89PNG" * 100)
    spare = client.projects.create(name="spare").id
    into = tmp_path / "pulled"
    return World(client, project_id, spare, done.id, queued.id, folder, local, into)


@dataclass(frozen=True)
class Case:
    """A data command: its arguments, and the ids (`key` of each object) it prints."""

    args: Callable[[World], list[str]]
    ids: Callable[[World], list[str]]
    key: str = "id"
    stdin: bytes | None = None

    def json_ids(self, printed: Any) -> list[str]:
        """The ids in the command's `--json` document: an array, an object, or a sync report."""
        if isinstance(printed, list):
            return [item[self.key] for item in printed]  # pyright: ignore[reportUnknownVariableType]
        if "direction" in printed:  # a SyncReport: what was sent, then what was deleted
            return [*printed["sent"], *printed["deleted"]]
        return [printed[self.key]]


def _new_project(world: World) -> list[str]:
    (project,) = [p for p in world.client.projects.list() if p.name == "new"]
    return [project.id]


def _latest_deployment(world: World) -> list[str]:
    return [world.client.deployments.list(world.project).data[0].id]


CASES: dict[str, Case] = {
    "me": Case(lambda w: ["me"], lambda w: [w.client.me().id]),
    "projects list": Case(
        lambda w: ["projects", "list", "--sort", "name"], lambda w: [w.spare, w.project]
    ),
    "projects get": Case(lambda w: ["projects", "get", w.project], lambda w: [w.project]),
    "projects create": Case(lambda w: ["projects", "create", "--name", "new"], _new_project),
    "projects update": Case(
        lambda w: ["projects", "update", w.project, "--name", "renamed"], lambda w: [w.project]
    ),
    "projects archive": Case(lambda w: ["projects", "archive", w.spare], lambda w: [w.spare]),
    "projects unarchive": Case(
        lambda w: ["projects", "unarchive", w.project], lambda w: [w.project]
    ),
    "projects delete": Case(
        lambda w: ["projects", "delete", w.spare, "--yes"], lambda w: [w.spare]
    ),
    "deployments list": Case(
        lambda w: ["deployments", "list", w.project], lambda w: [w.queued, w.deployment]
    ),
    "deployments get": Case(
        lambda w: ["deployments", "get", w.project, w.deployment], lambda w: [w.deployment]
    ),
    "deployments cancel": Case(
        lambda w: ["deployments", "cancel", w.project, w.queued], lambda w: [w.queued]
    ),
    "deployments wait": Case(
        lambda w: ["deployments", "wait", w.project, w.queued], lambda w: [w.queued]
    ),
    "deploy": Case(lambda w: ["deploy", str(w.folder), "--project", w.project], _latest_deployment),
    "files ls": Case(lambda w: ["files", "ls", w.project], lambda w: ["index.html"], key="path"),
    "files put": Case(
        lambda w: ["files", "put", w.project, str(w.local), "img/logo.bin"],
        lambda w: ["img/logo.bin"],
        key="path",
    ),
    "files rm": Case(
        lambda w: ["files", "rm", w.project, "index.html"], lambda w: ["index.html"], key="path"
    ),
    "files download": Case(
        lambda w: ["files", "download", w.project, "index.html", str(w.local)],
        lambda w: ["index.html"],
        key="path",
    ),
    "files push": Case(
        lambda w: ["files", "push", str(w.folder), "--project", w.project, "--delete"],
        lambda w: ["about.html", "index.html"],
    ),
    "files pull": Case(
        lambda w: ["files", "pull", str(w.into), "--project", w.project],
        lambda w: ["index.html"],
    ),
    "api": Case(
        lambda w: ["api", "GET", "/projects", "-f", "sort=name"], lambda w: [w.spare, w.project]
    ),
    "webhooks verify": Case(
        lambda w: ["webhooks", "verify", "--secret", SECRET, "--signature", SIGNATURE],
        lambda w: ["build.started"],
        key="event",
        stdin=BODY,
    ),
}


def leaf_commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[
    tuple[tuple[str, ...], click.Command]
]:  # fmt: skip
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_the_data_commands_are_the_ones_that_take_json() -> None:
    takes_json = {
        " ".join(path)
        for path, command in leaf_commands()
        if any(
            "--json" in param.opts for param in command.params if isinstance(param, click.Option)
        )
    }
    assert takes_json == set(CASES)


def test_the_commands_that_draw_are_the_ones_that_take_no_progress() -> None:
    takes_no_progress = {
        " ".join(path)
        for path, command in leaf_commands()
        if any(param.name == "no_progress" for param in command.params)
    }
    assert takes_no_progress == set(DRAWING_COMMANDS)


@pytest.mark.parametrize("name", CASES)
def test_json_after_the_command_is_parsed_back(name: str, world: World) -> None:
    case = CASES[name]
    result = craft(world.client, *case.args(world), "--json", stdin=case.stdin)
    assert result.exit_code == 0, result.stderr
    assert case.json_ids(json.loads(result.stdout)) == case.ids(world)


@pytest.mark.parametrize("name", CASES)
def test_quiet_after_the_command_prints_ids_alone(name: str, world: World) -> None:
    case = CASES[name]
    result = craft(world.client, *case.args(world), "-q", stdin=case.stdin)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == case.ids(world)
    assert result.stderr == ""  # -q: no status lines either


# ---- the key, in no output -----------------------------------------------------------------------

KEY = "sk_live_conventions_secret_31337"


@pytest.fixture
def served() -> Iterator[tuple[CraftEmulator, str]]:
    emulator = CraftEmulator(api_key=KEY, build_seconds=0)
    with emulator.serve() as server:
        yield emulator, server.url
    emulator.close()


RUNS: list[tuple[Callable[[str], list[str]], int]] = [
    # (the command, given the project; its exit code with the right key)
    (lambda project: ["me"], 0),
    (lambda project: ["projects", "list", "--all"], 0),
    (lambda project: ["projects", "get", project], 0),
    (lambda project: ["projects", "get", "proj_missing"], 1),
    (lambda project: ["projects", "create", "--name", " "], 2),  # refused before sending
    (lambda project: ["files", "ls", project], 0),
    (lambda project: ["files", "cat", project, "missing.txt"], 1),
    (lambda project: ["deploy", "--project", project, "--timeout", "30"], 0),
    (lambda project: ["deployments", "list", project], 0),
    (lambda project: ["api", "GET", "/me"], 0),
    (lambda project: ["api", "DELETE", "/projects/proj_missing"], 1),
]


@pytest.mark.parametrize(
    ("run", "right_key"),
    # A command refused before anything is sent never shows a key, right or wrong: once is enough.
    [
        (run, right)
        for run in range(len(RUNS))
        for right in (True, False)
        if right or RUNS[run][1] != 2
    ],
)
def test_the_key_is_in_no_output(
    served: tuple[CraftEmulator, str], run: int, right_key: bool
) -> None:
    _, url = served
    with CraftClient(api_key=KEY, base_url=url) as client:
        project = client.projects.create(name="keyless").id
    command, code = RUNS[run]
    key = KEY if right_key else KEY[:-1]  # a wrong key: a near miss of the right one
    # Given as a flag, verbose and with tracebacks: the most there is to print.
    result = craft(
        None, "--api-key", key, "--base-url", url, "-v", *command(project),
        env={"CRAFT_DEBUG": "1"},
    )  # fmt: skip
    sends = code != 2
    assert result.exit_code == (code if right_key or not sends else 3), result.stderr
    assert ("/v1/" in result.stderr) is sends  # --verbose logged the requests
    assert ("Traceback" in result.stderr) is (result.exit_code != 0)  # CRAFT_DEBUG=1
    assert key not in result.stdout
    assert key not in result.stderr


# ---- every option, exercised -------------------------------------------------------------------


def _test_units() -> list[set[str]]:
    """The string constants of each test of this folder, and of each row of its tables (a
    dict's value, a list's item), so that one row's option is not credited to another's
    command."""
    units: list[set[str]] = []
    for source in Path(__file__).parent.glob("test_*.py"):
        for statement in ast.parse(source.read_text()).body:
            table = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
            rows: list[ast.AST] = [statement]
            if isinstance(table, ast.Dict):
                rows = list(table.values)
            elif isinstance(table, (ast.List, ast.Tuple)):
                rows = list(table.elts)
            units += [_strings(row) for row in rows]
    return units


def _strings(node: ast.AST) -> set[str]:
    return {
        inner.value
        for inner in ast.walk(node)
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str)
    }


def test_every_option_of_every_command_is_given_by_some_test() -> None:
    # A guard against a new option without a test: some test (or table) must name the command
    # and the option together. The tests themselves check what each does.
    units = _test_units()
    missing: list[str] = []
    commands = [((), cli), *leaf_commands()]
    for path, command in commands:
        for param in command.params:
            if not isinstance(param, click.Option) or "--help" in param.opts:
                continue
            if path and param.name in ("json", "quiet", "no_progress"):
                continue  # given to every command that has them by the tables' tests
            if not any(set(path) <= unit and set(param.opts) & unit for unit in units):
                missing.append(f"craft {' '.join(path)} {'/'.join(param.opts)}")
    assert missing == []
