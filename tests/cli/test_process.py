"""`craft` as real processes: `craft emulator` serving on 127.0.0.1, `craft deploy` against it to
a completed and to a failed build, Ctrl-C, and a real pseudo-terminal (colour and progress there,
none of it when piped). Waits are real here (processes), so timeouts are generous."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from craft_sdk import CraftClient

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
        [*CRAFT, "emulator", "--port", "0", "--api-key", KEY, "--build-seconds", "0.3"],
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
    """Reads the `export` lines the emulator prints once it listens."""
    assert emulator.stdout is not None
    exports: dict[str, str] = {}
    while "CRAFT_API_KEY" not in exports:
        line = emulator.stdout.readline()
        assert line, "the emulator ended before it listened"
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value
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
        served.steer(buildSeconds=0.3)
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


def on_a_terminal(served: Served, *args: str) -> tuple[int, bytes]:
    controller, terminal = pty.openpty()
    env = {**served.env, "TERM": "xterm-256color", "COLUMNS": "120"}
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
