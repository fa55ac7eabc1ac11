"""`craft` as real processes: `craft emulator` serving on 127.0.0.1, `craft deploy` against it to
a completed and to a failed build, Ctrl-C, and a real pseudo-terminal (colour and progress there,
none of it when piped). Waits are real here (processes), so timeouts are generous."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from craft_sdk import BuildFailedEvent, CraftClient
from craft_sdk.webhooks import construct_event

from ..conftest import read_exports, wait_until
from ..loopback import LoopbackServer, Reply, SeenRequest
from .conftest import DRAWING_COMMANDS, Scene

KEY = "sk_live_process_secret_1234"
CRAFT = [sys.executable, "-m", "craft_sdk"]
PATIENCE = 60.0  # seconds; never reached unless something is wrong


@dataclass
class Served:
    url: str
    env: dict[str, str]
    client: CraftClient

    def steer(self, **settings: object) -> None:
        control = self.url.removesuffix("/v1") + "/_emulator"
        httpx.patch(control, json=settings, timeout=PATIENCE).raise_for_status()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with subprocess.Popen(
        [*CRAFT, "emulator", "--port", "0", "--api-key", KEY, "--build-seconds", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as emulator:
        try:
            yield from _exports(emulator)
        finally:
            emulator.terminate()
            assert emulator.wait(PATIENCE) == 0


def _exports(emulator: subprocess.Popen[str]) -> Iterator[Served]:
    """The emulator's variables, and a client on it."""
    exports = read_exports(emulator)
    env = {**os.environ, **exports}
    for name in ("CRAFT_DEBUG", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    with CraftClient(api_key=KEY, base_url=exports["CRAFT_BASE_URL"]) as client:
        yield Served(exports["CRAFT_BASE_URL"], env, client)


def run(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CRAFT, *args], env=served.env, capture_output=True, text=True, timeout=PATIENCE
    )


def test_deploy_a_folder_to_a_completed_build(served: Served, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>hi</h1>")
    project = served.client.projects.create(name="process site")
    result = run(served, "deploy", str(tmp_path), "--project", project.id)
    assert result.returncode == 0, result.stderr
    assert "status       completed" in result.stdout
    assert "1 uploaded" in result.stderr
    assert served.client.files.read(project.id, "index.html") == b"<h1>hi</h1>"
    assert KEY not in result.stdout + result.stderr


def test_deploy_to_a_failed_build_exits_5(served: Served) -> None:
    project = served.client.projects.create(name="doomed")
    served.steer(failBuilds=1, buildError="Missing index.html")
    result = run(served, "--verbose", "deploy", "--project", project.id)
    assert result.returncode == 5
    assert result.stdout == ""
    assert result.stderr.endswith("failed: Missing index.html\n")
    assert "Traceback" not in result.stderr
    assert KEY not in result.stdout + result.stderr


def test_ctrl_c_ends_a_wait_cleanly_with_130(served: Served) -> None:
    project = served.client.projects.create(name="slow")
    served.steer(buildSeconds=600)
    try:
        deployment = served.client.deployments.create(project.id)
        with subprocess.Popen(
            [*CRAFT, "deployments", "wait", project.id, deployment.id],
            env=served.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as waiting:
            assert waiting.stderr is not None
            # Interrupted once it is following: its first status line is out.
            first = waiting.stderr.readline()
            waiting.send_signal(signal.SIGINT)
            stdout, rest = waiting.communicate(timeout=PATIENCE)
    finally:
        served.steer(buildSeconds=0)
    assert deployment.id in first
    assert waiting.returncode == 130
    assert stdout == ""
    assert rest == "craft: interrupted\n"


def read_all(fd: int, process: subprocess.Popen[bytes]) -> bytes:
    """Everything written to a pseudo-terminal until the process ends."""
    output = b""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the other end closed (Linux says EIO)
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(PATIENCE)
    return output


def on_a_terminal(
    served: Served, *args: str, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    controller, terminal = pty.openpty()
    env = {**served.env, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})}
    process = subprocess.Popen(
        [*CRAFT, *args], env=env, stdin=terminal, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    try:
        output = read_all(controller, process)
        return process.returncode, output
    finally:
        os.close(controller)


def test_a_terminal_sees_colour_and_a_progress_bar_and_a_pipe_none(
    served: Served, tmp_path: Path
) -> None:
    project = served.client.projects.create(name="terminal")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))

    code, table = on_a_terminal(served, "projects", "list")
    assert code == 0
    assert b"\x1b[" in table  # a rich table, in colour
    assert b"terminal" in table
    code, put = on_a_terminal(served, "files", "put", project.id, str(big))
    assert code == 0
    assert b"big.bin" in put
    assert b"3.1/3.1 MB" in put  # the bar, at its end

    piped_table = run(served, "projects", "list")
    assert "\x1b[" not in piped_table.stdout + piped_table.stderr
    assert piped_table.stdout.splitlines()[0] == "id\tname\tstatus\tupdatedAt"
    piped_put = run(served, "files", "put", project.id, str(big))
    assert piped_put.returncode == 0
    assert "MB" not in piped_put.stderr
    assert "\x1b[" not in piped_put.stdout + piped_put.stderr


# What a live display writes first: rich hides the cursor while it redraws.
LIVE = b"\x1b[?25l"


@pytest.fixture
def scene(served: Served, tmp_path: Path) -> Scene:
    project = served.client.projects.create(name="progress").id
    folder = tmp_path / "site"
    folder.mkdir()
    big = folder / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    (folder / "index.html").write_text("<h1>hi</h1>")
    served.client.files.write(project, "big.bin", big)
    deployment = served.client.deployments.create(project).id
    return Scene(project, deployment, big, folder, tmp_path / "pulled")


