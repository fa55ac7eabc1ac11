"""Operations of several requests, written once as generators and driven by either client.

A flow yields a step and gets its outcome back from the `yield`, then returns its result:

- a `Call`, to have it sent (the outcome is the parsed answer);
- a `Sleep`, to have the client wait on its clock;
- a `Many`, to have calls sent `concurrency` at a time (threads on `CraftClient`, tasks on
  `AsyncCraftClient`); the outcome is the settled `Batch` (results, failures, not attempted);
- a `Local`, a function doing blocking local work (walking or hashing a folder), which the
  async client runs in a worker thread so that its event loop is never held up.

`CraftClient._run` and `AsyncCraftClient._run` do the rest. So `deployments.wait` and the folder
syncs are each one piece of plain code for both clients, and can be stepped through in a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

from ._call import Call

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Ask the client to wait this many seconds (on its clock)."""

    seconds: float


@dataclasses.dataclass(frozen=True)
class Many(Generic[T]):
    """Ask the client to send these calls, `concurrency` at a time; see _batch.py."""

    calls: Mapping[str, Call[T]]
    concurrency: int
    on_progress: Callable[[int, int], None] | None = None


@dataclasses.dataclass(frozen=True)
class Local(Generic[T]):
    """Ask the client to run blocking local work and hand back what it returns."""

    work: Callable[[], T]


Step: TypeAlias = Call[Any] | Sleep | Many[Any] | Local[Any]
Flow: TypeAlias = Generator[Step, Any, T]
