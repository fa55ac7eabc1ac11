"""Raw access (issue #14, point 9): the answers behind any result (`with_response`), and any
endpoint through the same transport (`request`), on both clients."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import AsyncCraftClient, CraftClient, ResponseInfo, WithResponse
from craft_sdk.models import CraftModel
from craft_sdk.testing import CraftEmulator, FakeClock

from .conftest import (
    API_KEY,
    PROJECT,
    Runner,
    calls_of,
    drain,
    each_request,
    either_client,
    failure,
    ok,
    run_on,
)

LIMITS = {
    "X-RateLimit-Limit": "60",
    "X-RateLimit-Remaining": "41",
    "X-RateLimit-Reset": "1700000060",
    "X-Request-Id": "req_42",
}


# --- with_response -----------------------------------------------------------------------------


def test_with_response_gives_the_result_and_its_answer(api: respx.MockRouter, run: Runner) -> None:
    api.get("/projects/proj_abc123").respond(200, json=ok(PROJECT), headers=LIMITS)
    result: WithResponse[craft_sdk.Project] = run(
        lambda c: c.with_response(c.projects.get, "proj_abc123")
    )
    assert isinstance(result, WithResponse)
    assert isinstance(result.data, craft_sdk.Project)
    assert result.data.id == "proj_abc123"
    info = result.response
    assert isinstance(info, ResponseInfo)
    assert result.responses == [info]
    assert (info.status_code, info.request_id, info.method) == (200, "req_42", "GET")
    assert info.url == "https://api.craft.fast/v1/projects/proj_abc123"
    assert info.headers["x-ratelimit-remaining"] == "41"
    assert info.rate_limit is not None
    assert (info.rate_limit.limit, info.rate_limit.remaining) == (60, 41)
    assert info.elapsed >= 0
    assert info.http_response.json() == ok(PROJECT)
    # The key went out, and is not kept on what the caller holds.
    assert calls_of(api)[0].request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert info.http_response.request.headers["Authorization"] == "[redacted]"
    assert API_KEY not in repr(info)


def test_with_response_keeps_every_answer_of_a_retried_call(
    api: respx.MockRouter, run: Runner
) -> None:
    api.get("/me").mock(
        side_effect=[
            httpx.Response(503, json=failure("DOWN"), headers={"X-Request-Id": "req_1"}),
            httpx.Response(200, json=ok({"id": "u", "email": "e", "name": "n"}), headers=LIMITS),
        ]
    )
    result = run(lambda c: c.with_response(c.me))
    assert [(r.status_code, r.request_id) for r in result.responses] == [
        (503, "req_1"),
        (200, "req_42"),
    ]
    assert result.response.status_code == 200
    assert result.data.id == "u"


def test_with_response_works_for_every_kind_of_result(
    api: respx.MockRouter, run: Runner, tmp_path: Path
) -> None:
    api.get("/projects/p/files/a.bin").mock(
        side_effect=each_request(lambda: httpx.Response(200, content=b"\x00\x01"))
    )
    api.get("/projects").respond(
        200,
        json=ok([PROJECT], pagination={"page": 1, "limit": 1, "hasMore": True}),
    )
    data = run(lambda c: c.with_response(c.files.read, "p", "a.bin"))
    assert (data.data, data.response.status_code) == (b"\x00\x01", 200)
    downloaded = run(lambda c: c.with_response(c.files.download, "p", "a.bin", tmp_path / "a"))
    assert downloaded.data.size == 2
    assert len(downloaded.responses) == 1
    page = run(lambda c: c.with_response(c.projects.list, limit=1))
    assert [p.id for p in page.data.data] == ["proj_abc123"]  # the first page, and only it
    assert len(page.responses) == 1


def test_with_response_of_an_operation_of_several_requests(flavour: str) -> None:
    emulator = CraftEmulator()

    def operation(client: Any) -> Any:
        project = client.projects.create(name="Site")
        return client.with_response(
            client.files.write_many,
            project.id,
            {f"f{n}.txt": str(n) for n in range(5)},
            concurrency=3,
        )

    if flavour == "sync":
        with emulator.client() as client:
            result = operation(client)
    else:

        async def main() -> Any:
            async with emulator.async_client() as client:
                project = await client.projects.create(name="Site")
                return await client.with_response(
                    client.files.write_many,
                    project.id,
                    {f"f{n}.txt": str(n) for n in range(5)},
                    concurrency=3,
                )

        result = asyncio.run(main())
    # Five writes on three threads (or tasks): each answer recorded once.
    assert sorted(r.url.rsplit("/", 1)[1] for r in result.responses) == [
        f"f{n}.txt" for n in range(5)
    ]
    assert {r.method for r in result.responses} == {"PUT"}
    assert len(result.data) == 5


def test_nothing_is_recorded_outside_with_response(api: respx.MockRouter, run: Runner) -> None:
    api.get("/projects/proj_abc123").mock(
        side_effect=each_request(lambda: httpx.Response(200, json=ok(PROJECT)))
    )

    def three_calls(c: Any) -> Any:
        if isinstance(c, CraftClient):
            c.projects.get("proj_abc123")
            inner = c.with_response(c.projects.get, "proj_abc123")
            c.projects.get("proj_abc123")
            return inner

        async def main() -> Any:
            await c.projects.get("proj_abc123")
            inner = await c.with_response(c.projects.get, "proj_abc123")
            await c.projects.get("proj_abc123")
            return inner

        return main()

    assert len(run(three_calls).responses) == 1


def test_nested_with_response_gives_the_outer_one_the_inner_answers_too(
    api: respx.MockRouter, client: CraftClient
) -> None:
    api.get("/projects/proj_abc123").mock(
        side_effect=each_request(lambda: httpx.Response(200, json=ok(PROJECT)))
    )

    def get_twice() -> int:
        client.projects.get("proj_abc123")
        return len(client.with_response(client.projects.get, "proj_abc123").responses)

    outer = client.with_response(get_twice)
    assert outer.data == 1
    assert len(outer.responses) == 2


def test_threads_sharing_a_client_each_see_only_their_own_answers(
    api: respx.MockRouter, client: CraftClient
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        project_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(
            200, json=ok({**PROJECT, "id": project_id}), headers={"X-Request-Id": project_id}
        )

    api.get(url__regex=r"/projects/t\d+$").mock(side_effect=answer)
    start = threading.Barrier(8)
    seen: dict[str, list[str | None]] = {}

    def work(name: str) -> None:
        start.wait()
        result = client.with_response(client.projects.get, name)
        seen[name] = [r.request_id for r in result.responses]

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {f"t{n}": [f"t{n}"] for n in range(8)}


@pytest.mark.anyio
async def test_tasks_sharing_a_client_each_see_only_their_own_answers(
    api: respx.MockRouter, async_client: AsyncCraftClient
) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the other tasks interleave
        project_id = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(
            200, json=ok({**PROJECT, "id": project_id}), headers={"X-Request-Id": project_id}
        )

    api.get(url__regex=r"/projects/t\d+$").mock(side_effect=answer)
    results = await asyncio.gather(
        *(async_client.with_response(async_client.projects.get, f"t{n}") for n in range(8))
    )
    assert [[r.request_id for r in result.responses] for result in results] == [
        [f"t{n}"] for n in range(8)
    ]


def test_with_response_raises_what_the_method_raises(api: respx.MockRouter, run: Runner) -> None:
    api.get("/projects/nope").respond(404, json=failure("PROJECT_NOT_FOUND", "No such project"))
    with pytest.raises(craft_sdk.NotFoundError) as caught:
        run(lambda c: c.with_response(c.projects.get, "nope"))
    assert caught.value.response is not None  # the answer is on the error, as always


def test_with_response_of_something_that_sends_nothing_is_an_error(run: Runner) -> None:
    async def nothing() -> int:
        return 1

    with pytest.raises(craft_sdk.CraftError, match="saw no answer from the API"):
        run(lambda c: c.with_response(lambda: 1 if isinstance(c, CraftClient) else nothing()))


# --- request -----------------------------------------------------------------------------------


def test_request_sends_through_the_same_transport_and_unwraps_the_envelope(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.get("/projects/proj_abc123/webhooks").respond(
        200, json=ok([{"id": "wh_1"}], pagination={"page": 1}), headers=LIMITS
    )
    hooks = run(
        lambda c: c.request(
            "get", "/projects/proj_abc123/webhooks", params={"limit": 10, "active": True}
        )
    )
    assert hooks == [{"id": "wh_1"}]
    sent = calls_of(route)[0].request
    assert sent.method == "GET"
    assert sent.url.query == b"limit=10&active=true"
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["User-Agent"].startswith("craft-sdk-python/")


def test_request_sends_json(api: respx.MockRouter, run: Runner) -> None:
    route = api.post("/projects/p/webhooks").respond(201, json=ok({"id": "wh_2"}))
    made = run(lambda c: c.request("POST", "/projects/p/webhooks", json={"url": "https://x"}))
    assert made == {"id": "wh_2"}
    sent = calls_of(route)[0].request
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.read() == b'{"url":"https://x"}'


def test_request_streams_content(api: respx.MockRouter, run: Runner, tmp_path: Path) -> None:
    source = tmp_path / "blob"
    source.write_bytes(b"x" * 200_000)
    route = api.put("/projects/p/blobs/b").respond(204)
    assert run(lambda c: c.request("PUT", "/projects/p/blobs/b", content=source)) is None
    sent = calls_of(route)[0].request
    assert sent.headers["Content-Type"] == "application/octet-stream"
    assert sent.headers["Content-Length"] == "200000"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, json={"access_token": "t"}), {"access_token": "t"}),  # no envelope
        (
            httpx.Response(200, content=b"<svg/>", headers={"Content-Type": "image/svg+xml"}),
            b"<svg/>",
        ),
        (httpx.Response(204), None),
        (httpx.Response(200, json=ok(None)), None),
        (httpx.Response(200, json=ok("text")), "text"),
    ],
)
def test_request_returns_what_the_answer_holds(
    api: respx.MockRouter, run: Runner, answer: httpx.Response, expected: object
) -> None:
    api.get("/anything").mock(return_value=answer)
    assert run(lambda c: c.request("GET", "/anything")) == expected


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(404, json=failure("HOOK_NOT_FOUND")), craft_sdk.NotFoundError),
        (httpx.Response(200, json=failure("INVALID_URL")), craft_sdk.BadRequestError),
        (
            httpx.Response(200, content=b"{", headers={"Content-Type": "application/json"}),
            craft_sdk.APIResponseValidationError,
        ),
    ],
)
def test_request_raises_the_typed_errors(
    api: respx.MockRouter, run: Runner, answer: httpx.Response, error: type[Exception]
) -> None:
    api.get("/anything").mock(return_value=answer)
    with pytest.raises(error):
        run(lambda c: c.request("GET", "/anything"))


@pytest.mark.parametrize(
    ("method", "retried"),
    [("GET", True), ("PUT", True), ("DELETE", True), ("POST", False), ("PATCH", False)],
)
def test_request_is_retried_by_the_same_method_rules(
    api: respx.MockRouter, run: Runner, method: str, retried: bool
) -> None:
    route = api.request(method, "/things/1").mock(
        side_effect=[httpx.Response(503, json=failure("DOWN")), httpx.Response(200, json=ok(1))]
    )
    if retried:
        assert run(lambda c: c.request(method, "/things/1")) == 1
        assert route.call_count == 2
    else:
        with pytest.raises(craft_sdk.InternalServerError) as caught:
            run(lambda c: c.request(method, "/things/1"))
        assert caught.value.may_have_succeeded is True
        assert route.call_count == 1


def test_request_waits_at_the_rate_limit_gate(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    spent = {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(clock.time()) + 20),
    }
    route = api.get("/things").mock(
        side_effect=each_request(lambda: httpx.Response(200, json=ok([]), headers=spent))
    )

    def twice(c: Any) -> Any:
        if isinstance(c, CraftClient):
            return [c.request("GET", "/things"), c.request("GET", "/things")]

        async def both() -> Any:
            return [await c.request("GET", "/things"), await c.request("GET", "/things")]

        return both()

    assert run(twice) == [[], []]
    assert route.call_count == 2
    assert len(clock.sleeps) == 1  # waited once, for the reset
    assert 20 <= clock.sleeps[0] <= 21


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("/projects", "/v1/projects"),
        ("/projects/a b/files/ü.txt", "/v1/projects/a%20b/files/%C3%BC.txt"),
        ("/projects/a%2Fb", "/v1/projects/a%2Fb"),  # an escape already there is kept
        ("/projects/x:y@z", "/v1/projects/x:y@z"),
    ],
)
def test_request_encodes_the_path_under_the_base_url(
    api: respx.MockRouter, run: Runner, path: str, sent: str
) -> None:
    api.route().respond(200, json=ok(None))
    run(lambda c: c.request("GET", path))
    assert calls_of(api)[0].request.url.raw_path.decode() == sent
    assert calls_of(api)[0].request.url.host == "api.craft.fast"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"method": "HEAD", "path": "/x"}, ValueError, "method must be one of"),
        ({"method": 1, "path": "/x"}, TypeError, "method must be a str"),
        ({"method": "GET", "path": "projects"}, ValueError, "must start with '/'"),
        ({"method": "GET", "path": "https://evil.example/x"}, ValueError, "must start with '/'"),
        ({"method": "GET", "path": "//evil.example/x"}, ValueError, "empty, '.' or '..'"),
        ({"method": "GET", "path": "/projects/../me"}, ValueError, "empty, '.' or '..'"),
        ({"method": "GET", "path": "/projects/%2e%2e/me"}, ValueError, "empty, '.' or '..'"),
        ({"method": "GET", "path": "/projects/"}, ValueError, "empty, '.' or '..'"),
        ({"method": "GET", "path": "/projects?page=2"}, ValueError, "params="),
        ({"method": "GET", "path": "/100%"}, ValueError, "percent-escape"),
        ({"method": "GET", "path": b"/x"}, TypeError, "path must be a str"),
        ({"method": "GET", "path": "/x", "params": {"a": [1]}}, TypeError, "params must map"),
        ({"method": "GET", "path": "/x", "params": ["a"]}, TypeError, "params must be a mapping"),
        ({"method": "POST", "path": "/x", "json": {}, "content": b""}, ValueError, "not both"),
        ({"method": "POST", "path": "/x", "json": {"a": {1, 2}}}, TypeError, "JSON"),
        ({"method": "POST", "path": "/x", "json": float("nan")}, TypeError, "JSON"),
    ],
)
def test_request_refuses_bad_arguments_before_sending(
    api: respx.MockRouter,
    run: Runner,
    arguments: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    route = api.route().respond(200, json=ok(None))
    with pytest.raises(error, match=message):
        run(lambda c: c.request(**arguments))
    assert route.call_count == 0


def test_request_against_the_emulator_over_a_socket(flavour: str) -> None:
    emulator = CraftEmulator()
    with emulator.serve() as server:

        def operation(c: Any) -> Any:
            if isinstance(c, CraftClient):
                made = c.request("POST", "/projects", json={"name": "Raw"})
                return made, c.with_response(c.request, "GET", f"/projects/{made['id']}")

            async def main() -> Any:
                made = await c.request("POST", "/projects", json={"name": "Raw"})
                return made, await c.with_response(c.request, "GET", f"/projects/{made['id']}")

            return main()

        made, fetched = run_on(flavour, operation, base_url=server.url, api_key=emulator.api_key)
    assert made["name"] == "Raw"
    assert fetched.data["id"] == made["id"]
    assert fetched.response.status_code == 200
    assert made["id"] in emulator.projects


# --- request_list ------------------------------------------------------------------------------


def test_request_list_reads_every_page_of_an_unmodelled_list(
    api: respx.MockRouter, run: Runner
) -> None:
    hooks = [{"id": "wh_1", "url": "https://example.com/1", "createdAt": "2026-01-01"}]
    route = api.get("/projects/p/webhooks").mock(
        side_effect=[
            httpx.Response(
                200, json=ok(hooks, pagination={"page": 1, "limit": 1, "hasMore": True})
            ),
            httpx.Response(
                200,
                json=ok(
                    [{"id": "wh_2", "url": "https://example.com/2"}],
                    pagination={"page": 2, "limit": 1, "hasMore": False},
                ),
            ),
        ]
    )
    items = run(lambda c: drain(c.request_list("/projects/p/webhooks", params={"limit": 1})))
    assert [item.id for item in items] == ["wh_1", "wh_2"]
    assert all(type(item) is CraftModel for item in items)
    assert items[0].to_dict() == hooks[0]  # every field, under its wire name, as sent
    assert items[0].createdAt == "2026-01-01"
    queries = [call.request.url.query for call in calls_of(route)]
    assert queries == [b"limit=1", b"limit=1&page=2"]


def test_request_list_stops_a_list_that_does_not_advance(
    api: respx.MockRouter, run: Runner
) -> None:
    # The same page over and over, always with more to come: stopped, not followed for ever.
    same = ok([{"id": "wh_1"}], pagination={"page": 1, "limit": 1, "hasMore": True})
    route = api.get("/projects/p/webhooks").respond(200, json=same)
    with pytest.raises(craft_sdk.CraftError, match="Stopped so as not to loop"):
        run(lambda c: drain(c.request_list("/projects/p/webhooks")))
    assert route.call_count == 2


def test_request_list_max_items_and_a_starting_page(flavour: str) -> None:
    emulator = CraftEmulator()
    with emulator.client() as client:
        made = [client.projects.create(name=f"p{n}").id for n in range(7)]
    query = {"limit": 2, "sort": "name", "order": "asc"}

    def operation(c: Any) -> Any:
        return drain(c.request_list("/projects", params={**query, "page": 2}, max_items=3))

    with either_client(emulator, flavour) as run_it:
        listed = run_it(operation)
    assert [item.id for item in listed] == made[2:5]


def test_request_list_refuses_bad_arguments_before_sending(
    api: respx.MockRouter, run: Runner
) -> None:
    route = api.route().respond(200, json=ok([]))
    with pytest.raises(ValueError, match="start with '/'"):
        run(lambda c: drain(c.request_list("projects")))
    with pytest.raises(ValueError, match="max_items"):
        run(lambda c: drain(c.request_list("/projects", max_items=0)))
    with pytest.raises(TypeError, match="params must"):
        run(lambda c: drain(c.request_list("/projects", params={"a": [1]})))
    assert route.call_count == 0
