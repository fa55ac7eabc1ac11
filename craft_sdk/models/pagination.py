from __future__ import annotations

from .._types import public
from ._base import CraftModel


@public
class Pagination(CraftModel):
    """Where a page stands in the whole list, as the API reports it."""

    page: int
    """This page's number, from 1."""
    limit: int | None = None
    """Items per page."""
    total: int | None = None
    """Items in the whole list (at the time of this page)."""
    total_pages: int | None = None
    """Pages in the whole list (`totalPages` on the wire)."""
    has_more: bool | None = None
    """Whether a later page exists (`hasMore` on the wire)."""
