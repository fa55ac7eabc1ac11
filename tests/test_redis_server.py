"""The real Redis the store's tests run against (tests/redis_server.py): it starts on a Unix
socket under the temporary directory, answers, restarts on the same socket, is gone after use,
and its absence skips the tests, or fails them when CI requires it."""

# redis-py's command methods take untyped **kwargs, which strict pyright reports at every call.
# pyright: reportUnknownMemberType=false

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import redis

from .redis_server import REQUIRE_ENV, RedisServer, redis_server_binary


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_it_answers_on_a_unix_socket_under_the_temporary_directory() -> None:
    with RedisServer() as server, server.client() as client:
        assert client.ping()
        client.set("craft", "fleet")
        assert client.get("craft") == b"fleet"
        assert server.url == f"unix://{server.socket_path}"
        assert server.socket_path.is_socket()
        assert server.socket_path.is_relative_to(Path(tempfile.gettempdir()).resolve())
        # No TCP port, no persistence: nothing outside its own directory.
        assert client.config_get("port") == {"port": "0"}
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("dir") == {"dir": str(server.directory)}


def test_the_url_serves_redis_py() -> None:
    with RedisServer() as server, redis.Redis.from_url(server.url) as client:
        assert client.ping()


def test_it_restarts_on_the_same_socket_empty() -> None:
    with RedisServer() as server:
        with server.client() as client:
            client.set("craft", "before")
        first_pid = server.pid
        server.stop()
        assert not server.running
        with server.client() as client, pytest.raises(redis.ConnectionError):
            client.ping()
        server.start()
        assert server.running
        assert server.pid != first_pid
        with server.client() as client:
            assert client.ping()
            assert client.get("craft") is None  # nothing was saved


def test_it_is_gone_after_the_block_even_when_the_block_fails() -> None:
    server = RedisServer()
    pids: list[int | None] = []

    def use_then_fail() -> None:
        with server:
            pids.append(server.pid)
            raise RuntimeError("the test failed")

    with pytest.raises(RuntimeError, match="the test failed"):
        use_then_fail()
    [pid] = pids
    assert pid is not None
    assert not server.running
    assert not is_alive(pid)
    assert not server.directory.exists()


def test_reset_empties_it_and_starts_it_again_when_stopped() -> None:
    with RedisServer() as server:
        with server.client() as client:
            client.set("craft", "left over")
        assert server.reset() == server.url
        with server.client() as client:
            assert client.dbsize() == 0
        server.stop()
        assert server.reset() == server.url
        assert server.running


def test_the_fixture_hands_out_an_empty_redis(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set("craft", "left over")  # the next test to ask for redis_url must not see it


def test_a_server_that_cannot_start_says_why_and_leaves_nothing() -> None:
    server = RedisServer(binary="false")  # exits at once, like a redis-server refusing its options
    with pytest.raises(RuntimeError, match="redis-server exited at start-up"), server:
        pass
    assert not server.directory.exists()


def test_no_binary_skips_with_a_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis-server on PATH"):
        redis_server_binary()


def test_no_binary_fails_when_redis_is_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_ENV} is set but no redis-server"):
        redis_server_binary()


def test_a_binary_on_path_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    assert Path(redis_server_binary()).name == "redis-server"
