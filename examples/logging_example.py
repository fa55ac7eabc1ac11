"""Logging: every request craft-sdk makes, and every retry, in your own logs.

    CRAFT_LOG=info python examples/quickstart.py    # one line per request, on stderr
    CRAFT_LOG=debug python examples/quickstart.py   # and the headers, credentials masked
    python examples/logging_example.py              # the `craft_sdk` logger set up in code

craft-sdk logs through the standard `logging` module, to the logger named "craft_sdk", and is
silent until you turn it on: CRAFT_LOG does it with no code; in an application, give the logger
a handler and a level like any other (or let it propagate to your root logger). API keys and
tokens never appear in the log. With CRAFT_API_KEY set this talks to the Craft API (or to
CRAFT_BASE_URL); without it, it runs against the Craft emulator from `craft_sdk.testing`,
offline, which also fails one request so that a retry shows up in the log.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from craft_sdk import CraftClient, CraftError

if TYPE_CHECKING:
    from craft_sdk.testing import CraftEmulator

sdk_log = logging.getLogger("craft_sdk")


def run(client: CraftClient, emulator: CraftEmulator | None) -> None:
    print("-- INFO: a line per request (method, path, status, time, request id) and per retry")
    user = client.me()
    project = client.projects.create(name="craft-sdk logging example")
    if emulator is not None:
        emulator.fail_next(status=503, method="GET")
    client.projects.get(project.id)

    print("-- DEBUG: the headers too; the Authorization header is masked")
    sdk_log.setLevel(logging.DEBUG)
    client.projects.delete(project.id)
    sdk_log.setLevel(logging.INFO)
    print(f"-- Done as {user.email}; quiet again at WARNING:")
    sdk_log.setLevel(logging.WARNING)
    client.me()


def main() -> int:
    if not os.environ.get("CRAFT_LOG"):  # else craft-sdk has a handler already (on stderr)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("  %(levelname)s %(name)s: %(message)s"))
        sdk_log.addHandler(handler)
        sdk_log.setLevel(logging.INFO)

    emulator: CraftEmulator | None = None
    try:
        if os.environ.get("CRAFT_API_KEY"):
            client = CraftClient()  # the real API: CRAFT_API_KEY (and CRAFT_BASE_URL, if set)
        else:
            from craft_sdk.testing import CraftEmulator

            print("CRAFT_API_KEY is not set: running against the Craft emulator (offline).")
            emulator = CraftEmulator()
            client = emulator.client()
    except CraftError as error:  # a malformed key or base URL, before any request
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1

    try:
        with client:
            run(client, emulator)
    except CraftError as error:
        print(f"Failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
