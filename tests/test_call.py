"""`Call` and the argument checks the call builders share."""

from __future__ import annotations

import httpx
import pytest

from craft_sdk._call import IDEMPOTENT_METHODS, Call, Method, api_path, check_segment
from craft_sdk._checks import check_choice, check_text


def identity(response: httpx.Response) -> httpx.Response:
    return response


# --- api_path --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (("projects",), "/projects"),
        (("projects", "proj_abc123"), "/projects/proj_abc123"),
        (("projects", "proj_1", "deployments", "dep_2"), "/projects/proj_1/deployments/dep_2"),
        (("projects", "a/../b"), "/projects/a%2F..%2Fb"),
        (("projects", "../me"), "/projects/..%2Fme"),
        (("projects", "a/b"), "/projects/a%2Fb"),
        (("projects", "/"), "/projects/%2F"),
        (("projects", "a\\b"), "/projects/a%5Cb"),
        (("projects", "a?b=c"), "/projects/a%3Fb%3Dc"),
        (("projects", "a#frag"), "/projects/a%23frag"),
        (("projects", "100%"), "/projects/100%25"),
        (("projects", "%2e%2e"), "/projects/%252e%252e"),
        (("projects", "my project"), "/projects/my%20project"),
        (("projects", "a+b"), "/projects/a%2Bb"),
        (("projects", "a&b;c"), "/projects/a%26b%3Bc"),
        (("projects", "café"), "/projects/caf%C3%A9"),
        (
            ("projects", "プロジェクト"),
            "/projects/%E3%83%97%E3%83%AD%E3%82%B8%E3%82%A7%E3%82%AF%E3%83%88",
        ),
        (("projects", "😀"), "/projects/%F0%9F%98%80"),
        (("projects", "a\r\nb"), "/projects/a%0D%0Ab"),
        (("projects", "\x00"), "/projects/%00"),
        (("projects", "..."), "/projects/..."),
        (("projects", ".hidden"), "/projects/.hidden"),
        (("projects", "a-b_c.d~e"), "/projects/a-b_c.d~e"),
        ((), ""),
    ],
)
def test_api_path_encodes_each_segment_whole(segments: tuple[str, ...], expected: str) -> None:
    assert api_path(*segments) == expected


@pytest.mark.parametrize("segment", ["a/../b", "x?y", "x#y", "x y", "x/y/z", "é", "%41"])
def test_api_path_segment_stays_one_segment_in_a_url(segment: str) -> None:
    url = httpx.URL("https://api.craft.fast/v1" + api_path("projects", segment))
    assert url.raw_path.count(b"/") == 3  # /v1/projects/<segment>
    assert url.query == b""
    assert url.fragment == ""
    assert url.path == "/v1/projects/" + segment  # decodes back to the very segment


@pytest.mark.parametrize("segment", ["", ".", ".."])
@pytest.mark.parametrize("position", [0, 1])
def test_api_path_refuses_empty_dot_and_dot_dot(segment: str, position: int) -> None:
    segments = ["projects", "proj_1"]
    segments[position] = segment
    with pytest.raises(ValueError, match="must not be empty"):
        api_path(*segments)


@pytest.mark.parametrize("segment", [None, 123, 1.5, b"proj_1", ["proj_1"], True])
def test_api_path_refuses_non_strings(segment: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        api_path("projects", segment)  # type: ignore[arg-type]


def test_check_segment_names_what_it_checks() -> None:
    with pytest.raises(ValueError, match=r"^deployment_id must not be empty"):
        check_segment("", what="deployment_id")
    with pytest.raises(TypeError, match=r"^project_id must be a str, not int"):
        check_segment(5, what="project_id")  # type: ignore[arg-type]
    assert check_segment("proj_1") == "proj_1"


def test_check_segment_shows_the_refused_value() -> None:
    with pytest.raises(ValueError, match=r"\(got '\.\.'\)"):
        check_segment("..")


# --- Call ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "idempotent"),
    [("GET", True), ("PUT", True), ("DELETE", True), ("POST", False), ("PATCH", False)],
)
def test_call_idempotent(method: Method, idempotent: bool) -> None:
    assert Call(method, "/projects", parse=identity).idempotent is idempotent


def test_idempotent_methods_follow_rfc_9110() -> None:
    assert frozenset({"GET", "HEAD", "PUT", "DELETE"}) == IDEMPOTENT_METHODS


def test_call_defaults_and_is_frozen() -> None:
    call = Call("GET", "/me", parse=identity)
    assert call.params is None
    assert call.json is None
    assert call.content is None
    assert dict(call.headers) == {}
    with pytest.raises(AttributeError):
        call.method = "POST"  # type: ignore[misc]


def test_call_headers_are_not_shared_between_calls() -> None:
    first = Call("GET", "/me", parse=identity)
    second = Call("GET", "/me", parse=identity)
    assert first.headers is not second.headers


def test_call_parse_reads_the_response() -> None:
    call = Call("GET", "/me", parse=lambda response: response.status_code)
    response = httpx.Response(204, request=httpx.Request("GET", "https://api.craft.fast/v1/me"))
    assert call.parse(response) == 204


# --- check_text ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", "My Landing Page", " padded ", "x" * 100])
def test_check_text_returns_the_value(value: str) -> None:
    assert check_text("name", value, max_length=100) == value


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_check_text_refuses_empty_naming_the_argument(value: str) -> None:
    with pytest.raises(ValueError, match=r"^name must not be empty$"):
        check_text("name", value, max_length=100)


@pytest.mark.parametrize("value", ["", "  "])
def test_check_text_may_allow_empty(value: str) -> None:
    assert check_text("description", value, max_length=500, empty=True) == value


def test_check_text_refuses_too_long_naming_argument_and_limit() -> None:
    with pytest.raises(ValueError, match="description") as info:
        check_text("description", "x" * 501, max_length=500)
    assert "500" in str(info.value)
    assert "501" in str(info.value)


def test_check_text_without_max_length() -> None:
    assert check_text("name", "x" * 10_000, max_length=None) == "x" * 10_000


@pytest.mark.parametrize("value", [None, 5, b"name", ["name"]])
def test_check_text_refuses_non_strings_naming_the_argument(value: object) -> None:
    with pytest.raises(TypeError, match=r"^name must be a str, not ") as info:
        check_text("name", value, max_length=100)  # type: ignore[arg-type]
    assert type(value).__name__ in str(info.value)


# --- check_choice ----------------------------------------------------------------------------

ORDERS = ("asc", "desc")


@pytest.mark.parametrize("value", ORDERS)
def test_check_choice_returns_an_allowed_value(value: str) -> None:
    assert check_choice("order", value, ORDERS) == value


@pytest.mark.parametrize("value", ["ASC", "ascending", "", "asc ", None, 1])
def test_check_choice_names_the_argument_and_the_allowed_values(value: object) -> None:
    with pytest.raises(ValueError, match=r"^order must be one of") as info:
        check_choice("order", value, ORDERS)  # type: ignore[arg-type]
    message = str(info.value)
    assert "'asc'" in message
    assert "'desc'" in message
    assert repr(value) in message


def test_check_choice_lists_every_allowed_value() -> None:
    allowed = ("name", "createdAt", "updatedAt")
    with pytest.raises(ValueError, match=r"^sort must be one of 'name', 'createdAt', 'updatedAt'"):
        check_choice("sort", "created_at", allowed)
