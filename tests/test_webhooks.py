"""Webhook signatures: known vectors, a verifier that never raises on what a sender controls,
rotation, constant-time comparison, typed events, and the freshness check. No HTTP at all."""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import pickle
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import craft_sdk.webhooks
from craft_sdk import (
    BuildCompletedEvent,
    BuildFailedEvent,
    BuildStartedEvent,
    CraftError,
    ProjectCreatedEvent,
    ProjectDeletedEvent,
    ProjectUpdatedEvent,
    UnknownWebhookEvent,
    WebhookPayloadError,
    WebhookSignatureMismatchError,
    WebhookSignatureMissingError,
    WebhookTimestampError,
    WebhookVerificationError,
    construct_event,
    sign_webhook,
    verify_webhook,
)
from craft_sdk.models import ProjectEventData
from craft_sdk.webhooks import MAX_SIGNATURES, SECRET_ENV

SECRET = "whsec_craft_test_secret"
OLD_SECRET = "whsec_old_rotated_out"
OTHER_SECRET = "whsec_not_the_one"
# The documented example body, exactly these bytes (no spaces).
BODY = (
    b'{"event":"project.updated","timestamp":"2024-01-15T10:30:00Z",'
    b'"data":{"projectId":"proj_123","changes":["name","settings"]}}'
)
BODY_HEX = "1c8cc4c2ee6f710caf571282b7e810d03f696d11f5b71a09d990905add0698fc"
SIGNATURE = "sha256=" + BODY_HEX
TIMESTAMP = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)
HEX_DIGITS = "0123456789abcdef"


def hmac_hex(body: bytes, secret: str, digestmod: Any = hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, digestmod).hexdigest()


def delivery(event: str, data: Any, **extra: Any) -> bytes:
    return json.dumps(
        {"event": event, "timestamp": "2024-01-15T10:30:00Z", "data": data, **extra}
    ).encode()


def message_texts(error: BaseException) -> str:
    """What an error says about itself: its str, repr and args."""
    return "\n".join([str(error), repr(error), *(str(arg) for arg in error.args)])


# 1. Fixed vectors, computed with `openssl dgst -sha256 -hmac`, not with this implementation.

VECTORS = [
    pytest.param(
        "It's a Secret to Everybody",
        b"Hello, World!",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        id="github-published",
    ),
    pytest.param(SECRET, BODY, BODY_HEX, id="craft-project-updated"),
    # printf 'craft\x00\xff\xfe\x80binary\r\n' | openssl dgst -sha256 -hmac 'whsec_binary'
    pytest.param(
        "whsec_binary",
        b"craft\x00\xff\xfe\x80binary\r\n",
        "d4eedbd7fc1cad4bb86218b213a07f742cb7dae5720e4563d12395abc91b676c",
        id="binary-nul-and-non-utf8",
    ),
]


@pytest.mark.parametrize(("secret", "body", "expected_hex"), VECTORS)
def test_sign_webhook_matches_the_fixed_vectors(
    secret: str, body: bytes, expected_hex: str
) -> None:
    assert sign_webhook(body, secret) == "sha256=" + expected_hex
    assert sign_webhook(body, secret.encode()) == "sha256=" + expected_hex


@pytest.mark.parametrize(("secret", "body", "expected_hex"), VECTORS)
def test_verify_webhook_accepts_the_fixed_vectors(
    secret: str, body: bytes, expected_hex: str
) -> None:
    assert verify_webhook(body, "sha256=" + expected_hex, secret) is True
    assert verify_webhook(body, "sha256=" + expected_hex, secret.encode()) is True
    assert verify_webhook(body, "sha256=" + expected_hex, OTHER_SECRET) is False


def test_the_binary_vector_really_is_not_utf8() -> None:
    body = b"craft\x00\xff\xfe\x80binary\r\n"
    assert b"\x00" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_sign_webhook_returns_lowercase_hex() -> None:
    signature = sign_webhook(b"anything", "k")
    prefix, _, digest = signature.partition("=")
    assert prefix == "sha256"
    assert len(digest) == 64
    assert set(digest) <= set(HEX_DIGITS)


# 2. verify_webhook is total: a malformed signature is False, never an exception.


def _translate_digits(text: str, zero: str) -> str:
    return text.translate({ord("0") + i: ord(zero) + i for i in range(10)})


FULLWIDTH_HEX = _translate_digits(BODY_HEX, "\uff10")
ARABIC_INDIC_HEX = _translate_digits(BODY_HEX, "\u0660")

