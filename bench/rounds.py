"""The timing engine: columns run block by block, interleaved round by round.

A column is one way of doing an operation (the SDK, or a floor). In every round each column runs
one block of the same number of operations, in an order that rotates from round to round, so that
a drift in the machine's speed falls on all of them alike. Each block records the process's CPU
time (`time.process_time`: this process only, every thread; the server is another process) and
the wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping

SyncOp = Callable[[], int]
AsyncOp = Callable[[], Awaitable[int]]
"""An operation returns how many items it read; the first one's count is checked."""
WARM_UP_OPS = 64


@dataclasses.dataclass(frozen=True)
class Sample:
    cpu: float
    """Client CPU seconds (`time.process_time`) of one block."""
    wall: float
    """Wall seconds (`time.perf_counter`) of one block."""


@dataclasses.dataclass
class CaseResult:
    operation: str
    mode: str
    ops: int
    """Operations per block (each block is `ops * requests_per_op` HTTP requests)."""
    requests_per_op: int
    samples: dict[str, list[Sample]]
    """Per column, one sample per round."""
    error: str | None = None

    @property
    def rounds(self) -> int:
        return len(self.samples.get("sdk", ()))

    @property
    def requests(self) -> int:
        return self.ops * self.requests_per_op


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How long a case runs: rounds until `seconds` have passed, within the bounds."""

    min_rounds: int
    max_rounds: int
    seconds: float
    warm_up: bool = True
    """Run a block of each column (at most `WARM_UP_OPS` operations) before the rounds."""

    def rounds(self) -> Iterator[int]:
        started = time.perf_counter()
        for number in range(self.max_rounds):
            if number >= self.min_rounds and time.perf_counter() - started >= self.seconds:
                return
            yield number


def _order(columns: list[str], round_number: int) -> list[str]:
    shift = round_number % len(columns)
    return columns[shift:] + columns[:shift]


def _check(column: str, got: int, expected: int) -> None:
    if got != expected:
        raise AssertionError(f"{column} read {got} items, not {expected}")


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep what set-up made out of every collection, so that a full collection's cost does not
    land at random in one block (each block starts with a `gc.collect()` of its own)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure_sync(
    columns: Mapping[str, SyncOp], ops: int, schedule: Schedule, *, expected: int
) -> dict[str, list[Sample]]:
    """Per column, one sample per round of `ops` operations."""

    def block(op: SyncOp, count: int = ops) -> Sample:
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(count):
            op()
        return Sample(time.process_time() - cpu, time.perf_counter() - wall)

    for name, op in columns.items():
        _check(name, op(), expected)
        if schedule.warm_up:
            block(op, min(ops, WARM_UP_OPS))
    samples: dict[str, list[Sample]] = {name: [] for name in columns}
    with _frozen_heap():
        for round_number in schedule.rounds():
            for name in _order(list(columns), round_number):
                samples[name].append(block(columns[name]))
    return samples


async def measure_burst(op: AsyncOp, ops: int, concurrency: int) -> Sample:
    """One block of `ops` operations shared by `concurrency` tasks, all started at once."""
    share, extra = divmod(ops, concurrency)

    async def run(count: int) -> None:
        for _ in range(count):
            await op()

    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(run(share + (i < extra)) for i in range(concurrency)))
    return Sample(time.process_time() - cpu, time.perf_counter() - wall)


async def measure_async(
    columns: Mapping[str, AsyncOp],
    ops: int,
    schedule: Schedule,
    *,
    expected: int,
    concurrency: int,
) -> dict[str, list[Sample]]:
    """Per column, one sample per round of `ops` operations shared by `concurrency` tasks."""

    async def block(op: AsyncOp, count: int = ops) -> Sample:
        return await measure_burst(op, count, concurrency)

    for name, op in columns.items():
        _check(name, await op(), expected)
        if schedule.warm_up:  # with 64 tasks, this also opens the connections
            await block(op, min(ops, WARM_UP_OPS))
    samples: dict[str, list[Sample]] = {name: [] for name in columns}
    with _frozen_heap():
        for round_number in schedule.rounds():
            for name in _order(list(columns), round_number):
                samples[name].append(await block(columns[name]))
    return samples
