"""The emulator's rate limits (issue #16, points 1 and 2): the reference's tiers and per-endpoint
limits, headers on every answer, and 429s that say how long.

`RateLimits` is tested alone, on clock readings given to it; then through an emulator in process
(the SDK's own gate against it) and over a real socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest

import craft_sdk
from craft_sdk.testing import CraftEmulator, FakeClock
from craft_sdk.testing._limits import DEFAULT_RATE_LIMIT, RateLimits
from craft_sdk.testing._wire import Reject

DAY = 1_700_006_400.0  # a UTC midnight: every window starts here
HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-RetryAfter",
)


def told(headers: Mapping[str, str]) -> tuple[int, ...]:
    return tuple(int(headers[name]) for name in HEADERS)


def spend(
    limits: RateLimits, now: float, times: int, endpoint: str | None = None
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(times):
        headers = limits.spend(now, endpoint)
    return headers


def refusal(limits: RateLimits, now: float, endpoint: str | None = None) -> Reject:
    with pytest.raises(Reject) as caught:
        limits.spend(now, endpoint)
    assert caught.value.status == 429
    assert caught.value.code == "RATE_LIMIT_EXCEEDED"
    return caught.value


def test_the_tiers_are_the_reference_table() -> None:
    def windows(tier: Any) -> list[tuple[str, str, int]]:
        wire = RateLimits(tier=tier).wire()["windows"]
        return [(w["scope"], w["period"], w["limit"]) for w in wire]

    endpoints = [
        ("POST /projects", "minute", 10),
        ("GET /projects", "minute", 100),
        ("file writes", "minute", 100),
    ]
    assert windows("free") == [
        ("key", "minute", 60),
        ("key", "hour", 500),
        ("key", "day", 1_000),
        *endpoints,
    ]
    assert windows("pro") == [
        ("key", "minute", 300),
        ("key", "hour", 3_000),
        ("key", "day", 10_000),
        *endpoints,
    ]
    assert windows("enterprise") == [("key", "minute", 1_000), ("key", "hour", 10_000), *endpoints]
    assert windows(None) == [("key", "minute", DEFAULT_RATE_LIMIT)]  # the default: one window
    assert RateLimits(rate_limit=7).wire() == {
        "tier": None,
        "rateLimit": 7,
        "windows": [{"scope": "key", "period": "minute", "limit": 7}],
    }


def test_the_window_that_binds_moves_from_minute_to_hour_to_day() -> None:
    limits = RateLimits(tier="free")
    assert told(limits.spend(DAY, None)) == (60, 59, DAY + 60, 0)
    assert told(spend(limits, DAY, 59)) == (60, 0, DAY + 60, 60)  # spent: says how long
    rejected = refusal(limits, DAY + 15)
    assert rejected.retry_after == 45
    assert told(rejected.headers) == (60, 0, DAY + 60, 45)
    assert rejected.details == {"scope": "key", "period": "minute", "limit": 60}
    # Six more full minutes: 420 of the hour's 500. The minute binds while it has less left.
    for minute in range(1, 7):
        spend(limits, DAY + 60 * minute, 60)
    assert told(spend(limits, DAY + 420, 20)) == (60, 40, DAY + 480, 0)  # 40 left; the hour 60
    assert told(spend(limits, DAY + 420, 40)) == (60, 0, DAY + 480, 60)
    # A new minute, but 20 left in the hour: from now on the hour binds.
    assert told(spend(limits, DAY + 480, 19)) == (500, 1, DAY + 3600, 0)
    assert told(limits.spend(DAY + 480, None)) == (500, 0, DAY + 3600, 3120)
    assert refusal(limits, DAY + 600).retry_after == 3000  # to the hour's end, not the minute's
    # The next hour takes the day to 1,000: the hour and the day both end spent; the day binds.
    for minute in range(60, 69):
        spend(limits, DAY + 60 * minute, 60 if minute < 68 else 20)
    assert told(limits.look(DAY + 4200)) == (1_000, 0, DAY + 86_400, 82_200)
    assert refusal(limits, DAY + 7200).retry_after == 79_200  # a new hour, but the day is spent
    assert told(limits.spend(DAY + 86_400, None)) == (60, 59, DAY + 86_460, 0)  # a new day


def test_an_endpoint_limit_binds_its_endpoint_alone() -> None:
    limits = RateLimits(tier="pro")
    assert told(limits.spend(DAY, "POST /projects")) == (10, 9, DAY + 60, 0)
    spend(limits, DAY, 9, "POST /projects")
    rejected = refusal(limits, DAY + 1, "POST /projects")
    assert rejected.retry_after == 59
    assert told(rejected.headers)[:2] == (10, 0)
    assert "10 requests per minute for POST /projects" in rejected.message
    # The key's own window still has room, and says so to every other endpoint.
    assert told(limits.spend(DAY + 1, "GET /me")) == (300, 289, DAY + 60, 0)
    assert told(limits.spend(DAY + 1, "GET /projects")) == (100, 99, DAY + 60, 0)
    # Writing and deleting files share the one "file writes" window.
    spend(limits, DAY + 2, 60, "PUT /projects/*/files/**")
    assert told(spend(limits, DAY + 2, 40, "DELETE /projects/*/files/**"))[:2] == (100, 0)
    assert refusal(limits, DAY + 3, "PUT /projects/*/files/**").details == {
        "scope": "file writes",
        "period": "minute",
        "limit": 100,
    }
    assert told(limits.spend(DAY + 60, "POST /projects"))[:2] == (10, 9)  # a new minute


def test_a_custom_limit_is_one_window_and_no_endpoint_limits() -> None:
    limits = RateLimits(rate_limit=20)
    assert told(spend(limits, DAY, 20, "POST /projects")) == (20, 0, DAY + 60, 60)
    assert refusal(limits, DAY, "GET /me").retry_after == 60


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"tier": "free", "rate_limit": 10}, ValueError, "not both"),
        ({"tier": "gold"}, ValueError, "free, pro, enterprise"),
        ({"rate_limit": 0}, ValueError, "rate_limit"),
        ({"rate_limit": 2.5}, TypeError, "rate_limit"),
    ],
)
def test_bad_limits_are_refused(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        CraftEmulator(**options)
    emu = CraftEmulator()
    with pytest.raises(error, match=message):
        emu.set_rate_limit(options.get("rate_limit"), tier=options.get("tier"))
    assert emu.rate_limit == DEFAULT_RATE_LIMIT
    assert emu.tier is None


# ---- through the emulator, in process ---------------------------------------------------------


def test_every_answer_carries_the_headers_by_default() -> None:
    emu = CraftEmulator(clock=FakeClock(start=DAY))
    with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as http:
        answers = [
            http.get("/me", headers={"Authorization": f"Bearer {emu.api_key}"}),
            http.get("/me"),  # 401: counted in no window
            http.get("/nowhere", headers={"Authorization": f"Bearer {emu.api_key}"}),
        ]
        emu.fail_next(status=503)
        answers.append(http.get("/me"))  # an injected fault: counted in none either
    assert [a.status_code for a in answers] == [200, 401, 404, 503]
    assert [told(a.headers)[:2] for a in answers] == [
        (10_000, 9_999),
        (10_000, 9_999),
        (10_000, 9_998),
        (10_000, 9_998),
    ]


def test_the_sdk_paces_itself_on_the_tiers_headers() -> None:
    """61 calls on the free tier, 11 creates: the SDK's gate reads the binding window from the
    headers and waits for its reset on the fake clock, so the emulator never answers 429."""
    clock = FakeClock(start=DAY + 30)
    emu = CraftEmulator(tier="free", clock=clock)
    with emu.client() as client:
        for _ in range(10):
            client.projects.create(name="Demo")
        client.projects.create(name="The eleventh")  # POST /projects: 10 a minute
        assert clock.sleeps == [pytest.approx(30.0, abs=1.0)]  # to the minute's end
        for _ in range(50):
            client.me()
    assert len(emu.projects) == 11
    assert all(status != 429 for *_, status in emu.requests)


def test_a_429_tells_the_sdk_how_long() -> None:
    """Another process spends the window behind the client's back: the client's next call meets
    a 429, and the error it raises carries the emulator's wait."""
    emu = CraftEmulator(tier="free", clock=FakeClock(start=DAY + 45))
    with emu.client(max_retries=0) as client:
        client.me()
        with httpx.Client(transport=emu.transport(), base_url=emu.base_url) as other:
            for _ in range(59):
                other.get("/me", headers={"Authorization": f"Bearer {emu.api_key}"})
        with pytest.raises(craft_sdk.RateLimitError) as caught:
            client.me()
    assert caught.value.retry_after == 15
    assert caught.value.code == "RATE_LIMIT_EXCEEDED"


