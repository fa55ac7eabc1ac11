"""The sync and async surfaces cannot drift: same methods, parameters, defaults, annotations and
docstrings, with every async method a coroutine function."""

from __future__ import annotations

import inspect

import pytest

from craft_sdk import AsyncCraftClient, CraftClient
from craft_sdk.resources import (
    AsyncDeployments,
    AsyncFiles,
    AsyncOAuth,
    AsyncProjects,
    Deployments,
    Files,
    OAuth,
    Projects,
)

# Methods that differ by design: closing and the context-manager protocol.
LIFECYCLE = {"close", "aclose"}
# What a sync method returns, spelled as its async twin returns it. An async list() returns an
# AsyncPaginator, which is awaitable (first page) and async-iterable (every item).
ASYNC_SPELLING = {"SyncPage[": "AsyncPaginator["}
# A parameter's annotation, spelled as its async twin takes it: with_response takes a method of
# the client, which on the async client returns an awaitable.
ASYNC_PARAMETER_SPELLING = {"Callable[P, T]": "Callable[P, Awaitable[T]]"}


def async_spelling(parameter: inspect.Parameter) -> inspect.Parameter:
    annotation = parameter.annotation
    if isinstance(annotation, str):
        annotation = ASYNC_PARAMETER_SPELLING.get(annotation, annotation)
    return parameter.replace(annotation=annotation)


PAIRS = [
    (CraftClient, AsyncCraftClient),
    (Projects, AsyncProjects),
    (Files, AsyncFiles),
    (Deployments, AsyncDeployments),
    (OAuth, AsyncOAuth),
]


def public_methods(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


@pytest.mark.parametrize(("sync_class", "async_class"), PAIRS)
def test_same_methods(sync_class: type, async_class: type) -> None:
    assert public_methods(sync_class).keys() == public_methods(async_class).keys()
    assert public_methods(sync_class)  # the comparison is not vacuous


@pytest.mark.parametrize(("sync_class", "async_class"), PAIRS)
def test_same_signatures_and_docstrings(sync_class: type, async_class: type) -> None:
    async_methods = public_methods(async_class)
    for name, sync_method in public_methods(sync_class).items():
        async_method = async_methods[name]
        sync_signature = inspect.signature(sync_method)  # type: ignore[arg-type]
        async_signature = inspect.signature(async_method)  # type: ignore[arg-type]
        expected_parameters = [async_spelling(p) for p in sync_signature.parameters.values()]
        assert expected_parameters == list(async_signature.parameters.values()), name
        expected_return = str(sync_signature.return_annotation)
        for sync_word, async_word in ASYNC_SPELLING.items():
            expected_return = expected_return.replace(sync_word, async_word)
        assert str(async_signature.return_annotation) == expected_return, name
        sync_doc, async_doc = inspect.getdoc(sync_method), inspect.getdoc(async_method)
        assert sync_doc, f"{sync_class.__name__}.{name} has no docstring"
        assert async_doc
        if str(async_signature.return_annotation).startswith("AsyncPaginator["):
            # What a list returns differs (a page, or a paginator that fetches nothing yet), and
            # its docstring says so; everything else it says must be the same.
            assert "AsyncPaginator" in _returns_section(async_doc), name
            sync_doc, async_doc = _without_returns(sync_doc), _without_returns(async_doc)
        assert sync_doc == async_doc, name


def _returns_section(doc: str) -> str:
    return doc.partition("Returns:")[2].partition("\n\n")[0]


def _without_returns(doc: str) -> str:
    head, _, rest = doc.partition("Returns:")
    return head + rest.partition("\n\n")[2]


@pytest.mark.parametrize(("sync_class", "async_class"), PAIRS)
def test_async_methods_are_coroutines_and_sync_ones_are_not(
    sync_class: type, async_class: type
) -> None:
    for name, method in public_methods(async_class).items():
        returns = str(inspect.signature(method).return_annotation)  # type: ignore[arg-type]
        if name == "with_options" or returns.startswith("AsyncPaginator["):
            # A plain method on purpose: with_options awaits nothing, and a paginator must be
            # usable with `async for` without an `await` first.
            assert not inspect.iscoroutinefunction(method), name
            continue
        assert inspect.iscoroutinefunction(method), name
    for name, method in public_methods(sync_class).items():
        assert not inspect.iscoroutinefunction(method), name


def test_same_resources_and_constructor() -> None:
    sync_client = CraftClient(api_key="sk_parity")
    async_client = AsyncCraftClient(api_key="sk_parity")
    resources = {name for name in vars(sync_client) if not name.startswith("_")}
    assert resources == {name for name in vars(async_client) if not name.startswith("_")}
    assert resources == {"projects", "files", "deployments", "oauth"}
    sync_parameters = inspect.signature(CraftClient).parameters
    async_parameters = inspect.signature(AsyncCraftClient).parameters
    assert list(sync_parameters) == list(async_parameters)
    differing = {
        name
        for name in sync_parameters
        if sync_parameters[name].annotation != async_parameters[name].annotation
    }
    assert differing == {"http_client"}  # httpx.Client versus httpx.AsyncClient
    sync_client.close()