MALFORMED: list[Any] = [
    pytest.param(None, id="none"),
    pytest.param("", id="empty"),
    pytest.param("   \t\n", id="whitespace"),
    pytest.param("sha256=", id="prefix-only"),
    pytest.param(BODY_HEX, id="bare-hex"),
    pytest.param("=" + BODY_HEX, id="empty-algorithm"),
    pytest.param("sha256:" + BODY_HEX, id="colon-not-equals"),
    pytest.param("sha1=" + hmac_hex(BODY, SECRET, hashlib.sha1), id="sha1"),
    pytest.param("sha512=" + hmac_hex(BODY, SECRET, hashlib.sha512), id="sha512"),
    pytest.param("sha512=" + BODY_HEX, id="sha512-prefix-sha256-digest"),
    pytest.param("sha256=" + BODY_HEX[:-1], id="63-hex"),
    pytest.param("sha256=" + BODY_HEX + "0", id="65-hex"),
    pytest.param("sha256=" + BODY_HEX + BODY_HEX, id="128-hex"),
    pytest.param("sha256=" + BODY_HEX[:-1] + "g", id="non-hex-g"),
    pytest.param("sha256=" + "é" * 64, id="non-ascii"),
    pytest.param("sha256=" + FULLWIDTH_HEX, id="fullwidth-digits"),
    pytest.param("sha256=" + ARABIC_INDIC_HEX, id="arabic-indic-digits"),
    pytest.param("sha256=" + BODY_HEX[:32] + " " + BODY_HEX[32:], id="inner-space"),
    pytest.param("sha256=" + hmac_hex(b"another body", SECRET), id="wrong-body"),
    pytest.param(b"\xff\xfe" + SIGNATURE.encode(), id="bytes-invalid"),
    pytest.param(SIGNATURE.encode() + b"\x80", id="bytes-trailing-invalid"),
    pytest.param(12345, id="int"),
    pytest.param(int(BODY_HEX, 16), id="int-of-the-digest"),
    pytest.param([SIGNATURE], id="list"),
    pytest.param(bytearray(b"x"), id="bytearray-garbage"),
]


@pytest.mark.parametrize("signature", MALFORMED)
def test_malformed_signatures_are_false_not_errors(signature: Any) -> None:
    assert verify_webhook(BODY, signature, SECRET) is False


def test_the_unicode_digit_signatures_would_fool_a_lax_parser() -> None:
    # Guards the guard: int() reads these as the right digest, so a parser built on it would
    # accept them.
    assert int(FULLWIDTH_HEX, 16) == int(BODY_HEX, 16)
    assert int(ARABIC_INDIC_HEX, 16) == int(BODY_HEX, 16)
    assert FULLWIDTH_HEX != BODY_HEX
    assert ARABIC_INDIC_HEX != BODY_HEX


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(SIGNATURE, id="canonical"),
        pytest.param(SIGNATURE.encode(), id="ascii-bytes"),
        pytest.param("SHA256=" + BODY_HEX, id="upper-prefix"),
        pytest.param("Sha256=" + BODY_HEX, id="title-prefix"),
        pytest.param("sHa256=" + BODY_HEX, id="mixed-prefix"),
        pytest.param("sha256=" + BODY_HEX.upper(), id="upper-hex"),
        pytest.param("SHA256=" + BODY_HEX.upper(), id="all-upper"),
        pytest.param("  " + SIGNATURE + "  ", id="spaces-around"),
        pytest.param("\t" + SIGNATURE + "\r\n", id="tab-and-crlf-around"),
    ],
)
def test_accepted_signature_spellings(signature: Any) -> None:
    assert verify_webhook(BODY, signature, SECRET) is True


WRONG_1 = "sha256=" + hmac_hex(BODY, OTHER_SECRET)
WRONG_2 = "sha256=" + hmac_hex(b"other", SECRET)
WRONG_3 = "sha256=" + "0" * 64


@pytest.mark.parametrize("separator", [",", ", ", " , "])
def test_several_signatures_none_matching_is_false(separator: str) -> None:
    header = separator.join([WRONG_1, WRONG_2, WRONG_3])
    assert verify_webhook(BODY, header, SECRET) is False


@pytest.mark.parametrize("separator", [",", ", ", " , "])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_several_signatures_one_matching_is_true(separator: str, position: int) -> None:
    values = [WRONG_1, WRONG_2]
    values.insert(position, SIGNATURE)
    assert verify_webhook(BODY, separator.join(values), SECRET) is True


def test_a_malformed_entry_does_not_spoil_a_matching_one() -> None:
    header = f"sha1=abc, garbage, , {SIGNATURE}"
    assert verify_webhook(BODY, header, SECRET) is True


def test_max_signatures_values_with_one_matching_is_true() -> None:
    header = ",".join([WRONG_3] * (MAX_SIGNATURES - 1) + [SIGNATURE])
    assert verify_webhook(BODY, header, SECRET) is True


@pytest.mark.parametrize("position", ["first", "last"])
def test_more_than_max_signatures_is_false_even_with_a_match(position: str) -> None:
    wrong = [WRONG_3] * MAX_SIGNATURES
    values = [SIGNATURE, *wrong] if position == "first" else [*wrong, SIGNATURE]
    assert len(values) == MAX_SIGNATURES + 1
    assert verify_webhook(BODY, ",".join(values), SECRET) is False


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(BODY, id="bytes"),
        pytest.param(bytearray(BODY), id="bytearray"),
        pytest.param(memoryview(BODY), id="memoryview"),
        pytest.param(BODY.decode(), id="str"),
    ],
)
def test_every_raw_payload_type_verifies(payload: Any) -> None:
    assert verify_webhook(payload, SIGNATURE, SECRET) is True
    assert sign_webhook(payload, SECRET) == SIGNATURE


def test_a_str_payload_is_its_utf8_encoding() -> None:
    text = '{"event":"project.created","data":{"projectId":"café ☕ 項目"}}'
    signature = "sha256=" + hmac_hex(text.encode("utf-8"), SECRET)
    assert verify_webhook(text, signature, SECRET) is True
    assert verify_webhook(text.encode("latin-1", "replace"), signature, SECRET) is False


