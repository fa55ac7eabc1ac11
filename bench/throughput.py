"""Client CPU and wall time per request: the SDK against raw httpx on the same requests.

A case is an operation (`get`, `page20`, `iterate1000`) with a client: sync, async awaited in
sequence, or async shared by 64 tasks. Its columns, the SDK and the floors, run interleaved round
by round (bench/rounds.py). The floors make the same requests as the SDK (same URLs and query
strings, same headers, `Authorization` included), each on its own warmed-up client:

    json       httpx, then `response.json()`
    pydantic   httpx, then `Envelope.model_validate_json(response.content)` with a project
               model like the SDK's
    transport  httpx's lowest layer: an `httpx.Request` handed straight to an `HTTPTransport`
               (its connection pool), then `response.json()`; what the SDK's own client does
               under its own work, without the rest of `httpx.Client.send`
    httpx2     httpx2, then `response.json()` (only when httpx2 is installed)
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import statistics
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

import httpx
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from rounds import CaseResult, Sample, Schedule, measure_async, measure_burst, measure_sync
from server import API_KEY, PROJECT_ID

import craft_sdk._client
import craft_sdk._transport
from craft_sdk import AsyncCraftClient, CraftClient

PAGE_LIMIT: Final = 20
ITERATE_LIMIT: Final = 100
ITERATE_ITEMS: Final = 1_000
CONCURRENCY: Final = 64

OPERATIONS: Final = {
    # name: (HTTP requests per operation, items each operation must return)
    "get": (1, 1),
    "page20": (1, PAGE_LIMIT),
    "iterate1000": (ITERATE_ITEMS // ITERATE_LIMIT, ITERATE_ITEMS),
}


# The pydantic floor's models: the envelope and a project model with the SDK's fields.
class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class ProjectSettings(_Model):
    framework: str | None = None
    styling: str | None = None


class ProjectStats(_Model):
    files: int | None = None
    last_edited_at: datetime | None = None


class Project(_Model):
    id: str
    name: str | None = None
    description: str | None = None
    status: str | None = None
    template: str | None = None
    preview_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    settings: ProjectSettings | None = None
    stats: ProjectStats | None = None


class Pagination(_Model):
    page: int
    limit: int | None = None
    total: int | None = None
    total_pages: int | None = None
    has_more: bool | None = None


class ProjectEnvelope(BaseModel):
    success: bool
    data: Project


class PageEnvelope(BaseModel):
    success: bool
    data: list[Project]
    pagination: Pagination | None = None


def _project_count(body: dict[str, Any]) -> int:
    return int(body["data"]["id"] == PROJECT_ID)


class Transport:
    """The `get` of an httpx client, done on httpx's lowest public layer: the request goes
    straight to an `HTTPTransport`, and the answer is read whole."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._transport = httpx.HTTPTransport()
        self._headers = headers

    def get(self, url: str, params: dict[str, int] | None = None) -> httpx.Response:
        request = httpx.Request("GET", url, params=params, headers=self._headers)
        response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def close(self) -> None:
        self._transport.close()


class AsyncTransport:
    """`Transport` on an `AsyncHTTPTransport`."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._transport = httpx.AsyncHTTPTransport()
        self._headers = headers

    async def get(self, url: str, params: dict[str, int] | None = None) -> httpx.Response:
        request = httpx.Request("GET", url, params=params, headers=self._headers)
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class Urls:
    def __init__(self, base_url: str) -> None:
        self.project = f"{base_url}/projects/{PROJECT_ID}"
        self.projects = f"{base_url}/projects"


# Each column class has one method per operation; each returns how many items it read, which
# the warm-up checks against OPERATIONS.


class JsonFloor:
    """httpx (or httpx2) and `response.json()`."""

    def __init__(self, http: Any, urls: Urls) -> None:
        self._http = http
        self._urls = urls

    def _page(self, page: int, limit: int) -> Any:
        return self._http.get(self._urls.projects, params={"page": page, "limit": limit}).json()

    def get(self) -> int:
        return _project_count(self._http.get(self._urls.project).json())

    def page20(self) -> int:
        return len(self._page(1, PAGE_LIMIT)["data"])

    def iterate1000(self) -> int:
        seen, page = 0, 1
        while True:
            body = self._page(page, ITERATE_LIMIT)
            for _project in body["data"]:
                seen += 1
                if seen == ITERATE_ITEMS:
                    return seen
            if not body["pagination"]["hasMore"]:
                return seen
            page += 1


class PydanticFloor(JsonFloor):
    """httpx and pydantic's `model_validate_json` of the whole envelope."""

    def _page(self, page: int, limit: int) -> Any:
        response = self._http.get(self._urls.projects, params={"page": page, "limit": limit})
        return PageEnvelope.model_validate_json(response.content)

    def get(self) -> int:
        answer = ProjectEnvelope.model_validate_json(self._http.get(self._urls.project).content)
        return int(answer.data.id == PROJECT_ID)

    def page20(self) -> int:
        return len(self._page(1, PAGE_LIMIT).data)

    def iterate1000(self) -> int:
        seen, page = 0, 1
        while True:
            answer = self._page(page, ITERATE_LIMIT)
            for _project in answer.data:
                seen += 1
                if seen == ITERATE_ITEMS:
                    return seen
            if answer.pagination is None or not answer.pagination.has_more:
                return seen
            page += 1


