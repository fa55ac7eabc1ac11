"""What every test of the `craft` command line starts from: an emulator, a client on it (handed
to the command line as the Click context's object), and a project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from craft_sdk import CraftClient
from craft_sdk.cli import cli
from craft_sdk.testing import CraftEmulator


@pytest.fixture
def emu() -> Iterator[CraftEmulator]:
    emulator = CraftEmulator()
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
