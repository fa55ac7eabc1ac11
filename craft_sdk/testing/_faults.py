"""Injected faults: answer a request with an error status, slow it down, or drop its connection,
for the next N requests that match, or for a fraction of them.

A fraction is spread evenly rather than drawn at random, so that a test sees the same requests
fail on every run: with `fraction=0.25`, the 4th, 8th, 12th... matching requests fail, exactly
floor(n * fraction) of the first n.

`Faults` is not thread-safe; the emulator calls it under its lock.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Final, cast

from .._checks import check_int, check_seconds

FIELDS: Final = ("status", "delay", "drop", "count", "fraction", "method", "path")
"""The fields of a fault, as the control endpoint and the command line name them."""


@dataclasses.dataclass
class Fault:
    """One injected fault, made by `make`, which checks every field."""

    status: int | None
    delay: float
    drop: bool
    count: int | None  # failures left; None: until the faults are cleared
    fraction: float | None
    method: str | None
    path: str | None
    seen: int = 0  # matching requests seen, which a fraction is spread over

    @classmethod
    def make(
        cls,
        count: int | None = None,
        *,
        status: int | None = 503,
        delay: float = 0.0,
        drop: bool = False,
        fraction: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """Check the fields (`CraftEmulator.fail_next` documents them) and make the fault.

        Raises:
            TypeError: A field has the wrong type.
            ValueError: A field is out of range, or the fault would do nothing.
        """
        if count is not None:
            check_int("count", count, minimum=1)
        if status is not None:
            check_int("status", status, minimum=400, maximum=599)
        check_seconds("delay", delay, zero_allowed=True)
        if not isinstance(drop, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"drop must be true or false, not {drop!r}.")
        if fraction is not None:
            if isinstance(fraction, bool) or not isinstance(cast(object, fraction), (int, float)):
                raise TypeError(f"fraction must be a number, not {type(fraction).__name__}")
            if not 0 < fraction <= 1:
                raise ValueError(f"fraction must be above 0 and at most 1; got {fraction!r}")
        for name, value in (("method", method), ("path", path)):
            if value is not None and (not isinstance(value, str) or not value):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"{name} must be a non-empty string or None, not {value!r}.")
        if status is None and not drop and delay == 0:
            raise ValueError("A fault needs a status, a delay or drop=True: this one does nothing.")
        if count is None and fraction is None:
            count = 1
        return cls(
            status=status,
            delay=float(delay),
            drop=drop,
            count=count,
            fraction=None if fraction is None else float(fraction),
            method=method and method.upper(),
            path=path,
        )

    def strikes(self, method: str, path: str) -> bool:
        """Whether this fault hits a request to `path` with `method`; counts it if so."""
        if (self.method is not None and self.method != method) or (
            self.path is not None and self.path != path
        ):
            return False
        self.seen += 1
        if self.fraction is not None:
            before, now = (math.floor(n * self.fraction + 1e-9) for n in (self.seen - 1, self.seen))
            if now == before:
                return False
        if self.count is not None:
            self.count -= 1
        return True

    @property
    def spent(self) -> bool:
        return self.count == 0

    def wire(self) -> dict[str, Any]:
        """The fault, in the control endpoint's JSON."""
        return {name: getattr(self, name) for name in FIELDS}


class Faults:
    """The faults waiting, matched in the order they were added."""

    def __init__(self) -> None:
        self._waiting: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._waiting.append(fault)

    def clear(self) -> None:
        self._waiting.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that hits this request, if one does (the first that matches)."""
        for fault in self._waiting:
            if fault.strikes(method, path):
                if fault.spent:
                    self._waiting.remove(fault)
                return fault
        return None

    def wire(self) -> list[dict[str, Any]]:
        return [fault.wire() for fault in self._waiting]


def parse_spec(spec: str) -> dict[str, Any]:
    """The command line's fault, such as "status=503,count=2,method=GET" or "drop,fraction=0.1",
    as the keyword arguments of `CraftEmulator.fail_next` ("status=none": a delay alone).

    Raises:
        ValueError: A part is not `name=value` (or a bare `drop`), or a value does not parse.
    """
    numbers: dict[str, Callable[[str], object]] = {
        "status": int,
        "count": int,
        "delay": float,
        "fraction": float,
    }
    switches = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    fields: dict[str, Any] = {}
    for part in filter(None, (part.strip() for part in spec.split(","))):
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if name == "drop" and not equals:
            fields["drop"] = True
        elif not equals:
            raise ValueError(f"{part!r} in the fault {spec!r} is not name=value.")
        elif value.lower() == "none":
            fields[name] = None
        elif name == "drop" and value.lower() in switches:
            fields["drop"] = switches[value.lower()]
        elif name in numbers or name == "drop":
            try:
                fields[name] = numbers[name](value)
            except (KeyError, ValueError):
                raise ValueError(f"{part!r} in the fault {spec!r} has a bad value.") from None
        else:
            fields[name] = value
    return fields