class Sdk:
    def __init__(self, client: CraftClient) -> None:
        self._client = client

    def get(self) -> int:
        return int(self._client.projects.get(PROJECT_ID).id == PROJECT_ID)

    def page20(self) -> int:
        return len(self._client.projects.list(limit=PAGE_LIMIT).data)

    def iterate1000(self) -> int:
        projects = self._client.projects.list(limit=ITERATE_LIMIT, max_items=ITERATE_ITEMS)
        return sum(1 for _project in projects)


class AsyncJsonFloor:
    """`JsonFloor` on an `httpx.AsyncClient` (or httpx2's)."""

    def __init__(self, http: Any, urls: Urls) -> None:
        self._http = http
        self._urls = urls

    async def _page(self, page: int, limit: int) -> Any:
        params = {"page": page, "limit": limit}
        return (await self._http.get(self._urls.projects, params=params)).json()

    async def get(self) -> int:
        return _project_count((await self._http.get(self._urls.project)).json())

    async def page20(self) -> int:
        return len((await self._page(1, PAGE_LIMIT))["data"])

    async def iterate1000(self) -> int:
        seen, page = 0, 1
        while True:
            body = await self._page(page, ITERATE_LIMIT)
            for _project in body["data"]:
                seen += 1
                if seen == ITERATE_ITEMS:
                    return seen
            if not body["pagination"]["hasMore"]:
                return seen
            page += 1


class AsyncPydanticFloor(AsyncJsonFloor):
    async def _page(self, page: int, limit: int) -> Any:
        params = {"page": page, "limit": limit}
        response = await self._http.get(self._urls.projects, params=params)
        return PageEnvelope.model_validate_json(response.content)

    async def get(self) -> int:
        response = await self._http.get(self._urls.project)
        return int(ProjectEnvelope.model_validate_json(response.content).data.id == PROJECT_ID)

    async def page20(self) -> int:
        return len((await self._page(1, PAGE_LIMIT)).data)

    async def iterate1000(self) -> int:
        seen, page = 0, 1
        while True:
            answer = await self._page(page, ITERATE_LIMIT)
            for _project in answer.data:
                seen += 1
                if seen == ITERATE_ITEMS:
                    return seen
            if answer.pagination is None or not answer.pagination.has_more:
                return seen
            page += 1


class AsyncSdk:
    def __init__(self, client: AsyncCraftClient) -> None:
        self._client = client

    async def get(self) -> int:
        return int((await self._client.projects.get(PROJECT_ID)).id == PROJECT_ID)

    async def page20(self) -> int:
        return len((await self._client.projects.list(limit=PAGE_LIMIT)).data)

    async def iterate1000(self) -> int:
        seen = 0
        async for _project in self._client.projects.list(
            limit=ITERATE_LIMIT, max_items=ITERATE_ITEMS
        ):
            seen += 1
        return seen


def httpx2_module() -> Any | None:
    """httpx2 if it is installed (the bench never installs it)."""
    if importlib.util.find_spec("httpx2") is None:
        return None
    return importlib.import_module("httpx2")


def sdk_headers(base_url: str) -> dict[str, str]:
    """The headers the SDK sends with a request, as they leave it (`Authorization` included),
    for the floors to send the same."""
    sent: dict[str, str] = {}
    with httpx.Client(event_hooks={"request": [lambda request: sent.update(request.headers)]}) as h:
        CraftClient(api_key=API_KEY, base_url=base_url, http_client=h).projects.get(PROJECT_ID)
    return {name: value for name, value in sent.items() if name.lower() != "host"}


