"""What a folder sync did, or (a dry run) would do: `SyncReport`, and its progress."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from .._types import public


@public
@dataclasses.dataclass(frozen=True)
class SyncProgress:
    """How far a folder sync's transfers are: passed to its `on_progress` as bytes move."""

    files_done: int
    """Files whose transfer has finished."""
    files_total: int
    """Files to transfer in all."""
    bytes_done: int
    """Bytes moved so far (of files finished and under way)."""
    bytes_total: int
    """Bytes to move in all."""


@public
@dataclasses.dataclass(frozen=True)
class SyncReport:
    """What `files.upload_folder` or `files.download_folder` did, or, for a dry run, would do.

    Every path taking part (relative to the local folder, and to the prefix in the project) is
    in exactly one of `sent`, `skipped`, `deleted`, `failed` and `not_attempted`. Paths that
    cannot take part at all (a special file, a symlink leaving the folder, a remote path that
    would land outside it) are in `refused` instead, with the reason.
    """

    direction: Literal["upload", "download"]
    """Which way the files went."""
    dry_run: bool
    """True: nothing was transferred or deleted, and the lists say what would be."""
    sent: tuple[str, ...]
    """Paths transferred (uploaded, or for a download, downloaded), in path order."""
    skipped: tuple[str, ...]
    """Paths left alone: unchanged on both sides since the last sync."""
    deleted: tuple[str, ...]
    """Paths deleted (remotely for an upload, locally for a download), with `delete=True`."""
    failed: Mapping[str, BaseException]
    """Paths whose transfer or deletion failed, with the error each raised."""
    not_attempted: tuple[str, ...]
    """Paths not transferred or not deleted because the sync stopped at a failure (a failed
    sync deletes nothing). Running the same call again resumes."""
    refused: Mapping[str, str]
    """Paths that cannot take part, with why; never transferred."""
    bytes_sent: int
    """Bytes of the files in `sent`."""
    bytes_skipped: int
    """Bytes of the files in `skipped`."""
    bytes_deleted: int
    """Bytes of the files in `deleted` (as listed before they were deleted)."""

    @property
    def ok(self) -> bool:
        """Whether everything the sync set out to do was done (`refused` paths aside)."""
        return not self.failed and not self.not_attempted

    def __str__(self) -> str:
        verb = "would be" if self.dry_run else "were"
        parts = [
            f"{len(self.sent)} {self.direction}ed ({self.bytes_sent:,} bytes)",
            f"{len(self.skipped)} unchanged",
            f"{len(self.deleted)} deleted",
        ]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.not_attempted:
            parts.append(f"{len(self.not_attempted)} not attempted")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        return f"Files {verb}: " + ", ".join(parts)