def test_a_str_payload_with_a_lone_surrogate_is_false() -> None:
    assert verify_webhook('{"event":"\udc80"}', SIGNATURE, SECRET) is False
    assert verify_webhook(BODY.decode() + "\ud800", SIGNATURE, SECRET) is False


def _one_byte_changed(body: bytes) -> bytes:
    changed = bytearray(body)
    changed[10] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize(
    "altered",
    [
        pytest.param(_one_byte_changed(BODY), id="one-byte"),
        pytest.param(BODY.replace(b",", b",\r\n"), id="crlf"),
        pytest.param(BODY + b"\n", id="trailing-lf"),
        pytest.param(BODY + b"\r\n", id="trailing-crlf"),
        pytest.param(b"\xef\xbb\xbf" + BODY, id="bom"),
        pytest.param(json.dumps(json.loads(BODY)).encode(), id="reserialised-json"),
        pytest.param(BODY[:-1], id="truncated"),
        pytest.param(b"", id="empty"),
    ],
)
def test_an_altered_body_is_false(altered: bytes) -> None:
    assert altered != BODY
    assert verify_webhook(altered, SIGNATURE, SECRET) is False


def test_crlf_and_lf_bodies_sign_differently() -> None:
    lf = b'{"event":"project.created",\n"data":{}}'
    crlf = lf.replace(b"\n", b"\r\n")
    assert verify_webhook(lf, sign_webhook(lf, SECRET), SECRET) is True
    assert verify_webhook(crlf, sign_webhook(lf, SECRET), SECRET) is False
    assert verify_webhook(lf, sign_webhook(crlf, SECRET), SECRET) is False


# 3. Programming errors raise, and say nothing of the secret or the payload.

LEAKY_SECRET = "whsec_must_never_be_printed_4242"
MARKER = "payload_marker_7781"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"event": "project.created", "data": {"projectId": MARKER}}, id="dict"),
        pytest.param([MARKER], id="list"),
        pytest.param(7781, id="int"),
        pytest.param(None, id="none"),
        pytest.param(
            ProjectCreatedEvent.model_validate(
                {"event": "project.created", "data": {"projectId": MARKER}}
            ),
            id="pydantic-model",
        ),
    ],
)
@pytest.mark.parametrize("function", ["verify", "sign", "construct"])
def test_a_parsed_payload_is_a_type_error_pointing_at_the_raw_body(
    payload: Any, function: str
) -> None:
    signature = sign_webhook(b"{}", LEAKY_SECRET)
    calls: dict[str, Callable[[], object]] = {
        "verify": lambda: verify_webhook(payload, signature, LEAKY_SECRET),
        "sign": lambda: sign_webhook(payload, LEAKY_SECRET),
        "construct": lambda: construct_event(payload, signature, LEAKY_SECRET),
    }
    with pytest.raises(TypeError) as caught:
        calls[function]()
    text = message_texts(caught.value)
    assert "raw request body" in text
    assert LEAKY_SECRET not in text
    assert MARKER not in text
    assert "7781" not in text
    assert signature[7:] not in text


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty-str"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param([], id="empty-list"),
        pytest.param((), id="empty-tuple"),
        pytest.param([LEAKY_SECRET, ""], id="list-with-empty"),
        pytest.param([b"", LEAKY_SECRET], id="list-with-empty-bytes-first"),
    ],
)
def test_an_empty_secret_is_a_value_error(secret: Any) -> None:
    with pytest.raises(ValueError, match="secret") as caught:
        verify_webhook(BODY, SIGNATURE, secret)
    assert LEAKY_SECRET not in message_texts(caught.value)
    assert BODY.decode() not in message_texts(caught.value)


@pytest.mark.parametrize("secret", [pytest.param("", id="str"), pytest.param(b"", id="bytes")])
def test_sign_webhook_refuses_an_empty_secret(secret: Any) -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_webhook(BODY, secret)


def test_an_empty_secret_is_refused_even_when_the_signature_is_malformed() -> None:
    # A mistake in the calling code must not hide behind a False.
    with pytest.raises(ValueError, match="secret"):
        verify_webhook(BODY, None, "")


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(4242, id="int"),
        pytest.param(None, id="none"),
        pytest.param([LEAKY_SECRET, None], id="none-in-list"),
        pytest.param([LEAKY_SECRET, 4242], id="int-in-list"),
        pytest.param({"key": LEAKY_SECRET}, id="dict"),
    ],
)
def test_a_secret_of_the_wrong_type_is_a_type_error(secret: Any) -> None:
    with pytest.raises(TypeError) as caught:
        verify_webhook(BODY, SIGNATURE, secret)
    text = message_texts(caught.value)
    assert LEAKY_SECRET not in text
    assert BODY.decode() not in text


@pytest.mark.parametrize(
    "secrets",
    [
        pytest.param([LEAKY_SECRET], id="list-of-one"),
        pytest.param([LEAKY_SECRET, OLD_SECRET], id="list-of-two"),
        pytest.param((LEAKY_SECRET,), id="tuple"),
    ],
)
def test_sign_webhook_takes_one_secret_not_a_list(secrets: Any) -> None:
    with pytest.raises(TypeError) as caught:
        sign_webhook(BODY, secrets)
    text = message_texts(caught.value)
    assert LEAKY_SECRET not in text
    assert BODY.decode() not in text


# 4. Constant time.


