"""Listing: every page with the right query, lazily, bounded, and never looping on a bad server."""

from __future__ import annotations

import asyncio
import gc
import re
import weakref
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient, Project
from craft_sdk._call import Call
from craft_sdk._pagination import PageData, next_call, page_of
from craft_sdk.models import Pagination

from .conftest import API_KEY, PROJECT, Runner, calls_of, drain, ok


def listing(total: int, *, per_page: int = 2, has_more: bool | None = None) -> Any:
    """A respx side effect serving `total` projects in pages of `per_page`, like the API."""
    pages = max(1, -(-total // per_page))

    def serve(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        start = (page - 1) * per_page
        items = [{**PROJECT, "id": f"proj_{n}"} for n in range(start, min(start + per_page, total))]
        more = page < pages if has_more is None else has_more
        pagination = {
            "page": page,
            "limit": per_page,
            "total": total,
            "totalPages": pages,
            "hasMore": more,
        }
        return httpx.Response(200, json=ok(items, pagination=pagination))

    return serve


def test_iterating_walks_every_page_with_the_same_filters(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/projects").mock(side_effect=listing(5))

    listed = run(
        lambda c: drain(c.projects.list(status="active", sort="updatedAt", order="desc", limit=2))
    )
    assert [project.id for project in listed] == [f"proj_{n}" for n in range(5)]
    queries = [dict(call.request.url.params) for call in calls_of(route)]
    assert queries == [
        {"page": str(page), "limit": "2", "status": "active", "sort": "updatedAt", "order": "desc"}
        for page in (1, 2, 3)
    ]


def test_the_first_page_and_its_navigation(api: respx.MockRouter, client: CraftClient) -> None:
    route = api.get("/projects").mock(side_effect=listing(3))
    page = client.projects.list(limit=2)
    assert route.call_count == 1
    assert [p.id for p in page.data] == ["proj_0", "proj_1"]
    assert all(isinstance(p, Project) for p in page.data)
    assert page.pagination == Pagination(page=1, limit=2, total=3, total_pages=2, has_more=True)
    assert page.has_next_page()
    last = page.get_next_page()
    assert [p.id for p in last.data] == ["proj_2"]
    assert not last.has_next_page()
    with pytest.raises(craft_sdk.CraftError, match="last page"):
        last.get_next_page()
    assert [len(p.data) for p in page.iter_pages()] == [2, 1]


@pytest.mark.anyio
async def test_async_list_is_awaitable_for_the_first_page(api: respx.MockRouter) -> None:
    route = api.get("/projects").mock(side_effect=listing(3))
    async with AsyncCraftClient(api_key=API_KEY) as client:
        page = await client.projects.list(limit=2)
        assert route.call_count == 1
        assert [p.id for p in page.data] == ["proj_0", "proj_1"]
        assert page.has_next_page()
        second = await page.get_next_page()
        assert [p.id for p in second.data] == ["proj_2"]
        assert [len(p.data) async for p in page.iter_pages()] == [2, 1]
        assert [p.id async for p in page] == ["proj_0", "proj_1", "proj_2"]


def test_pages_are_fetched_only_when_reached(api: respx.MockRouter, client: CraftClient) -> None:
    route = api.get("/projects").mock(side_effect=listing(10))
    items = iter(client.projects.list())
    assert next(items).id == "proj_0"
    assert next(items).id == "proj_1"
    assert route.call_count == 1
    assert next(items).id == "proj_2"
    assert route.call_count == 2


@pytest.mark.parametrize(("max_items", "pages_fetched"), [(1, 1), (2, 1), (3, 2), (4, 2), (9, 5)])
def test_max_items_stops_without_fetching_more(
    api: respx.MockRouter, run: Runner, max_items: int, pages_fetched: int
) -> None:
    route = api.get("/projects").mock(side_effect=listing(9))

    assert len(run(lambda c: drain(c.projects.list(max_items=max_items)))) == max_items
    assert route.call_count == pages_fetched


def test_pages_already_left_behind_are_freed(api: respx.MockRouter, client: CraftClient) -> None:
    # Memory stays flat: a page keeps no reference to the pages before it.
    api.get("/projects").mock(side_effect=listing(200, per_page=2))
    alive: list[weakref.ref[Any]] = []
    page = None  # bound even if there were no pages, for the `del` below
    for page in client.projects.list().iter_pages():
        alive.append(weakref.ref(page))
    del page
    gc.collect()
    assert len(alive) == 100
    assert sum(ref() is not None for ref in alive) <= 1  # the first page, held by nothing now


def test_a_server_ignoring_the_page_number_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/projects").respond(
        200,
        json=ok(
            [{**PROJECT, "id": "a"}, {**PROJECT, "id": "b"}],
            pagination={"page": 1, "limit": 2, "hasMore": True},
        ),
    )
    with pytest.raises(craft_sdk.CraftError, match="asked for page 2, the API answered page 1"):
        run(lambda c: drain(c.projects.list()))
    assert route.call_count == 2


def test_a_server_serving_the_same_items_again_is_stopped(
    api: respx.MockRouter, run: Runner
) -> None:
    def same_items(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{**PROJECT, "id": "a"}, {**PROJECT, "id": "b"}]
        return httpx.Response(200, json=ok(items, pagination={"page": page, "hasMore": True}))

    route = api.get("/projects").mock(side_effect=same_items)
    with pytest.raises(craft_sdk.CraftError, match="page 2 holds the same items as page 1"):
        run(lambda c: drain(c.projects.list()))
    assert route.call_count == 2


def test_has_more_past_total_pages_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    route = api.get("/projects").mock(side_effect=listing(4, has_more=True))
    with pytest.raises(craft_sdk.CraftError, match="more after page 2 of 2"):
        run(lambda c: drain(c.projects.list()))
    assert route.call_count == 2


def test_has_more_past_the_total_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{**PROJECT, "id": f"p{page}-{n}"} for n in range(2)]
        pagination = {"page": page, "limit": 2, "total": 5, "hasMore": True}
        return httpx.Response(200, json=ok(items, pagination=pagination))

    route = api.get("/projects").mock(side_effect=endless)
    with pytest.raises(craft_sdk.CraftError, match="3 pages of 2 already hold all 5 items"):
        run(lambda c: drain(c.projects.list()))
    assert route.call_count == 3


def test_has_more_forever_with_empty_pages_ends_cleanly(api: respx.MockRouter, run: Runner) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        items = [{**PROJECT, "id": f"p{page}"}] if page <= 2 else []
        return httpx.Response(200, json=ok(items, pagination={"page": page, "hasMore": True}))

    route = api.get("/projects").mock(side_effect=endless)
    assert [p.id for p in run(lambda c: drain(c.projects.list()))] == ["p1", "p2"]
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"limit": 0}, ValueError, "limit must be from 1 to 100; got 0"),
        ({"limit": 101}, ValueError, "limit must be from 1 to 100; got 101"),
        ({"limit": "5"}, TypeError, "limit must be an int"),
        ({"page": 0}, ValueError, "page must be at least 1"),
        ({"status": "deleted"}, ValueError, "status must be one of 'active', 'archived'"),
        (
            {"sort": "created_at"},
            ValueError,
            "sort must be one of 'name', 'createdAt', 'updatedAt'",
        ),
        ({"order": "up"}, ValueError, "order must be one of 'asc', 'desc'"),
        ({"max_items": 0}, ValueError, "max_items must be at least 1"),
    ],
)
def test_filters_are_checked_before_sending(
    api: respx.MockRouter,
    run: Runner,
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        run(lambda c: drain(c.projects.list(**arguments)))
    assert api.calls.call_count == 0


# The decision itself, with no HTTP at all.

CALL: Call[PageData[Project]] = Call(
    "GET", "/projects", parse=page_of(Project), params={"page": 1, "status": "active"}
)


def page(ids: list[str], **pagination: Any) -> PageData[Project]:
    return PageData(
        items=[Project.model_validate({**PROJECT, "id": i}) for i in ids],
        pagination=Pagination(**pagination) if pagination else None,
    )


def test_next_call_keeps_the_filters_and_advances_the_page() -> None:
    following = next_call(CALL, page(["a"], page=1, has_more=True), None)
    assert following is not None
    assert following.params == {"page": 2, "status": "active"}
    assert (following.method, following.path, following.parse) == ("GET", "/projects", CALL.parse)


@pytest.mark.parametrize(
    "last",
    [
        page(["a"], page=1, has_more=False),
        page([], page=1, has_more=True),
        page(["a"], page=1, total_pages=1),
        page(["a"], page=1, limit=2),
        page(["a"]),
    ],
    ids=["has_more false", "empty page", "last of total_pages", "short page", "no pagination"],
)
def test_next_call_ends_the_list(last: PageData[Project]) -> None:
    assert next_call(CALL, last, None) is None


def test_next_call_goes_on_after_a_full_page_without_has_more() -> None:
    assert next_call(CALL, page(["a", "b"], page=1, limit=2), None) is not None


def test_async_iteration_without_await_first() -> None:
    # `async for` straight on the paginator, the usual spelling, with no event loop left open.
    async def main() -> list[str]:
        with respx.mock(base_url="https://api.craft.fast/v1") as api:
            api.get("/projects").mock(side_effect=listing(3))
            async with AsyncCraftClient(api_key=API_KEY) as client:
                return [project.id async for project in client.projects.list()]

    assert asyncio.run(main()) == ["proj_0", "proj_1", "proj_2"]
