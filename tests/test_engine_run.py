"""The engine over the real sandbox on loopback: every operation, every form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job

from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses, no throttle: these tests are about what is done."""
    return SandboxConfig(courses=3, throttle=False)


async def run(
    sandbox: Sandbox, tmp_path: Path, lines: list[dict[str, Any]], **settings: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Run a job on the sandbox; return the exit status and outcome lines."""
    job = write_job(tmp_path / "job.jsonl", lines)
    results = tmp_path / "job.results.jsonl"
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False, **settings),
    )
    return status, read_results(results)


def by_id(outcomes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Outcome lines keyed by operation id (the last one wins)."""
    return {outcome["id"]: outcome for outcome in outcomes}


async def test_module_and_item_lifecycle(sandbox: Sandbox, tmp_path: Path) -> None:
    """Create, update, show, list and delete modules and items, with references."""
    status, outcomes = await run(
        sandbox,
        tmp_path,
        [
            {
                "id": "w1",
                "op": "module.create",
                "course": 1,
                "params": {"name": "Week 1"},
            },
            {
                "id": "w2",
                "op": "module.create",
                "course": "1",
                "params": {
                    "name": "Week 2",
                    "prerequisite_module_ids": [{"ref": "w1"}],
                },
            },
            {
                "id": "h",
                "op": "item.create",
                "course": 1,
                "module": "@w1",
                "params": {"type": "SubHeader", "title": "Read first"},
            },
            {
                "id": "u",
                "op": "item.create",
                "course": 1,
                "module": {"ref": "w1"},
                "params": {
                    "type": "ExternalUrl",
                    "title": "Docs",
                    "external_url": "https://example.com/docs",
                    "new_tab": True,
                },
            },
            {
                "id": "ren",
                "op": "module.update",
                "course": 1,
                "module": "@w2",
                "params": {"name": "Week Two"},
            },
            {
                "id": "show",
                "op": "module.show",
                "course": 1,
                "module": {"name": "Week Two"},
            },
            {
                "id": "mv",
                "op": "item.update",
                "course": 1,
                "module": "@w1",
                "item": {"title": "Docs"},
                "params": {"position": 1},
            },
            {"id": "items", "op": "item.list", "course": 1, "module": "@w1"},
            {
                "id": "one",
                "op": "item.show",
                "course": 1,
                "module": "@w1",
                "item": "@h",
            },
            {
                "id": "del",
                "op": "item.delete",
                "course": 1,
                "module": "@w1",
                "item": "@u",
            },
            {"id": "mods", "op": "module.list", "course": 1},
        ],
    )
    assert status == 0, outcomes
    got = by_id(outcomes)
    assert all(outcome["status"] == "ok" for outcome in outcomes)
    assert got["w2"]["result"]["prerequisite_module_ids"] == [got["w1"]["object_id"]]
    assert got["w1"]["result"]["published"] is False
    assert got["show"]["result"]["name"] == "Week Two"
    assert got["ren"]["before"] == {"name": "Week 2"}
    assert [item["title"] for item in got["items"]["result"]] == ["Docs", "Read first"]
    assert got["one"]["result"]["type"] == "SubHeader"
    assert got["del"]["result"]["published"] is False
    assert [module["name"] for module in got["mods"]["result"]] == [
        "Week 1",
        "Week Two",
    ]
    assert got["w1"]["course_id"] == 1 and got["w1"]["attempts"] >= 1


async def test_published_on_create_is_set_right_after(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Canvas ignores published on create; the engine publishes just after."""
    status, outcomes = await run(
        sandbox,
        tmp_path,
        [
            {
                "id": "m",
                "op": "module.create",
                "course": 2,
                "params": {"name": "Open", "published": True},
            }
        ],
    )
    assert status == 0
    assert outcomes[0]["result"]["published"] is True
    assert outcomes[0]["steps"] == ["create", "publish"]


async def test_sis_course_and_fan_out_children(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A course by SIS id resolves; "*" gives each module a line of its own."""
    status, outcomes = await run(
        sandbox,
        tmp_path,
        [
            {
                "id": "a",
                "op": "module.create",
                "course": "sis_course_id:SIS-3",
                "params": {"name": "A"},
            },
            {"id": "b", "op": "module.create", "course": 3, "params": {"name": "B"}},
            {
                "id": "all",
                "op": "module.update",
                "course": 3,
                "module": "*",
                "params": {"require_sequential_progress": True},
            },
        ],
    )
    assert status == 0
    got = by_id(outcomes)
    assert got["a"]["course_id"] == 3
    children = [o for o in outcomes if o["parent"] == "all"]
    assert sorted(o["id"] for o in children) == sorted(
        [f"all/{got['a']['object_id']}", f"all/{got['b']['object_id']}"]
    )
    assert got["all"]["status"] == "ok"
    modules = await course_structure(http, sandbox.base_url, TOKEN, 3)
    assert all(module["require_sequential_progress"] for module in modules)


async def test_publish_by_batch_and_skip_on_failed_dependency(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """module.publish uses the batch endpoint; a failed line skips its dependants."""
    status, outcomes = await run(
        sandbox,
        tmp_path,
        [
            {"id": "m", "op": "module.create", "course": 1, "params": {"name": "W"}},
            {"id": "pub", "op": "module.publish", "course": 1, "module": "*"},
            {"id": "bad", "op": "module.show", "course": 1, "module": 999999},
            {
                "id": "dep",
                "op": "module.relock",
                "course": 1,
                "module": "@m",
                "after": ["bad"],
            },
            {"id": "free", "op": "module.relock", "course": 1, "module": "@m"},
        ],
    )
    assert status == 1
    got = by_id(outcomes)
    assert got["pub"]["status"] == "ok"
    assert got["bad"]["status"] == "failed"
    assert got["bad"]["error"]["type"] == "not_found"
    assert got["bad"]["http_status"] == 404
    assert got["dep"]["status"] == "skipped"
    assert got["dep"]["error"]["type"] == "dependency_failed"
    assert got["free"]["status"] == "ok"
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [module["published"] for module in modules] == [True]


async def test_rerun_resumes_and_sends_nothing_done(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The same job again sends no operation that already ended ok."""
    lines = [
        {"id": "m", "op": "module.create", "course": 1, "params": {"name": "Once"}},
        {
            "op": "item.create",
            "course": 1,
            "module": "@m",
            "params": {"type": "SubHeader", "title": "Only once"},
        },
    ]
    first, _ = await run(sandbox, tmp_path, lines)
    before = sandbox.stats.requests
    second, outcomes = await run(sandbox, tmp_path, lines)
    assert (first, second) == (0, 0)
    # One request: who the token belongs to. Nothing of the job.
    assert sandbox.stats.requests - before == 1
    assert len(outcomes) == 2


async def test_results_of_another_job_are_refused(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A results file written for another job is not resumed or overwritten."""
    await run(sandbox, tmp_path, [{"op": "module.list", "course": 1}])
    status, outcomes = await run(
        sandbox, tmp_path, [{"op": "module.list", "course": 2}]
    )
    assert status == 2
    assert len(outcomes) == 1


async def test_invalid_job_is_not_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """A job with a bad line is refused by the check before anything is sent."""
    job = write_job(
        tmp_path / "bad.jsonl",
        [
            {"op": "module.create", "course": 1, "params": {"name": "ok"}},
            {"op": "module.explode", "course": 1},
        ],
    )
    summary = check_job(job)
    assert summary.problem_count == 1
    assert sandbox.stats.requests == 0


async def test_student_side_operations_and_sequence(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Done, not done and mark read as a student; the sequence; unpublish; delete.

    Student 1 is user 3 in every seeded course (see the sandbox's seed).
    """
    status, outcomes = await run(
        sandbox,
        tmp_path,
        [
            {
                "id": "m",
                "op": "module.create",
                "course": 2,
                "params": {"name": "Read", "published": True},
            },
            {
                "id": "p",
                "op": "item.create",
                "course": 2,
                "module": "@m",
                "params": {
                    "type": "Page",
                    "content": {"title": "Page 1"},
                    "completion_requirement": {"type": "must_mark_done"},
                    "published": True,
                },
            },
            {
                "id": "q",
                "op": "item.create",
                "course": 2,
                "module": "@m",
                "params": {
                    "type": "Page",
                    "page_url": "page-2",
                    "published": True,
                    "completion_requirement": {"type": "must_view"},
                },
            },
            {
                "id": "done",
                "op": "item.done",
                "course": 2,
                "module": "@m",
                "item": "@p",
                "as_user": "3",
            },
            {
                "id": "read",
                "op": "item.mark_read",
                "course": 2,
                "module": "@m",
                "item": "@q",
                "as_user": "3",
            },
            {
                "id": "mine",
                "op": "module.show",
                "course": 2,
                "module": "@m",
                "as_user": "3",
            },
            {
                "id": "undone",
                "op": "item.undone",
                "course": 2,
                "module": "@m",
                "item": "@p",
                "as_user": "3",
            },
            {
                "id": "seq",
                "op": "sequence.get",
                "course": 2,
                "params": {"asset_type": "Page", "asset_id": "page-2"},
            },
            {"id": "off", "op": "module.unpublish", "course": 2, "module": "@m"},
            {"id": "gone", "op": "module.delete", "course": 2, "module": "@m"},
            {"id": "again", "op": "module.show", "course": 2, "module": "@m"},
        ],
    )
    got = by_id(outcomes)
    assert status == 1
    assert got["done"]["result"] == {"message": "OK"}
    assert got["read"]["result"] == {"message": "OK"}
    assert got["mine"]["result"]["state"] == "completed"
    assert "published" not in got["mine"]["result"]
    assert got["undone"]["status"] == "ok"
    sequence = got["seq"]["result"]["items"][0]
    assert sequence["current"]["id"] == got["q"]["object_id"]
    assert sequence["prev"]["id"] == got["p"]["object_id"]
    assert got["off"]["result"]["completed"] == [got["m"]["object_id"]]
    assert got["gone"]["status"] == "ok"
    assert got["again"]["error"]["type"] == "not_found"
