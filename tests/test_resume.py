"""The results file as a journal: what a rerun reads back and what it does.

Each test leaves a results file as a killed or failed run would (by running
part of a job, or cutting lines off a finished one), runs the same job again
and checks, over the API, that nothing was done twice or left undone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from canvas_read import course_structure, read_results, write_job
from fault_proxy import Rule, serve_proxy

from bulkmod.client import http as client_http
from bulkmod.engine import operations
from bulkmod.engine.journal import Journal, read_previous
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"
MODULES = r"/api/v1/courses/1/modules"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Two courses, no throttle."""
    return SandboxConfig(courses=2, throttle=False)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait milliseconds, not seconds, between re-sends."""
    monkeypatch.setattr(client_http, "_BACKOFF_BASE", 0.005)
    monkeypatch.setattr(operations, "BACKOFF_FIRST", 0.005)


def job_path(tmp_path: Path, lines: list[dict[str, Any]]) -> Path:
    """Write the job once; reruns must see the same bytes."""
    path = tmp_path / "job.jsonl"
    if not path.exists():
        write_job(path, lines)
    return path


async def run(
    base_url: str, tmp_path: Path, lines: list[dict[str, Any]], **settings: Any
) -> int:
    """Run the job of ``lines`` on ``base_url``; return the exit status."""
    return await run_job(
        check_job(job_path(tmp_path, lines)),
        Target(base_url, TOKEN),
        RunSettings(results=results_of(tmp_path), show_progress=False, **settings),
    )


def results_of(tmp_path: Path) -> Path:
    """Where the job's results go."""
    return tmp_path / "job.results.jsonl"


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of a results file, parsed (all must be whole)."""
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines()]


def cut_outcomes(path: Path, op_id: str) -> None:
    """Remove the outcome lines of ``op_id``, as if killed before writing them."""
    kept = [
        raw
        for raw in path.read_bytes().splitlines(keepends=True)
        if orjson.loads(raw).get("id") != op_id or "status" not in orjson.loads(raw)
    ]
    path.write_bytes(b"".join(kept))


def create(op_id: str, name: str, **params: Any) -> dict[str, Any]:
    """A line that creates a module in course 1."""
    return {
        "id": op_id,
        "op": "module.create",
        "course": 1,
        "params": {"name": name, **params},
    }


async def names(http: aiohttp.ClientSession, sandbox: Sandbox) -> list[str]:
    """Names of course 1's modules, in order."""
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    return [module["name"] for module in modules]


