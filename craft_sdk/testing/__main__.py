"""`python -m craft_sdk.testing`: run the Craft API emulator on a local port, on the real clock.

    python -m craft_sdk.testing [--port 8787] [--tier free | --rate-limit N] [--build-seconds S]
        [--fail-builds N] [--fault SPEC ...] [--webhook-url URL --webhook-secret S]

What it prints is shell: comments, then `export CRAFT_BASE_URL=...` and `export
CRAFT_API_KEY=...`, to paste into another shell, or to source from a file it was sent to. The
state lives in memory and is gone when the process ends (Ctrl-C). Builds take `--build-seconds`
of real time. While it runs, its control endpoint (`/_emulator`) changes what the flags set. Its
notes (webhook deliveries, a client that went away mid-request) go to stderr, a line each.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .._clock import SYSTEM_CLOCK
from ._control import CONTROL_PATH
from ._emulator import CraftEmulator
from ._faults import parse_spec
from ._limits import DEFAULT_RATE_LIMIT, TIERS

_EPILOG = f"""\
fault SPEC: comma-separated name=value: status (400-599, or none), delay (seconds), drop,
count (the next N matching requests) or fraction (that share of them, evenly spread), method,
path (relative to /v1). Examples: "status=503,count=3", "drop,fraction=0.1,method=GET",
"status=none,delay=2,path=/projects".

control endpoint (emulator-only) at http://HOST:PORT{CONTROL_PATH}:
  GET {CONTROL_PATH}              the settings
  PATCH {CONTROL_PATH}            {{"tier": "free"}}, {{"rateLimit": 100}}, {{"buildSeconds": 2}},
                              {{"failBuilds": 1, "buildError": "..."}},
                              {{"webhookUrl": "http://...", "webhookSecret": "..."}}
  POST {CONTROL_PATH}/faults      {{"status": 503, "count": 2, "method": "GET"}}
  DELETE {CONTROL_PATH}/faults    remove the faults still waiting
  GET {CONTROL_PATH}/deliveries   webhook delivery attempts
  GET {CONTROL_PATH}/requests     requests handled
"""


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m craft_sdk.testing") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the Craft API emulator (in memory, loopback only, on the real clock).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port (8787)")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (127.0.0.1)")
    limits = parser.add_mutually_exclusive_group()
    limits.add_argument("--tier", choices=TIERS, help="the tier's windows and endpoint limits")
    limits.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help=f"a custom limit: N requests per minute, alone ({DEFAULT_RATE_LIMIT:,})",
    )
    parser.add_argument("--api-key", default="test_key", metavar="KEY", help="(test_key)")
    parser.add_argument(
        "--build-seconds", type=float, default=4.0, metavar="S", help="how long a build takes (4)"
    )
    parser.add_argument(
        "--fail-builds", type=int, default=0, metavar="N", help="the next N builds fail"
    )
    parser.add_argument("--build-error", default="Build failed", metavar="MESSAGE")
    parser.add_argument(
        "--fault", action="append", default=[], metavar="SPEC", help="inject a fault (below)"
    )
    parser.add_argument("--webhook-url", metavar="URL", help="POST every event there, signed")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("CRAFT_WEBHOOK_SECRET"),
        metavar="SECRET",
        help="the signing secret (with --webhook-url; or CRAFT_WEBHOOK_SECRET)",
    )
    args = parser.parse_args(argv)
    if args.webhook_url and not args.webhook_secret:
        parser.error("--webhook-url needs --webhook-secret")

    try:
        emulator = CraftEmulator(
            tier=args.tier,
            rate_limit=args.rate_limit,
            api_key=args.api_key,
            clock=SYSTEM_CLOCK,
            build_seconds=args.build_seconds,
        )
        if args.fail_builds:
            emulator.fail_next_deployment(args.build_error, count=args.fail_builds)
        for spec in args.fault:
            emulator.fail_next(**parse_spec(spec))
        if args.webhook_url:
            emulator.deliver_webhooks(args.webhook_url, secret=args.webhook_secret)
        server = emulator.serve(host=args.host, port=args.port)
    except (TypeError, ValueError, OSError) as exc:
        parser.error(str(exc))

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM ends the process as cleanly as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    # The emulator's notes (deliveries, a client that went away) as single lines on stderr.
    notes = logging.getLogger("craft_sdk.testing")
    notes.addHandler(logging.StreamHandler(sys.stderr))
    notes.setLevel(logging.INFO)
    sys.stdout.write(startup_lines(server.url, emulator.api_key, server.control_url))
    sys.stdout.flush()
    try:
        threading.Event().wait()  # the server runs in its own thread; wait for a signal
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        emulator.close()
    return 0


def startup_lines(url: str, api_key: str, control_url: str | None = None) -> str:
    """What the command prints once it listens: valid shell, so that it can be pasted or sourced
    as it is."""
    steer = f"# Steer it while it runs: {control_url} (see --help).\n" if control_url else ""
    return (
        f"# Craft emulator on {url} (in memory; Ctrl-C stops it). In another shell:\n"
        f"{steer}"
        f"export CRAFT_BASE_URL={shlex.quote(url)}\n"
        f"export CRAFT_API_KEY={shlex.quote(api_key)}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
