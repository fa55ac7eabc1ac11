"""What a resource needs from its client: a way to send a `Call`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from pydantic import BaseModel

from .._call import Call
from .._clock import Clock
from .._flow import Flow
from .._pagination import AsyncPaginator, PageData, SyncPage

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class SyncSender(Protocol):
    _clock: Clock

    def _send(self, call: Call[T]) -> T: ...

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> SyncPage[M]: ...

    def _run(self, flow: Flow[T]) -> T: ...

    def _send_many(
        self,
        calls: Mapping[str, Call[T]],
        concurrency: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> dict[str, T]: ...


class AsyncSender(Protocol):
    _clock: Clock

    async def _send(self, call: Call[T]) -> T: ...

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> AsyncPaginator[M]: ...

    async def _run(self, flow: Flow[T]) -> T: ...

    async def _send_many(
        self,
        calls: Mapping[str, Call[T]],
        concurrency: int,
        on_progress: Callable[[int, int], None] | None,
    ) -> dict[str, T]: ...


class SyncResource:
    """A group of API calls on `CraftClient`, such as `client.projects`."""

    def __init__(self, client: SyncSender) -> None:
        """Made by the client; reach it as an attribute of one, not by constructing it.

        Args:
            client: The client that sends the calls.
        """
        self._client = client


class AsyncResource:
    """A group of API calls on `AsyncCraftClient`, such as `client.projects`."""

    def __init__(self, client: AsyncSender) -> None:
        """Made by the client; reach it as an attribute of one, not by constructing it.

        Args:
            client: The client that sends the calls.
        """
        self._client = client
