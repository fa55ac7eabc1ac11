"""3.6 URL building, injection and input validation.

Every id is one percent-encoded path segment, so no argument can change the host, climb out of
the base path, or add a query; bad arguments, keys and headers are refused before anything is
sent, with messages that never repeat a secret.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import craft_sdk
from craft_sdk import CraftClient

from .conftest import KEY, PROJECT, Operation, Runner, ok, raises


@pytest.fixture
def anything(api: respx.MockRouter) -> respx.Route:
    """Every request to the API host, answered with a project (or a file entry)."""
    data = {**PROJECT, "path": "f", "type": "file", "deleted": True}
    return api.route().respond(200, json=ok(data))


def sent_path(route: respx.Route) -> str:
    request: httpx.Request = route.calls.last.request
    assert request.url.host == "api.craft.fast"
    assert request.url.query == b""
    assert request.url.fragment == ""
    return request.url.raw_path.decode("ascii")


@pytest.mark.parametrize(
    ("project_id", "encoded"),
    [
        ("../../admin", "..%2F..%2Fadmin"),
        ("a/b", "a%2Fb"),
        ("a?x=1&limit=1000", "a%3Fx%3D1%26limit%3D1000"),
        ("a#frag", "a%23frag"),
        ("a%2Fb", "a%252Fb"),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
        ("https://evil.example/x", "https%3A%2F%2Fevil.example%2Fx"),
        ("//evil.example/x", "%2F%2Fevil.example%2Fx"),
        ("a\r\nX-Injected: 1", "a%0D%0AX-Injected%3A%201"),
        ("...", "..."),
    ],
    ids=[
        "dot-dot-slash",
        "slash",
        "query",
        "fragment",
        "percent",
        "space",
        "non-ascii",
        "absolute-url",
        "scheme-relative",
        "crlf",
        "three-dots",
    ],
)
def test_an_id_is_always_exactly_one_encoded_segment(
    anything: respx.Route, run: Runner, project_id: str, encoded: str
) -> None:
    run(lambda c: c.projects.get(project_id))
    assert sent_path(anything) == f"/v1/projects/{encoded}"
    assert anything.call_count == 1


@pytest.mark.parametrize("project_id", ["", ".", ".."], ids=["empty", "dot", "dot-dot"])
@pytest.mark.parametrize("method", ["get", "delete", "update"])
def test_ids_a_server_would_collapse_are_refused_before_sending(
    anything: respx.Route, run: Runner, project_id: str, method: str
) -> None:
    operations: dict[str, Operation] = {
        "get": lambda c: c.projects.get(project_id),
        "delete": lambda c: c.projects.delete(project_id),
        "update": lambda c: c.projects.update(project_id, name="x"),
    }
    with raises(ValueError) as caught:
        run(operations[method])
    assert "must not be empty, '.' or '..'" in str(caught.value)
    assert anything.call_count == 0


@pytest.mark.parametrize("project_id", [123, None, b"proj_1", ["proj_1"]], ids=repr)
def test_an_id_that_is_not_text_is_refused_before_sending(
    anything: respx.Route, run: Runner, project_id: Any
) -> None:
    with raises(TypeError):
        run(lambda c: c.projects.get(project_id))
    assert anything.call_count == 0


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("src/app/page.tsx", "src/app/page.tsx"),
        ("dir/a b#c?.txt", "dir/a%20b%23c%3F.txt"),
        ("docs/%2e%2e/x", "docs/%252e%252e/x"),
        ("ünï/cödé.md", "%C3%BCn%C3%AF/c%C3%B6d%C3%A9.md"),
    ],
    ids=["nested", "specials", "encoded-dots", "non-ascii"],
)
def test_a_file_path_keeps_its_slashes_and_encodes_each_segment(
    anything: respx.Route, run: Runner, path: str, encoded: str
) -> None:
    run(lambda c: c.files.delete("proj_1", path))
    assert sent_path(anything) == f"/v1/projects/proj_1/files/{encoded}"


@pytest.mark.parametrize(
    "path",
    ["../secrets", "a/../../b", "/etc/passwd", "a//b", "a/./b", "a\\..\\b", "", "a/"],
    ids=["parent", "climb", "absolute", "empty-segment", "dot", "backslash", "empty", "trailing"],
)
def test_a_file_path_that_could_escape_the_project_is_refused_before_sending(
    anything: respx.Route, run: Runner, path: str
) -> None:
    with raises(ValueError):
        run(lambda c: c.files.read("proj_1", path))
    assert anything.call_count == 0


INVALID_ARGUMENTS: list[tuple[Operation, type[Exception]]] = [
    (lambda c: c.projects.create(name=""), ValueError),
    (lambda c: c.projects.create(name="   "), ValueError),
    (lambda c: c.projects.create(name="x" * 101), ValueError),
    (lambda c: c.projects.create(name="x", description="d" * 501), ValueError),
    (lambda c: c.projects.create(name=42), TypeError),
    (lambda c: c.projects.update("proj_1"), ValueError),
    (lambda c: c.projects.update("proj_1", status="deleted"), ValueError),
    (lambda c: c.deployments.create("proj_1", environment="staging"), ValueError),
    (lambda c: c.files.write("proj_1", "a.txt", {"not": "content"}), TypeError),
]


@pytest.mark.parametrize(
    ("operation", "kind"),
    INVALID_ARGUMENTS,
    ids=[
        "empty-name",
        "blank-name",
        "long-name",
        "long-description",
        "name-not-str",
        "update-nothing",
        "bad-status",
        "bad-environment",
        "bad-content",
    ],
)
def test_invalid_arguments_are_refused_before_anything_is_sent(
    anything: respx.Route, run: Runner, operation: Operation, kind: type[Exception]
) -> None:
    with raises(kind):
        run(operation)
    assert anything.call_count == 0


# --- T-INJ-07..11: the key and the headers, checked when the client is built ------------------

BAD_KEYS = {
    "crlf-injection": lambda: KEY + "\r\nX-Injected: 1",
    "lf": lambda: KEY + "\n",
    "nul": lambda: KEY[:10] + "\x00" + KEY[10:],
    "smart-quote": lambda: "\u201c" + KEY + "\u201d",
    "non-ascii": lambda: KEY + "é",
    "delete-char": lambda: KEY + "\x7f",
}


@pytest.mark.parametrize("kind", list(BAD_KEYS))
def test_a_key_that_cannot_go_in_a_header_is_refused_when_the_client_is_built(
    anything: respx.Route, kind: str
) -> None:
    # The key is built in the call, never held by this frame; the constructor's own argument
    # holds it in its frame, so the locals of frames are not checked here.
    with raises(craft_sdk.CraftError, frames=False) as caught:
        CraftClient(api_key=BAD_KEYS[kind]())
    assert "cannot go in an HTTP header" in str(caught.value)
    assert anything.call_count == 0


@pytest.mark.parametrize("value", ["", "   ", None], ids=["empty", "blank", "missing"])
def test_an_empty_or_missing_key_is_refused_when_the_client_is_built(
    anything: respx.Route, value: str | None
) -> None:
    with raises(craft_sdk.CraftError, frames=False) as caught:
        CraftClient(api_key=value)
    assert "No Craft API key" in str(caught.value)
    assert anything.call_count == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer other"},
        {"authorization": "Bearer other"},
        {"Host": "evil.example"},
        {"Content-Length": "0"},
        {"Transfer-Encoding": "chunked"},
        {"X-Trace": "a\r\nX-Injected: 1"},
        {"X-Trace": "a\x00b"},
        {"X-Trace": "café"},
        {"X Trace": "a"},
        {"": "a"},
    ],
    ids=[
        "authorization",
        "authorization-lower",
        "host",
        "content-length",
        "transfer-encoding",
        "crlf-value",
        "nul-value",
        "non-ascii-value",
        "space-in-name",
        "empty-name",
    ],
)
def test_default_headers_cannot_inject_or_override_what_the_client_sets(
    anything: respx.Route, headers: dict[str, str]
) -> None:
    with raises(craft_sdk.CraftError, frames=False) as caught:
        CraftClient(api_key=KEY, default_headers=headers)
    for value in headers.values():
        if len(value) > 2:
            assert value not in str(caught.value)  # a header value may be a credential
    assert anything.call_count == 0


def test_safe_default_headers_are_sent_on_every_request_beside_the_key(
    anything: respx.Route, run: Runner
) -> None:
    run(lambda c: c.projects.get("proj_1"), default_headers={"X-Trace": "t-1"})
    headers = anything.calls.last.request.headers
    assert headers["x-trace"] == "t-1"
    assert headers["authorization"] == f"Bearer {KEY}"  # respx keeps its own copy, unredacted
    assert [name for name, value in headers.items() if KEY in value] == ["authorization"]
