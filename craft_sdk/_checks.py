"""Argument checks shared by the call builders: they run before anything is sent, and raise
`TypeError` / `ValueError` naming the argument (and, for choices, the allowed values).

Types are checked at run time although the annotations promise them, since untyped code may pass
anything; `isinstance(cast(object, value), ...)` tells type checkers the check is meant."""

from __future__ import annotations

import math
from typing import cast


def check_text(what: str, value: str, *, max_length: int | None, empty: bool = False) -> str:
    if not isinstance(cast(object, value), str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{what} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{what} must be at most {max_length} characters (got {len(value)})")
    return value


def check_choice(what: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def check_int(what: str, value: int, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(cast(object, value), int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{what} must be {bounds}; got {value}")
    return value


def check_seconds(what: str, value: float, *, zero_allowed: bool) -> float:
    if isinstance(value, bool) or not isinstance(cast(object, value), (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not is_finite(value) or value < 0 or (value == 0 and not zero_allowed):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"{what} must be a finite number of seconds {bound}; got {value!r}")
    return float(value)


def is_finite(number: float) -> bool:
    """`math.isfinite`, but False for an int too large for a float instead of OverflowError."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False
