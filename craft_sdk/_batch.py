"""Bookkeeping for sending many calls at once (files.write_many), with no I/O.

The clients run the calls (threads for the sync one, tasks for the async one, never more than
`concurrency` at a time); this decides what starts next, stops starting new calls after the first
failure, and accounts for every key in the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from ._call import Call
from ._errors import WriteManyError

if TYPE_CHECKING:
    from concurrent.futures import Future

T = TypeVar("T")

Settled = Union["Future[Any]", Any]  # a concurrent.futures.Future or an asyncio.Task, both done


class Batch(Generic[T]):
    def __init__(
        self,
        calls: Mapping[str, Call[T]],
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        self._pending = deque(calls.items())
        self._total = len(calls)
        self._on_progress = on_progress
        self.results: dict[str, T] = {}
        self.failures: dict[str, BaseException] = {}

    def next(self) -> tuple[str, Call[T]] | None:
        """The next call to start, or None: none left, or stopping after a failure."""
        if self.failures or not self._pending:
            return None
        return self._pending.popleft()

    def settle(self, key: str, finished: Settled) -> None:
        """Record how the call for `key` ended (`finished` is its done future or task)."""
        error = finished.exception()
        if error is not None:
            self.failures[key] = error
            return
        self.results[key] = finished.result()
        if self._on_progress is not None:
            self._on_progress(len(self.results), self._total)

    @property
    def not_attempted(self) -> list[str]:
        """The keys never started (after a failure)."""
        return [key for key, _ in self._pending]

    def outcome(self) -> dict[str, T]:
        """Every result, or `WriteManyError` saying what was written, what failed, and what
        was never sent."""
        if not self.failures:
            return self.results
        raise WriteManyError(
            written=list(self.results),
            failed=self.failures,
            not_attempted=self.not_attempted,
        )
