"""Files: write text, bytes and a local file (streamed from a Path), write many at once, list,
read, download to a path, and delete.

    python examples/files.py

It works in a project it creates and deletes. With CRAFT_API_KEY set it talks to the Craft API
(or to CRAFT_BASE_URL); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from craft_sdk import CraftClient, CraftError, WriteManyError


def progress(done: int, total: int | None) -> None:
    print(f"  {done} of {total}")


def work_on(client: CraftClient, project_id: str, folder: Path) -> None:
    client.files.write(project_id, "README.md", "# Made by examples/files.py\n")  # text: UTF-8
    client.files.write(project_id, "public/pixel.gif", b"GIF89a\x01\x00\x01\x00")  # bytes

    # A Path (or a file opened "rb") is streamed, never read into memory whole.
    logo = folder / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    entry = client.files.write(project_id, "public/logo.svg", logo, on_progress=progress)
    print(f"Uploaded {logo.name} as {entry.path} ({entry.size} bytes)")

    pages = {f"src/pages/page{n}.tsx": f"export const page = {n}\n" for n in range(6)}
    try:
        written = client.files.write_many(project_id, pages, concurrency=3, on_progress=progress)
        print(f"write_many wrote {len(written)} files, 3 at a time")
    except WriteManyError as error:  # nothing is lost silently: every path is in one list
        print(f"{len(error.written)} written, failed: {list(error.failed)}")
        print(f"not attempted: {error.not_attempted}")

    files = [entry.path for entry in client.files.list(project_id) if entry.type == "file"]
    print(f"The project holds {len(files)} files")
    print(f"README.md says {client.files.read_text(project_id, 'README.md').strip()!r}")
    print(f"pixel.gif starts with {client.files.read(project_id, 'public/pixel.gif')[:6]!r}")

    # A download goes to a temporary file beside the destination, renamed once complete.
    target = folder / "page0.tsx"
    done = client.files.download(project_id, "src/pages/page0.tsx", target)
    print(f"Downloaded {done.path} to {done.destination}: {target.read_text().strip()!r}")

    client.files.delete(project_id, "public/pixel.gif")
    print("Deleted public/pixel.gif")


def run(client: CraftClient) -> None:
    project = client.projects.create(name="craft-sdk files example")
    print(f"Created project {project.id}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            work_on(client, project.id, Path(folder))
    finally:
        client.projects.delete(project.id)
        print(f"Deleted project {project.id}")


def main() -> int:
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = CraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            client = CraftEmulator().client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        with client:
            run(client)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