async def test_killed_after_the_create_landed_adopts_it(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An intent with no outcome, the module in Canvas: adopted, not re-sent."""
    lines = [create("a", "Week 1")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    cut_outcomes(results_of(tmp_path), "a")
    posts = sandbox.stats.by_method["POST"]

    assert await run(sandbox.base_url, tmp_path, lines) == 0
    assert sandbox.stats.by_method["POST"] == posts
    assert read_results(results_of(tmp_path))[-1]["adopted"] is True
    assert await names(http, sandbox) == ["Week 1"]


async def test_lost_item_is_adopted_though_a_module_has_its_id(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Module 1 and item 1 are different objects: the module claims no item."""
    lines = [
        create("m", "Week 1"),
        {
            "id": "i",
            "op": "item.create",
            "course": 1,
            "module": "@m",
            "params": {"type": "SubHeader", "title": "Read"},
        },
    ]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    assert [o["object_id"] for o in read_results(results_of(tmp_path))] == [1, 1]
    cut_outcomes(results_of(tmp_path), "i")

    assert await run(sandbox.base_url, tmp_path, lines) == 0
    outcome = read_results(results_of(tmp_path))[-1]
    assert outcome["adopted"] is True and outcome["object_id"] == 1
    (module,) = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [item["title"] for item in module["items"]] == ["Read"]


async def test_killed_before_the_create_landed_sends_it(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """An intent with no outcome and nothing in Canvas: sent, once."""
    lines = [create("a", "Week 1")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    cut_outcomes(results_of(tmp_path), "a")
    assert read_results(results_of(tmp_path)) == []
    async with http.delete(
        f"{sandbox.base_url}/api/v1/courses/1/modules/1",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as answer:
        assert answer.status == 200

    assert await run(sandbox.base_url, tmp_path, lines) == 0
    (outcome,) = read_results(results_of(tmp_path))
    assert outcome["adopted"] is False and outcome["object_id"] == 2
    assert await names(http, sandbox) == ["Week 1"]


async def test_failed_create_whose_answer_was_lost_is_looked_for_next_run(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A create that failed with its answer lost may have landed: a rerun looks."""
    lines = [create("a", "Week 1")]
    rules = [Rule("POST", MODULES, "drop")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        first = await run(proxy.base_url, tmp_path, lines, max_retries=0)
        second = await run(proxy.base_url, tmp_path, lines, max_retries=0)

    assert (first, second) == (1, 0)
    failed, done = read_results(results_of(tmp_path))
    assert failed["error"]["type"] == "network"
    assert done["adopted"] is True
    assert proxy.count("POST", MODULES) == 1
    assert await names(http, sandbox) == ["Week 1"]


async def test_failed_publish_after_a_create_does_not_create_again(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The create landed, the publish after it failed: a rerun adopts, publishes."""
    lines = [create("a", "Week 1", published=True)]
    rules = [Rule("PUT", MODULES + r"/\d+", "fail")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        first = await run(proxy.base_url, tmp_path, lines, max_retries=0)
        second = await run(proxy.base_url, tmp_path, lines, max_retries=0)

    assert (first, second) == (1, 0)
    done = read_results(results_of(tmp_path))[-1]
    assert done["adopted"] is True and done["result"]["published"] is True
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [(m["name"], m["published"]) for m in modules] == [("Week 1", True)]


async def test_a_namesake_made_by_another_line_is_not_adopted(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Two lines make "Week 1": the first, failed, is not given the second's."""
    lines = [create("a", "Week 1"), create("b", "Week 1")]
    rules = [Rule("POST", MODULES, "fail")]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        first = await run(proxy.base_url, tmp_path, lines, max_retries=0)
        second = await run(proxy.base_url, tmp_path, lines, max_retries=0)

    assert (first, second) == (1, 0)
    got = {o["id"]: o for o in read_results(results_of(tmp_path))}
    assert got["a"]["adopted"] is False
    assert got["a"]["object_id"] != got["b"]["object_id"]
    assert await names(http, sandbox) == ["Week 1", "Week 1"]


async def test_open_delete_intent_then_404_is_done(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Killed after a delete was sent: the rerun's 404 means it was done."""
    lines = [
        create("a", "Week 1"),
        {"id": "d", "op": "module.delete", "course": 1, "module": "@a"},
    ]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    cut_outcomes(results_of(tmp_path), "d")

    assert await run(sandbox.base_url, tmp_path, lines) == 0
    outcome = read_results(results_of(tmp_path))[-1]
    assert outcome["id"] == "d" and outcome["already_deleted"] is True
    assert await names(http, sandbox) == []


async def test_torn_last_line_is_cut_before_the_rerun_appends(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A half-written last line is dropped; the rerun's lines are all whole."""
    lines = [create("a", "Week 1"), create("b", "Week 2")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    cut_outcomes(results_of(tmp_path), "b")
    with results_of(tmp_path).open("ab") as handle:
        handle.write(b'{"line":2,"id":"b","op":"module.cre')

    assert await run(sandbox.base_url, tmp_path, lines) == 0
    written = records(results_of(tmp_path))
    assert [r.get("id") for r in written if "status" in r] == ["a", "b"]
    assert sandbox.stats.by_method["POST"] == 2


async def test_torn_header_alone_starts_over(sandbox: Sandbox, tmp_path: Path) -> None:
    """Killed while writing the header: the next run starts the file afresh."""
    results_of(tmp_path).write_bytes(b'{"bulkmod":{"version":"0')
    assert await run(sandbox.base_url, tmp_path, [create("a", "Week 1")]) == 0
    written = records(results_of(tmp_path))
    assert "bulkmod" in written[0] and written[-1]["status"] == "ok"


async def test_fresh_moves_the_old_results_aside_intact(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """--fresh keeps the old file whole beside the new one it starts."""
    lines = [create("a", "Week 1")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    old = results_of(tmp_path).read_bytes()

    assert await run(sandbox.base_url, tmp_path, lines, fresh=True) == 0
    (aside,) = [
        p for p in tmp_path.iterdir() if p.name.startswith("job.results.jsonl.")
    ]
    assert aside.read_bytes() == old
    assert len(read_results(results_of(tmp_path))) == 1


async def test_results_of_another_canvas_are_refused(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A results file of a run against another Canvas is not resumed."""
    lines = [create("a", "Week 1")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    rules: list[Rule] = []
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        assert await run(proxy.base_url, tmp_path, lines) == 2
    assert "not " + proxy.base_url in capsys.readouterr().err
    assert proxy.seen == ["GET /api/v1/users/self"]


async def test_a_second_writer_is_refused(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While one run holds the results file, another is refused and sends nothing."""
    lines = [create("a", "Week 1")]
    summary = check_job(job_path(tmp_path, lines))
    journal, _ = Journal.open(
        results_of(tmp_path),
        job=summary.path,
        job_sha256=summary.sha256,
        base_url=sandbox.base_url,
        user=None,
        fresh=False,
    )
    try:
        assert await run(sandbox.base_url, tmp_path, lines) == 2
    finally:
        journal.close()
    assert "another bulkmod run" in capsys.readouterr().err
    assert sandbox.stats.by_method["POST"] == 0


def test_only_an_ok_outcome_closes_an_intent(tmp_path: Path) -> None:
    """Failed creates keep their intent open; a delete's first 404 closes it."""
    path = tmp_path / "r.jsonl"
    lines = [
        {"bulkmod": {"job_sha256": "x"}},
        {"intent": "a", "course_id": 1, "kind": "module", "floor": 3},
        {
            "id": "a",
            "op": "module.create",
            "course_id": 1,
            "status": "failed",
            "object_id": None,
            "error": {"type": "network", "message": "m"},
        },
        {"intent": "b", "course_id": 1, "kind": "module", "floor": 3},
        {
            "id": "b",
            "op": "module.create",
            "course_id": 1,
            "status": "ok",
            "object_id": 9,
            "error": None,
        },
        {"intent": "d", "course_id": 1, "kind": "delete"},
        {
            "id": "d",
            "op": "module.delete",
            "course_id": 1,
            "status": "failed",
            "object_id": None,
            "error": {"type": "not_found", "message": "m"},
        },
        {"intent": "e", "course_id": 2, "kind": "delete"},
    ]
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    previous = read_previous(path, referenced={"b"})
    assert set(previous.pending) == {"a", "e"}
    assert previous.ok == {"b"}
    assert previous.values == {"b": (9, 1)}
    # Only course 1 has an open create intent; b's module is claimed there.
    assert previous.claimed == {(1, "module"): {9}, (1, "item"): set()}


async def test_header_counts_the_job_and_a_rerun_says_who_resumed(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The header records 2 operations; a rerun appends one resume line."""
    lines = [create("a", "A"), create("b", "B")]
    assert await run(sandbox.base_url, tmp_path, lines) == 0
    assert await run(sandbox.base_url, tmp_path, lines) == 0

    got = records(results_of(tmp_path))
    assert got[0]["bulkmod"]["operations"] == 2
    resumes = [r["bulkmod_resume"] for r in got if "bulkmod_resume" in r]
    assert len(resumes) == 1
    assert resumes[0]["base_url"] == sandbox.base_url
    assert resumes[0]["user"] == got[0]["bulkmod"]["user"]
    assert sorted(resumes[0]) == ["base_url", "started_at", "user"]
