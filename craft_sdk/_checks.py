"""Argument checks shared by the call builders: they run before anything is sent, and raise
`TypeError` / `ValueError` naming the argument (and, for choices, the allowed values)."""

from __future__ import annotations


def check_text(what: str, value: str, *, max_length: int | None, empty: bool = False) -> str:
    if not isinstance(value, str):
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
