"""`python -m craft_sdk.testing`: run the Craft API emulator on a local port, on the real clock.

    python -m craft_sdk.testing [--port 8787] [--host 127.0.0.1] [--rate-limit N] [--api-key KEY]

What it prints is shell: a comment, then `export CRAFT_BASE_URL=...` and `export CRAFT_API_KEY=...`,
to paste into another shell, or to source from a file it was sent to. The state lives in memory
and is gone when the process ends (Ctrl-C). A client that goes away mid-request costs one line
on stderr, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .._clock import SYSTEM_CLOCK
from ._emulator import CraftEmulator


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m craft_sdk.testing",
        description="Run the Craft API emulator (in memory, loopback only).",
    )
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port (8787)")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    parser.add_argument(
        "--rate-limit", type=int, default=None, metavar="N", help="requests per minute"
    )
    parser.add_argument("--api-key", default="test_key", metavar="KEY", help="(test_key)")
    args = parser.parse_args(argv)

    try:
        emulator = CraftEmulator(
            rate_limit=args.rate_limit, api_key=args.api_key, clock=SYSTEM_CLOCK
        )
        server = emulator.serve(host=args.host, port=args.port)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM ends the process as cleanly as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    # The server's own notes (a client that went away) as single lines on stderr.
    notes = logging.getLogger("craft_sdk.testing")
    notes.addHandler(logging.StreamHandler(sys.stderr))
    notes.setLevel(logging.INFO)
    sys.stdout.write(startup_lines(server.url, emulator.api_key))
    sys.stdout.flush()
    try:
        threading.Event().wait()  # the server runs in its own thread; wait for a signal
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def startup_lines(url: str, api_key: str) -> str:
    """What the command prints once it listens: valid shell, so that it can be pasted or sourced
    as it is."""
    return (
        f"# Craft emulator on {url} (in memory; Ctrl-C stops it). In another shell:\n"
        f"export CRAFT_BASE_URL={shlex.quote(url)}\n"
        f"export CRAFT_API_KEY={shlex.quote(api_key)}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
