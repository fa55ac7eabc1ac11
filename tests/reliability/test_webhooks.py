"""3.10 Webhooks: `verify_webhook` is total over hostile input, and `construct_event` never
acts on (or echoes) what it could not verify."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import craft_sdk
from craft_sdk import construct_event, sign_webhook, verify_webhook
from craft_sdk.testing import CraftEmulator

from ..test_secrets import reachable_text
from .conftest import KEY, raises

# GitHub's published test vector (docs: validating webhook deliveries).
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

SECRET = "whsec_reliability_9a8b7c6d5e4f"
BODY = json.dumps(
    {
        "event": "project.updated",
        "timestamp": "2024-01-15T12:30:00Z",
        "data": {"projectId": "proj_123", "changes": ["name", "settings"]},
    },
    separators=(",", ":"),
).encode()
GOOD = sign_webhook(BODY, SECRET)
BAD = "sha256=" + "0" * 64


def test_the_published_vector_verifies() -> None:
    assert verify_webhook(GH_BODY, GH_SIGNATURE, GH_SECRET) is True
    assert verify_webhook(GH_BODY.decode(), GH_SIGNATURE, GH_SECRET) is True  # str: UTF-8
    assert verify_webhook(bytearray(GH_BODY), GH_SIGNATURE, GH_SECRET.encode()) is True
    assert sign_webhook(GH_BODY, GH_SECRET) == GH_SIGNATURE


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps(json.loads(BODY)).encode(),  # parsed and dumped again: other spacing
        BODY.replace(b",", b", "),
        BODY + b"\n",
        BODY.replace(b"}", b"}\r\n", 1),
        b"\xef\xbb\xbf" + BODY,
        BODY.strip(b"}"),
        b"",
    ],
    ids=["reserialised", "spaced", "trailing-newline", "crlf", "bom", "truncated", "empty"],
)
def test_any_change_to_the_bytes_fails_verification(payload: bytes) -> None:
    assert verify_webhook(payload, GOOD, SECRET) is False


@pytest.mark.parametrize(
    "header",
    [
        GOOD.upper().replace("SHA256=", "sha256="),  # uppercase hex
        "SHA256=" + GOOD[7:],
        f"  {GOOD}\t",
        f"{BAD},{GOOD}",
        f"{BAD}, {GOOD}",
        f"sha1=abc, {GOOD}",
    ],
    ids=["upper-hex", "upper-prefix", "whitespace", "merged", "merged-spaced", "with-sha1"],
)
def test_lenient_but_exact_header_forms_verify(header: str) -> None:
    assert verify_webhook(BODY, header, SECRET) is True


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        GOOD[7:],  # no prefix
        "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest(),
        "sha512=" + hmac.new(SECRET.encode(), BODY, hashlib.sha512).hexdigest(),
        GOOD[:-1],  # 63 hex digits
        GOOD + "0",  # 65
        GOOD[:-1] + "g",  # not hex
        "sha256=" + "é" * 64,  # non-ASCII: compare_digest on str would raise TypeError
        "sha256=" + "٣" * 64,  # Arabic-Indic digits: int() and fromhex() tricks
        "sha256=" + GOOD[7:].replace("a", "\u0430"),  # Cyrillic look-alike
        ",".join([BAD] * 8 + [GOOD]),  # nine entries: over the cap, even with a good one
        "sha256=\x00" + GOOD[8:],
        "sha256=",
        ",,,",
        b"sha256=\xff",
        12345,
        ["sha256=" + GOOD[7:]],
    ],
    ids=[
        "none",
        "empty",
        "no-prefix",
        "sha1",
        "sha512",
        "63-hex",
        "65-hex",
        "non-hex",
        "non-ascii",
        "unicode-digits",
        "homoglyph",
        "nine-entries",
        "nul",
        "prefix-only",
        "commas",
        "bytes-non-ascii",
        "int",
        "list",
    ],
)
def test_malformed_signatures_are_false_never_an_exception(header: Any) -> None:
    assert verify_webhook(BODY, header, SECRET) is False


def test_eight_entries_are_still_checked() -> None:
    assert verify_webhook(BODY, ",".join([BAD] * 7 + [GOOD]), SECRET) is True


def test_rotation_accepts_any_listed_secret_and_only_those() -> None:
    old, new = "whsec_old_1111", "whsec_new_2222"
    for signer in (old, new):
        assert verify_webhook(BODY, sign_webhook(BODY, signer), [old, new]) is True
    assert verify_webhook(BODY, sign_webhook(BODY, "whsec_other"), [old, new]) is False


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("", ValueError),
        (b"", ValueError),
        ([], ValueError),
        (["ok", ""], ValueError),
        (None, TypeError),
        (42, TypeError),
    ],
    ids=["empty-str", "empty-bytes", "empty-list", "one-empty", "none", "int"],
)
def test_a_missing_secret_is_a_programming_error_not_a_pass(
    secret: Any, kind: type[Exception]
) -> None:
    # An empty HMAC key is one anyone can use: never "verified".
    forged = "sha256=" + hmac.new(b"", BODY, hashlib.sha256).hexdigest()
    with raises(kind):
        verify_webhook(BODY, forged, secret)


@pytest.mark.parametrize(
    "payload", [{"event": "x"}, ["x"], 42, None], ids=["dict", "list", "int", "none"]
)
def test_a_parsed_payload_is_refused_with_a_hint_at_the_raw_body(payload: Any) -> None:
    with raises(TypeError) as caught:
        verify_webhook(payload, GOOD, SECRET)
    assert "raw request body" in str(caught.value)


def test_the_comparison_is_constant_time_over_bytes() -> None:
    with mock.patch("craft_sdk.webhooks.hmac.compare_digest", wraps=hmac.compare_digest) as spy:
        assert verify_webhook(BODY, f"{BAD},{GOOD}", [SECRET, "whsec_other"]) is True
    assert spy.call_count == 4  # every signature against every secret: no early exit
    for call in spy.call_args_list:
        assert all(isinstance(argument, bytes) for argument in call.args)


# Every health check but the deprecated ones. hypothesis leaves `HealthCheckMeta.__iter__`
# unannotated, so pyright infers the metaclass as the item type of `list(HealthCheck)`; the
# items are `HealthCheck` members (mypy types enum iteration itself and needs no help).
EVERY_HEALTH_CHECK: list[HealthCheck] = list(HealthCheck)  # pyright: ignore[reportAssignmentType]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=EVERY_HEALTH_CHECK)
@given(
    payload=st.one_of(st.binary(max_size=256), st.text(max_size=128)),
    header=st.one_of(
        st.none(),
        st.text(max_size=200),
        st.binary(max_size=80),
        st.lists(
            st.text(alphabet="0123456789abcdefABCDEF", min_size=60, max_size=68), max_size=10
        ).map(lambda parts: ",".join("sha256=" + part for part in parts)),
    ),
)
def test_verification_is_total_over_arbitrary_input(payload: bytes | str, header: Any) -> None:
    # Never an exception, and never a forgery: random headers do not carry the right HMAC.
    assert verify_webhook(payload, header, SECRET) is False


def test_a_large_payload_verifies_in_linear_time() -> None:
    body = b"x" * (8 * 1024 * 1024)
    signature = sign_webhook(body, SECRET)
    started = time.perf_counter()
    assert verify_webhook(body, f"{BAD},{signature}", SECRET) is True
    assert time.perf_counter() - started < 1.0


# --- construct_event ----------------------------------------------------------------------------


def assert_nothing_echoed(error: BaseException, *secrets: str) -> None:
    texts = reachable_text(error)
    for secret in secrets:
        assert [text for text in texts if secret in text] == []


def test_a_tampered_delivery_is_refused_without_echoing_anything() -> None:
    tampered = BODY.replace(b"proj_123", b"proj_999")
    with raises(craft_sdk.WebhookSignatureMismatchError) as caught:
        construct_event(tampered, GOOD, SECRET)
    assert_nothing_echoed(caught.value, SECRET, GOOD[7:], "proj_999")  # raises() checks KEY


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Craft-Signature": ""}, {"X-Craft-Signature": "   "}, {"X-Other": GOOD}],
    ids=["none", "empty", "blank", "other-header"],
)
def test_a_delivery_without_a_signature_is_refused(headers: dict[str, str]) -> None:
    with raises(craft_sdk.WebhookSignatureMissingError) as caught:
        construct_event(BODY, headers=headers, secret=SECRET)
    assert_nothing_echoed(caught.value, SECRET)


@pytest.mark.parametrize(
    "headers",
    [{"X-Craft-Signature": GOOD}, {"x-craft-signature": GOOD}, {"X-CRAFT-SIGNATURE": GOOD}],
    ids=["canonical", "lower", "upper"],
)
def test_the_signature_header_is_found_in_any_case(headers: dict[str, str]) -> None:
    event = construct_event(BODY, headers=headers, secret=SECRET)
    assert event.event == "project.updated"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"no": "event"}', b'{"event": 5}', b"[" * 50_000],
    ids=["not-json", "array", "no-event", "event-not-str", "deep"],
)
def test_a_signed_body_that_is_not_an_event_is_a_payload_error(body: bytes) -> None:
    with raises(craft_sdk.WebhookPayloadError) as caught:
        construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert_nothing_echoed(caught.value, SECRET)


def test_a_replayed_delivery_verifies_again_unless_a_tolerance_is_set() -> None:
    # The scheme signs no delivery id of its own: a captured delivery verifies forever...
    first = construct_event(BODY, GOOD, SECRET)
    again = construct_event(BODY, GOOD, SECRET)
    assert first == again
    # ...and only the signed body timestamp can bound it.
    assert first.timestamp is not None
    signed_at = first.timestamp.timestamp()
    with raises(craft_sdk.WebhookTimestampError) as caught:
        construct_event(BODY, GOOD, SECRET, tolerance=300, now=signed_at + 301)
    assert caught.value.age == pytest.approx(301)
    with raises(craft_sdk.WebhookTimestampError) as ahead:
        construct_event(BODY, GOOD, SECRET, tolerance=300, now=signed_at - 301)
    assert ahead.value.age == pytest.approx(-301)
    assert construct_event(BODY, GOOD, SECRET, tolerance=300, now=signed_at + 300) == first


def test_every_delivery_from_the_emulator_verifies_and_a_tampered_one_does_not() -> None:
    deliveries: list[tuple[bytes, dict[str, str]]] = []
    emulator = CraftEmulator(api_key=KEY)
    emulator.on_webhook(lambda body, headers: deliveries.append((body, headers)), secret=SECRET)
    with emulator.client() as client:
        project = client.projects.create(name="Hooked")
        client.projects.update(project.id, name="Renamed")
        client.projects.delete(project.id)
    events = [construct_event(body, headers=headers, secret=SECRET) for body, headers in deliveries]
    assert [event.event for event in events] == [
        "project.created",
        "project.updated",
        "project.deleted",
    ]
    body, headers = deliveries[0]
    with raises(craft_sdk.WebhookSignatureMismatchError):
        construct_event(body + b" ", headers=headers, secret=SECRET)
    with raises(craft_sdk.WebhookSignatureMismatchError):
        construct_event(body, headers=headers, secret="whsec_wrong")
