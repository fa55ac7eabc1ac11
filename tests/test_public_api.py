"""`craft_sdk.__all__` is sorted, complete, and names only things that exist."""

from __future__ import annotations

import types

import craft_sdk


def test_all_is_sorted() -> None:
    assert craft_sdk.__all__ == sorted(craft_sdk.__all__)


def test_all_is_complete_and_exists() -> None:
    public = {
        name
        for name, value in vars(craft_sdk).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } | {"__version__"}
    assert set(craft_sdk.__all__) == public
    for name in craft_sdk.__all__:
        assert hasattr(craft_sdk, name), name


def test_public_classes_say_they_come_from_craft_sdk() -> None:
    for name in craft_sdk.__all__:
        value = getattr(craft_sdk, name)
        if isinstance(value, type):
            assert value.__module__ == "craft_sdk", name
    assert repr(craft_sdk.NotFoundError) == "<class 'craft_sdk.NotFoundError'>"


def test_version_is_a_string() -> None:
    assert isinstance(craft_sdk.__version__, str)
    assert craft_sdk.__version__.count(".") == 2
