"""One process of tests/test_webhook_redis.py: a webhook router on a shared `RedisDedup`,
handed several copies of one delivery at once.

    python tests/webhook_worker.py REDIS_URL SECRET BODY COPIES

It builds the router (its handler counts runs in Redis, then takes a little while, as a real
one would), prints `ready`, waits for a line on its standard input (sent to every worker at
once), hands COPIES copies of BODY, signed with SECRET, to `router.handle` from as many threads,
and prints the statuses, space-separated.
"""

from __future__ import annotations

import sys
import threading
import time

import redis

from craft_sdk import WebhookEvent, sign_webhook
from craft_sdk.redis import RedisDedup
from craft_sdk.webhooks import WebhookRouter

HANDLED_KEY = "test:webhook:handled"


def main(url: str, secret: str, body: str, copies: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=10)  # pyright: ignore[reportUnknownMemberType]
    client.ping()  # pyright: ignore[reportUnknownMemberType]
    router = WebhookRouter(secret=secret, tolerance=None, dedup=RedisDedup(client))

    @router.on_any
    def handled(event: WebhookEvent) -> None:
        client.incr(HANDLED_KEY)  # pyright: ignore[reportUnknownMemberType]
        time.sleep(0.2)  # the copies arriving meanwhile find it busy

    payload = body.encode()
    headers = {"X-Craft-Signature": sign_webhook(payload, secret)}
    statuses: list[int] = []
    lock = threading.Lock()

    def deliver() -> None:
        status = router.handle(payload, headers).status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=deliver) for _ in range(int(copies))]
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sys.stdout.write(" ".join(map(str, statuses)) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