def run_sync_case(
    base_url: str, operation: str, ops: int, schedule: Schedule
) -> dict[str, list[Sample]]:
    urls, headers = Urls(base_url), sdk_headers(base_url)
    clients: list[Any] = [
        httpx.Client(headers=headers),
        httpx.Client(headers=headers),
        Transport(headers),
    ]
    sdk = CraftClient(api_key=API_KEY, base_url=base_url)
    columns = {
        "json": JsonFloor(clients[0], urls),
        "pydantic": PydanticFloor(clients[1], urls),
        "transport": JsonFloor(clients[2], urls),
        "sdk": Sdk(sdk),
    }
    if (httpx2 := httpx2_module()) is not None:
        clients.append(httpx2.Client(headers=headers))
        columns["httpx2"] = JsonFloor(clients[-1], urls)
    try:
        ops_by_column = {name: getattr(column, operation) for name, column in columns.items()}
        return measure_sync(ops_by_column, ops, schedule, expected=OPERATIONS[operation][1])
    finally:
        sdk.close()
        for client in clients:
            client.close()


async def run_async_case(
    base_url: str, operation: str, ops: int, schedule: Schedule, concurrency: int
) -> dict[str, list[Sample]]:
    urls, headers = Urls(base_url), sdk_headers(base_url)
    clients: list[Any] = [
        httpx.AsyncClient(headers=headers),
        httpx.AsyncClient(headers=headers),
        AsyncTransport(headers),
    ]
    sdk = AsyncCraftClient(api_key=API_KEY, base_url=base_url)
    columns = {
        "json": AsyncJsonFloor(clients[0], urls),
        "pydantic": AsyncPydanticFloor(clients[1], urls),
        "transport": AsyncJsonFloor(clients[2], urls),
        "sdk": AsyncSdk(sdk),
    }
    if (httpx2 := httpx2_module()) is not None:
        clients.append(httpx2.AsyncClient(headers=headers))
        columns["httpx2"] = AsyncJsonFloor(clients[-1], urls)
    try:
        ops_by_column = {name: getattr(column, operation) for name, column in columns.items()}
        return await measure_async(
            ops_by_column,
            ops,
            schedule,
            expected=OPERATIONS[operation][1],
            concurrency=concurrency,
        )
    finally:
        await sdk.aclose()
        for client in clients:
            await client.aclose()


def run_case(base_url: str, operation: str, mode: str, ops: int, schedule: Schedule) -> CaseResult:
    """One case, every column; a failure is recorded in the result rather than raised."""
    result = CaseResult(operation, mode, ops, OPERATIONS[operation][0], samples={})
    try:
        if mode == "sync":
            result.samples = run_sync_case(base_url, operation, ops, schedule)
        else:
            concurrency = CONCURRENCY if mode == "async64" else 1
            result.samples = asyncio.run(
                run_async_case(base_url, operation, ops, schedule, concurrency)
            )
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


async def _cpu_by_tasks(
    base_url: str, levels: tuple[int, ...], ops: int, rounds: int
) -> dict[int, dict[str, float]]:
    urls, headers = Urls(base_url), sdk_headers(base_url)
    schedule = Schedule(min_rounds=rounds, max_rounds=rounds, seconds=0)
    by_tasks = {}
    for tasks in levels:
        async with (
            httpx.AsyncClient(headers=headers) as http,
            AsyncCraftClient(api_key=API_KEY, base_url=base_url) as sdk,
        ):
            columns = {"json": AsyncJsonFloor(http, urls).get, "sdk": AsyncSdk(sdk).get}
            samples = await measure_async(columns, ops, schedule, expected=1, concurrency=tasks)
        by_tasks[tasks] = {
            name: round(statistics.median(s.cpu for s in runs) / ops * 1e6, 1)
            for name, runs in samples.items()
        }
    return by_tasks


def cpu_by_tasks(
    base_url: str, levels: tuple[int, ...], ops: int, rounds: int
) -> dict[int, dict[str, float]]:
    """Client CPU µs per `projects.get` (SDK) and per GET + json() (httpx) as the number of
    tasks sharing one async client grows: how httpx's pool scales, beside the SDK."""
    return asyncio.run(_cpu_by_tasks(base_url, levels, ops, rounds))