def test_signatures_are_compared_with_compare_digest_on_raw_digests() -> None:
    with patch(
        "craft_sdk.webhooks.hmac.compare_digest", wraps=hmac.compare_digest
    ) as compare_digest:
        assert verify_webhook(BODY, SIGNATURE, SECRET) is True
    assert compare_digest.call_count >= 1
    for call in compare_digest.call_args_list:
        left, right = call.args
        assert type(left) is bytes
        assert type(right) is bytes
        assert len(left) == 32
        assert len(right) == 32


def test_a_wrong_signature_is_also_compared_with_compare_digest() -> None:
    with patch(
        "craft_sdk.webhooks.hmac.compare_digest", wraps=hmac.compare_digest
    ) as compare_digest:
        assert verify_webhook(BODY, WRONG_3, SECRET) is False
    assert compare_digest.call_count == 1
    left, right = compare_digest.call_args.args
    assert (type(left), type(right), len(left), len(right)) == (bytes, bytes, 32, 32)


def test_every_signature_is_checked_against_every_secret_without_early_exit() -> None:
    # The match comes first: stopping there would make the time depend on which one matched.
    header = f"{SIGNATURE}, {WRONG_1}, {WRONG_2}"
    with patch(
        "craft_sdk.webhooks.hmac.compare_digest", wraps=hmac.compare_digest
    ) as compare_digest:
        assert verify_webhook(BODY, header, [SECRET, OLD_SECRET]) is True
    assert compare_digest.call_count == 3 * 2


_SENSITIVE = ("digest", "signature", "candidate", "expected", "mac", "hexd")


