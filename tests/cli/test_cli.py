"""`craft`: the group's options and conventions, `craft me` and `craft projects`, with Click's
runner against the in-process emulator (and, where the options build the client, the emulator
served on 127.0.0.1)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

import craft_sdk
from craft_sdk import CraftClient
from craft_sdk.cli import cli
from craft_sdk.cli._output import Output
from craft_sdk.testing import CraftEmulator, SystemClock

from .conftest import Terminal, craft

SECRET_KEY = "sk_live_cli_secret_4242"


@pytest.fixture
def api_key() -> str:
    return SECRET_KEY


def no_key_in(result: Result) -> None:
    assert SECRET_KEY not in result.stdout
    assert SECRET_KEY not in result.stderr


def ids(result: Result) -> list[str]:
    return result.stdout.split()


def make_projects(client: CraftClient, names: Sequence[str]) -> list[str]:
    return [client.projects.create(name=name).id for name in names]


# ---- the group ---------------------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = craft(None, "--help", env={"CRAFT_API_KEY": SECRET_KEY})
    assert result.exit_code == 0
    for command in (
        "me",
        "projects",
        "deployments",
        "deploy",
        "files",
        "api",
        "webhooks",
        "emulator",
    ):
        assert f"  {command} " in result.stdout
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "6 ", "130 "):
        assert f"  {code}" in result.stdout
    no_key_in(result)


@pytest.mark.parametrize("group", [(), ("projects",), ("deployments",), ("files",), ("webhooks",)])
def test_every_group_lists_its_commands_a_line_each(group: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in group:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert isinstance(command, click.Group)
    listing = craft(None, *group, "--help").stdout.split("Commands:\n")[1].split("\n\n")[0]
    lines = listing.splitlines()
    assert [line.split()[0] for line in lines] == sorted(command.commands)
    for line in lines:
        assert len(line.split()) > 2  # a description
        assert not line.endswith("...")  # whole, not cut short


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        (["proj"], "projects"),
        (["projects", "un"], "unarchive"),
        (["files", "push", "--d"], "--delete"),
    ],
)
def test_shell_completion_offers_commands_and_options(words: list[str], offered: str) -> None:
    # What `eval "$(_CRAFT_COMPLETE=bash_source craft)"` asks the program for at each Tab.
    line = ["craft", *words]
    env = {"_CRAFT_COMPLETE": "bash_complete", "COMP_WORDS": " ".join(line)}
    env["COMP_CWORD"] = str(len(line) - 1)
    result = CliRunner().invoke(cli, [], prog_name="craft", env=env)
    assert result.exit_code == 0
    assert f"plain,{offered}" in result.stdout.splitlines()


def test_shell_completion_scripts_for_bash_zsh_and_fish() -> None:
    for shell in ("bash", "zsh", "fish"):
        env = {"_CRAFT_COMPLETE": f"{shell}_source"}
        result = CliRunner().invoke(cli, [], prog_name="craft", env=env)
        assert result.exit_code == 0
        assert "_CRAFT_COMPLETE" in result.stdout


def test_version() -> None:
    result = craft(None, "--version")
    assert result.exit_code == 0
    assert result.stdout == f"craft, version {craft_sdk.__version__}\n"


def test_usage_errors_exit_2() -> None:
    assert craft(None, "no-such-command").exit_code == 2
    assert craft(None, "projects", "list", "--limit", "0").exit_code == 2


def test_no_key_exits_3_with_what_to_do() -> None:
    result = craft(None, "me", env={"CRAFT_API_KEY": ""})
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == "craft: error: no API key: set CRAFT_API_KEY or pass --api-key\n"


def test_the_options_build_a_client_on_the_key_and_base_url(emu: CraftEmulator) -> None:
    with emu.serve() as server:
        by_flag = craft(None, "--api-key", SECRET_KEY, "--base-url", server.url, "--json", "me")
        by_env = craft(
            None, "--json", "me", env={"CRAFT_API_KEY": SECRET_KEY, "CRAFT_BASE_URL": server.url}
        )
    for result in (by_flag, by_env):
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == emu.user
        no_key_in(result)


def test_a_wrong_key_exits_3_and_the_key_is_in_no_output(emu: CraftEmulator) -> None:
    wrong = "sk_live_wrong_key_777"
    with emu.serve() as server:
        base = ["--api-key", wrong, "--base-url", server.url]
        plain = craft(None, *base, "me")
        verbose = craft(None, *base, "--verbose", "me", env={"CRAFT_DEBUG": "1"})
    for result in (plain, verbose):
        assert result.exit_code == 3, result.stderr
        assert result.stdout == ""
        assert "authentication failed" in result.stderr
        assert "CRAFT_API_KEY" in result.stderr
        assert wrong not in result.stdout + result.stderr
    assert "Traceback" not in plain.stderr
    assert len(plain.stderr.splitlines()) == 1
    # The debug run shows the traceback and the verbose one the request lines, still keyless.
    assert "Traceback" in verbose.stderr
    assert "GET /v1/me -> 401" in verbose.stderr


def test_verbose_logs_requests_on_stderr_only(emu: CraftEmulator) -> None:
    with emu.serve() as server:
        result = craft(
            None, "--api-key", SECRET_KEY, "--base-url", server.url, "-v", "--json", "me"
        )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["id"] == emu.user["id"]
    assert "GET /v1/me -> 200" in result.stderr
    no_key_in(result)


def test_api_errors_exit_1_with_one_line(client: CraftClient, emu: CraftEmulator) -> None:
    emu.fail_next(4, status=500)  # beyond the 3 retries
    result = craft(client, "me")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("craft: error: ")
    assert "HTTP 500" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        (400, "check the arguments (see --help)"),
        (422, "check the arguments (see --help)"),
        (403, "check its scopes or use another key"),
        (409, "look at it again, then retry"),
        (502, "check whether it was done, then try again later"),
        (418, "CRAFT_DEBUG=1 shows more"),
    ],
)
def test_each_api_error_names_what_to_do(
    client: CraftClient, emu: CraftEmulator, status: int, advice: str
) -> None:
    emu.fail_next(4, status=status)  # a 502 is retried 3 times: the 4th ends it
    result = craft(client, "projects", "list")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("craft: error: ")
    assert f"(HTTP {status}, request " in line
    assert line.endswith(advice)


def test_not_found_names_what_to_check(client: CraftClient) -> None:
    result = craft(client, "projects", "get", "proj_missing")
    assert result.exit_code == 1
    assert "not found" in result.stderr
    assert "check the id" in result.stderr


def test_rate_limited_beyond_the_wait_allowed_exits_4(emu: CraftEmulator) -> None:
    emu.set_rate_limit(1)
    with emu.client(max_retry_wait=0) as client:
        assert craft(client, "me").exit_code == 0
        result = craft(client, "me")
    assert result.exit_code == 4
    assert "rate limited" in result.stderr


def test_a_dropped_connection_exits_1_naming_the_network(emu: CraftEmulator) -> None:
    emu.fail_next(4, drop=True)  # beyond the 3 retries
    with emu.client() as client:
        result = craft(client, "me")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.endswith(": check --base-url and the network")


def test_an_answer_that_never_comes_in_time_exits_6() -> None:
    # A real clock: the emulator's server really waits, and the client's timeout really ends it.
    emulator = CraftEmulator(api_key=SECRET_KEY, clock=SystemClock())
    emulator.fail_next(1, delay=2.0)
    with (
        emulator.serve() as server,
        CraftClient(api_key=SECRET_KEY, base_url=server.url, timeout=0.2, max_retries=0) as client,
    ):
        result = craft(client, "me")
    emulator.close()
    assert result.exit_code == 6
    (line,) = result.stderr.splitlines()
    assert line.startswith("craft: error: timed out: ")
    assert line.endswith("; try again later")


@pytest.mark.parametrize("how", ["--max-wait", "CRAFT_MAX_WAIT"])
def test_max_wait_bounds_the_wait_for_the_rate_limit(emu: CraftEmulator, how: str) -> None:
    emu.set_rate_limit(1)
    given = ["--max-wait", "0"] if how == "--max-wait" else []
    env = {"CRAFT_MAX_WAIT": "0"} if how == "CRAFT_MAX_WAIT" else {}
    with emu.serve() as server:
        base = ["--api-key", SECRET_KEY, "--base-url", server.url, *given]
        assert craft(None, *base, "me", env=env).exit_code == 0
        result = craft(None, *base, "me", env=env)
    assert result.exit_code == 4
    (line,) = result.stderr.splitlines()
    assert line.startswith("craft: error: rate limited: wait for ")
    assert line.endswith("or allow a longer wait with --max-wait")
    # A new process knows nothing of the key's budget: it asks, is refused, and with no wait
    # allowed gives up at once instead of retrying after the Retry-After.
    assert [status for _, _, status in emu.requests] == [200, 429]


def test_ctrl_c_exits_130_without_a_traceback(
    client: CraftClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: CraftClient) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(CraftClient, "me", interrupted)
    result = craft(client, "me")
    assert result.exit_code == 130
    assert result.stderr == "craft: interrupted\n"
    assert result.stdout == ""


def test_an_unexpected_error_is_one_line_asking_for_a_report(
    client: CraftClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: CraftClient) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(CraftClient, "me", broken)
    result = craft(client, "me")
    assert result.exit_code == 1
    assert result.stderr == (
        "craft: error: unexpected RuntimeError: boom (a bug: run it again with CRAFT_DEBUG=1 "
        "and report the traceback)\n"
    )


def test_a_local_file_error_names_the_path(
    client: CraftClient, project_id: str, tmp_path: Path
) -> None:
    client.files.write(project_id, "a.txt", "A")
    unwritable = tmp_path / "a-file"
    unwritable.write_text("in the way")
    result = craft(client, "files", "download", project_id, "a.txt", str(unwritable / "a.txt"))
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert str(unwritable) in line
    assert line.endswith("check the path and its permissions")


def test_a_refused_argument_is_a_usage_error(client: CraftClient) -> None:
    result = craft(client, "projects", "create", "--name", " ")
    assert result.exit_code == 2
    assert result.stderr.startswith("craft: error: ")


# ---- me and projects ---------------------------------------------------------------------------


def test_me_prints_fields_json_or_the_id(client: CraftClient, emu: CraftEmulator) -> None:
    plain = craft(client, "me")
    assert plain.exit_code == 0
    assert f"id     {emu.user['id']}" in plain.stdout.splitlines()
    assert plain.stderr == ""
    assert json.loads(craft(client, "--json", "me").stdout) == emu.user
    assert craft(client, "-q", "me").stdout == f"{emu.user['id']}\n"


def test_projects_list_plain_json_and_ids(client: CraftClient) -> None:
    made = make_projects(client, ["alpha", "beta"])
    plain = craft(client, "projects", "list")
    assert plain.exit_code == 0
    lines = plain.stdout.splitlines()
    assert lines[0] == "id\tname\tstatus\tupdatedAt"
    assert sorted(line.split("\t")[0] for line in lines[1:]) == sorted(made)
    as_json = json.loads(craft(client, "--json", "projects", "list").stdout)
    assert sorted(project["id"] for project in as_json) == sorted(made)
    assert {"previewUrl", "createdAt"} <= set(as_json[0])  # wire names
    assert sorted(ids(craft(client, "-q", "projects", "list"))) == sorted(made)


def test_projects_list_limit_one_page_or_all(client: CraftClient) -> None:
    made = make_projects(client, [f"p{i}" for i in range(5)])
    assert len(ids(craft(client, "-q", "projects", "list", "--limit", "2"))) == 2
    every = ids(craft(client, "-q", "projects", "list", "--limit", "2", "--all"))
    assert sorted(every) == sorted(made)


def test_projects_list_page(client: CraftClient) -> None:
    made = make_projects(client, ["a", "b", "c"])
    second = craft(
        client,
        "projects",
        "list",
        "--sort",
        "name",
        "--order",
        "asc",
        "--limit",
        "2",
        "--page",
        "2",
        "-q",
    )
    assert ids(second) == made[2:]


def test_projects_create_from_a_template(client: CraftClient) -> None:
    args = ("projects", "create", "--name", "Landing", "--template")
    created = craft(client, *args, "landing-page", "--json")
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["template"] == "landing-page"
    unknown = craft(client, *args, "no-such-template")
    assert unknown.exit_code == 1
    assert "no-such-template" in unknown.stderr
    assert "HTTP 400" in unknown.stderr


def test_projects_list_filters(client: CraftClient) -> None:
    keep, archived = make_projects(client, ["b-keep", "a-gone"])
    client.projects.archive(archived)
    assert ids(craft(client, "-q", "projects", "list", "--status", "archived")) == [archived]
    assert ids(craft(client, "-q", "projects", "list", "--status", "active")) == [keep]
    by_name = craft(client, "-q", "projects", "list", "--sort", "name", "--order", "desc")
    assert ids(by_name) == [keep, archived]


def test_projects_create_get_update_archive_unarchive_delete(client: CraftClient) -> None:
    created = craft(client, "--json", "projects", "create", "--name", "Site", "--description", "d")
    assert created.exit_code == 0
    project = json.loads(created.stdout)
    project_id = project["id"]
    assert (project["name"], project["description"]) == ("Site", "d")

    got = json.loads(craft(client, "--json", "projects", "get", project_id).stdout)
    assert got["id"] == project_id
    assert "settings" in got

    updated = craft(client, "--json", "projects", "update", project_id, "--name", "Renamed")
    assert json.loads(updated.stdout)["name"] == "Renamed"
    assert client.projects.get(project_id).name == "Renamed"

    craft(client, "projects", "archive", project_id)
    assert client.projects.get(project_id).status == "archived"
    craft(client, "projects", "unarchive", project_id)
    assert client.projects.get(project_id).status == "active"

    deleted = craft(client, "-q", "projects", "delete", project_id, "--yes")
    assert deleted.exit_code == 0
    assert deleted.stdout == f"{project_id}\n"
    assert craft(client, "projects", "get", project_id).exit_code == 1


def test_projects_update_needs_a_change(client: CraftClient) -> None:
    (project_id,) = make_projects(client, ["x"])
    assert craft(client, "projects", "update", project_id).exit_code == 2


def test_projects_delete_asks_first_on_stderr(client: CraftClient) -> None:
    (project_id,) = make_projects(client, ["x"])
    refused = craft(client, "projects", "delete", project_id, stdin=b"n\n")
    assert refused.exit_code == 1
    assert "Delete" in refused.stderr
    assert refused.stdout == ""
    assert client.projects.get(project_id).id == project_id


# ---- a terminal --------------------------------------------------------------------------------


def table_on_a_terminal(monkeypatch: pytest.MonkeyPatch, client: CraftClient) -> str:
    make_projects(client, ["alpha"])
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    Output().items(client.projects.list().data, ("id", "name"))
    return terminal.getvalue()


def test_a_terminal_gets_a_coloured_table(
    monkeypatch: pytest.MonkeyPatch, client: CraftClient
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    table = table_on_a_terminal(monkeypatch, client)
    assert "\t" not in table
    assert "alpha" in table
    assert "\x1b[" in table


def test_no_color_is_honoured_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, client: CraftClient
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    table = table_on_a_terminal(monkeypatch, client)
    assert "alpha" in table
    assert "\x1b[" not in table
