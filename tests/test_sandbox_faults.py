"""Injected faults: a 500 changes nothing, a drop changes and never answers."""

from __future__ import annotations

import aiohttp
import pytest

from bulkmod.sandbox.faults import Fault, Faults
from bulkmod.sandbox.server import Sandbox, SandboxConfig, serve_sandbox

ADMIN = {"Authorization": "Bearer sandbox-token"}


def test_no_rates_never_fault() -> None:
    """With both rates at zero every draw is NONE."""
    faults = Faults(seed=3)
    assert {faults.draw() for _ in range(100)} == {Fault.NONE}


def test_certain_rates() -> None:
    """A rate of 1 always faults that way."""
    assert {Faults(fail_rate=1.0).draw() for _ in range(10)} == {Fault.FAIL}
    assert {Faults(drop_rate=1.0).draw() for _ in range(10)} == {Fault.DROP}


def test_same_seed_same_faults() -> None:
    """Two streams with the same seed draw the same faults in the same order."""
    first = Faults(fail_rate=0.3, drop_rate=0.2, seed=11)
    second = Faults(fail_rate=0.3, drop_rate=0.2, seed=11)
    drawn = [first.draw() for _ in range(200)]
    assert drawn == [second.draw() for _ in range(200)]
    assert set(drawn) == {Fault.NONE, Fault.FAIL, Fault.DROP}


def test_rates_are_checked() -> None:
    """Rates outside [0, 1], or adding up past 1, are refused."""
    with pytest.raises(ValueError):
        Faults(fail_rate=1.5)
    with pytest.raises(ValueError):
        Faults(fail_rate=0.6, drop_rate=0.6)


class TestFail:
    """fail_rate 1: every request answers 500."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, fail_rate=1.0, request_cost=1.0)

    async def test_failed_create_changes_nothing(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """The 500 carries Canvas's body, numbered reports, and no module appears."""
        url = sandbox.base_url + "/api/v1/courses/1/modules"
        for report_id in (1, 2):
            form = {"module[name]": "Week 1"}
            async with http.post(url, data=form, headers=ADMIN) as response:
                assert response.status == 500
                assert response.headers["X-Request-Cost"] == "1.0"
                assert await response.json() == {
                    "errors": [
                        {
                            "message": "An error occurred.",
                            "error_code": "internal_server_error",
                        }
                    ],
                    "error_report_id": report_id,
                }
        assert sandbox.state.find_course("1").modules == {}
        assert sandbox.stats.failed == 2


class TestDrop:
    """drop_rate 1: every request is carried out, then not answered."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, drop_rate=1.0)

    async def test_dropped_create_is_made(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """The client sees a disconnect, yet the module exists."""
        url = sandbox.base_url + "/api/v1/courses/1/modules"
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.post(url, data={"module[name]": "W"}, headers=ADMIN) as r:
                await r.read()
        modules = list(sandbox.state.find_course("1").modules.values())
        assert [module.name for module in modules] == ["W"]
        assert sandbox.stats.dropped == 1


async def _statuses(seed: int) -> list[int]:
    config = SandboxConfig(courses=1, fail_rate=0.5, random_seed=seed)
    statuses = []
    async with serve_sandbox(config) as sandbox, aiohttp.ClientSession() as http:
        for _ in range(20):
            url = sandbox.base_url + "/api/v1/users/self"
            async with http.get(url, headers=ADMIN) as response:
                statuses.append(response.status)
        assert sandbox.stats.failed == statuses.count(500)
    return statuses


async def test_seeded_sandboxes_fail_alike() -> None:
    """Two sandboxes with the same seed fail the same requests of a sequence."""
    first = await _statuses(5)
    assert first == await _statuses(5)
    assert set(first) == {200, 500}
