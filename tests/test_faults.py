"""Lost answers and fault storms: every operation ends once, nothing is doubled.

A proxy in front of the sandbox (``fault_proxy``) spoils chosen answers, so
that a test can lose exactly the answer it is about; the sandbox's own
``fail_rate``/``drop_rate`` make the storms.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job
from crash_tools import read_course
from fault_proxy import Rule, serve_proxy

from bulkmod.client import http as client_http
from bulkmod.engine import operations
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"
MODULES = r"/api/v1/courses/1/modules"
ITEMS = r"/api/v1/courses/1/modules/\d+/items"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Four courses, no throttle unless a test asks for one."""
    return SandboxConfig(courses=4, throttle=False)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait milliseconds, not seconds, between re-sends."""
    monkeypatch.setattr(client_http, "_BACKOFF_BASE", 0.005)
    monkeypatch.setattr(operations, "BACKOFF_FIRST", 0.005)


async def run(
    base_url: str, tmp_path: Path, lines: list[dict[str, Any]], **settings: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Run a job against ``base_url``; return the exit status and outcomes."""
    job = write_job(tmp_path / "job.jsonl", lines)
    results = tmp_path / "job.results.jsonl"
    status = await run_job(
        check_job(job),
        Target(base_url, TOKEN),
        RunSettings(results=results, show_progress=False, **settings),
    )
    return status, read_results(results)


def week(course: int, n: int) -> dict[str, Any]:
    """A line that creates module "Week <n>" in a course."""
    return {
        "id": f"c{course}w{n}",
        "op": "module.create",
        "course": course,
        "params": {"name": f"Week {n}"},
    }


def reading(course: int, n: int, title: str) -> dict[str, Any]:
    """A line that creates a SubHeader item in the module of ``week``."""
    return {
        "id": f"c{course}w{n}-{title}",
        "op": "item.create",
        "course": course,
        "module": f"@c{course}w{n}",
        "params": {"type": "SubHeader", "title": title},
    }


@pytest.mark.parametrize("action", ["drop", "fail_after"])
async def test_lost_module_create_is_adopted(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession, action: str
) -> None:
    """A module create that landed but lost its answer is found, not doubled."""
    rules = [Rule("POST", MODULES, action)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, [week(1, 1)])

    assert status == 0
    (outcome,) = outcomes
    assert outcome["status"] == "ok" and outcome["adopted"] is True
    # The lost POST only: the module was found, not sent again.
    assert proxy.count("POST", MODULES) == 1
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [(m["id"], m["name"]) for m in modules] == [(outcome["object_id"], "Week 1")]


