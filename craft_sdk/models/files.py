from __future__ import annotations

from typing import Annotated, Literal

from .._types import public
from ._base import CraftModel, OpenLiteral, Timestamp

FileType = Literal["file", "directory"]
"""What a `FileEntry` is: a "file" or a "directory"."""


@public
class FileEntry(CraftModel):
    """A file or directory of a project."""

    path: str
    """The path within the project, with `/` separators, such as "src/app/page.tsx"."""
    type: Annotated[FileType, OpenLiteral]
    """"file" or "directory". A type the SDK does not know yet (from a newer API) is kept as the
    string sent, though type checkers only know the two."""
    size: int | None = None
    """Size in bytes (files only)."""
    updated_at: Timestamp | None = None
    """When the file last changed (`updatedAt` on the wire)."""


@public
class DeletedFile(CraftModel):
    """The answer to `files.delete`."""

    path: str
    """The path within the project of the file deleted."""
    deleted: bool = True
    """Whether the file was deleted; True when the answer leaves it out."""


@public
class DownloadedFile(CraftModel):
    """The answer to `files.download`: what was written where."""

    path: str
    """The path within the project."""
    size: int
    """Bytes written."""
    destination: str | None = None
    """The local path written, or None for a file object."""
