"""3.5 Pagination against servers that loop, lie or fail part-way.

Iteration must end: on `hasMore: false`, an empty page, or `max_items`; and it must stop with a
`CraftError` (never loop) when the server does not advance. Items already yielded stay yielded
when a later page fails.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

import craft_sdk

from .conftest import PROJECT, Runner, calls_of, ok, raises

Pages = Callable[[int], httpx.Response]


def page(ids: list[str], number: int, **pagination: Any) -> httpx.Response:
    items = [{**PROJECT, "id": i, "name": i} for i in ids]
    block = {"page": number, "limit": 2, **pagination}
    return httpx.Response(200, json=ok(items, pagination=block))


def serve(api: respx.MockRouter, pages: Pages) -> tuple[respx.Route, list[int]]:
    asked: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        asked.append(number)
        return pages(number)

    return api.get("/projects").mock(side_effect=answer), asked


def collect(run: Runner, seen: list[str], **arguments: Any) -> list[str]:
    """Iterate every project into `seen` (so a test sees what came before a failure)."""

    def operation(client: Any) -> Any:
        if run.flavour == "sync":
            for project in client.projects.list(**arguments):
                seen.append(project.id)
            return seen

        async def steps() -> list[str]:
            async for project in client.projects.list(**arguments):
                seen.append(project.id)
            return seen

        return steps()

    return run(operation)  # type: ignore[no-any-return]


def test_a_server_repeating_the_same_page_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    _, asked = serve(api, lambda n: page(["a", "b"], n, hasMore=True))
    seen: list[str] = []
    with raises(craft_sdk.CraftError) as caught:
        collect(run, seen)
    assert "does not advance" in str(caught.value)
    assert seen == ["a", "b"]
    assert asked == [1, 2]


def test_a_server_ignoring_the_page_number_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    _, asked = serve(api, lambda n: page([f"p{n}a", f"p{n}b"], 1, hasMore=True))
    seen: list[str] = []
    with raises(craft_sdk.CraftError) as caught:
        collect(run, seen)
    assert "asked for page 2" in str(caught.value)
    assert seen == ["p1a", "p1b"]
    assert asked == [1, 2]


def test_has_more_past_the_last_page_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    _, asked = serve(api, lambda n: page([f"p{n}"], n, hasMore=True, totalPages=2))
    seen: list[str] = []
    with raises(craft_sdk.CraftError) as caught:
        collect(run, seen)
    assert "after page 2 of 2" in str(caught.value)
    assert seen == ["p1", "p2"]
    assert asked == [1, 2]


def test_has_more_past_the_total_is_stopped(api: respx.MockRouter, run: Runner) -> None:
    _, asked = serve(api, lambda n: page([f"p{n}a", f"p{n}b"], n, hasMore=True, total=4))
    seen: list[str] = []
    with raises(craft_sdk.CraftError):
        collect(run, seen)
    assert seen == ["p1a", "p1b", "p2a", "p2b"]
    assert asked == [1, 2]


def test_an_empty_page_ends_the_list_even_if_has_more_says_otherwise(
    api: respx.MockRouter, run: Runner
) -> None:
    _, asked = serve(api, lambda n: page(["a", "b"] if n == 1 else [], n, hasMore=True))
    assert collect(run, []) == ["a", "b"]
    assert asked == [1, 2]


def test_total_pages_shrinking_mid_iteration_ends_on_has_more_false(
    api: respx.MockRouter, run: Runner
) -> None:
    answers = {
        1: page(["a", "b"], 1, hasMore=True, totalPages=3, total=6),
        2: page(["c", "d"], 2, hasMore=False, totalPages=2, total=4),
    }
    _, asked = serve(api, lambda n: answers[n])
    assert collect(run, []) == ["a", "b", "c", "d"]
    assert asked == [1, 2]


def test_a_failing_third_page_keeps_the_items_already_yielded(
    api: respx.MockRouter, run: Runner
) -> None:
    def pages(n: int) -> httpx.Response:
        if n == 3:
            return httpx.Response(503, text="<html>busy</html>")
        return page([f"p{n}a", f"p{n}b"], n, hasMore=True, totalPages=4)

    _, asked = serve(api, pages)
    seen: list[str] = []
    with raises(craft_sdk.InternalServerError, status_code=503, attempts=4):
        collect(run, seen)
    assert seen == ["p1a", "p1b", "p2a", "p2b"]
    assert asked == [1, 2, 3, 3, 3, 3]  # page 3 retried as any GET, never skipped


def test_an_invalid_item_on_page_two_is_a_validation_error_after_page_one(
    api: respx.MockRouter, run: Runner
) -> None:
    def pages(n: int) -> httpx.Response:
        if n == 2:
            return httpx.Response(
                200, json=ok([{"name": "no id"}], pagination={"page": 2, "hasMore": False})
            )
        return page(["a", "b"], n, hasMore=True)

    _, asked = serve(api, pages)
    seen: list[str] = []
    with raises(craft_sdk.APIResponseValidationError, attempts=1):
        collect(run, seen)
    assert seen == ["a", "b"]
    assert asked == [1, 2]


def test_max_items_stops_before_fetching_pages_nobody_reads(
    api: respx.MockRouter, run: Runner
) -> None:
    _, asked = serve(api, lambda n: page([f"p{n}a", f"p{n}b"], n, hasMore=n < 5, totalPages=5))
    assert collect(run, [], max_items=3) == ["p1a", "p1b", "p2a"]
    assert asked == [1, 2]


def test_a_list_without_pagination_is_one_page(api: respx.MockRouter, run: Runner) -> None:
    route, asked = serve(
        api,
        lambda n: httpx.Response(200, json=ok([{**PROJECT, "id": "a"}, {**PROJECT, "id": "b"}])),
    )
    assert collect(run, []) == ["a", "b"]
    assert asked == [1]
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("arguments", "kind"),
    [
        ({"limit": 101}, ValueError),
        ({"limit": 0}, ValueError),
        ({"page": 0}, ValueError),
        ({"limit": "20"}, TypeError),
        ({"status": "deleted"}, ValueError),
        ({"sort": "name; DROP TABLE"}, ValueError),
        ({"max_items": 0}, ValueError),
    ],
    ids=["limit-101", "limit-0", "page-0", "limit-str", "bad-status", "bad-sort", "max-items-0"],
)
def test_bad_list_arguments_are_refused_before_anything_is_sent(
    api: respx.MockRouter, run: Runner, arguments: dict[str, Any], kind: type[Exception]
) -> None:
    route, _ = serve(api, lambda n: page(["a"], n, hasMore=False))
    with raises(kind):
        collect(run, [], **arguments)
    assert route.call_count == 0


def test_the_pages_asked_for_carry_the_callers_filters(api: respx.MockRouter, run: Runner) -> None:
    route, _ = serve(api, lambda n: page([f"p{n}"], n, hasMore=n < 2))
    collect(run, [], limit=2, status="archived", sort="name", order="desc")
    queries = [dict(call.request.url.params) for call in calls_of(route)]
    assert queries == [
        {"page": "1", "limit": "2", "status": "archived", "sort": "name", "order": "desc"},
        {"page": "2", "limit": "2", "status": "archived", "sort": "name", "order": "desc"},
    ]
