"""pytest fixtures backed by the Craft API emulator, registered as the `craft_sdk` plugin.

    def test_creates_a_project(craft_client, craft_emulator):
        project = craft_client.projects.create(name="Demo")
        assert project.id in craft_emulator.projects

    @pytest.mark.anyio
    async def test_async(async_craft_client): ...

The plugin only defines fixtures: nothing runs unless a test asks for one. To set the emulator
up differently (a rate limit, read-only keys), override `craft_emulator` in a conftest.py; the
client fixtures use whichever `craft_emulator` is in scope. The async fixture runs under the
anyio pytest plugin (`@pytest.mark.anyio`), or any plugin that runs plain async fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .. import AsyncCraftClient, CraftClient
    from ._emulator import CraftEmulator


@pytest.fixture
def craft_emulator() -> CraftEmulator:
    """A fresh, empty `CraftEmulator` on a `FakeClock`, for this test alone."""
    from ._emulator import CraftEmulator

    return CraftEmulator()


@pytest.fixture
def craft_client(craft_emulator: CraftEmulator) -> Iterator[CraftClient]:
    """A `CraftClient` talking to `craft_emulator` (no sockets), closed after the test.

    Args:
        craft_emulator: The `craft_emulator` fixture in scope (override it to change the setup).
    """
    with craft_emulator.client() as client:
        yield client


@pytest.fixture
async def async_craft_client(craft_emulator: CraftEmulator) -> AsyncIterator[AsyncCraftClient]:
    """An `AsyncCraftClient` talking to `craft_emulator` (no sockets), closed after the test.

    Args:
        craft_emulator: The `craft_emulator` fixture in scope (override it to change the setup).
    """
    async with craft_emulator.async_client() as client:
        yield client
