"""Long file transfers and the call deadline (issue #14, point 2).

The default deadline (300 s) bounds how long a file transfer goes without progress, not how long
it takes: every chunk sent or received starts it over. A deadline the caller sets is a hard limit
on every call. Time passes on a FakeClock that the streams below move as their bytes flow, so a
"1,000 s" transfer takes milliseconds.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk.testing import CraftEmulator, FakeClock

from .conftest import Runner, each_request, ok, run_on
from .reliability.faulty_server import FaultyServer, HeadThenHold, head

PROJECT_ID = "proj_1"
FILE_URL = f"/projects/{PROJECT_ID}/files/big.bin"
CHUNK = 64 * 1024
CHUNKS = 100
SECONDS_PER_CHUNK = 10.0  # 100 chunks: 1,000 s in all, far past the 300 s default deadline
BODY = bytes(range(256)) * (CHUNK * CHUNKS // 256)


class SteadyStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """An answer's body in 64 KiB chunks, each taking `seconds_per_chunk` on the FakeClock;
    after `stall_after` chunks it stops, as httpx does when no byte came for the read timeout."""

    def __init__(
        self, clock: FakeClock, *, seconds_per_chunk: float, stall_after: int | None = None
    ) -> None:
        self._clock = clock
        self._seconds = seconds_per_chunk
        self._stall_after = stall_after
        self.sent = 0

    def _chunks(self) -> Iterator[bytes]:
        for start in range(0, len(BODY), CHUNK):
            if self.sent == self._stall_after:
                self._clock.advance(60.0)  # the read timeout, waited in vain
                raise httpx.ReadTimeout("timed out")
            self._clock.advance(self._seconds)
            self.sent += 1
            yield BODY[start : start + CHUNK]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


def steady_download(
    clock: FakeClock,
    *,
    seconds_per_chunk: float = SECONDS_PER_CHUNK,
    stall_after: int | None = None,
) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(BODY))},
        stream=SteadyStream(clock, seconds_per_chunk=seconds_per_chunk, stall_after=stall_after),
    )


class SlowSource(io.BytesIO):
    """A file to upload whose every read takes `seconds_per_chunk` on the FakeClock: the time
    the network takes to carry the chunk before httpx asks for the next."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(BODY)
        self._clock = clock

    def read(self, size: int | None = -1, /) -> bytes:
        self._clock.advance(SECONDS_PER_CHUNK)
        return super().read(size)


