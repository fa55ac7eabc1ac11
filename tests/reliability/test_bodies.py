"""3.4 Bodies and the envelope, and the size limit on answers read into memory.

A 2xx whose body is unusable is never retried (the request was processed, and the same body
would come back), raises `APIResponseValidationError` with `may_have_succeeded=True`, and never
lets a raw `json`, `UnicodeDecodeError` or `RecursionError` out. An answer larger than
`max_response_bytes` (10 MiB by default, counted after decompression) raises
`ResponseTooLargeError` without being read whole, and is not retried.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import craft_sdk

from .conftest import PROJECT, USER, USER_BODY, Runner, failure, ok, raises
from .faulty_server import Behaviour, Chunked, FaultyServer, HeadThenHold, Json, Raw, head

MiB = 1024 * 1024


def answer(
    status: int = 200, content: bytes = b"", content_type: str = "application/json"
) -> httpx.Response:
    return httpx.Response(status, content=content, headers={"Content-Type": content_type})


# --- T-BODY-01..07: unusable 2xx bodies -----------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"<html><body>Welcome to nginx!</body></html>",
        b"",
        b'{"data": {"id": "user_1"}}',
        b'{"success": true}',
        b'{"success": true, "data": null}',
        b'{"success": true, "data": {"email": "no-id@example.com"}}',
        b'{"success": "true", "data": {"id": "user_1"}}',
        b'{"success": 1, "data": {"id": "user_1"}}',
        b'["success", true]',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"success": true, "data": ' + b"7" * 5000 + b"}",
        b'\xff\xfe{"success": true}',
        b'{"success": true, "data": {"id": "user_1"',
    ],
    ids=[
        "html",
        "empty",
        "no-success",
        "no-data",
        "null-data",
        "data-missing-id",
        "success-string",
        "success-one",
        "not-an-object",
        "deeply-nested",
        "5000-digit-int",
        "invalid-utf8",
        "truncated",
    ],
)
def test_an_unusable_2xx_body_is_a_validation_error_and_is_not_retried(
    api: respx.MockRouter, run: Runner, content: bytes
) -> None:
    calls = api.get("/me").mock(return_value=answer(200, content))
    with raises(
        craft_sdk.APIResponseValidationError, status_code=200, may_have_succeeded=True, attempts=1
    ) as caught:
        run(lambda c: c.me())
    assert not isinstance(caught.value.__cause__, (RecursionError, UnicodeDecodeError))
    assert calls.call_count == 1
    assert run.clock.sleeps == []


def test_a_201_with_an_unusable_body_does_not_create_twice(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = api.post("/projects").mock(
        return_value=answer(201, b"<html>Created</html>", "text/html")
    )
    with raises(
        craft_sdk.APIResponseValidationError, status_code=201, may_have_succeeded=True, attempts=1
    ):
        run(lambda c: c.projects.create(name="Site"))
    assert calls.call_count == 1


def test_a_204_where_data_is_promised_is_a_validation_error(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = api.get("/projects/proj_1").respond(204)
    with raises(craft_sdk.APIResponseValidationError, status_code=204, attempts=1):
        run(lambda c: c.projects.get("proj_1"))
    assert calls.call_count == 1


# --- T-BODY-05/06/08: failures the body reports ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "code", "message"),
    [
        (
            failure("PROJECT_NOT_FOUND", "Gone"),
            craft_sdk.NotFoundError,
            "PROJECT_NOT_FOUND",
            "Gone",
        ),
        (failure("INVALID_REQUEST", "Bad"), craft_sdk.BadRequestError, "INVALID_REQUEST", "Bad"),
        (failure("SOMETHING_NEW", "Hm"), craft_sdk.APIError, "SOMETHING_NEW", "Hm"),
        (
            {"success": False},
            craft_sdk.APIError,
            None,
            "The API reported a failure without an error object.",
        ),
        (
            {"success": False, "error": {"code": "X", "message": 5}},
            craft_sdk.APIError,
            "X",
            "The API reported a failure without an error object.",
        ),
    ],
    ids=["not-found-code", "invalid-code", "unknown-code", "no-error-object", "message-not-str"],
)
def test_a_200_saying_success_false_is_an_error_by_code_never_retried(
    api: respx.MockRouter,
    run: Runner,
    body: dict[str, Any],
    kind: type[craft_sdk.APIError],
    code: str | None,
    message: str,
) -> None:
    calls = api.get("/projects/proj_1").respond(200, json=body)
    with raises(kind, status_code=200, code=code, message=message, attempts=1) as caught:
        run(lambda c: c.projects.get("proj_1"))
    assert type(caught.value) is kind
    assert caught.value.body == body  # the whole answer is kept
    assert calls.call_count == 1


def test_the_status_decides_the_class_whatever_the_code_says(
    api: respx.MockRouter, run: Runner
) -> None:
    calls = api.get("/projects/proj_1").respond(404, json=failure("RATE_LIMIT_EXCEEDED", "odd"))
    with raises(craft_sdk.NotFoundError, status_code=404, code="RATE_LIMIT_EXCEEDED", attempts=1):
        run(lambda c: c.projects.get("proj_1"))
    assert calls.call_count == 1


def test_a_message_with_line_breaks_stays_on_one_log_line(
    api: respx.MockRouter, run: Runner
) -> None:
    message = "Bad name\r\n[2024-01-01 00:00:00 craft_sdk INFO] GET /v1/admin -> 200"
    api.get("/projects/proj_1").respond(400, json=failure("INVALID_REQUEST", message))
    with raises(craft_sdk.BadRequestError, message=message) as caught:
        run(lambda c: c.projects.get("proj_1"))
    assert "\n" not in str(caught.value)
    assert "\r" not in str(caught.value)


# --- T-BODY-09/18: what is accepted -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (USER_BODY, "text/plain"),
        (USER_BODY, ""),
        (b"\xef\xbb\xbf" + USER_BODY, "application/json"),
        (b"  \r\n" + USER_BODY + b"\n\n", "application/json"),
    ],
    ids=["text-plain", "no-content-type", "utf8-bom", "surrounding-whitespace"],
)
def test_a_valid_envelope_is_read_whatever_its_framing(
    api: respx.MockRouter, run: Runner, content: bytes, content_type: str
) -> None:
    api.get("/me").mock(return_value=answer(200, content, content_type))
    assert run(lambda c: c.me()).id == "user_1"


def test_nothing_the_api_adds_is_dropped(api: respx.MockRouter, run: Runner) -> None:
    project = {**PROJECT, "status": "frozen", "owner": {"id": "user_1"}, "futureField": [1, 2]}
    api.get("/projects/proj_1").respond(200, json=ok(project))
    got = run(lambda c: c.projects.get("proj_1"))
    assert got.status == "frozen"  # an enum value this version does not know, kept as text
    assert got.model_extra == {"owner": {"id": "user_1"}, "futureField": [1, 2]}


# --- max_response_bytes -----------------------------------------------------------------------


def envelope_of_size(size: int) -> bytes:
    """A valid user envelope of exactly `size` bytes (padded with JSON whitespace)."""
    body = USER_BODY
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_answer_one_byte_over_the_limit_is_refused_and_at_the_limit_read(
    run: Runner, framing: str
) -> None:
    limit = 4096

    def reply(size: int) -> Behaviour:
        body = envelope_of_size(size)
        if framing == "chunked":
            return Chunked(body[i : i + 1000] for i in range(0, len(body), 1000))
        return Json(200, body)

    with FaultyServer(reply(limit), reply(limit + 1)) as server:
        assert run(lambda c: c.me(), base_url=server.url, max_response_bytes=limit).id == "user_1"
        with raises(craft_sdk.ResponseTooLargeError, limit=limit, attempts=1):
            run(lambda c: c.me(), base_url=server.url, max_response_bytes=limit)
    assert len(server.requests) == 2  # not retried, though a GET
    assert run.clock.sleeps == []


def test_the_default_limit_is_10_mib(run: Runner) -> None:
    with FaultyServer(
        Json(200, envelope_of_size(10 * MiB)), Json(200, envelope_of_size(10 * MiB + 1))
    ) as server:
        assert run(lambda c: c.me(), base_url=server.url).id == "user_1"
        with raises(craft_sdk.ResponseTooLargeError, limit=10 * MiB, attempts=1):
            run(lambda c: c.me(), base_url=server.url)
    assert len(server.requests) == 2


def test_a_declared_content_length_over_the_limit_fails_before_the_body_is_read(
    run: Runner,
) -> None:
    # The head promises 2 GiB; not one byte of body follows. Reading it would wait out the
    # read timeout (and then retry); refusing it on the head alone is immediate.
    raw_head = head(
        200, {"Content-Type": "application/json", "Content-Length": str(2 * 1024 * MiB)}
    )
    with FaultyServer(HeadThenHold(raw_head), HeadThenHold(raw_head)) as server:
        started = time.monotonic()
        with raises(craft_sdk.ResponseTooLargeError, limit=10 * MiB, attempts=1):
            run(lambda c: c.me(), base_url=server.url, timeout=0.5, max_retries=1)
        elapsed = time.monotonic() - started
    assert elapsed < 0.5
    assert len(server.requests) == 1


def test_a_post_whose_answer_is_too_large_is_not_sent_again(run: Runner) -> None:
    body = envelope_of_size(5000)
    with (
        FaultyServer(Json(201, body), Json(201, body)) as server,
        raises(craft_sdk.ResponseTooLargeError, limit=1000, attempts=1),
    ):
        run(
            lambda c: c.projects.create(name="Site"),
            base_url=server.url,
            max_response_bytes=1000,
        )
    assert [r.method for r in server.requests] == ["POST"]


def test_the_limit_counts_decoded_bytes_not_compressed_ones(run: Runner) -> None:
    decoded = envelope_of_size(64 * 1024)
    compressed = gzip_bytes(decoded)
    assert len(compressed) < 1000
    reply = Raw(
        head(
            200,
            {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(compressed)),
            },
        )
        + compressed,
        keep_alive=True,
    )
    with (
        FaultyServer(reply) as server,
        raises(craft_sdk.ResponseTooLargeError, limit=32 * 1024, attempts=1),
    ):
        run(lambda c: c.me(), base_url=server.url, max_response_bytes=32 * 1024)
    assert len(server.requests) == 1


def test_with_options_sets_the_limit_for_the_copy_only(run: Runner) -> None:
    body = envelope_of_size(5000)

    def operation(client: Any) -> Any:
        small = client.with_options(max_response_bytes=1000)
        if run.flavour == "sync":
            with raises(craft_sdk.ResponseTooLargeError, limit=1000):
                small.me()
            return client.me()

        async def steps() -> Any:
            with raises(craft_sdk.ResponseTooLargeError, limit=1000):
                await small.me()
            return await client.me()

        return steps()

    with FaultyServer(Json(200, body), Json(200, body)) as server:
        assert run(operation, base_url=server.url).id == "user_1"
    assert len(server.requests) == 2


def test_a_client_stays_usable_after_refusing_a_large_answer(run: Runner) -> None:
    def operation(client: Any) -> Any:
        if run.flavour == "sync":
            with raises(craft_sdk.ResponseTooLargeError):
                client.me()
            return client.me()

        async def steps() -> Any:
            with raises(craft_sdk.ResponseTooLargeError):
                await client.me()
            return await client.me()

        return steps()

    big = Chunked([b'{"success": true, "data": {"id": "user_1", "pad": "', b"x" * 9000, b'"}}'])
    with FaultyServer(big, Json(200, ok(USER))) as server:
        assert run(operation, base_url=server.url, max_response_bytes=4096).id == "user_1"
    assert len(server.requests) == 2


def test_download_to_a_path_is_not_limited_but_read_is(run: Runner, tmp_path: Path) -> None:
    content = bytes(range(256)) * 40  # 10,240 bytes, over the 4,096 limit
    file_answer = Json(200, content, headers={"Content-Type": "application/octet-stream"})
    destination = tmp_path / "big.bin"
    with FaultyServer(file_answer, file_answer) as server:
        downloaded = run(
            lambda c: c.files.download("proj_1", "big.bin", destination),
            base_url=server.url,
            max_response_bytes=4096,
        )
        with raises(craft_sdk.ResponseTooLargeError, limit=4096, attempts=1):
            run(
                lambda c: c.files.read("proj_1", "big.bin"),
                base_url=server.url,
                max_response_bytes=4096,
            )
    assert downloaded.size == len(content)
    assert destination.read_bytes() == content
    assert len(server.requests) == 2


# --- T-BODY-12: a gzip bomb -------------------------------------------------------------------


def gzip_bytes(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


@pytest.fixture(scope="module")
def gzip_bomb() -> tuple[bytes, int]:
    """About 1 MB of gzip that expands to 1 GiB of zeros; built without ever holding 1 GiB.

    After a full flush deflate starts afresh, so the compressed form of one MiB of zeros can be
    repeated; the trailer carries the real CRC and length of the whole."""
    mebibyte = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = 1024
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mebibyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, (count * MiB) & 0xFFFFFFFF)
    return header + block * count + compressor.flush(zlib.Z_FINISH) + trailer, count * MiB


def test_the_bomb_really_expands(gzip_bomb: tuple[bytes, int]) -> None:
    # Guards the next case: the first 64 KiB alone expand to tens of MiB.
    bomb, expanded = gzip_bomb
    assert len(bomb) < 2 * MiB
    assert expanded == 1024 * MiB
    first = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(bomb[: 64 * 1024])
    assert len(first) > 60 * MiB


def test_a_gzip_bomb_is_refused_with_memory_far_below_its_expanded_size(
    run: Runner, gzip_bomb: tuple[bytes, int]
) -> None:
    bomb, _ = gzip_bomb
    reply = Raw(
        head(
            200,
            {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "Content-Length": str(len(bomb)),
            },
        )
        + bomb
    )
    peaks: list[int] = []
    with (
        FaultyServer(reply) as server,
        raises(craft_sdk.ResponseTooLargeError, limit=10 * MiB, attempts=1),
    ):
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        try:
            run(lambda c: c.me(), base_url=server.url, timeout=5.0)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1] - baseline)
            tracemalloc.stop()
    assert peaks[0] < 64 * MiB, f"peak memory grew by {peaks[0] / MiB:.0f} MiB"
    assert len(server.requests) == 1
