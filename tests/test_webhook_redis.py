"""The webhook router across processes (issue #18): 20 copies of one delivery, handed to four
processes at once (five each, from threads), each with its own router on one `RedisDedup`, run
the handler exactly once; the other copies are answered "busy" (409) or "duplicate" (200)."""

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


def test_twenty_copies_across_four_processes_run_the_handler_once(redis_url: str) -> None:
    outputs = run_together([[sys.executable, str(WORKER), redis_url, SECRET, BODY, "5"]] * 4)
    statuses = sorted(int(status) for out, _ in outputs for status in out.split())
    with redis.Redis.from_url(redis_url) as client:  # pyright: ignore[reportUnknownMemberType]
        handled = int(client.get(HANDLED_KEY) or 0)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    assert handled == 1
    assert len(statuses) == 20
    assert set(statuses) <= {200, 409}  # the one that ran, duplicates, and busy ones
    assert statuses.count(200) >= 1
