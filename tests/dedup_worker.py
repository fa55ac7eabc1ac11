"""One process of tests/test_dedup.py's race: it claims one delivery on a shared `RedisDedup`.

    python tests/dedup_worker.py KEY REDIS_URL

It connects, prints `ready`, waits for a line on its standard input (the test sends one to every
worker once all are ready, so that they claim at the same moment however slowly a loaded machine
started them), claims KEY once and prints the answer: "new", "done" or "busy".
"""

from __future__ import annotations

import sys

import redis

from craft_sdk.redis import RedisDedup


def main(key: str, url: str) -> None:
    # A generous timeout: on a loaded machine a claim may wait its turn, and the race is the
    # point, not the speed. Connected before `ready`, so that the claims meet at Redis.
    client = redis.Redis.from_url(url, socket_timeout=10)  # pyright: ignore[reportUnknownMemberType]
    client.ping()  # pyright: ignore[reportUnknownMemberType]
    dedup = RedisDedup(client)
    say("ready")
    sys.stdin.readline()
    say(dedup.claim(key))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(*sys.argv[1:3])
