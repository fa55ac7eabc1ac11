"""Page/limit pagination: one page at a time, lazily, with guards against servers that loop.

What the next page is, and whether the server is misbehaving, is decided once, in
`check_advances` and `following_call` (together, `next_call`); `SyncPage` and `AsyncPage` /
`AsyncPaginator` only fetch and iterate.

Iteration ends when the server says `hasMore: false`, when a page comes back empty, or after
`max_items`. It stops with a `CraftError` instead of looping when a page does not advance (the
server answers another page number than the one asked for, or the same items again), or when the
server says `hasMore` past its own `totalPages` (or `total`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar, cast

import pydantic

from ._call import Call
from ._checks import check_int
from ._envelope import envelope_type, read_envelope, validate
from ._errors import APIResponseValidationError, CraftError
from ._http import httpx
from ._types import public
from .models.pagination import Pagination

M = TypeVar("M", bound=pydantic.BaseModel)


@dataclasses.dataclass(frozen=True)
class PageData(Generic[M]):
    """One page as read from the wire: its items and its pagination block."""

    items: list[M]
    pagination: Pagination | None


def page_of(model: type[M]) -> Callable[[httpx.Response], PageData[M]]:
    """A parser for a list answer: `data` as a list of `model`, plus `pagination`."""

    def parse(response: httpx.Response) -> PageData[M]:
        if response.is_success:  # the fast path: one pass over the bytes, in pydantic's core
            try:
                items_type = cast(Any, list)[model]
                page = envelope_type(items_type, paginated=True).model_validate_json(
                    response.content
                )
                return PageData(items=page.data, pagination=page.pagination)
            except pydantic.ValidationError:
                pass  # the slow path below says exactly what is wrong
        body = read_envelope(response)
        items = body["data"]
        if not isinstance(items, list):
            raise APIResponseValidationError(
                "The API's list answer holds no list.", response=response, body=body
            )
        pagination = body.get("pagination")
        return PageData(
            items=[
                validate(model, item, response=response, body=body)
                for item in cast("list[object]", items)  # JSON values, each validated here
            ],
            pagination=None
            if pagination is None
            else validate(Pagination, pagination, response=response, body=body),
        )

    return parse


def next_call(
    call: Call[PageData[M]], page: PageData[M], previous: PageIdentity | None
) -> Call[PageData[M]] | None:
    """The call for the page after `page` (fetched by `call`), or None at the end of the list.

    `previous` is the `identity_of` the page before `page`, to catch a server serving the same
    items again; only the last page's is ever kept, so memory stays flat however long the list.
    """
    check_advances(call, page, previous)
    return following_call(call, page)


def check_advances(
    call: Call[PageData[M]], page: PageData[M], previous: PageIdentity | None
) -> None:
    """Raise `CraftError` if `page` is not the page `call` asked for, or repeats the one before:
    its items are not the list's next ones."""
    asked = _page_number(call)
    info = page.pagination
    if info is not None and info.page != asked:
        raise CraftError(
            f"Pagination does not advance: asked for page {asked}, the API answered page "
            f"{info.page}. Stopped so as not to loop."
        )
    if previous is not None and identity_of(page) == previous:
        raise CraftError(
            f"Pagination does not advance: page {asked} holds the same items as page "
            f"{asked - 1}. Stopped so as not to loop."
        )


def following_call(call: Call[PageData[M]], page: PageData[M]) -> Call[PageData[M]] | None:
    """The call for the page after `page`, or None at its end; `CraftError` when the API says
    there is more after its own count of pages or items (`page`'s items are good all the same)."""
    asked = _page_number(call)
    info = page.pagination
    if not page.items:
        return None
    if info is not None and info.has_more is not None:
        if not info.has_more:
            return None
        if info.total_pages is not None and asked >= info.total_pages:
            raise CraftError(
                f"The API says there is more after page {asked} of {info.total_pages}. "
                "Stopped so as not to loop."
            )
        if info.total is not None and info.limit and asked * info.limit >= info.total:
            raise CraftError(
                f"The API says there is more after page {asked}, though {asked} pages of "
                f"{info.limit} already hold all {info.total} items. Stopped so as not to loop."
            )
    elif info is not None and info.total_pages is not None:
        if asked >= info.total_pages:
            return None
    elif info is not None and info.limit is not None and len(page.items) < info.limit:
        return None  # a short page is the last one
    elif info is None:
        return None  # not paginated at all: this is the whole list
    params = dict(call.params or {})
    params["page"] = asked + 1
    return call.with_params(params)


def check_max_items(max_items: int | None) -> int | None:
    if max_items is None:
        return None
    return check_int("max_items", max_items, minimum=1)


PageIdentity = tuple[int, str, str]
"""How many items a page holds, and the ids (or paths, for files) of its first and last."""


