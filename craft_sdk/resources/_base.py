"""What a resource needs from its client: a way to send a `Call`."""

from __future__ import annotations

from typing import Protocol, TypeVar

from .._call import Call

T = TypeVar("T")


class SyncSender(Protocol):
    def _send(self, call: Call[T]) -> T: ...


class AsyncSender(Protocol):
    async def _send(self, call: Call[T]) -> T: ...


class SyncResource:
    def __init__(self, client: SyncSender) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncSender) -> None:
        self._client = client
