"""What every test of the `craft` command line starts from: an emulator, a client on it (handed
to the command line as the Click context's object), a project, a local site folder, and a
stream that says it is a terminal."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from craft_sdk import CraftClient
from craft_sdk.cli import cli
from craft_sdk.testing import CraftEmulator


@pytest.fixture
def api_key() -> str:
    """The emulator's key (a test module may override the fixture)."""
    return "test_key"


@pytest.fixture
def emu(api_key: str) -> Iterator[CraftEmulator]:
    emulator = CraftEmulator(api_key=api_key)
    yield emulator
    emulator.close()


@pytest.fixture
def client(emu: CraftEmulator) -> Iterator[CraftClient]:
    with emu.client() as client:
        yield client


@pytest.fixture
def project_id(client: CraftClient) -> str:
    return client.projects.create(name="site").id


def craft(
    client: CraftClient | None,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> Result:
    """Run `craft args...` on `client` (None: the command line builds its own from the options
    and environment), with stdout and stderr kept apart."""
    return CliRunner().invoke(
        cli, list(args), obj=client, env=env, input=stdin, catch_exceptions=False
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A small site to push: index.html, about.html and css/site.css."""
    folder = tmp_path / "site"
    (folder / "css").mkdir(parents=True)
    (folder / "index.html").write_text("<h1>hi</h1>")
    (folder / "about.html").write_text("<h1>about</h1>")
    (folder / "css" / "site.css").write_text("h1 { color: red }")
    return folder


class Terminal(io.StringIO):
    """A stream that says it is a terminal (for stdout or stderr, monkeypatched in)."""

    def isatty(self) -> bool:
        return True


@dataclass
class Scene:
    """A project with a 3 MB file and a deployment under way, a folder to push and one to pull
    into: what the commands that draw progress act on."""

    project: str
    deployment: str
    big: Path
    folder: Path
    into: Path


DRAWING_COMMANDS: dict[str, tuple[Callable[[Scene], list[str]], bytes]] = {
    # command: (its arguments, what its display shows)
    "files put": (lambda s: ["files", "put", s.project, str(s.big)], b"3.1/3.1 MB"),
    "files download": (
        lambda s: ["files", "download", s.project, "big.bin", str(s.into / "big.bin")],
        b"3.1/3.1 MB",
    ),
    "files push": (
        lambda s: ["files", "push", str(s.folder), "--project", s.project],
        b"2/2 files",
    ),
    "files pull": (lambda s: ["files", "pull", str(s.into), "--project", s.project], b"1/1 files"),
    "deploy": (lambda s: ["deploy", str(s.folder), "--project", s.project], b"0:00:0"),
    "deployments wait": (lambda s: ["deployments", "wait", s.project, s.deployment], b"0:00:0"),
}
