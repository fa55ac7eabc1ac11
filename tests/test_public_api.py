"""`craft_sdk.__all__` is sorted, complete, and names only things that exist."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import pytest

import craft_sdk


def test_all_is_sorted() -> None:
    assert craft_sdk.__all__ == sorted(craft_sdk.__all__)


def test_all_is_complete_and_exists() -> None:
    # dir(), not vars(): most names load on first use (craft_sdk.__getattr__).
    public = {
        name
        for name in dir(craft_sdk)
        if not name.startswith("_") and not isinstance(getattr(craft_sdk, name), types.ModuleType)
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


def test_public_classes_say_so_when_imported_from_where_they_are_defined() -> None:
    # A fresh interpreter that never reads craft_sdk.<name>: `from craft_sdk.models import
    # Project` must give the same `type(obj)` as `craft_sdk.Project`, whatever ran before.
    probe = """
import importlib, sys
import craft_sdk

eager = ("craft_sdk._errors", "craft_sdk._types", "craft_sdk._version")
wrong, classes = [], 0
for name in craft_sdk.__all__:
    homes = [craft_sdk._LAZY[name]] if name in craft_sdk._LAZY else eager
    modules = [importlib.import_module(home, "craft_sdk") for home in homes]
    value = next(vars(module)[name] for module in modules if name in vars(module))
    if isinstance(value, type):
        classes += 1
        if value.__module__ != "craft_sdk":
            wrong.append(f"{name}: {value.__module__}")
read_through_craft_sdk = [n for n in craft_sdk._LAZY if n != "oauth" and n in vars(craft_sdk)]
print(classes, wrong, read_through_craft_sdk)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    classes, rest = out.stdout.split(" ", 1)
    assert int(classes) > 40
    assert rest.strip() == "[] []"


def test_version_is_a_string() -> None:
    assert isinstance(craft_sdk.__version__, str)
    assert craft_sdk.__version__.count(".") == 2


def test_import_loads_neither_the_client_nor_pydantic_models() -> None:
    # A fresh interpreter: this one has loaded everything already.
    probe = (
        "import sys, craft_sdk; "
        "print(sorted(m for m in ('httpx', 'pydantic.main', 'craft_sdk._client', "
        "'craft_sdk.webhooks') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_name_loads_on_first_use_in_a_fresh_interpreter() -> None:
    probe = (
        "import craft_sdk; "
        "missing = [n for n in craft_sdk.__all__ if getattr(craft_sdk, n, None) is None]; "
        "print(missing, craft_sdk.oauth.__name__, craft_sdk.CraftClient.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "craft_sdk.oauth", "craft_sdk"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        craft_sdk.NoSuchThing  # noqa: B018


def test_httpx_is_imported_in_one_module_only() -> None:
    # So that the HTTP library can be swapped (httpx2) in one place: craft_sdk/_http.py.
    package = Path(craft_sdk.__file__).parent
    importers: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(name == "httpx" or name.startswith("httpx.") for name in names):
                importers.add(source.relative_to(package).as_posix())
    assert importers == {"_http.py"}