# ---- over a real socket -----------------------------------------------------------------------


def test_over_the_server_the_tier_refuses_with_a_wait() -> None:
    emu = CraftEmulator(tier="free", clock=FakeClock(start=DAY + 20))
    key = {"Authorization": f"Bearer {emu.api_key}"}
    with emu.serve() as server, httpx.Client(base_url=server.url, headers=key) as http:
        created = [http.post("/projects", json={"name": f"P{i}"}) for i in range(11)]
        assert [r.status_code for r in created] == [201] * 10 + [429]
        refused = created[-1]
        assert refused.headers["Retry-After"] == "40"
        assert told(refused.headers) == (10, 0, DAY + 60, 40)
        assert refused.json()["error"]["retryAfter"] == 40
        me = http.get("/me")
        assert me.status_code == 200
        assert told(me.headers)[:2] == (60, 49)


def test_an_endpoints_window_does_not_shrink_the_keys_budget_in_the_sdk() -> None:
    """After creates, whose answers describe POST /projects's own window (10 a minute), the
    other calls of the minute still have the key's 60: the SDK's gate must not mistake the one
    for the other (it once kept the lower count of the two, and let only two requests be in
    flight at once for the rest of the minute)."""
    clock = FakeClock(start=DAY)
    emu = CraftEmulator(tier="free", clock=clock)
    with emu.client() as client:
        for number in range(8):
            client.projects.create(name=f"P{number}")  # 2 left of the endpoint's 10
        client.me()
        assert client.rate_limit is not None
        assert (client.rate_limit.limit, client.rate_limit.remaining) == (60, 51)  # not 2
        for _ in range(51):
            client.me()  # 60 in all: exactly the key's minute
        assert clock.sleeps == []
