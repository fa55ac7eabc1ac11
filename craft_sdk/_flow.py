"""Operations of several requests, written once as generators and driven by either client.

A flow yields a `Call` to have it sent (the answer comes back from the `yield`), or a `Sleep` to
have the client wait, and returns its result; `CraftClient._run` and `AsyncCraftClient._run` do
the sending and the sleeping. So `deployments.wait` is one piece of plain code for both clients,
and can be stepped through by hand in a test.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any, TypeAlias, TypeVar

from ._call import Call

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Ask the client to wait this many seconds (on its clock)."""

    seconds: float


Step: TypeAlias = Call[Any] | Sleep
Flow: TypeAlias = Generator[Step, Any, T]