def _suspicious_comparisons(source: str) -> list[str]:
    """`==`, `!=`, `in` or `not in` where an operand names a digest or a signature."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
            continue
        names = [
            sub.id if isinstance(sub, ast.Name) else sub.attr
            for operand in [node.left, *node.comparators]
            for sub in ast.walk(operand)
            if isinstance(sub, (ast.Name, ast.Attribute))
        ]
        if any(word in name.lower() for name in names for word in _SENSITIVE):
            found.append(ast.unparse(node))
    return found


def _suspicious_lines(source: str) -> list[str]:
    """Lines (comments and docstrings aside) with `==` or `!=` next to "digest"/"signature"."""
    found: list[str] = []
    for line in source.splitlines():
        code = line.split("#", 1)[0]
        if "==" not in code and "!=" not in code:
            continue
        if "digest" in code.lower() or "signature" in code.lower():
            found.append(line.strip())
    return found


def test_the_source_checks_would_catch_a_plain_comparison() -> None:
    # Guards the guard.
    naive = "def check(candidate, digest):\n    return candidate == digest\n"
    assert _suspicious_comparisons(naive) == ["candidate == digest"]
    assert _suspicious_lines(naive) == ["return candidate == digest"]
    assert _suspicious_comparisons("ok = signature.hex() in expected\n") != []
    assert _suspicious_comparisons("if key.lower() == wanted: pass\n") == []


def test_the_source_never_compares_signatures_with_equality() -> None:
    path = Path(craft_sdk.webhooks.__file__)
    source = path.read_text(encoding="utf-8")
    assert "hmac.compare_digest" in source
    assert _suspicious_comparisons(source) == []
    assert _suspicious_lines(source) == []


# 5. Rotation.


def test_either_secret_of_a_rotation_verifies() -> None:
    old_signature = sign_webhook(BODY, OLD_SECRET)
    assert verify_webhook(BODY, SIGNATURE, [SECRET, OLD_SECRET]) is True
    assert verify_webhook(BODY, old_signature, [SECRET, OLD_SECRET]) is True
    assert verify_webhook(BODY, old_signature, [SECRET, OLD_SECRET.encode()]) is True


def test_a_signature_made_with_neither_secret_is_false() -> None:
    assert verify_webhook(BODY, WRONG_1, [SECRET, OLD_SECRET]) is False


@pytest.mark.parametrize(
    "secrets",
    [[SECRET, OLD_SECRET], [OLD_SECRET, SECRET], (OLD_SECRET, SECRET), [OLD_SECRET, SECRET, "z"]],
)
def test_the_order_of_the_secrets_does_not_matter(secrets: Any) -> None:
    assert verify_webhook(BODY, SIGNATURE, secrets) is True
    assert verify_webhook(BODY, sign_webhook(BODY, OLD_SECRET), secrets) is True
    assert verify_webhook(BODY, WRONG_1, secrets) is False


@pytest.mark.parametrize("order", ["old-first", "new-first"])
def test_a_header_with_old_and_new_signatures_passes_a_verifier_with_only_the_new(
    order: str,
) -> None:
    old, new = sign_webhook(BODY, OLD_SECRET), sign_webhook(BODY, SECRET)
    header = f"{old},{new}" if order == "old-first" else f"{new}, {old}"
    assert verify_webhook(BODY, header, SECRET) is True
    assert verify_webhook(BODY, header, [SECRET]) is True
    assert verify_webhook(BODY, header, OTHER_SECRET) is False


# 6. construct_event.

EVENT_CASES = [
    pytest.param(
        "project.created", {"projectId": "proj_123"}, ProjectCreatedEvent, id="project.created"
    ),
    pytest.param(
        "project.updated",
        {"projectId": "proj_123", "changes": ["name", "settings"]},
        ProjectUpdatedEvent,
        id="project.updated",
    ),
    pytest.param(
        "project.deleted", {"projectId": "proj_123"}, ProjectDeletedEvent, id="project.deleted"
    ),
    pytest.param(
        "build.started",
        {"projectId": "proj_123", "deploymentId": "dep_9", "status": "building"},
        BuildStartedEvent,
        id="build.started",
    ),
    pytest.param(
        "build.completed",
        {
            "projectId": "proj_123",
            "deploymentId": "dep_9",
            "status": "ready",
            "url": "https://proj-123.craft.app",
        },
        BuildCompletedEvent,
        id="build.completed",
    ),
    pytest.param(
        "build.failed",
        {
            "projectId": "proj_123",
            "deploymentId": "dep_9",
            "status": "failed",
            "error": "npm install exited with 1",
        },
        BuildFailedEvent,
        id="build.failed",
    ),
]


@pytest.mark.parametrize(("name", "data", "event_class"), EVENT_CASES)
def test_each_documented_event_is_parsed_into_its_class(
    name: str, data: dict[str, Any], event_class: type[Any]
) -> None:
    body = delivery(name, data)
    event = construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert type(event) is event_class
    assert event.event == name
    assert event.timestamp == TIMESTAMP
    assert event.timestamp is not None
    assert event.timestamp.tzinfo is not None
    assert event.timestamp.utcoffset() == timedelta(0)
    assert isinstance(event.data, ProjectEventData)
    assert event.data.project_id == "proj_123"


def test_project_updated_carries_its_changes() -> None:
    event = construct_event(BODY, SIGNATURE, SECRET)
    assert isinstance(event, ProjectUpdatedEvent)
    assert event.data.changes == ["name", "settings"]
    assert event.data.project_id == "proj_123"


def test_build_events_carry_deployment_status_url_and_error() -> None:
    completed = delivery(
        "build.completed",
        {"projectId": "p", "deploymentId": "dep_9", "status": "ready", "url": "https://x.app"},
    )
    event = construct_event(completed, sign_webhook(completed, SECRET), SECRET)
    assert isinstance(event, BuildCompletedEvent)
    assert (event.data.deployment_id, event.data.status, event.data.url, event.data.error) == (
        "dep_9",
        "ready",
        "https://x.app",
        None,
    )
    failed = delivery(
        "build.failed",
        {"projectId": "p", "deploymentId": "dep_8", "status": "failed", "error": "out of disk"},
    )
    event = construct_event(failed, sign_webhook(failed, SECRET), SECRET)
    assert isinstance(event, BuildFailedEvent)
    assert (event.data.deployment_id, event.data.status, event.data.error) == (
        "dep_8",
        "failed",
        "out of disk",
    )


def test_a_timestamp_without_offset_is_taken_as_utc() -> None:
    body = b'{"event":"project.created","timestamp":"2024-01-15T10:30:00","data":{}}'
    event = construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert event.timestamp == TIMESTAMP
    assert event.timestamp is not None
    assert event.timestamp.tzinfo is not None


def test_an_unknown_event_keeps_its_data_as_sent() -> None:
    data = {"projectId": "proj_123", "seats": 3, "nested": {"someKey": [1, "two"]}}
    body = delivery("billing.plan_changed", data)
    event = construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert type(event) is UnknownWebhookEvent
    assert event.event == "billing.plan_changed"
    assert event.data == data
    assert event.timestamp == TIMESTAMP


def test_unknown_fields_are_kept() -> None:
    body = delivery(
        "project.created", {"projectId": "proj_123", "region": "eu-west"}, deliveryId="dlv_1"
    )
    event = construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert isinstance(event, ProjectCreatedEvent)
    assert event.model_extra == {"deliveryId": "dlv_1"}
    assert event.data.model_extra == {"region": "eu-west"}
    assert event.to_dict()["deliveryId"] == "dlv_1"
    assert event.to_dict()["data"]["region"] == "eu-west"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Craft-Signature": SIGNATURE}, id="canonical"),
        pytest.param({"x-craft-signature": SIGNATURE}, id="lower"),
        pytest.param({"X-CRAFT-SIGNATURE": SIGNATURE}, id="upper"),
        pytest.param({"x-Craft-SIGNATURE": SIGNATURE}, id="mixed"),
        pytest.param(
            {"Content-Type": "application/json", "x-craft-signature": SIGNATURE}, id="among-others"
        ),
        pytest.param(httpx.Headers({"X-Craft-Signature": SIGNATURE}), id="httpx-headers"),
        pytest.param(httpx.Headers({"x-craft-signature": SIGNATURE}), id="httpx-headers-lower"),
    ],
)
def test_the_signature_comes_from_a_headers_mapping_in_any_case(headers: Any) -> None:
    event = construct_event(BODY, secret=SECRET, headers=headers)
    assert isinstance(event, ProjectUpdatedEvent)


def test_a_repeated_header_during_rotation_is_accepted_from_httpx_headers() -> None:
    headers = httpx.Headers(
        [("X-Craft-Signature", sign_webhook(BODY, OLD_SECRET)), ("X-Craft-Signature", SIGNATURE)]
    )
    assert isinstance(construct_event(BODY, secret=SECRET, headers=headers), ProjectUpdatedEvent)


def test_the_signature_can_be_given_directly() -> None:
    assert isinstance(construct_event(BODY, SIGNATURE, SECRET), ProjectUpdatedEvent)
    assert isinstance(
        construct_event(BODY, signature=SIGNATURE, secret=SECRET), ProjectUpdatedEvent
    )


def test_construct_event_accepts_rotating_secrets() -> None:
    signature = sign_webhook(BODY, OLD_SECRET)
    event = construct_event(BODY, signature, [SECRET, OLD_SECRET])
    assert isinstance(event, ProjectUpdatedEvent)


def test_the_secret_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", SECRET)
    assert SECRET_ENV == "CRAFT_WEBHOOK_SECRET"
    assert isinstance(construct_event(BODY, SIGNATURE), ProjectUpdatedEvent)
    event = construct_event(BODY, headers={"x-craft-signature": SIGNATURE})
    assert isinstance(event, ProjectUpdatedEvent)
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", OTHER_SECRET)
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(BODY, SIGNATURE)


def test_a_secret_passed_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", OTHER_SECRET)
    assert isinstance(construct_event(BODY, SIGNATURE, SECRET), ProjectUpdatedEvent)


@pytest.mark.parametrize("env", [None, ""])
def test_no_secret_anywhere_is_a_value_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    if env is None:
        monkeypatch.delenv("CRAFT_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("CRAFT_WEBHOOK_SECRET", env)
    with pytest.raises(ValueError, match="CRAFT_WEBHOOK_SECRET"):
        construct_event(BODY, SIGNATURE)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"signature": None}, id="signature-none"),
        pytest.param({"signature": ""}, id="signature-empty"),
        pytest.param({"signature": "   "}, id="signature-blank"),
        pytest.param({"headers": {}}, id="empty-headers"),
        pytest.param({"headers": {"Content-Type": "application/json"}}, id="other-headers"),
        pytest.param({"headers": {"X-Craft-Signature": ""}}, id="empty-header"),
        pytest.param({"headers": httpx.Headers({"X-Other": SIGNATURE})}, id="httpx-without"),
    ],
)
def test_a_missing_signature_is_signature_missing(kwargs: dict[str, Any]) -> None:
    with pytest.raises(WebhookSignatureMissingError) as caught:
        construct_event(BODY, secret=SECRET, **kwargs)
    assert "X-Craft-Signature" in str(caught.value)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(WRONG_1, id="other-secret"),
        pytest.param(WRONG_2, id="other-body"),
        pytest.param(BODY_HEX, id="malformed-bare-hex"),
        pytest.param("sha256=xyz", id="malformed-short"),
        pytest.param("sha1=" + hmac_hex(BODY, SECRET, hashlib.sha1), id="malformed-sha1"),
        pytest.param(",".join([SIGNATURE] * (MAX_SIGNATURES + 1)), id="too-many"),
    ],
)
def test_a_wrong_or_malformed_signature_is_signature_mismatch(signature: str) -> None:
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(BODY, signature, SECRET)
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(BODY, secret=SECRET, headers={"X-Craft-Signature": signature})


def test_a_changed_body_is_signature_mismatch() -> None:
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(json.dumps(json.loads(BODY)), SIGNATURE, SECRET)


BAD_PAYLOADS = [
    pytest.param(b"not json at all " + MARKER.encode(), id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
    pytest.param(b"[1, 2, 3]", id="json-list"),
    pytest.param(b'"project.created"', id="json-string"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b'{"data": {"projectId": "' + MARKER.encode() + b'"}}', id="no-event"),
    pytest.param(b'{"event": 5, "data": {}}', id="event-int"),
    pytest.param(b'{"event": null, "data": {}}', id="event-null"),
    pytest.param(b'{"event": ["project.created"], "data": {}}', id="event-list"),
    pytest.param(delivery("project.created", MARKER), id="data-a-string"),
    pytest.param(delivery("project.updated", {"changes": MARKER}), id="changes-a-string"),
    pytest.param(delivery("build.failed", [MARKER]), id="data-a-list"),
    pytest.param(b'{"event": "project.deleted"}', id="data-missing"),
    pytest.param(
        b'{"event": "project.created", "timestamp": "' + MARKER.encode() + b'", "data": {}}',
        id="timestamp-not-a-date",
    ),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
]


@pytest.mark.parametrize("body", BAD_PAYLOADS)
def test_a_signed_body_that_is_not_an_event_is_a_payload_error(body: bytes) -> None:
    signature = sign_webhook(body, LEAKY_SECRET)
    with pytest.raises(WebhookPayloadError) as caught:
        construct_event(body, signature, LEAKY_SECRET)
    text = message_texts(caught.value)
    assert LEAKY_SECRET not in text
    assert signature[7:] not in text
    assert MARKER not in text
    if body:
        assert body.decode("utf-8", "replace")[:200] not in text


def test_a_body_that_does_not_fit_its_event_says_where_and_what() -> None:
    body = delivery("project.updated", {"projectId": "proj_123", "changes": {"name": MARKER}})
    with pytest.raises(WebhookPayloadError) as caught:
        construct_event(body, sign_webhook(body, SECRET), SECRET)
    error = caught.value
    assert str(error) == (
        "The webhook body does not fit a project.updated event: "
        "data.changes: Input should be a valid list"
    )
    assert error.errors == [("data.changes", "Input should be a valid list")]
    assert error.__suppress_context__  # what matters is in the message, not a hidden context
    assert MARKER not in message_texts(error) + repr(error.errors)


def test_a_payload_error_names_the_first_three_problems_and_keeps_them_all() -> None:
    data = {"projectId": 1, "deploymentId": 2, "status": 3, "url": 4, "error": 5}
    body = delivery("build.failed", data)
    with pytest.raises(WebhookPayloadError) as caught:
        construct_event(body, sign_webhook(body, SECRET), SECRET)
    fields = ["projectId", "deploymentId", "status", "url", "error"]
    assert caught.value.errors == [
        (f"data.{field}", "Input should be a valid string") for field in fields
    ]
    assert str(caught.value) == (
        "The webhook body does not fit a build.failed event: "
        "data.projectId: Input should be a valid string; "
        "data.deploymentId: Input should be a valid string; "
        "data.status: Input should be a valid string (and 2 more)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The webhook body is not JSON."),
        (b'{"data": {}}', 'The webhook body is not an object with an "event" name.'),
    ],
)
def test_a_body_that_is_not_an_event_has_no_errors_to_list(body: bytes, message: str) -> None:
    with pytest.raises(WebhookPayloadError) as caught:
        construct_event(body, sign_webhook(body, SECRET), SECRET)
    assert (str(caught.value), caught.value.errors) == (message, [])


def test_a_payload_error_pickles_with_its_errors() -> None:
    body = delivery("project.updated", {"changes": "name"})
    with pytest.raises(WebhookPayloadError) as caught:
        construct_event(body, sign_webhook(body, SECRET), SECRET)
    restored = pickle.loads(pickle.dumps(caught.value))
    assert type(restored) is WebhookPayloadError
    assert (str(restored), restored.errors) == (str(caught.value), caught.value.errors)
    assert restored.errors == [("data.changes", "Input should be a valid list")]


def test_verification_happens_before_parsing() -> None:
    body = b"not json " + MARKER.encode()
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(body, WRONG_1, SECRET)
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(body, "sha256=zz", SECRET)
    with pytest.raises(WebhookSignatureMissingError):
        construct_event(body, None, SECRET)
    # ...and with the right signature the same body is a payload error.
    with pytest.raises(WebhookPayloadError):
        construct_event(body, sign_webhook(body, SECRET), SECRET)


@pytest.mark.parametrize(
    "error_class",
    [
        WebhookSignatureMissingError,
        WebhookSignatureMismatchError,
        WebhookTimestampError,
        WebhookPayloadError,
    ],
)
def test_every_webhook_error_is_a_verification_error_and_a_craft_error(
    error_class: type[Exception],
) -> None:
    assert issubclass(error_class, WebhookVerificationError)
    assert issubclass(error_class, CraftError)


def _raise_each_error() -> list[tuple[BaseException, str]]:
    """One of each verification error, with the signature that was sent."""
    raised: list[tuple[BaseException, str]] = []
    stale = BODY
    cases: list[tuple[bytes, str, dict[str, Any]]] = [
        (BODY, "", {}),
        (BODY, sign_webhook(BODY, OTHER_SECRET), {}),
        (stale, sign_webhook(stale, LEAKY_SECRET), {"tolerance": 300, "now": 2_000_000_000}),
        (b"{" + MARKER.encode(), sign_webhook(b"{" + MARKER.encode(), LEAKY_SECRET), {}),
    ]
    for body, signature, kwargs in cases:
        with pytest.raises(WebhookVerificationError) as caught:
            construct_event(body, signature, LEAKY_SECRET, **kwargs)
        raised.append((caught.value, signature))
    return raised


def test_verification_errors_never_repeat_the_secret_the_signature_or_the_body() -> None:
    raised = _raise_each_error()
    assert [type(error) for error, _ in raised] == [
        WebhookSignatureMissingError,
        WebhookSignatureMismatchError,
        WebhookTimestampError,
        WebhookPayloadError,
    ]
    for error, signature in raised:
        assert isinstance(error, CraftError)
        text = message_texts(error)
        assert LEAKY_SECRET not in text
        assert BODY.decode() not in text
        assert MARKER not in text
        assert "proj_123" not in text
        if signature:
            assert signature not in text
            assert signature[7:] not in text


# 7. Freshness, with a fixed `now`.

T = TIMESTAMP.timestamp()


def _now(kind: str, offset: float) -> float | datetime:
    if kind == "float":
        return T + offset
    if kind == "utc-datetime":
        return TIMESTAMP + timedelta(seconds=offset)
    # An aware datetime in another zone: the same instant.
    return (TIMESTAMP + timedelta(seconds=offset)).astimezone(timezone(timedelta(hours=5)))


NOW_KINDS = ["float", "utc-datetime", "other-zone-datetime"]


@pytest.mark.parametrize("kind", NOW_KINDS)
@pytest.mark.parametrize("offset", [300, -300, 0, 299.5, -299.5])
def test_an_age_within_the_tolerance_is_accepted(kind: str, offset: float) -> None:
    event = construct_event(BODY, SIGNATURE, SECRET, tolerance=300, now=_now(kind, offset))
    assert isinstance(event, ProjectUpdatedEvent)


@pytest.mark.parametrize("kind", NOW_KINDS)
def test_one_second_too_old_is_rejected_with_a_positive_age(kind: str) -> None:
    with pytest.raises(WebhookTimestampError) as caught:
        construct_event(BODY, SIGNATURE, SECRET, tolerance=300, now=_now(kind, 301))
    assert caught.value.age == pytest.approx(301)
    assert isinstance(caught.value, WebhookVerificationError)


@pytest.mark.parametrize("kind", NOW_KINDS)
def test_one_second_too_far_ahead_is_rejected_with_a_negative_age(kind: str) -> None:
    with pytest.raises(WebhookTimestampError) as caught:
        construct_event(BODY, SIGNATURE, SECRET, tolerance=300, now=_now(kind, -301))
    assert caught.value.age == pytest.approx(-301)


@pytest.mark.parametrize("kind", NOW_KINDS)
def test_tolerance_zero_accepts_only_the_exact_second(kind: str) -> None:
    event = construct_event(BODY, SIGNATURE, SECRET, tolerance=0, now=_now(kind, 0))
    assert event.timestamp == TIMESTAMP
    for offset in (1, -1):
        with pytest.raises(WebhookTimestampError) as caught:
            construct_event(BODY, SIGNATURE, SECRET, tolerance=0, now=_now(kind, offset))
        assert caught.value.age == pytest.approx(offset)


def test_no_tolerance_by_default_accepts_a_ten_year_old_body() -> None:
    ten_years = 10 * 365.25 * 24 * 3600
    assert construct_event(BODY, SIGNATURE, SECRET, now=T + ten_years).timestamp == TIMESTAMP
    event = construct_event(BODY, SIGNATURE, SECRET, tolerance=None, now=T + ten_years)
    assert event.timestamp == TIMESTAMP
    # The same body is refused once a tolerance is asked for.
    with pytest.raises(WebhookTimestampError):
        construct_event(BODY, SIGNATURE, SECRET, tolerance=300, now=T + ten_years)


def test_a_body_without_timestamp_fails_a_tolerance_check_with_no_age() -> None:
    body = b'{"event":"project.created","data":{"projectId":"proj_123"}}'
    signature = sign_webhook(body, SECRET)
    assert construct_event(body, signature, SECRET).timestamp is None
    with pytest.raises(WebhookTimestampError) as caught:
        construct_event(body, signature, SECRET, tolerance=300, now=T)
    assert caught.value.age is None


@pytest.mark.parametrize("tolerance", [-1, -0.5, -300, float("-inf")], ids=repr)
def test_a_negative_tolerance_is_a_value_error(tolerance: float) -> None:
    with pytest.raises(ValueError, match="tolerance"):
        construct_event(BODY, SIGNATURE, SECRET, tolerance=tolerance, now=T)


def test_a_nan_tolerance_is_refused_rather_than_accepting_any_age() -> None:
    # NaN compares False with everything, so `age > tolerance` never holds: a tolerance read
    # from a config as float("nan") would silently turn the replay check off.
    ten_years_later = T + 10 * 365 * 24 * 3600
    with pytest.raises(ValueError, match="tolerance"):
        construct_event(BODY, SIGNATURE, SECRET, tolerance=float("nan"), now=ten_years_later)


def test_a_failing_signature_takes_precedence_over_the_timestamp() -> None:
    far_future = T + 10 * 365 * 24 * 3600
    with pytest.raises(WebhookSignatureMismatchError):
        construct_event(BODY, WRONG_1, SECRET, tolerance=300, now=far_future)
    with pytest.raises(WebhookSignatureMissingError):
        construct_event(BODY, None, SECRET, tolerance=300, now=far_future)


# 8. Properties.

SECRETS = st.one_of(st.text(min_size=1), st.binary(min_size=1))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=st.binary(), secret=SECRETS)
def test_property_a_signed_body_verifies(body: bytes, secret: str | bytes) -> None:
    signature = sign_webhook(body, secret)
    assert verify_webhook(body, signature, secret) is True
    assert verify_webhook(bytearray(body), signature, [secret]) is True


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=st.binary(min_size=1), secret=SECRETS, data=st.data())
def test_property_flipping_any_bit_of_the_body_fails(
    body: bytes, secret: str | bytes, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(body)
    flipped[index] ^= 1 << bit
    assert verify_webhook(bytes(flipped), sign_webhook(body, secret), secret) is False


@settings(max_examples=200, deadline=None, derandomize=True)
@given(body=st.binary(), secret=SECRETS, data=st.data())
def test_property_changing_any_hex_digit_of_the_signature_fails(
    body: bytes, secret: str | bytes, data: st.DataObject
) -> None:
    signature = sign_webhook(body, secret)
    position = data.draw(st.integers(len("sha256="), len(signature) - 1))
    replacement = data.draw(st.sampled_from([c for c in HEX_DIGITS if c != signature[position]]))
    forged = signature[:position] + replacement + signature[position + 1 :]
    assert forged != signature
    assert verify_webhook(body, forged, secret) is False
    assert verify_webhook(body, forged.upper(), secret) is False


@settings(max_examples=200, deadline=None, derandomize=True)
@given(header=st.one_of(st.text(), st.binary()))
def test_property_any_header_value_is_a_bool_never_an_exception(header: str | bytes) -> None:
    assert verify_webhook(BODY, header, SECRET) is False  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    prefix=st.sampled_from(["sha256=", "SHA256=", "Sha256="]),
    upper=st.booleans(),
    left=st.sampled_from(["", " ", "\t", "  "]),
    right=st.sampled_from(["", " ", "\n", "\r\n"]),
)
def test_property_accepted_spellings_of_the_right_signature(
    prefix: str, upper: bool, left: str, right: str
) -> None:
    digest = BODY_HEX.upper() if upper else BODY_HEX
    assert verify_webhook(BODY, left + prefix + digest + right, SECRET) is True