def identity_of(page: PageData[Any]) -> PageIdentity | None:
    """What tells a page apart from the one before it, or None for an empty page.

    A server that serves the same page again repeats all three; a list that merely shifted
    under the pages (an item added or removed between two requests) does not. Three reads, not
    a set of every id: this is on the path of every page of every listing.
    """
    if not page.items:
        return None
    first, last = page.items[0], page.items[-1]
    key = "id" if getattr(first, "id", None) is not None else "path"
    return len(page.items), str(getattr(first, key, None)), str(getattr(last, key, None))


def _page_number(call: Call[Any]) -> int:
    page = (call.params or {}).get("page", 1)
    return int(page)


SyncSend = Callable[[Call[PageData[M]]], PageData[M]]
AsyncSend = Callable[[Call[PageData[M]]], Awaitable[PageData[M]]]
SendT = TypeVar("SendT")


class _Page(Generic[M, SendT]):
    """What a sync and an async page share: the data, and the call for the next page."""

    def __init__(
        self,
        send: SendT,
        call: Call[PageData[M]],
        page: PageData[M],
        *,
        max_items: int | None,
        previous: PageIdentity | None = None,
    ) -> None:
        """A page, as a `list()` call or `get_next_page` makes it.

        Made by the client; not meant to be constructed directly.

        Args:
            send: The client's function that sends a page's call and reads the page.
            call: The call that fetched `page`.
            page: The page as read from the wire.
            max_items: Stop iterating after this many items; None for all.
            previous: What told the page before this one apart, to catch a server that serves
                the same page again.
        """
        self._send = send
        self._call = call
        self._page = page
        self._max_items = max_items
        check_advances(call, page, previous)
        try:
            self._next: Call[PageData[M]] | CraftError | None = following_call(call, page)
        except CraftError as overrun:
            # Raised when the next page is asked for: this page's items are still to be had.
            self._next = overrun

    @property
    def data(self) -> list[M]:
        """This page's items."""
        return self._page.items

    @property
    def pagination(self) -> Pagination | None:
        """This page's place in the list, as the API reported it."""
        return self._page.pagination

    def has_next_page(self) -> bool:
        """Whether another page follows this one (or the API claims one that cannot be, which
        `get_next_page` raises as `CraftError`)."""
        return self._next is not None

    def _next_call(self) -> Call[PageData[M]]:
        if self._next is None:
            raise CraftError("This is the last page; check has_next_page() first.")
        if isinstance(self._next, CraftError):
            raise self._next
        return self._next

    def _successor_options(self) -> dict[str, Any]:
        return {"max_items": self._max_items, "previous": identity_of(self._page)}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(data=<{len(self.data)} items>, pagination={self.pagination!r})"
        )


@public
class SyncPage(_Page[M, SyncSend[M]]):
    """A page of a list. Iterate it for every item of every page, fetched one page at a time:
    `for project in client.projects.list(): ...`."""

    def get_next_page(self) -> SyncPage[M]:
        """Fetch the page after this one."""
        call = self._next_call()
        return SyncPage(self._send, call, self._send(call), **self._successor_options())

    def iter_pages(self) -> Iterator[SyncPage[M]]:
        """This page and every page after it, fetched as the iteration reaches it."""
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[M]:
        items = itertools.chain.from_iterable(page.data for page in self.iter_pages())
        return itertools.islice(items, self._max_items)


@public
class AsyncPage(_Page[M, AsyncSend[M]]):
    """A page of a list. `async for` it for every item of every page, fetched one at a time."""

    async def get_next_page(self) -> AsyncPage[M]:
        """Fetch the page after this one."""
        call = self._next_call()
        return AsyncPage(self._send, call, await self._send(call), **self._successor_options())

    async def iter_pages(self) -> AsyncIterator[AsyncPage[M]]:
        """This page and every page after it, fetched as the iteration reaches it."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[M]:
        remaining = self._max_items
        async for page in self.iter_pages():
            for item in page.data:
                yield item
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:  # stop before fetching a page nobody will read
                        return


@public
class AsyncPaginator(Generic[M]):
    """What an async `list()` returns: `await` it for the first page, or `async for` it for
    every item of every page. Nothing is sent until then; each `await` or `async for` fetches
    the first page anew.

    Made by the client; not meant to be constructed directly.

    Args:
        send: The client's function that sends a page's call and reads the page.
        call: The call for the first page.
        max_items: Stop iterating after this many items; None for all.
    """

    def __init__(
        self, send: AsyncSend[M], call: Call[PageData[M]], *, max_items: int | None
    ) -> None:
        self._send = send
        self._call = call
        self._max_items = max_items

    async def _first_page(self) -> AsyncPage[M]:
        page = await self._send(self._call)
        return AsyncPage(self._send, self._call, page, max_items=self._max_items)

    def __await__(self) -> Generator[Any, None, AsyncPage[M]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[M]:
        async for item in await self._first_page():
            yield item
