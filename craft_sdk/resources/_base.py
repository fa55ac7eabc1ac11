"""What a resource needs from its client: the client's ways to send a `Call`, and its clock.

The client makes its resources (in `_init`) with a `SyncSender` or `AsyncSender` of its own
bound methods, so a resource sends with `self._send(...)` without reaching into the client.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol, TypeVar

from pydantic import BaseModel

from .._call import Call
from .._clock import Clock
from .._flow import Flow
from .._pagination import AsyncPaginator, PageData, SyncPage

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# The shapes of the client's methods. Protocols rather than `Callable[...]`, because each method
# is generic: `send` returns whatever the call it is given reads.


class Send(Protocol):
    def __call__(self, call: Call[T], /) -> T: ...


class Paginate(Protocol):
    def __call__(self, call: Call[PageData[M]], max_items: int | None, /) -> SyncPage[M]: ...


class Run(Protocol):
    def __call__(self, flow: Flow[T], /) -> T: ...


class AsyncSend(Protocol):
    async def __call__(self, call: Call[T], /) -> T: ...


class AsyncPaginate(Protocol):
    def __call__(self, call: Call[PageData[M]], max_items: int | None, /) -> AsyncPaginator[M]: ...


class AsyncRun(Protocol):
    async def __call__(self, flow: Flow[T], /) -> T: ...


@dataclasses.dataclass(frozen=True)
class SyncSender:
    """How `CraftClient` sends: its `_send`, `_paginate` and `_run`, bound to it,
    and its clock."""

    send: Send
    paginate: Paginate
    run: Run
    clock: Clock


@dataclasses.dataclass(frozen=True)
class AsyncSender:
    """How `AsyncCraftClient` sends, like `SyncSender`."""

    send: AsyncSend
    paginate: AsyncPaginate
    run: AsyncRun
    clock: Clock


class SyncResource:
    """A group of API calls on `CraftClient`, such as `client.projects`."""

    def __init__(self, sender: SyncSender) -> None:
        """Made by the client; reach it as an attribute of one, not by constructing it.

        Args:
            sender: How the client sends the calls.
        """
        self._send = sender.send
        self._paginate = sender.paginate
        self._run = sender.run
        self._clock = sender.clock


class AsyncResource:
    """A group of API calls on `AsyncCraftClient`, such as `client.projects`."""

    def __init__(self, sender: AsyncSender) -> None:
        """Made by the client; reach it as an attribute of one, not by constructing it.

        Args:
            sender: How the client sends the calls.
        """
        self._send = sender.send
        self._paginate = sender.paginate
        self._run = sender.run
        self._clock = sender.clock
