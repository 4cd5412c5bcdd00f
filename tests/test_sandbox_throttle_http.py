"""The throttle over HTTP: reservations, refusals and the headers they leave.

Every test runs the throttle on a virtual clock, so the bucket leaks only
when a test moves the clock; numbers below are worked out by hand from
hwm 600, up-front cost 50 and a fixed request cost.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig


class Clock:
    """A virtual clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _get(
    http: aiohttp.ClientSession, url: str, token: str = "sandbox-token"
) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(url, headers=headers) as response:
        return response.status, dict(response.headers), await response.text()


class TestBurst:
    """Twenty requests at once on a fresh token with latency holding them."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, clock=Clock(), latency_ms=300, request_cost=2.0)

    async def test_eleven_of_twenty_pass(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """11 x 50 = 550 < 600 runs, the 12th reservation reaches 600 and is refused.

        Refused requests are refunded at once (count back to 550, remaining
        50.0) and carry no X-Request-Cost; each admitted one then settles at
        cost 2, giving back 48: remaining 98, 146, ... 578.
        """
        url = sandbox.base_url + "/api/v1/users/self"
        answers = await asyncio.gather(*(_get(http, url) for _ in range(20)))

        passed = [headers for status, headers, _ in answers if status == 200]
        refused = [(h, body) for status, h, body in answers if status == 403]
        assert len(passed) == 11
        assert len(refused) == 9
        for headers, body in refused:
            assert body == "403 Forbidden (Rate Limit Exceeded)\n"
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "X-Request-Cost" not in headers
            assert headers["X-Rate-Limit-Remaining"] == "50.0"
        assert all(headers["X-Request-Cost"] == "2.0" for headers in passed)
        remaining = sorted(float(h["X-Rate-Limit-Remaining"]) for h in passed)
        assert remaining == [98.0 + 48.0 * step for step in range(11)]
        assert sandbox.stats.requests == 20
        assert sandbox.stats.throttled == 9


class TestHeaders:
    """Sequential requests on a virtual clock."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, clock=Clock(), request_cost=2.0)

    async def test_remaining_counts_down_and_leaks(
        self,
        sandbox: Sandbox,
        http: aiohttp.ClientSession,
        sandbox_config: SandboxConfig,
    ) -> None:
        """Each request keeps cost 2; half a second leaks 5 units at outflow 10."""
        url = sandbox.base_url + "/api/v1/users/self"
        seen = []
        for _ in range(3):
            status, headers, _ = await _get(http, url)
            assert status == 200
            assert headers["X-Request-Cost"] == "2.0"
            seen.append(headers["X-Rate-Limit-Remaining"])
        assert seen == ["598.0", "596.0", "594.0"]

        # count 6, leaked by 5 to 1, then +2: remaining 597.
        clock = sandbox_config.clock
        assert isinstance(clock, Clock)
        clock.now += 0.5
        _, headers, _ = await _get(http, url)
        assert headers["X-Rate-Limit-Remaining"] == "597.0"

    async def test_each_token_has_its_own_bucket(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """Another token starts from an empty bucket."""
        user = sandbox.state.add_user("Other admin", admin=True, token="other-token")
        assert user.admin
        url = sandbox.base_url + "/api/v1/users/self"
        await _get(http, url)
        await _get(http, url)
        _, headers, _ = await _get(http, url, token="other-token")
        assert headers["X-Rate-Limit-Remaining"] == "598.0"

    async def test_errors_carry_the_headers(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """A 404 and an unauthenticated 401 are settled and carry both headers."""
        status, headers, _ = await _get(http, sandbox.base_url + "/api/v1/courses/99")
        assert status == 404
        assert headers["X-Request-Cost"] == "2.0"
        assert headers["X-Rate-Limit-Remaining"] == "598.0"

        async with http.get(sandbox.base_url + "/api/v1/users/self") as response:
            assert response.status == 401
            assert response.headers["X-Rate-Limit-Remaining"] == "598.0"


class TestModelledCost:
    """Without a fixed cost the built-in model prices a read."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, clock=Clock())

    async def test_read_cost(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """A GET costs 0.05: remaining 599.95."""
        _, headers, _ = await _get(http, sandbox.base_url + "/api/v1/users/self")
        assert headers["X-Request-Cost"] == "0.05"
        assert headers["X-Rate-Limit-Remaining"] == "599.95"


class TestStatus429:
    """Newer hosted Canvas throttles with 429."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(
            courses=1,
            clock=Clock(),
            throttle_hwm=100,
            request_cost=60.0,
            throttle_status=429,
        )

    async def test_second_request_refused_with_429(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """The first keeps 60; the second reserves 110 >= 100 and gets 429.

        Its reservation is refunded: count 60, remaining 40.0.
        """
        url = sandbox.base_url + "/api/v1/users/self"
        status, headers, _ = await _get(http, url)
        assert (status, headers["X-Rate-Limit-Remaining"]) == (200, "40.0")

        status, headers, body = await _get(http, url)
        assert status == 429
        assert body == "429 Too Many Requests (Rate Limit Exceeded)\n"
        assert headers["X-Rate-Limit-Remaining"] == "40.0"
        assert "X-Request-Cost" not in headers


class TestNoThrottle:
    """--no-throttle refuses nothing but still sends the headers."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, throttle=False, latency_ms=100)

    async def test_nothing_refused(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """Thirty requests at once all pass; remaining stays at hwm."""
        url = sandbox.base_url + "/api/v1/users/self"
        answers = await asyncio.gather(*(_get(http, url) for _ in range(30)))
        assert [status for status, _, _ in answers] == [200] * 30
        for _, headers, _ in answers:
            assert headers["X-Rate-Limit-Remaining"] == "600.0"
            assert headers["X-Request-Cost"] == "0.05"
        assert sandbox.stats.throttled == 0
