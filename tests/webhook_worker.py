"""One process of tests/test_webhook_redis.py: a webhook router on a shared `RedisDedup`,
handed several copies of one delivery at once.

    python tests/webhook_worker.py REDIS_URL SECRET BODY COPIES OTHERS

It builds the router, prints `ready`, waits for a line on its standard input (sent to every
worker at once), hands COPIES copies of BODY, signed with SECRET, to `router.handle` from as
many threads, and prints what each was answered, space-separated: the status, with "dup" after
a 200 that says the delivery was a duplicate.

The handler counts its runs in Redis, then holds the delivery until OTHERS copies (those of
every worker, but the one running it) have been answered: so each of them meets it being
handled, whichever process it is in, and the answers are known exactly.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import redis

from craft_sdk import WebhookEvent, sign_webhook
from craft_sdk.redis import RedisDedup
from craft_sdk.webhooks import WebhookRouter

HANDLED_KEY = "test:webhook:handled"
ANSWERED_KEY = "test:webhook:answered"
PATIENCE = 30.0  # seconds; never reached unless something is wrong


def main(url: str, secret: str, body: str, copies: str, others: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=10)  # pyright: ignore[reportUnknownMemberType]
    client.ping()  # pyright: ignore[reportUnknownMemberType]
    router = WebhookRouter(secret=secret, tolerance=None, dedup=RedisDedup(client))

    @router.on_any
    def handled(event: WebhookEvent) -> None:
        client.incr(HANDLED_KEY)  # pyright: ignore[reportUnknownMemberType]
        deadline = time.monotonic() + PATIENCE
        while int(client.get(ANSWERED_KEY) or 0) < int(others):  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            assert time.monotonic() < deadline, "the other copies were never answered"
            time.sleep(0.005)

    payload = body.encode()
    headers = {"X-Craft-Signature": sign_webhook(payload, secret)}
    answers: list[str] = []
    lock = threading.Lock()

    def deliver() -> None:
        result = router.handle(payload, headers)
        duplicate = json.loads(result.body).get("duplicate", False)
        with lock:
            answers.append(f"{result.status}{'dup' if duplicate else ''}")
        client.incr(ANSWERED_KEY)  # pyright: ignore[reportUnknownMemberType]

    threads = [threading.Thread(target=deliver) for _ in range(int(copies))]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.stdout.write(" ".join(answers) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:6])