async def test_lost_item_create_is_adopted(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An item create whose connection dropped after Canvas acted is adopted."""
    rules = [Rule("POST", ITEMS, "drop")]
    lines = [week(1, 1), reading(1, 1, "Read"), reading(1, 1, "Write")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, lines)

    assert status == 0
    assert [o["adopted"] for o in outcomes] == [False, True, False]
    assert proxy.count("POST", ITEMS) == 2
    (module,) = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [item["title"] for item in module["items"]] == ["Read", "Write"]


async def test_create_refused_before_acting_is_sent_again(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A 500 that changed nothing: looked for, not found, sent again once."""
    rules = [Rule("POST", MODULES, "fail", times=2)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, [week(1, 1)])

    assert status == 0
    assert outcomes[0]["adopted"] is False
    assert proxy.count("POST", MODULES) == 3
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [m["name"] for m in modules] == ["Week 1"]


async def test_create_past_the_timeout_is_adopted(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An answer slower than --timeout: the create landed and is adopted."""
    rules = [Rule("POST", MODULES, "slow", delay=1.0)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(
            proxy.base_url, tmp_path, [week(1, 1)], timeout=0.3
        )

    assert status == 0
    assert outcomes[0]["adopted"] is True
    assert proxy.count("POST", MODULES) == 1
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [m["name"] for m in modules] == ["Week 1"]


async def test_lost_delete_then_404_is_done(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A delete whose answer was lost, sent again, meets 404: that is done."""
    lines = [
        week(1, 1),
        {"id": "del", "op": "module.delete", "course": 1, "module": "@c1w1"},
    ]
    rules = [Rule("DELETE", MODULES + r"/\d+", "drop")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, lines)

    assert status == 0
    deleted = outcomes[1]
    assert deleted["status"] == "ok" and deleted["already_deleted"] is True
    assert deleted["http_status"] == 404
    assert proxy.count("DELETE", MODULES + r"/\d+") == 2
    assert await course_structure(http, sandbox.base_url, TOKEN, 1) == []


async def test_delete_of_nothing_is_not_found(sandbox: Sandbox, tmp_path: Path) -> None:
    """A first 404 to a delete is an answer, not a lost one: it fails."""
    line = {"id": "del", "op": "module.delete", "course": 1, "module": 424242}
    status, outcomes = await run(sandbox.base_url, tmp_path, [line])

    assert status == 1
    assert outcomes[0]["error"]["type"] == "not_found"


async def test_lost_update_is_sent_again_plainly(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An update whose answer was lost is sent again, with no lookup."""
    lines = [
        week(1, 1),
        {
            "id": "ren",
            "op": "module.update",
            "course": 1,
            "module": "@c1w1",
            "params": {"name": "Week One"},
        },
    ]
    rules = [Rule("PUT", MODULES + r"/\d+", "drop")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, lines)

    assert status == 0
    assert outcomes[1]["status"] == "ok" and outcomes[1]["adopted"] is False
    assert proxy.count("PUT", MODULES + r"/\d+") == 2
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [m["name"] for m in modules] == ["Week One"]


async def test_server_error_storm_fails_one_course_clearly(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Every create in course 1 fails with 500: failed, said why; others run."""
    rules = [Rule("POST", MODULES, "fail", times=1000)]
    lines = [week(1, 1), reading(1, 1, "Read"), week(2, 1)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, lines, max_retries=2)

    assert status == 1
    got = {o["id"]: o for o in outcomes}
    assert got["c1w1"]["status"] == "failed"
    assert got["c1w1"]["error"]["type"] == "server_error"
    assert "500" in got["c1w1"]["error"]["message"]
    # First send and two re-sends, each after a look that found nothing.
    assert proxy.count("POST", MODULES) == 3
    assert got["c1w1-Read"]["status"] == "skipped"
    assert got["c1w1-Read"]["error"]["type"] == "dependency_failed"
    assert got["c2w1"]["status"] == "ok"
    assert await course_structure(http, sandbox.base_url, TOKEN, 1) == []


async def test_slow_reads_past_the_timeout_are_sent_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A list slower than --timeout once is sent again and ends ok."""
    rules = [Rule("GET", MODULES, "slow", delay=1.0)]
    line = {"id": "list", "op": "module.list", "course": 1}
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(proxy.base_url, tmp_path, [line], timeout=0.3)

    assert status == 0
    assert outcomes[0]["result"] == []
    assert proxy.count("GET", MODULES) == 2


def storm_job(courses: int = 4, weeks: int = 3) -> list[dict[str, Any]]:
    """Courses of modules with two items each: 36 operations by default."""
    lines: list[dict[str, Any]] = []
    for course in range(1, courses + 1):
        for n in range(1, weeks + 1):
            lines += [week(course, n), reading(course, n, "A"), reading(course, n, "B")]
    return lines


async def check_once_each(
    http: aiohttp.ClientSession,
    base_url: str,
    outcomes: list[dict[str, Any]],
    courses: int = 4,
    weeks: int = 3,
) -> None:
    """Each line has one outcome; each module and item that ended ok exists once."""
    ids = Counter(o["id"] for o in outcomes)
    assert sorted(ids) == sorted(line["id"] for line in storm_job(courses, weeks))
    assert set(ids.values()) == {1}
    for outcome in outcomes:
        assert outcome["status"] in ("ok", "failed", "skipped")
        if outcome["status"] != "ok":
            assert outcome["error"]["type"] and outcome["error"]["message"]
    ok = {o["id"] for o in outcomes if o["status"] == "ok"}
    for course in range(1, courses + 1):
        modules = await read_course(http, base_url, TOKEN, course)
        names = Counter(m["name"] for m in modules)
        assert set(names.values()) <= {1}, names
        for module in modules:
            titles = Counter(item["title"] for item in module["items"])
            assert set(titles.values()) <= {1}, titles
        wanted = {f"Week {n}" for n in range(1, weeks + 1) if f"c{course}w{n}" in ok}
        assert set(names) == wanted


@pytest.mark.parametrize(
    "config",
    [
        SandboxConfig(
            courses=4, throttle=False, fail_rate=0.15, drop_rate=0.1, random_seed=7
        ),
        SandboxConfig(courses=4, throttle=False, drop_rate=0.25, random_seed=11),
    ],
    ids=["fail-and-drop", "drops"],
)
async def test_fault_storm_loses_nothing_and_doubles_nothing(
    config: SandboxConfig, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Random 500s and dropped connections: each line ends once, none doubled."""
    from bulkmod.sandbox.server import serve_sandbox

    async with serve_sandbox(config) as sandbox:
        status, outcomes = await run(
            sandbox.base_url, tmp_path, storm_job(), max_retries=8
        )
        await check_once_each(http, sandbox.base_url, outcomes)
        assert sandbox.stats.dropped + sandbox.stats.failed > 0

    assert status in (0, 1)
    assert sum(o["status"] == "ok" for o in outcomes) >= 30


async def test_throttle_storm_ends_every_operation(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A low high-water mark throttles often; every operation still ends ok."""
    from bulkmod.sandbox.server import serve_sandbox

    config = SandboxConfig(
        courses=4,
        throttle_hwm=250,
        up_front_cost=200,
        throttle_outflow=200,
        latency_ms=20,
    )
    async with serve_sandbox(config) as sandbox:
        status, outcomes = await run(
            sandbox.base_url, tmp_path, storm_job(2, 2), concurrency=2
        )
        await check_once_each(http, sandbox.base_url, outcomes, 2, 2)
        assert sandbox.stats.throttled > 0

    assert status == 0
    assert sum(o["throttled"] for o in outcomes) > 0


async def test_canvas_gone_past_the_outage_limit_stops_the_run(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only broken connections for longer than the outage limit: exit 3, kept."""
    rules = [Rule("GET", r"/api/v1/courses/.*", "drop", times=10_000)]
    lines = [{"op": "module.list", "course": 1} for _ in range(20)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, outcomes = await run(
            proxy.base_url,
            tmp_path,
            lines,
            max_retries=1,
            concurrency=1,
            outage_limit=0.05,
        )

    assert status == 3
    # Two failures are needed to measure an outage; the run stops at once after.
    assert 2 <= len(outcomes) < 20
    assert {o["error"]["type"] for o in outcomes} == {"network"}
    assert "unreachable" in capsys.readouterr().err