def receive_upload(received: list[int]) -> Any:
    """A respx side effect that reads the whole upload, as a server would, and answers 200;
    the size of each body read whole goes in `received`."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = request.read()
        received.append(len(body))
        return httpx.Response(200, json=ok({"path": "big.bin", "size": len(body)}))

    return answer


# --- downloads -------------------------------------------------------------------------------


def test_a_long_download_that_keeps_moving_completes_under_the_default_deadline(
    api: respx.MockRouter, run: Runner, clock: FakeClock, tmp_path: Path
) -> None:
    route = api.get(FILE_URL).mock(side_effect=each_request(lambda: steady_download(clock)))
    started = clock.monotonic()
    result = run(lambda c: c.files.download(PROJECT_ID, "big.bin", tmp_path / "big.bin"))
    assert clock.monotonic() - started == CHUNKS * SECONDS_PER_CHUNK  # 1,000 s: past 300
    assert result.size == len(BODY)
    assert (tmp_path / "big.bin").read_bytes() == BODY
    assert route.call_count == 1


@pytest.mark.client_options(deadline=300)
def test_a_deadline_set_by_the_caller_still_cuts_a_long_download(
    api: respx.MockRouter, run: Runner, clock: FakeClock, tmp_path: Path
) -> None:
    streams: list[SteadyStream] = []

    def answer(request: httpx.Request) -> httpx.Response:
        response = steady_download(clock)
        assert isinstance(response.stream, SteadyStream)
        streams.append(response.stream)
        return response

    api.get(FILE_URL).mock(side_effect=answer)
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.files.download(PROJECT_ID, "big.bin", tmp_path / "big.bin"))
    message = str(caught.value)
    assert message.startswith(
        "GET https://api.craft.fast:443/v1/projects/proj_1/files/big.bin: the call's deadline "
        "of 300 s ran out while the file being downloaded was still arriving ("
    )
    assert len(streams) == 1  # not retried: no time was left
    assert streams[0].sent == 30  # cut at 300 s, not read to the end
    assert caught.value.may_have_succeeded is True
    assert os.listdir(tmp_path) == []  # nothing half written left behind


def test_a_stalled_download_fails_in_bounded_time(
    api: respx.MockRouter, run: Runner, clock: FakeClock, tmp_path: Path
) -> None:
    # Each attempt moves for 5 chunks (50 s), then nothing comes for the read timeout (60 s).
    route = api.get(FILE_URL).mock(
        side_effect=each_request(lambda: steady_download(clock, stall_after=5))
    )
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.files.download(PROJECT_ID, "big.bin", tmp_path / "big.bin"))
    assert route.call_count == 4  # a GET: retried, three times, from the start
    assert "timed out waiting for the answer: no byte arrived for 60 s (ReadTimeout)" in str(
        caught.value
    )
    assert caught.value.elapsed is not None
    assert caught.value.elapsed == pytest.approx(4 * 110 + sum(clock.sleeps))  # no more
    assert os.listdir(tmp_path) == []


def test_an_answer_read_into_memory_still_has_the_hard_default_deadline(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    # files.read is not a transfer to disk: its answer is bounded by max_response_bytes, and
    # its time by the default deadline, as for any JSON answer.
    api.get(FILE_URL).mock(side_effect=each_request(lambda: steady_download(clock)))
    with pytest.raises(craft_sdk.APITimeoutError, match="while the answer was still arriving"):
        run(
            lambda c: c.with_options(max_response_bytes=len(BODY)).files.read(PROJECT_ID, "big.bin")
        )


# --- uploads ---------------------------------------------------------------------------------


def test_a_long_upload_that_keeps_moving_completes_under_the_default_deadline(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    received: list[int] = []
    api.put(FILE_URL).mock(side_effect=receive_upload(received))
    started = clock.monotonic()
    entry = run(lambda c: c.files.write(PROJECT_ID, "big.bin", SlowSource(clock)))
    assert clock.monotonic() - started >= CHUNKS * SECONDS_PER_CHUNK
    assert received == [len(BODY)]
    assert entry.size == len(BODY)


@pytest.mark.client_options(deadline=300)
def test_a_deadline_set_by_the_caller_cuts_a_long_upload_and_says_it_was_the_upload(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    received: list[int] = []
    api.put(FILE_URL).mock(side_effect=receive_upload(received))
    with pytest.raises(craft_sdk.APITimeoutError) as caught:
        run(lambda c: c.files.write(PROJECT_ID, "big.bin", SlowSource(clock)))
    message = str(caught.value)
    # It names the upload, not "the answer was still arriving".
    assert message.startswith(
        "PUT https://api.craft.fast:443/v1/projects/proj_1/files/big.bin: the call's deadline "
        "of 300 s ran out while the request body was still being sent (1,900,544 of "
        "6,553,600 bytes sent)"
    )
    assert "answer" not in message
    assert caught.value.may_have_succeeded is False
    assert caught.value.attempts == 1  # not retried: no time was left
    assert received == []  # the server never got a whole body


@pytest.mark.client_options(deadline=300)
def test_with_options_deadline_is_a_hard_limit_too(
    api: respx.MockRouter, run: Runner, clock: FakeClock
) -> None:
    api.put(FILE_URL).mock(side_effect=receive_upload([]))
    # The client's 300 s is explicit; lifting it for one call lets the upload finish.
    entry = run(
        lambda c: c.with_options(deadline=None).files.write(
            PROJECT_ID, "big.bin", SlowSource(clock)
        )
    )
    assert entry.size == len(BODY)
    with pytest.raises(craft_sdk.APITimeoutError, match="request body was still being sent"):
        run(
            lambda c: c.with_options(deadline=600).files.write(
                PROJECT_ID, "big.bin", SlowSource(clock)
            )
        )


def test_a_long_upload_to_the_emulator_over_a_socket(flavour: str) -> None:
    # Over a real connection: the upload's pacing runs inside httpcore's body writer, and a
    # hard deadline there ends the upload with our error, not httpx's.
    emulator = CraftEmulator()
    with emulator.serve() as server:
        clock = FakeClock()
        options: dict[str, Any] = {"base_url": server.url, "api_key": emulator.api_key}
        project = run_on(flavour, lambda c: c.projects.create(name="Big"), clock=clock, **options)
        entry = run_on(
            flavour,
            lambda c: c.files.write(project.id, "big.bin", SlowSource(clock)),
            clock=clock,
            **options,
        )
        assert entry.size == len(BODY)
        assert emulator.files[project.id]["big.bin"] == BODY
        with pytest.raises(craft_sdk.APITimeoutError, match="request body was still being sent"):
            run_on(
                flavour,
                lambda c: c.files.write(project.id, "other.bin", SlowSource(clock)),
                clock=clock,
                deadline=300,
                **options,
            )
        assert "other.bin" not in emulator.files[project.id]


# --- a stall on a real socket ----------------------------------------------------------------


def test_a_download_that_stalls_on_a_real_socket_ends_at_the_read_timeout(
    flavour: str, tmp_path: Path
) -> None:
    # Each answer: the head and half the file, then silence until the client hangs up.
    half_a_file = HeadThenHold(
        head(200, {"Content-Type": "application/octet-stream", "Content-Length": str(len(BODY))}),
        BODY[: len(BODY) // 2],
    )
    with FaultyServer(half_a_file, half_a_file) as server:
        started = time.monotonic()
        with pytest.raises(craft_sdk.APITimeoutError) as caught:
            run_on(
                flavour,
                lambda c: c.files.download(PROJECT_ID, "big.bin", tmp_path / "big.bin"),
                base_url=server.url,
                timeout=httpx.Timeout(5.0, read=0.2),
                max_retries=1,
            )
        took = time.monotonic() - started
    assert "(ReadTimeout)" in str(caught.value)
    assert "after 2 attempts" in str(caught.value)
    assert len(server.requests) == 2
    assert took < 3.0  # two read timeouts of 0.2 s, and no wait (the FakeClock's)
    assert os.listdir(tmp_path) == []
