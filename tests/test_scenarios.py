"""End-to-end scenarios: the SDK used as an application uses it, against the Craft emulator.

Each scenario is written once, as a coroutine over a client, and runs twice: on a `CraftClient`,
whose calls return their results (`aw` passes them through), and on an `AsyncCraftClient`, whose
calls return awaitables (`aw` awaits them). Unless a test says otherwise the client talks to the
emulator in process (`emu.client()` / `emu.async_client()`), and client and emulator share one
`FakeClock`, so no retry, backoff, rate-limit wait or poll sleeps for real: every wait is recorded
in `clock.sleeps` instead.

Unit tests of the emulator itself live in test_emulator.py; these check whole flows through the
public surface, and what the emulator saw of them (`emu.requests`, `emu.projects`, ...).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from craft_sdk import (
    APIConnectionError,
    AsyncCraftClient,
    AuthenticationError,
    BadRequestError,
    BuildCompletedEvent,
    BuildFailedEvent,
    BuildStartedEvent,
    ConflictError,
    CraftClient,
    CraftError,
    DeletedFile,
    DeletedProject,
    DeploymentFailedError,
    DownloadedFile,
    FileEntry,
    InternalServerError,
    NotFoundError,
    Project,
    ProjectCreatedEvent,
    ProjectDeletedEvent,
    ProjectUpdatedEvent,
    RateLimit,
    RateLimitError,
    Token,
    User,
    WaitTimeoutError,
    WebhookEvent,
    WebhookSignatureMismatchError,
    construct_event,
)
from craft_sdk.testing import CraftEmulator, FakeClock

from .conftest import drain, record_progress, record_statuses, statuses

START = 1_700_000_000.0  # 20 s into a clock minute, so the rate-limit window ends 40 s later
WINDOW_END = 1_700_000_040
SECRET = "whsec_scenarios"
OLD_SECRET = "whsec_retired"
REDIRECT_URI = "https://myapp.example/callback"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300  # binary, not UTF-8, ~77 KB

Scenario = Callable[[Any], Awaitable[Any]]


# ---- running one scenario on either client --------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=START)


@pytest.fixture
def emu(clock: FakeClock) -> CraftEmulator:
    return CraftEmulator(clock=clock)


async def aw(value: Any) -> Any:
    """The result of a client call: awaited for the async client, as it is for the sync one."""
    return await value if inspect.isawaitable(value) else value


async def collect(listing: Any) -> list[Any]:
    """Every item of a `list()`, on either client."""
    items: list[Any] = await aw(drain(listing))
    return items


def connect(flavour: str, emu: CraftEmulator, **options: Any) -> Any:
    """A client of the flavour, wired to `emu` in process; `options` override its defaults."""
    return emu.client(**options) if flavour == "sync" else emu.async_client(**options)


async def close(client: Any) -> None:
    if isinstance(client, AsyncCraftClient):
        await client.aclose()
    else:
        client.close()


def drive(
    flavour: str,
    emu: CraftEmulator,
    scenario: Scenario,
    *,
    make: Callable[[], Any] | None = None,
    **options: Any,
) -> Any:
    """Run `scenario(client)` on a fresh client of the flavour (made by `make`, else by
    `connect`), and close the client afterwards."""

    async def main() -> Any:
        client = make() if make is not None else connect(flavour, emu, **options)
        try:
            return await scenario(client)
        finally:
            await close(client)

    return asyncio.run(main())


def new_requests(emu: CraftEmulator, mark: int) -> list[tuple[str, str, int]]:
    """What the emulator handled since `mark = len(emu.requests)`."""
    return emu.requests[mark:]


def project_list_pages(requests: list[tuple[str, str, int]]) -> list[dict[str, str]]:
    """The query of each `GET /projects?...` among `requests`, in order."""
    pages: list[dict[str, str]] = []
    for method, target, status in requests:
        split = urlsplit(target)
        if method == "GET" and split.path == "/projects":
            assert status == 200
            pages.append({k: v[0] for k, v in parse_qs(split.query).items()})
    return pages


# ---- 1. every resource method in a realistic flow -------------------------------------------


def test_every_resource_method_in_one_flow(
    flavour: str, emu: CraftEmulator, clock: FakeClock, tmp_path: Path
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    downloaded_to = tmp_path / "downloads" / "logo.png"
    downloaded_to.parent.mkdir()
    upload_progress: list[tuple[int, int | None]] = []
    batch_progress: list[tuple[int, int]] = []
    waited_through: list[str | None] = []
    page_tsx = "export default function Page() {\n  return <h1>Spring launch</h1>;\n}\n"
    notes = "# Notes — été 🌱\n"

    async def scenario(c: Any) -> None:
        # Who am I?
        user = await aw(c.me())
        assert isinstance(user, User)
        assert (user.id, user.email, user.name) == (
            "user_emulator",
            "developer@craft.localhost",
            "Craft Emulator",
        )

        # Projects: create, read, update (and clear), archive, list with filters, unarchive.
        project = await aw(
            c.projects.create(name="My Landing Page", description="A page", template="landing-page")
        )
        assert isinstance(project, Project)
        pid = project.id
        assert (project.name, project.description, project.status, project.template) == (
            "My Landing Page",
            "A page",
            "active",
            "landing-page",
        )
        assert project.preview_url == f"https://preview.craft.fast/{pid}"
        assert project.created_at == datetime.fromtimestamp(START, timezone.utc)
        assert emu.projects[pid]["name"] == "My Landing Page"
        side = await aw(c.projects.create(name="Side project"))

        fetched = await aw(c.projects.get(pid))
        assert fetched.settings is not None
        assert (fetched.settings.framework, fetched.settings.styling) == ("react", "tailwind")
        assert fetched.stats is not None
        assert fetched.stats.files == 0
        assert fetched.to_dict()["previewUrl"] == project.preview_url

        renamed = await aw(c.projects.update(pid, name="Launch page", description="Spring launch"))
        assert (renamed.id, renamed.name, renamed.description) == (
            pid,
            "Launch page",
            "Spring launch",
        )
        cleared = await aw(c.projects.update(pid, description=None))
        assert cleared.description is None
        assert "description" in cleared.model_fields_set  # sent back as null, not left out
        assert emu.projects[pid]["description"] is None
        assert emu.projects[pid]["name"] == "Launch page"  # left out of the update: unchanged

        archived = await aw(c.projects.archive(side.id))
        assert archived.status == "archived"
        assert emu.projects[side.id]["status"] == "archived"
        active = await collect(c.projects.list(status="active"))
        assert [p.id for p in active] == [pid]
        only_archived = await collect(c.projects.list(status="archived", sort="name", order="asc"))
        assert [(p.id, p.name) for p in only_archived] == [(side.id, "Side project")]
        restored = await aw(c.projects.unarchive(side.id))
        assert restored.status == "active"
        by_name = await collect(c.projects.list(sort="name", order="desc", limit=1))
        assert [p.name for p in by_name] == ["Side project", "Launch page"]  # over two pages
        assert all(p.settings is None for p in by_name)  # lists leave settings out

        # Files: text, bytes, a path and a file object; list, read, download, delete, many.
        entry = await aw(c.files.write(pid, "src/app/page.tsx", page_tsx))
        assert isinstance(entry, FileEntry)
        assert (entry.path, entry.type, entry.size) == (
            "src/app/page.tsx",
            "file",
            len(page_tsx.encode()),
        )
        blob = await aw(c.files.write(pid, "data/blob.bin", bytes(range(256))))
        assert blob.size == 256
        from_path = await aw(
            c.files.write(
                pid,
                "public/logo.png",
                logo,
                on_progress=record_progress(upload_progress),
            )
        )
        assert from_path.size == len(PNG)
        from_file = await aw(c.files.write(pid, "docs/notes.md", io.BytesIO(notes.encode())))
        assert from_file.size == len(notes.encode())
        assert emu.files[pid] == {
            "src/app/page.tsx": page_tsx.encode(),
            "data/blob.bin": bytes(range(256)),
            "public/logo.png": PNG,
            "docs/notes.md": notes.encode(),
        }
        assert upload_progress[-1] == (len(PNG), len(PNG))
        assert [done for done, _ in upload_progress] == sorted(done for done, _ in upload_progress)

        entries = await aw(c.files.list(pid))
        assert [(e.path, e.type) for e in entries] == [
            ("data", "directory"),
            ("data/blob.bin", "file"),
            ("docs", "directory"),
            ("docs/notes.md", "file"),
            ("public", "directory"),
            ("public/logo.png", "file"),
            ("src", "directory"),
            ("src/app", "directory"),
            ("src/app/page.tsx", "file"),
        ]
        assert {e.path: e.size for e in entries if e.type == "file"}["public/logo.png"] == len(PNG)

        assert await aw(c.files.read(pid, "data/blob.bin")) == bytes(range(256))
        assert await aw(c.files.read(pid, "public/logo.png")) == PNG
        assert await aw(c.files.read_text(pid, "docs/notes.md")) == notes
        assert await aw(c.files.read_text(pid, "src/app/page.tsx")) == page_tsx

        to_path = await aw(c.files.download(pid, "public/logo.png", downloaded_to))
        assert isinstance(to_path, DownloadedFile)
        assert (to_path.path, to_path.size, to_path.destination) == (
            "public/logo.png",
            len(PNG),
            str(downloaded_to),
        )
        assert downloaded_to.read_bytes() == PNG
        assert sorted(p.name for p in downloaded_to.parent.iterdir()) == ["logo.png"]  # no temp
        sink = io.BytesIO()
        to_memory = await aw(c.files.download(pid, "docs/notes.md", sink))
        assert (to_memory.size, to_memory.destination) == (len(notes.encode()), None)
        assert sink.getvalue() == notes.encode()

        gone = await aw(c.files.delete(pid, "data/blob.bin"))
        assert isinstance(gone, DeletedFile)
        assert (gone.path, gone.deleted) == ("data/blob.bin", True)
        assert "data/blob.bin" not in emu.files[pid]
        with pytest.raises(NotFoundError) as missing:
            await aw(c.files.read(pid, "data/blob.bin"))
        assert missing.value.code == "FILE_NOT_FOUND"

        written = await aw(
            c.files.write_many(
                pid,
                {"a.txt": "A", "b/c.txt": b"CC", "b/d.txt": io.BytesIO(b"DDD")},
                concurrency=2,
                on_progress=record_progress(batch_progress),
            )
        )
        assert {path: e.size for path, e in written.items()} == {
            "a.txt": 1,
            "b/c.txt": 2,
            "b/d.txt": 3,
        }
        assert batch_progress[-1] == (3, 3)
        assert emu.files[pid]["b/d.txt"] == b"DDD"
        stats = (await aw(c.projects.get(pid))).stats
        assert stats.files == 6
        assert stats.last_edited_at is not None

        # Deployments: create, list, get, cancel, wait.
        production = await aw(c.deployments.create(pid, environment="production"))
        assert (production.status, production.environment, production.project_id) == (
            "queued",
            "production",
            pid,
        )
        preview = await aw(c.deployments.create(pid))
        assert preview.environment == "preview"
        listed = await collect(c.deployments.list(pid))
        assert [d.id for d in listed] == [preview.id, production.id]  # newest first
        first_page = await aw(c.deployments.list(pid, limit=1))
        assert [d.id for d in first_page.data] == [preview.id]
        assert first_page.has_next_page()
        looked = await aw(c.deployments.get(pid, production.id))
        assert looked.status == "building"
        canceled = await aw(c.deployments.cancel(pid, preview.id))
        assert (canceled.id, canceled.status) == (preview.id, "canceled")
        assert canceled.is_final
        done = await aw(
            c.deployments.wait(pid, production.id, on_status=record_statuses(waited_through))
        )
        assert (done.status, done.url) == ("completed", f"https://{production.id}.craft.app")
        assert waited_through == ["completed"]  # it was already building before the wait
        assert emu.deployments[production.id]["status"] == "completed"

        # Delete: the project, its files and its deployments go.
        deleted = await aw(c.projects.delete(pid))
        assert isinstance(deleted, DeletedProject)
        assert (deleted.id, deleted.deleted) == (pid, True)
        assert pid not in emu.projects
        assert pid not in emu.files
        assert emu.deployments == {}
        with pytest.raises(NotFoundError) as unknown:
            await aw(c.projects.get(pid))
        assert unknown.value.code == "PROJECT_NOT_FOUND"
        assert [p.id for p in await collect(c.projects.list())] == [side.id]

    drive(flavour, emu, scenario)
    assert all(status < 500 for status in statuses(emu))
    assert clock.sleeps == []  # the wait needed no sleep; nothing failed, nothing was retried


def test_oauth_app_then_user_then_a_refreshed_token(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    credentials = {"client_id": "app_123", "client_secret": "app_secret"}

    async def main() -> None:
        http: httpx.Client | httpx.AsyncClient
        app: CraftClient | AsyncCraftClient
        if flavour == "sync":
            http = httpx.Client(transport=emu.transport())
            app = CraftClient.for_oauth(http_client=http, base_url=emu.base_url, clock=clock)
        else:
            http = httpx.AsyncClient(transport=emu.transport())
            app = AsyncCraftClient.for_oauth(http_client=http, base_url=emu.base_url, clock=clock)
        try:
            # The app has no key: anything but the token calls is refused before it is sent.
            with pytest.raises(CraftError, match="for_oauth"):
                await aw(app.me())
            assert emu.requests == []

            token = await aw(
                app.oauth.exchange_code(code="code_1", redirect_uri=REDIRECT_URI, **credentials)
            )
            assert isinstance(token, Token)
            assert token.access_token.startswith("craft_at_")
            assert token.refresh_token is not None
            assert token.refresh_token.startswith("craft_rt_")
            assert (token.token_type, token.expires_in, token.scope) == (
                "Bearer",
                3600,
                "read write",
            )
            assert token.expires_at == datetime.fromtimestamp(START + 3600, timezone.utc)
            assert token.access_token not in repr(token)
            assert token.refresh_token not in repr(token)
            assert emu.requests[-1] == ("POST", "/oauth/token", 200)
            with pytest.raises(BadRequestError) as reused:  # a code works once
                await aw(
                    app.oauth.exchange_code(code="code_1", redirect_uri=REDIRECT_URI, **credentials)
                )
            assert reused.value.code == "invalid_grant"

            # Acting as the user with the access token.
            as_user = connect(flavour, emu, api_key=token.access_token)
            try:
                assert (await aw(as_user.me())).id == "user_emulator"
                created = await aw(as_user.projects.create(name="Made with OAuth"))
                assert created.id in emu.projects
            finally:
                await close(as_user)

            # A key that is a function: the client follows the token it returns, per request.
            current = {"token": token.access_token}
            live = connect(flavour, emu, api_key=lambda: current["token"])
            try:
                assert [p.name for p in await collect(live.projects.list())] == ["Made with OAuth"]
                clock.advance(3600)  # the access token expires
                assert token.expired(datetime.fromtimestamp(clock.time(), timezone.utc))
                with pytest.raises(AuthenticationError) as expired:
                    await aw(live.me())
                assert expired.value.attempts == 1  # a 401 is not retried
                assert token.refresh_token is not None
                refreshed = await aw(
                    app.oauth.refresh_token(refresh_token=token.refresh_token, **credentials)
                )
                assert refreshed.access_token != token.access_token
                assert refreshed.expires_at == datetime.fromtimestamp(
                    START + 2 * 3600, timezone.utc
                )
                current["token"] = refreshed.access_token  # no new client
                assert (await aw(live.me())).id == "user_emulator"
                assert emu.requests[-2:] == [("POST", "/oauth/token", 200), ("GET", "/me", 200)]
            finally:
                await close(live)

            with pytest.raises(BadRequestError) as rotated:  # refresh tokens rotate
                await aw(app.oauth.refresh_token(refresh_token=token.refresh_token, **credentials))
            assert rotated.value.code == "invalid_grant"
        finally:
            await close(app)
            # The SDK never closes a client it was given: that is ours to do.
            assert not http.is_closed
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            else:
                http.close()

    asyncio.run(main())


# ---- 2. pagination over hundreds of projects ------------------------------------------------


def test_pagination_over_250_projects(flavour: str, emu: CraftEmulator) -> None:
    # Distinct names in an order unlike creation's, so that sorting has something to do.
    names = [f"site-{(i * 7919) % 1000:03d}" for i in range(250)]

    async def scenario(c: Any) -> None:
        created = [(await aw(c.projects.create(name=name))).id for name in names]
        assert len(set(created)) == 250
        assert set(created) == set(emu.projects)

        # Every project, 100 a page: three page requests, each id once, newest first.
        mark = len(emu.requests)
        every = await collect(c.projects.list(limit=100))
        assert [p.id for p in every] == created[::-1]
        assert len({p.id for p in every}) == 250
        pages = project_list_pages(new_requests(emu, mark))
        assert [(q["page"], q["limit"]) for q in pages] == [
            ("1", "100"),
            ("2", "100"),
            ("3", "100"),
        ]
        assert len(new_requests(emu, mark)) == 3

        # max_items stops inside the second page, and never asks for the third.
        mark = len(emu.requests)
        first_120 = await collect(c.projects.list(limit=100, max_items=120))
        assert [p.id for p in first_120] == created[::-1][:120]
        assert [q["page"] for q in project_list_pages(new_requests(emu, mark))] == ["1", "2"]

        # Archive every fifth project, then filter by status.
        archived_ids = set(created[::5])
        for project_id in archived_ids:
            await aw(c.projects.archive(project_id))
        mark = len(emu.requests)
        archived = await collect(c.projects.list(status="archived", limit=100))
        active = await collect(c.projects.list(status="active", limit=100))
        assert {p.id for p in archived} == archived_ids
        assert len(archived) == 50
        assert {p.status for p in archived} == {"archived"}
        assert {p.id for p in active} == set(created) - archived_ids
        assert len(active) == 200
        assert {p.status for p in active} == {"active"}
        queries = project_list_pages(new_requests(emu, mark))
        assert [(q["status"], q["page"]) for q in queries] == [
            ("archived", "1"),
            ("active", "1"),
            ("active", "2"),
        ]

        # Sorted by name, both ways, across pages.
        ascending = await collect(c.projects.list(sort="name", order="asc", limit=100))
        descending = await collect(c.projects.list(sort="name", order="desc", limit=100))
        assert [p.name for p in ascending] == sorted(names)
        assert [p.name for p in descending] == sorted(names, reverse=True)
        sorted_archived = await collect(
            c.projects.list(status="archived", sort="name", order="asc", limit=7)
        )
        assert [p.name for p in sorted_archived] == sorted(
            emu.projects[i]["name"] for i in archived_ids
        )

        # The first-page API.
        mark = len(emu.requests)
        page = await aw(c.projects.list(limit=100))
        assert len(new_requests(emu, mark)) == 1  # only the first page, until asked for more
        assert [p.id for p in page.data] == created[::-1][:100]
        assert page.pagination is not None
        assert (page.pagination.page, page.pagination.limit) == (1, 100)
        assert (page.pagination.total, page.pagination.total_pages) == (250, 3)
        assert page.pagination.has_more is True
        assert page.has_next_page()
        second = await aw(page.get_next_page())
        assert second.pagination.page == 2
        assert [p.id for p in second.data] == created[::-1][100:200]
        pages_seen = await collect(page.iter_pages())
        assert [len(p.data) for p in pages_seen] == [100, 100, 50]
        assert [p.pagination.page for p in pages_seen] == [1, 2, 3]
        last = pages_seen[-1]
        assert not last.has_next_page()
        assert last.pagination.has_more is False
        with pytest.raises(CraftError, match="last page"):
            await aw(last.get_next_page())
        # page 1 once, then page 2 for get_next_page and again for iter_pages, then page 3
        assert [q["page"] for q in project_list_pages(new_requests(emu, mark))] == [
            "1",
            "2",
            "2",
            "3",
        ]

        # Starting from a later page.
        tail = await collect(c.projects.list(limit=100, page=3))
        assert [p.id for p in tail] == created[::-1][200:]

    drive(flavour, emu, scenario)


# ---- 3. retries through injected faults -----------------------------------------------------


def test_a_get_is_retried_through_two_503s(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Flaky"))
        mark, slept = len(emu.requests), len(clock.sleeps)
        emu.fail_next(2, status=503)
        fetched = await aw(c.projects.get(project.id))
        assert fetched.name == "Flaky"
        assert new_requests(emu, mark) == [
            ("GET", f"/projects/{project.id}", 503),
            ("GET", f"/projects/{project.id}", 503),
            ("GET", f"/projects/{project.id}", 200),
        ]
        backoffs = clock.sleeps[slept:]
        assert len(backoffs) == 2  # full jitter: up to 0.5 s, then up to 1 s
        assert 0 <= backoffs[0] <= 0.5
        assert 0 <= backoffs[1] <= 1.0

    drive(flavour, emu, scenario)


def test_a_create_that_fails_with_503_is_not_sent_twice(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> None:
        emu.fail_next(1, status=503, method="POST", path="/projects")
        with pytest.raises(InternalServerError) as caught:
            await aw(c.projects.create(name="Maybe"))
        error = caught.value
        assert (error.status_code, error.code) == (503, "SERVICE_UNAVAILABLE")
        assert error.may_have_succeeded is True
        assert error.attempts == 1
        assert error.request_id is not None
        assert emu.requests == [("POST", "/projects", 503)]
        assert emu.projects == {}
        # The fault was used up: the next create goes through, once.
        kept = await aw(c.projects.create(name="Kept"))
        assert list(emu.projects) == [kept.id]

    drive(flavour, emu, scenario)
    assert clock.sleeps == []


def test_a_dropped_get_is_retried_and_a_dropped_post_is_not(
    flavour: str, emu: CraftEmulator
) -> None:
    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Steady"))
        mark = len(emu.requests)
        emu.fail_next(1, drop=True)
        assert (await aw(c.projects.get(project.id))).id == project.id
        assert new_requests(emu, mark) == [
            ("GET", f"/projects/{project.id}", 0),
            ("GET", f"/projects/{project.id}", 200),
        ]

        mark = len(emu.requests)
        emu.fail_next(1, drop=True)
        with pytest.raises(APIConnectionError) as caught:
            await aw(c.deployments.create(project.id))
        assert caught.value.may_have_succeeded is True
        assert caught.value.attempts == 1
        assert new_requests(emu, mark) == [("POST", f"/projects/{project.id}/deployments", 0)]
        assert emu.deployments == {}

        mark = len(emu.requests)
        emu.fail_next(1, drop=True, method="POST")
        with pytest.raises(APIConnectionError):
            await aw(c.projects.create(name="Dropped"))
        assert new_requests(emu, mark) == [("POST", "/projects", 0)]
        assert [p["name"] for p in emu.projects.values()] == ["Steady"]

    drive(flavour, emu, scenario)


def test_an_injected_429_is_retried_after_retry_after(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> None:
        emu.fail_next(1, status=429, method="POST", path="/projects")
        project = await aw(c.projects.create(name="Throttled once"))  # a 429: even a POST
        assert emu.requests == [("POST", "/projects", 429), ("POST", "/projects", 201)]
        assert list(emu.projects) == [project.id]
        assert clock.sleeps == [1.0]  # Retry-After: 1, not a backoff

        emu.fail_next(1, status=429)
        assert (await aw(c.projects.get(project.id))).name == "Throttled once"
        assert clock.sleeps == [1.0, 1.0]

    drive(flavour, emu, scenario)


def test_a_429_from_a_budget_spent_elsewhere_waits_for_the_window(
    flavour: str, clock: FakeClock
) -> None:
    emu = CraftEmulator(rate_limit=2, clock=clock)
    other_process = emu.client()

    async def scenario(c: Any) -> None:
        await aw(c.me())
        assert c.rate_limit.remaining == 1
        other_process.me()  # the same key, another client: this one cannot know
        user = await aw(c.me())
        assert user.id == "user_emulator"
        assert statuses(emu) == [200, 200, 429, 200]
        assert clock.sleeps == [WINDOW_END - START]  # Retry-After: to the window's end
        assert c.rate_limit.remaining == 1  # the new window, less this request

    try:
        drive(flavour, emu, scenario)
    finally:
        other_process.close()


def test_max_retries_zero_raises_the_first_503(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="No retries"))
        impatient = c.with_options(max_retries=0)
        assert impatient.max_retries == 0
        mark = len(emu.requests)
        emu.fail_next(1, status=503)
        with pytest.raises(InternalServerError) as caught:
            await aw(impatient.projects.get(project.id))
        assert caught.value.attempts == 1
        assert new_requests(emu, mark) == [("GET", f"/projects/{project.id}", 503)]
        # The original client keeps its retries, and shares the pool the copy used.
        emu.fail_next(1, status=503)
        assert (await aw(c.projects.get(project.id))).name == "No retries"
        assert statuses(emu)[mark:] == [503, 503, 200]

    drive(flavour, emu, scenario)
    assert len(clock.sleeps) == 1  # one backoff, by the original client only


# ---- 4. the proactive rate-limit wait -------------------------------------------------------


def test_the_sixth_call_waits_for_the_window_instead_of_a_429(
    flavour: str, clock: FakeClock
) -> None:
    emu = CraftEmulator(rate_limit=5, clock=clock)

    async def scenario(c: Any) -> None:
        before: RateLimit | None = c.rate_limit
        assert before is None  # nothing known before the first answer
        project = await aw(c.projects.create(name="Budgeted"))
        assert c.rate_limit == RateLimit(
            limit=5, remaining=4, reset_at=datetime.fromtimestamp(WINDOW_END, timezone.utc)
        )
        # with_options copies spend the same budget.
        await aw(c.with_options(timeout=5.0).projects.get(project.id))
        assert c.rate_limit.remaining == 3
        await aw(c.me())
        await aw(c.files.write(project.id, "index.html", "<h1>hi</h1>"))
        await aw(c.projects.get(project.id))
        assert c.rate_limit.remaining == 0
        assert clock.sleeps == []

        await aw(c.me())  # the sixth: waits for the reset instead of collecting a 429
        assert len(clock.sleeps) == 1
        waited = clock.sleeps[0]
        assert WINDOW_END - START <= waited <= WINDOW_END - START + 0.25  # plus a little jitter
        assert c.rate_limit == RateLimit(
            limit=5, remaining=4, reset_at=datetime.fromtimestamp(WINDOW_END + 60, timezone.utc)
        )

    drive(flavour, emu, scenario)
    assert statuses(emu) == [201, 200, 200, 201, 200, 200]  # no 429


def test_a_wait_longer_than_max_retry_wait_is_refused_without_sending(
    flavour: str, clock: FakeClock
) -> None:
    emu = CraftEmulator(rate_limit=1, clock=clock)

    async def scenario(c: Any) -> None:
        await aw(c.me())
        with pytest.raises(RateLimitError) as caught:
            await aw(c.with_options(max_retry_wait=10).me())
        assert caught.value.retry_after == pytest.approx(WINDOW_END - START)

    drive(flavour, emu, scenario)
    assert emu.requests == [("GET", "/me", 200)]  # the second was never sent
    assert clock.sleeps == []


# ---- 5. deployments -------------------------------------------------------------------------


def test_a_deployment_waited_to_completion(
    flavour: str, emu: CraftEmulator, clock: FakeClock
) -> None:
    seen: list[str | None] = []

    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Ship it"))
        deployment = await aw(c.deployments.create(project.id, environment="production"))
        seen.append(deployment.status)
        done = await aw(
            c.deployments.wait(project.id, deployment.id, on_status=record_statuses(seen))
        )
        # "queued" from the create; the wait's first look finds it building (the emulator moves
        # a deployment one step per look), its second completed.
        assert seen == ["queued", "building", "completed"]
        assert done.id == deployment.id
        assert done.url == f"https://{deployment.id}.craft.app"
        assert done.error is None
        assert done.completed_at == datetime.fromtimestamp(START + 2.0, timezone.utc)
        assert done.is_final
        polls = [r for r in emu.requests if r[1] == f"/projects/{project.id}/deployments/{done.id}"]
        assert polls == [("GET", polls[0][1], 200)] * 2
        assert clock.sleeps == [2.0]  # one poll_interval between the two polls

    drive(flavour, emu, scenario)


def test_a_failed_deployment(flavour: str, emu: CraftEmulator) -> None:
    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Broken build"))
        emu.fail_next_deployment("Type error in src/app/page.tsx")
        doomed = await aw(c.deployments.create(project.id))
        with pytest.raises(DeploymentFailedError) as caught:
            await aw(c.deployments.wait(project.id, doomed.id, poll_interval=1))
        failed = caught.value.deployment
        assert (failed.id, failed.status, failed.url) == (doomed.id, "failed", None)
        assert failed.error == "Type error in src/app/page.tsx"
        assert "Type error in src/app/page.tsx" in str(caught.value)

        emu.fail_next_deployment()
        again = await aw(c.deployments.create(project.id))
        returned = await aw(c.deployments.wait(project.id, again.id, raise_on_failure=False))
        assert (returned.status, returned.error) == ("failed", "Build failed")

        fixed = await aw(c.deployments.create(project.id))  # only the next one was doomed
        assert (await aw(c.deployments.wait(project.id, fixed.id))).status == "completed"
        final = {d.id: d.status for d in await collect(c.deployments.list(project.id))}
        assert final == {doomed.id: "failed", again.id: "failed", fixed.id: "completed"}

    drive(flavour, emu, scenario)


def test_a_canceled_deployment(flavour: str, emu: CraftEmulator, clock: FakeClock) -> None:
    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Changed my mind"))
        deployment = await aw(c.deployments.create(project.id))
        canceled = await aw(c.deployments.cancel(project.id, deployment.id))
        assert (canceled.status, canceled.url) == ("canceled", None)
        assert canceled.completed_at is not None
        seen: list[str | None] = []
        waited = await aw(
            c.deployments.wait(project.id, deployment.id, on_status=record_statuses(seen))
        )
        assert (waited.status, seen) == ("canceled", ["canceled"])  # final at the first poll
        with pytest.raises(ConflictError) as caught:
            await aw(c.deployments.cancel(project.id, deployment.id))
        assert caught.value.details == {"status": "canceled"}
        assert emu.deployments[deployment.id]["status"] == "canceled"

    drive(flavour, emu, scenario)
    assert clock.sleeps == []


def test_a_wait_on_a_slow_build_times_out(flavour: str, clock: FakeClock) -> None:
    emu = CraftEmulator(build_seconds=1e9, advance_on_poll=False, clock=clock)

    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Slow"))
        deployment = await aw(c.deployments.create(project.id))
        with pytest.raises(WaitTimeoutError) as caught:
            await aw(c.deployments.wait(project.id, deployment.id, timeout=10, poll_interval=1))
        assert caught.value.deployment.status == "queued"  # the clock alone never reaches 5e8 s
        assert sum(clock.sleeps) == pytest.approx(10)

    drive(flavour, emu, scenario)


def test_a_wait_times_out_when_the_api_answers_too_slowly(flavour: str, clock: FakeClock) -> None:
    # A build that takes long, and a status endpoint that takes 30 s (on the clock) to answer.
    emu = CraftEmulator(build_seconds=1e9, clock=clock)

    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Slow"))
        deployment = await aw(c.deployments.create(project.id))
        path = f"/projects/{project.id}/deployments/{deployment.id}"
        emu.fail_next(1, status=None, delay=30, method="GET", path=path)
        with pytest.raises(WaitTimeoutError) as caught:
            await aw(c.deployments.wait(project.id, deployment.id, timeout=10))
        assert isinstance(caught.value, TimeoutError)
        last_seen = caught.value.deployment
        assert last_seen.id == deployment.id
        assert last_seen.status == "building"  # one step, for its one look
        assert not last_seen.is_final
        assert "after 10 s" in str(caught.value)
        assert [r for r in emu.requests if r[1] == path] == [("GET", path, 200)]  # one look

    drive(flavour, emu, scenario)
    assert clock.sleeps == [30]  # the slow answer; the wait itself did not sleep past its time


# ---- 6. webhooks ----------------------------------------------------------------------------


def test_webhooks_from_a_whole_flow(flavour: str, emu: CraftEmulator, clock: FakeClock) -> None:
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emu.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=SECRET)
    ids: dict[str, str] = {}

    async def scenario(c: Any) -> None:
        project = await aw(c.projects.create(name="Hooked", description="v1"))
        ids["project"] = project.id
        await aw(c.projects.update(project.id, name="Hooked up", description="v2"))
        await aw(c.projects.update(project.id, description=None))
        await aw(c.projects.update(project.id, name="Hooked up"))  # no change: no event
        await aw(c.projects.archive(project.id))
        await aw(c.projects.unarchive(project.id))
        await aw(c.files.write(project.id, "index.html", "<p>hi</p>"))  # files send no events
        good = await aw(c.deployments.create(project.id))
        ids["good"] = good.id
        await aw(c.deployments.wait(project.id, good.id))
        emu.fail_next_deployment("Out of memory")
        bad = await aw(c.deployments.create(project.id))
        ids["bad"] = bad.id
        await aw(c.deployments.wait(project.id, bad.id, raise_on_failure=False))
        await aw(c.projects.delete(project.id))

    drive(flavour, emu, scenario)

    events: list[WebhookEvent] = []
    for body, headers in deliveries:
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Craft-Signature"].startswith("sha256=")
        events.append(construct_event(body, headers=headers, secret=SECRET))
    project_id, good_id, bad_id = ids["project"], ids["good"], ids["bad"]
    assert [type(e) for e in events] == [
        ProjectCreatedEvent,
        ProjectUpdatedEvent,
        ProjectUpdatedEvent,
        ProjectUpdatedEvent,
        ProjectUpdatedEvent,
        BuildStartedEvent,
        BuildCompletedEvent,
        BuildStartedEvent,
        BuildFailedEvent,
        ProjectDeletedEvent,
    ]
    assert all(getattr(e.data, "project_id", None) == project_id for e in events)
    updates = [e for e in events if isinstance(e, ProjectUpdatedEvent)]
    assert [u.data.changes for u in updates] == [
        ["name", "description"],
        ["description"],
        ["status"],
        ["status"],
    ]
    builds = [e for e in events if isinstance(e, BuildStartedEvent | BuildCompletedEvent)]
    assert [(b.event, b.data.deployment_id, b.data.status) for b in builds] == [
        ("build.started", good_id, "building"),
        ("build.completed", good_id, "completed"),
        ("build.started", bad_id, "building"),
    ]
    completed = events[6]
    assert isinstance(completed, BuildCompletedEvent)
    assert completed.data.url == f"https://{good_id}.craft.app"
    failed = events[8]
    assert isinstance(failed, BuildFailedEvent)
    assert (failed.data.deployment_id, failed.data.status, failed.data.error) == (
        bad_id,
        "failed",
        "Out of memory",
    )
    # Signed on the emulator's clock: fresh by it, with a tolerance.
    for body, headers in deliveries:
        event = construct_event(
            body, headers=headers, secret=SECRET, tolerance=300, now=clock.time()
        )
        assert event.timestamp is not None

    # The wrong secret fails every delivery; a rotation list with the right one passes.
    body, headers = deliveries[0]
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(body, headers=headers, secret=OLD_SECRET)
    rotated = construct_event(body, headers=headers, secret=[OLD_SECRET, SECRET])
    assert isinstance(rotated, ProjectCreatedEvent)
    assert rotated.data.project_id == project_id
    tampered = body.replace(project_id.encode(), b"proj_someone_else")
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(tampered, headers=headers, secret=SECRET)


# ---- 7. over a real socket ------------------------------------------------------------------


def test_over_a_real_socket(flavour: str, emu: CraftEmulator, clock: FakeClock) -> None:
    content = "<!doctype html><title>Wire</title>\n"
    binary = bytes(range(256)) * 64
    made: list[str] = []

    async def scenario(c: Any) -> None:
        assert str(c.base_url).startswith("http://127.0.0.1:")
        project = await aw(c.projects.create(name="Over the wire", template="portfolio"))
        made.append(project.id)
        await aw(c.files.write(project.id, "public/index.html", content))
        await aw(c.files.write(project.id, "public/data 1.bin", binary))  # a space in the path
        assert [e.path for e in await aw(c.files.list(project.id))] == [
            "public",
            "public/data 1.bin",
            "public/index.html",
        ]
        assert await aw(c.files.read(project.id, "public/data 1.bin")) == binary
        assert [p.id for p in await collect(c.projects.list(limit=1))] == [project.id]
        deployment = await aw(c.deployments.create(project.id))
        done = await aw(c.deployments.wait(project.id, deployment.id))
        assert (done.status, done.url) == ("completed", f"https://{deployment.id}.craft.app")
        deleted = await aw(c.projects.delete(project.id))
        assert deleted.deleted is True
        with pytest.raises(NotFoundError) as caught:
            await aw(c.projects.get(project.id))
        assert caught.value.request_id is not None
        assert caught.value.request_id.startswith("req_")

    with emu.serve() as server:
        client_class = CraftClient if flavour == "sync" else AsyncCraftClient

        def make() -> Any:
            return client_class(api_key=emu.api_key, base_url=server.url, clock=clock)

        drive(flavour, emu, scenario, make=make)

    assert emu.projects == {}
    targets = [(method, target.split("?")[0], status) for method, target, status in emu.requests]
    assert targets[0] == ("POST", "/projects", 201)
    assert targets[1][0] == "PUT"
    assert targets[1][1].endswith("/files/public/index.html")
    assert targets[2][1].endswith("/files/public/data%201.bin")  # encoded on the wire
    assert targets[-2:] == [
        ("DELETE", f"/projects/{made[0]}", 200),
        ("GET", f"/projects/{made[0]}", 404),
    ]
    assert clock.sleeps == [2.0]  # the wait's one poll interval, on the emulator's clock


# ---- 8. the pytest plugin's fixtures --------------------------------------------------------


def test_the_plugin_fixtures(craft_emulator: CraftEmulator, craft_client: CraftClient) -> None:
    project = craft_client.projects.create(name="From a fixture")
    craft_client.files.write(project.id, "README.md", "# fixture\n")
    deployment = craft_client.deployments.create(project.id)
    done = craft_client.deployments.wait(project.id, deployment.id)
    assert done.status == "completed"
    assert craft_emulator.files[project.id] == {"README.md": b"# fixture\n"}
    assert craft_emulator.deployments[deployment.id]["status"] == "completed"
    clock = craft_emulator.clock
    assert isinstance(clock, FakeClock)
    assert clock.sleeps == [2.0]  # the client shares the emulator's clock: no real sleep


@pytest.mark.anyio
async def test_the_async_plugin_fixture(
    craft_emulator: CraftEmulator, async_craft_client: AsyncCraftClient
) -> None:
    created = await asyncio.gather(
        *(async_craft_client.projects.create(name=f"async {n}") for n in range(5))
    )
    listed = [p.id async for p in async_craft_client.projects.list(limit=2)]
    assert listed == [p.id for p in created][::-1]
    assert set(craft_emulator.projects) == set(listed)
    craft_emulator.fail_next(1, status=502, method="GET")
    assert (await async_craft_client.me()).id == "user_emulator"  # retried
    assert statuses(craft_emulator)[-2:] == [502, 200]


class TestAnEmulatorOverriddenInTheModule:
    @pytest.fixture
    def craft_emulator(self) -> CraftEmulator:
        return CraftEmulator(rate_limit=2)

    def test_the_client_fixture_uses_the_override(
        self, craft_emulator: CraftEmulator, craft_client: CraftClient
    ) -> None:
        clock = craft_emulator.clock
        assert isinstance(clock, FakeClock)
        started = clock.time()
        window_end = math.floor(started / 60) * 60 + 60
        for _ in range(3):
            craft_client.me()
        assert statuses(craft_emulator) == [200, 200, 200]
        assert len(clock.sleeps) == 1
        assert window_end - started <= clock.sleeps[0] <= window_end - started + 0.25
        assert craft_client.rate_limit is not None
        assert craft_client.rate_limit.limit == 2
