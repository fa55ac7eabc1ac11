"""The webhook router across processes (issue #18): 20 copies of one delivery, handed to four
processes at once (five each, from threads), each with its own router on one `RedisDedup`, run
the handler exactly once; every other copy, arriving while it runs, is answered "busy" (409)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import redis

from .conftest import run_together
from .webhook_worker import HANDLED_KEY

WORKER = Path(__file__).parent / "webhook_worker.py"
SECRET = "whsec_fleet_of_receivers"
BODY = json.dumps(
    {"event": "project.created", "timestamp": "2026-12-07T12:00:00Z", "data": {"projectId": "p1"}}
)
PROCESSES, COPIES = 4, 5


def test_twenty_copies_across_four_processes_run_the_handler_once(redis_url: str) -> None:
    others = str(PROCESSES * COPIES - 1)
    command = [sys.executable, str(WORKER), redis_url, SECRET, BODY, str(COPIES), others]
    outputs = run_together([command] * PROCESSES)
    answers = sorted(answer for out, _ in outputs for answer in out.split())
    with redis.Redis.from_url(redis_url) as client:  # pyright: ignore[reportUnknownMemberType]
        handled = int(client.get(HANDLED_KEY) or 0)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    assert handled == 1
    # The copy that ran it, and 19 that met it being handled (the handler held it until all 19
    # were answered), in whichever processes they were.
    assert answers == ["200"] + ["409"] * 19