# Connection-pool limits for the pool table: (max_connections, max_keepalive_connections).
POOL_LIMITS: Final = {
    "100 / 20 (httpx's default)": (100, 20),
    "64 / 64": (64, 64),
    "64 / 16": (64, 16),
    "32 / 32": (32, 32),
    "32 / 16": (32, 16),
    "16 / 16 (the SDK's)": (16, 16),
}


@contextlib.contextmanager
def sdk_pool_limits(connections: int, keepalive: int) -> Iterator[None]:
    """The SDK's own pool (and its connection slots) made with these limits, for clients made
    meanwhile: what each row of the pool table would cost as the SDK's default."""
    limits = httpx.Limits(**_limits(connections, keepalive))
    with contextlib.ExitStack() as stack:
        for module in (craft_sdk._client, craft_sdk._transport):
            stack.enter_context(_patched(module, "DEFAULT_POOL_LIMITS", limits))
        yield


@contextlib.contextmanager
def _patched(module: Any, name: str, value: Any) -> Iterator[None]:
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


async def _fresh_client_gets(base_url: str, ops: int, rounds: int) -> dict[str, float]:
    """CPU and wall µs per get of `ops` gets in 64 tasks on a new `AsyncCraftClient` each round:
    a burst on a pool with no connections yet, which opens as many as its limits allow."""
    samples = []
    for _ in range(rounds):
        async with AsyncCraftClient(api_key=API_KEY, base_url=base_url) as sdk:
            get = AsyncSdk(sdk).get
            samples.append(await measure_burst(get, ops, CONCURRENCY))
    return {
        "cpu_us": round(statistics.median(s.cpu for s in samples) / ops * 1e6, 1),
        "wall_us": round(statistics.median(s.wall for s in samples) / ops * 1e6, 1),
    }


async def _cost_by_pool_limits(
    base_url: str, ops: int, rounds: int, fresh_ops: int
) -> dict[str, dict[str, dict[str, float]]]:
    urls, headers = Urls(base_url), sdk_headers(base_url)
    schedule = Schedule(min_rounds=rounds, max_rounds=rounds, seconds=0)
    libraries = {"httpx": httpx, **({"httpx2": lib} if (lib := httpx2_module()) else {})}
    by_limits: dict[str, dict[str, dict[str, float]]] = {}
    for label, (connections, keepalive) in POOL_LIMITS.items():
        columns: dict[str, Any] = {}
        clients: list[Any] = []
        for name, library in libraries.items():
            limits = library.Limits(**_limits(connections, keepalive))
            clients.append(library.AsyncClient(headers=headers, limits=limits))
            columns[f"{name} + json"] = AsyncJsonFloor(clients[-1], urls).get
        with sdk_pool_limits(connections, keepalive):
            sdk = AsyncCraftClient(api_key=API_KEY, base_url=base_url)
        clients.append(sdk)
        columns["SDK"] = AsyncSdk(sdk).get
        try:
            samples = await measure_async(
                columns, ops, schedule, expected=1, concurrency=CONCURRENCY
            )
        finally:
            for client in clients:
                await client.aclose()
        by_limits[label] = {
            name: {
                "cpu_us": round(statistics.median(s.cpu for s in runs) / ops * 1e6, 1),
                "wall_us": round(statistics.median(s.wall for s in runs) / ops * 1e6, 1),
            }
            for name, runs in samples.items()
        }
        with sdk_pool_limits(connections, keepalive):
            fresh = await _fresh_client_gets(base_url, fresh_ops, rounds)
        by_limits[label]["SDK, new client"] = fresh
    return by_limits


def _limits(connections: int, keepalive: int) -> dict[str, int]:
    return {"max_connections": connections, "max_keepalive_connections": keepalive}


def cost_by_pool_limits(base_url: str, ops: int, rounds: int, fresh_ops: int) -> dict[str, Any]:
    """Client CPU and wall µs per get with 64 tasks sharing one async client, for each of
    `POOL_LIMITS`: how the pool's size changes what concurrency costs (encode/httpx#3215).

    Each row has httpx (and httpx2) with those limits, the SDK with them as its own pool's, in
    rounds on a warmed-up client, and the SDK with a burst of `fresh_ops` gets on a new client:
    httpcore's pool rescans its idle connections against all of its connections at each change,
    so a pool that keeps every connection of a burst alive stays expensive afterwards.
    """
    return asyncio.run(_cost_by_pool_limits(base_url, ops, rounds, fresh_ops))
