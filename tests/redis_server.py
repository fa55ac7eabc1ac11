"""A real `redis-server` for the tests: a child process on a Unix socket in a temporary directory.

    with RedisServer() as server:
        store = RedisRateLimitStore.from_url(server.url)
        server.client().ping()

No TCP port is opened and nothing is written to disk (`--port 0`, `--save ""`, `--appendonly no`,
its own `--dir`), so any number of them can run beside each other and beside a Redis the machine
may already run. `stop()` and `start()` restart it on the same socket, for the tests of a Redis
that goes away and comes back. Leaving the `with` block always kills it and removes the directory.

`redis_server_binary()` decides whether Redis tests can run at all (see its docstring).
"""

# redis-py's command methods take untyped **kwargs, which strict pyright reports at every call.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REQUIRE_ENV: Final = "CRAFT_REQUIRE_REDIS"
STARTUP_TIMEOUT: Final = 10.0
"""Seconds a starting server may take to answer PING (a loaded 2-core machine, cold caches)."""
STOP_TIMEOUT: Final = 5.0


def redis_server_binary() -> str:
    """The path of `redis-server`; without one, the calling test skips, or fails when
    `CRAFT_REQUIRE_REDIS` is set (as `.ci/run` sets it, so that CI can never skip them)."""
    __tracebackhide__ = True  # the skip or failure is reported at the test, not here
    binary = shutil.which("redis-server")
    if binary is not None:
        return binary
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(
            f"{REQUIRE_ENV} is set but no redis-server is on PATH: install Debian's "
            "redis-server package (.ci/run does), or unset it to skip the Redis tests.",
            pytrace=False,
        )
    pytest.skip(
        "no redis-server on PATH: install Debian's redis-server package to run the Redis tests "
        f"(set {REQUIRE_ENV}=1 to make its absence a failure)"
    )


class RedisServer:
    """`redis-server` as a child process, answering on `url` while it runs."""

    def __init__(self, binary: str | None = None) -> None:
        self._binary = binary or redis_server_binary()
        # Not pytest's tmp_path: a Unix socket's path must fit in about 100 bytes.
        self.directory = Path(tempfile.mkdtemp(prefix="craft-redis-"))
        self.socket_path = self.directory / "redis.sock"
        self._log_path = self.directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's address for `redis.Redis.from_url` (and the store's `from_url`)."""
        return f"unix://{self.socket_path}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def client(self, *, socket_timeout: float = STARTUP_TIMEOUT) -> redis.Redis:
        """A new sync client of this server (the caller closes it). It does not retry: redis-py's
        default retries with backoff would take seconds to report a stopped server."""
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def reset(self) -> str:
        """Make sure the server runs and holds nothing (FLUSHALL); return its `url`."""
        if not self.running:
            self.start()
        with self.client() as redis_client:
            redis_client.flushall()
        return self.url

    def start(self) -> None:
        """Start the server (again, on the same socket) and return once it answers PING."""
        if self.running:
            raise RuntimeError("this redis-server is already running")
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self._binary, *itertools.chain.from_iterable(self._options().items())],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_for_ping()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers); its data is gone with it."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _options(self) -> dict[str, str]:
        return {
            "--port": "0",  # no TCP at all
            "--unixsocket": str(self.socket_path),
            "--unixsocketperm": "700",
            "--save": "",  # nothing on disk
            "--appendonly": "no",
            "--dir": str(self.directory),
            "--daemonize": "no",  # it stays our child
            "--logfile": "",  # to its standard output, which is the log file
        }

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start-up:\n{self._log()}")
            try:
                with self.client(socket_timeout=1) as client:
                    if client.ping():
                        return
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not answer PING within {STARTUP_TIMEOUT:g} s:\n{self._log()}"
                )
            time.sleep(0.01)

    def _log(self) -> str:
        try:
            return self._log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> RedisServer:
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
