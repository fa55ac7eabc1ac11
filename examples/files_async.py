"""Files with asyncio: upload a local file from a Path, write many files as concurrent tasks,
list and read them, and download one to a path.

    python examples/files_async.py

It works in a project it creates and deletes. With CRAFT_API_KEY set it talks to the Craft API
(or to CRAFT_BASE_URL); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from craft_sdk import AsyncCraftClient, CraftError


async def work_on(client: AsyncCraftClient, project_id: str, folder: Path) -> None:
    styles = folder / "styles.css"
    styles.write_text("body { margin: 0 }\n")
    entry = await client.files.write(project_id, "src/styles.css", styles)  # streamed
    print(f"Uploaded {styles.name} as {entry.path} ({entry.size} bytes)")

    components = {
        f"src/components/Card{n}.tsx": f"export const Card{n} = () => null\n" for n in range(8)
    }
    written = await client.files.write_many(project_id, components, concurrency=4)
    print(f"write_many wrote {len(written)} files, 4 tasks at a time")

    # Independent reads can run together too.
    paths = sorted(components)[:3]
    texts = await asyncio.gather(*(client.files.read_text(project_id, p) for p in paths))
    print(f"Read {len(texts)} files at once; the first says {texts[0].strip()!r}")

    listed = await client.files.list(project_id)
    print(f"The project holds {sum(entry.type == 'file' for entry in listed)} files")

    target = folder / "Card0.tsx"
    done = await client.files.download(project_id, "src/components/Card0.tsx", target)
    print(f"Downloaded {done.size} bytes to {done.destination}")


async def run(client: AsyncCraftClient) -> None:
    project = await client.projects.create(name="craft-sdk async files example")
    print(f"Created project {project.id}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            await work_on(client, project.id, Path(folder))
    finally:
        await client.projects.delete(project.id)
        print(f"Deleted project {project.id}")


async def main() -> int:
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = AsyncCraftClient()
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            client = CraftEmulator().async_client()
    except CraftError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        async with client:
            await run(client)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
