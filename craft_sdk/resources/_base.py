"""What a resource needs from its client: a way to send a `Call`."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import BaseModel

from .._call import Call
from .._pagination import AsyncPaginator, PageData, SyncPage

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class SyncSender(Protocol):
    def _send(self, call: Call[T]) -> T: ...

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> SyncPage[M]: ...


class AsyncSender(Protocol):
    async def _send(self, call: Call[T]) -> T: ...

    def _paginate(self, call: Call[PageData[M]], max_items: int | None) -> AsyncPaginator[M]: ...


class SyncResource:
    def __init__(self, client: SyncSender) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncSender) -> None:
        self._client = client