@pytest.mark.parametrize("name", DRAWING_COMMANDS)
@pytest.mark.parametrize("where", ["drawn", "--no-progress after", "--no-progress before"])
def test_progress_on_a_terminal_unless_no_progress(
    served: Served, scene: Scene, name: str, where: str
) -> None:
    args, shows = DRAWING_COMMANDS[name]
    scene.into.mkdir()
    command = args(scene)
    if where == "--no-progress after":
        command = [*command, "--no-progress"]
    elif where == "--no-progress before":
        command = ["--no-progress", *command]
    code, output = on_a_terminal(served, *command)
    assert code == 0, output
    drawn = where == "drawn"
    assert (LIVE in output) is drawn
    assert (shows in output) is drawn
    assert KEY.encode() not in output


class StallingServer:
    """Answers any request with the head of a 1 MB file and then nothing more, until closed:
    a download that is under way for as long as the test wants."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.recv(65536)  # the request (a GET: its head is all there is)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: 1048576\r\n\r\n" + b"x" * 65536
            )
            self._closed.wait(PATIENCE)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(PATIENCE)
        self._listener.close()


def test_ctrl_c_during_a_download_leaves_nothing_half_written(tmp_path: Path) -> None:
    server = StallingServer()
    into = tmp_path / "downloads"
    into.mkdir()
    env = {**os.environ, "CRAFT_BASE_URL": server.url, "CRAFT_API_KEY": KEY}
    env.pop("CRAFT_DEBUG", None)
    try:
        with subprocess.Popen(
            [*CRAFT, "files", "download", "proj_x", "big.bin", str(into / "big.bin")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as downloading:
            # Interrupted once the first bytes are on disk, in the file that becomes big.bin.
            def started() -> bool:
                assert downloading.poll() is None, downloading.communicate()
                return any(part.stat().st_size for part in into.iterdir())

            wait_until(started, PATIENCE)
            downloading.send_signal(signal.SIGINT)
            stdout, stderr = downloading.communicate(timeout=PATIENCE)
    finally:
        server.close()
    assert downloading.returncode == 130
    assert stdout == ""
    assert stderr == "craft: interrupted\n"
    assert list(into.iterdir()) == []  # neither big.bin nor its partial body


@pytest.mark.parametrize("missing", ["click", "rich"])
def test_without_the_cli_extra_craft_says_what_to_install(missing: str) -> None:
    # As if `pip install craft-sdk` without [cli]: the console script is there, the module not.
    program = (
        f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['craft', 'me']; "
        "from craft_sdk.__main__ import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=PATIENCE
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f'craft: the command line needs {missing}: pip install "craft-sdk[cli]"\n'
    )


# Select Graphic Rendition: colour, bold and the like (a cursor movement is not one).
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def test_no_color_on_a_terminal_draws_without_colour(served: Served, scene: Scene) -> None:
    code, table = on_a_terminal(served, "projects", "list", env={"NO_COLOR": "1"})
    assert code == 0
    assert b"progress" in table  # the scene's project, in a table
    assert b"\t" not in table  # a table, not the piped columns
    assert not SGR.search(table)
    code, put = on_a_terminal(
        served, "files", "put", scene.project, str(scene.big), env={"NO_COLOR": "1"}
    )
    assert code == 0
    assert LIVE in put  # still a progress bar
    assert b"3.1/3.1 MB" in put
    assert not SGR.search(put)
    # And without NO_COLOR, the same bar is in colour.
    assert SGR.search(on_a_terminal(served, "files", "put", scene.project, str(scene.big))[1])


def test_webhooks_trigger_as_a_process_to_a_receiver_on_loopback() -> None:
    secret = "whsec_process_2718"

    def receiver(request: SeenRequest) -> Reply:
        event = construct_event(request.body, headers=request.headers, secret=secret)
        assert isinstance(event, BuildFailedEvent)
        return Reply(200, json={"received": event.event, "project": event.data.project_id})

    env = {**os.environ, "CRAFT_WEBHOOK_SECRET": secret}
    with LoopbackServer(receiver) as server:
        result = subprocess.run(
            [*CRAFT, "webhooks", "trigger", "build.failed", "--to", server.url],
            env=env,
            capture_output=True,
            text=True,
            timeout=PATIENCE,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"received": "build.failed", "project": "proj_sample0001"}
    assert result.stderr == f"build.failed -> {server.url}: HTTP 200\n"
    assert secret not in result.stdout + result.stderr


_LOADED = """\
import sys
sys.argv = ["craft", *{args!r}]
from craft_sdk.__main__ import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
heavy = ("httpx", "pydantic", "craft_sdk._client")
print("LOADED", sorted(name for name in heavy if name in sys.modules))
"""


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--help"], {}),
        (["--version"], {}),
        (["projects", "--help"], {}),
        (["files", "push", "--help"], {}),
        ([], {"_CRAFT_COMPLETE": "bash_complete", "COMP_WORDS": "craft proj", "COMP_CWORD": "1"}),
    ],
)
def test_help_version_and_completion_load_no_http_client(
    args: list[str], env: dict[str, str]
) -> None:
    # They answer at once (about 0.1 s, not 0.4): the SDK's client, httpx and pydantic load
    # only when a command needs them.
    result = subprocess.run(
        [sys.executable, "-c", _LOADED.format(args=args)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "LOADED []"
    assert len(result.stdout.splitlines()) > 1  # it did answer


def test_a_command_that_runs_does_load_them(served: Served) -> None:
    # The other side of the test above: it would pass if nothing were ever loaded.
    result = subprocess.run(
        [sys.executable, "-c", _LOADED.format(args=["me"])],
        env=served.env,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert result.stdout.splitlines()[-1] == "LOADED ['craft_sdk._client', 'httpx', 'pydantic']"
