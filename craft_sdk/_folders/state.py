"""The sync state file: what was last known to be the same on both sides, per path.

The API lists each file's `size` and `updatedAt` but no content hash, so the only way to know a
file is unchanged on both sides is to remember, at the last sync, the SHA-256 and size of the
local content and the remote entry seen right after. A file is unchanged only when its content
hashes to the record and its remote entry still shows the record's size and `updatedAt`.

One state file serves any number of (project, prefix) targets and both directions: a record
says "this local file and that remote file held the same content, at these versions". It is
written atomically (a temporary file, then `os.replace`), after every batch, so that a sync that
fails halfway keeps what it did and a re-run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, NamedTuple

from .._body import CHUNK_SIZE
from ..models import FileEntry

VERSION: Final = 1
DEFAULT_STATE_DIR: Final = ".craft"
"""The SDK's own folder inside a synced folder, never synced itself."""
DEFAULT_STATE: Final = f"{DEFAULT_STATE_DIR}/sync-state.json"
"""Where the state file is kept by default, relative to the synced folder."""


class Record(NamedTuple):
    """One path's last sync: the local content's hash and size, and the remote entry seen."""

    sha256: str
    size: int
    remote_size: int | None
    remote_updated_at: str | None  # as the API wrote it; None: unknown, so it never matches

    def unchanged(self, sha256: str, remote: FileEntry | None) -> bool:
        """Whether content hashing to `sha256` and the remote entry `remote` are as recorded."""
        return (
            remote is not None
            and sha256 == self.sha256
            and self.remote_updated_at is not None
            and remote.size == self.remote_size
            and _wire_time(remote) == self.remote_updated_at
        )

    @classmethod
    def of(cls, sha256: str, size: int, remote: FileEntry) -> Record:
        return cls(sha256, size, remote.size, _wire_time(remote))


class SyncState:
    """The records of one target (a project and a prefix) in one state file.

    Args:
        path: The state file; None keeps nothing (every file is sent).
        target: The target's key within the file.
    """

    def __init__(self, path: Path | None, target: str) -> None:
        self.path = path
        self._target = target
        self._document: dict[str, Any] = {"version": VERSION, "targets": {}}
        self.records: dict[str, Record] = {}
        self._saved: dict[str, Record] | None = None  # the records as the file holds them

    def forget_all_but(self, paths: Iterable[str]) -> None:
        """Drop the records of paths no longer on both sides."""
        keep = set(paths)
        self.records = {path: record for path, record in self.records.items() if path in keep}

    def load(self) -> None:
        """Read the file, if there is one. A file that cannot be read as ours is ignored (every
        file is then sent, which is always safe), not an error."""
        if self.path is None or not self.path.is_file():
            return
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            targets = document["targets"]
            files = targets.get(self._target, {})
            records = {path: Record(**fields) for path, fields in files.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        if document.get("version") == VERSION:
            self._document, self.records = document, records
            self._saved = dict(records)

    def save(self) -> None:
        """Write the file atomically (its folder made if need be), unless it holds these
        records already."""
        if self.path is None or self.records == self._saved:
            return
        targets = self._document.setdefault("targets", {})
        targets[self._target] = {
            path: record._asdict() for path, record in sorted(self.records.items())
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=".sync-", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(self._document, file, separators=(",", ":"))
            os.replace(temporary, self.path)
            self._saved = dict(self.records)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def sha256_of(path: Path) -> str:
    """A file's SHA-256, read in chunks (never whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_SIZE * 4):
            digest.update(chunk)
    return digest.hexdigest()


def _wire_time(entry: FileEntry) -> str | None:
    """`updatedAt` as an ISO-8601 string (the instant the API said, whatever its spelling)."""
    return None if entry.updated_at is None else entry.updated_at.isoformat()
