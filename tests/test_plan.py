"""``bulkmod plan`` over the real sandbox: counts, problems, and no writes."""

from __future__ import annotations

import argparse
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import structlog
from aiohttp import web
from canvas_read import read_results, write_job

from bulkmod.client.errors import BadAnswerError
from bulkmod.client.http import CanvasClient
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.plan import command
from bulkmod.plan.command import plan_job
from bulkmod.plan.fetch import CanvasReader
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses, no throttle: these tests are about what is planned."""
    return SandboxConfig(courses=3, throttle=False)


@pytest.fixture(autouse=True)
def default_logging() -> Iterator[None]:
    """Undo the logging set up by the command, whose stderr pytest closes."""
    yield
    structlog.reset_defaults()


async def setup(
    sandbox: Sandbox, tmp_path: Path, lines: list[dict[str, Any]]
) -> dict[str, int]:
    """Build a course state with a real run; answer each operation's object id."""
    job = write_job(tmp_path / "setup.jsonl", lines)
    results = tmp_path / "setup.results.jsonl"
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False),
    )
    outcomes = read_results(results)
    assert status == 0, outcomes
    return {outcome["id"]: outcome["object_id"] for outcome in outcomes}


async def plan(
    sandbox: Sandbox, tmp_path: Path, lines: list[dict[str, Any]], fmt: str = "json"
) -> tuple[int, Any]:
    """Plan a job on the sandbox; answer the exit status and the output."""
    job = write_job(tmp_path / "job.jsonl", lines)
    summary = check_job(job)
    assert summary.ok, [str(problem) for problem in summary.problems]
    out = io.StringIO()
    status = await plan_job(summary, Target(sandbox.base_url, TOKEN), fmt=fmt, out=out)
    text = out.getvalue()
    return status, orjson.loads(text) if fmt == "json" else text


async def run(
    sandbox: Sandbox, tmp_path: Path
) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run the planned job for real; answer the status and outcomes by id."""
    job = tmp_path / "job.jsonl"
    results = tmp_path / "job.results.jsonl"
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False),
    )
    return status, {outcome["id"]: outcome for outcome in read_results(results)}


def changes(**counts: int) -> dict[str, int]:
    """A full count of changes, zero where not given."""
    names = ("create", "update", "move", "publish", "unpublish", "delete")
    return {name: counts.get(name, 0) for name in names}


def course(report: dict[str, Any], name: str) -> dict[str, Any]:
    """One course's entry of a JSON plan."""
    (entry,) = [entry for entry in report["courses"] if entry["course"] == name]
    return dict(entry)


async def test_counts_per_course_and_in_total(sandbox: Sandbox, tmp_path: Path) -> None:
    """Each change is counted under what it does, per course and in total."""
    await setup(
        sandbox,
        tmp_path,
        [
            {"id": "a", "op": "module.create", "course": 1, "params": {"name": "A"}},
            {"id": "b", "op": "module.create", "course": 1, "params": {"name": "B"}},
            {
                "op": "item.create",
                "course": 1,
                "module": "@a",
                "params": {"type": "SubHeader", "title": "Intro"},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@a",
                "params": {
                    "type": "ExternalUrl",
                    "title": "Docs",
                    "external_url": "https://example.com/docs",
                },
            },
        ],
    )
    job = [
        {
            "id": "w1",
            "op": "module.create",
            "course": 1,
            "params": {"name": "Week 1", "published": True},
        },
        {
            "op": "module.update",
            "course": 1,
            "module": {"name": "A"},
            "params": {"name": "Unit A", "position": 2},
        },
        {"op": "module.publish", "course": 1, "module": {"name": "B"}},
        {
            "op": "item.create",
            "course": 1,
            "module": "@w1",
            "params": {
                "type": "Assignment",
                "content": {"title": "Assignment 1"},
                "published": False,
            },
        },
        {
            "op": "item.update",
            "course": 1,
            "module": {"name": "Unit A"},
            "item": {"title": "Docs"},
            "params": {"position": 1},
        },
        {
            "op": "item.update",
            "course": 1,
            "module": {"name": "Unit A"},
            "item": {"title": "Intro"},
            "params": {"title": "Start here", "module_id": "@w1"},
        },
        {
            "op": "item.delete",
            "course": 1,
            "module": {"name": "Unit A"},
            "item": {"title": "Docs"},
        },
        {"op": "module.delete", "course": 1, "module": {"name": "B"}},
        {"op": "module.list", "course": 1},
        {
            "op": "module.create",
            "course": "sis_course_id:SIS-2",
            "params": {"name": "X"},
        },
    ]
    status, report = await plan(sandbox, tmp_path, job)

    assert status == 0, report["problems"]
    one = course(report, "1")
    assert one["course_id"] == 1
    assert one["modules"] == changes(create=1, update=1, move=1, publish=2, delete=1)
    assert one["items"] == changes(create=1, update=1, move=2, unpublish=1, delete=1)
    assert (one["reads"], one["other"], one["problems"]) == (1, 0, 0)
    two = course(report, "sis_course_id:SIS-2")
    assert two["course_id"] == 2
    assert two["modules"] == changes(create=1)
    assert report["totals"]["courses"] == 2
    assert report["totals"]["modules"] == changes(
        create=2, update=1, move=1, publish=2, delete=1
    )
    assert report["operations"] == 10 and report["ok"] is True

    status, outcomes = await run(sandbox, tmp_path)
    assert status == 0, outcomes


async def test_plan_sends_only_reads(sandbox: Sandbox, tmp_path: Path) -> None:
    """A plan of creates, updates and deletes sends nothing but GET requests."""
    await setup(
        sandbox,
        tmp_path,
        [{"op": "module.create", "course": 1, "params": {"name": "Old"}}],
    )
    before = Counter(sandbox.stats.by_method)
    status, report = await plan(
        sandbox,
        tmp_path,
        [
            {
                "id": "n",
                "op": "module.create",
                "course": 1,
                "params": {"name": "New", "published": True},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@n",
                "params": {"type": "Page", "content": {"title": "Page 1"}},
            },
            {
                "op": "module.update",
                "course": 1,
                "module": "*",
                "params": {"unlock_at": "2030-01-01T00:00:00Z"},
            },
            {"op": "module.publish", "course": 1, "module": "*"},
            {"op": "module.delete", "course": 1, "module": {"name": "Old"}},
        ],
    )
    sent = Counter(sandbox.stats.by_method)
    sent.subtract(before)
    assert status == 0, report["problems"]
    assert {method for method, n in sent.items() if n} == {"GET"}
    # Who am I, the modules with their items, and the pages.
    assert sent["GET"] == 3


async def test_fan_out_counts_each_child(sandbox: Sandbox, tmp_path: Path) -> None:
    """'*' counts once per module or item it stands for, new ones included."""
    await setup(
        sandbox,
        tmp_path,
        [
            {"id": "m1", "op": "module.create", "course": 1, "params": {"name": "M1"}},
            {"id": "m2", "op": "module.create", "course": 1, "params": {"name": "M2"}},
            {"op": "module.create", "course": 1, "params": {"name": "M3"}},
            {
                "op": "item.create",
                "course": 1,
                "module": "@m1",
                "params": {"type": "SubHeader", "title": "One"},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@m1",
                "params": {"type": "SubHeader", "title": "Two"},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@m2",
                "params": {"type": "SubHeader", "title": "Three"},
            },
        ],
    )
    status, report = await plan(
        sandbox,
        tmp_path,
        [
            {"op": "module.create", "course": 1, "params": {"name": "M4"}},
            {
                "op": "module.update",
                "course": 1,
                "module": "*",
                "params": {"require_sequential_progress": True},
            },
            {"op": "module.publish", "course": 1, "module": "*"},
            {
                "op": "item.update",
                "course": 1,
                "module": {"name": "M1"},
                "item": "*",
                "params": {"indent": 1},
            },
            {"op": "module.delete", "course": 1, "module": {"name": "M2"}},
            {"op": "module.relock", "course": 1, "module": "*"},
            {"op": "item.delete", "course": 1, "module": {"name": "M1"}, "item": "*"},
        ],
    )
    assert status == 0, report["problems"]
    one = course(report, "1")
    # 3 modules + M4; then M2 is gone for the relock.
    assert one["modules"] == changes(create=1, update=4, publish=4, delete=1)
    assert one["items"] == changes(update=2, delete=2)
    assert one["other"] == 3


async def test_each_kind_of_problem(sandbox: Sandbox, tmp_path: Path) -> None:
    """Every kind of problem is found at its line, and a run agrees."""
    ids = await setup(
        sandbox,
        tmp_path,
        [
            {"op": "module.create", "course": 1, "params": {"name": "Dup"}},
            {"op": "module.create", "course": 1, "params": {"name": "Dup"}},
            {
                "id": "solo",
                "op": "module.create",
                "course": 1,
                "params": {"name": "Solo"},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@solo",
                "params": {"type": "SubHeader", "title": "Only"},
            },
        ],
    )
    solo = ids["solo"]
    job = [
        {"id": "a", "op": "module.show", "course": 1, "module": {"name": "Missing"}},
        {
            "id": "b",
            "op": "module.update",
            "course": 1,
            "module": {"name": "Dup"},
            "params": {"name": "x"},
        },
        {
            "id": "c",
            "op": "item.update",
            "course": 1,
            "module": {"name": "Solo"},
            "item": {"title": "Nope"},
            "params": {"indent": 1},
        },
        {
            "id": "d",
            "op": "item.create",
            "course": 1,
            "module": {"name": "Solo"},
            "params": {"type": "Assignment", "content": {"title": "No such"}},
        },
        {
            "id": "e",
            "op": "module.create",
            "course": 1,
            "params": {
                "name": "Early",
                "position": 1,
                "prerequisite_module_ids": [solo],
            },
        },
        {
            "id": "f",
            "op": "item.create",
            "course": 1,
            "module": "@b",
            "params": {"type": "SubHeader", "title": "t"},
        },
        {"id": "g", "op": "module.delete", "course": 1, "module": {"name": "Solo"}},
        {
            "id": "h",
            "op": "item.create",
            "course": 1,
            "module": "@g",
            "params": {"type": "SubHeader", "title": "t"},
        },
        {"id": "i", "op": "module.list", "course": "sis_course_id:NOPE"},
        {"id": "j", "op": "module.show", "course": 1, "module": 999999},
        {"id": "p1", "op": "module.create", "course": 1, "params": {"name": "P1"}},
        {
            "id": "p2",
            "op": "module.create",
            "course": 1,
            "params": {"name": "P2", "prerequisite_module_ids": [{"ref": "p1"}]},
        },
        {
            "id": "k",
            "op": "module.update",
            "course": 1,
            "module": "@p1",
            "params": {"position": 99},
        },
        {
            "id": "l",
            "op": "item.create",
            "course": 1,
            "module": "@p1",
            "params": {
                "type": "Page",
                "content": {"title": "Page 1"},
                "completion_requirement": {"type": "must_submit"},
            },
        },
        {"id": "m", "op": "module.list", "course": 1, "after": ["a"]},
        {
            "id": "n",
            "op": "item.create",
            "course": "sis_course_id:SIS-2",
            "module": "@p1",
            "params": {"type": "SubHeader", "title": "t"},
        },
    ]
    status, report = await plan(sandbox, tmp_path, job)

    assert status == 1
    found = [(p["line"], p["id"], p["type"]) for p in report["problems"]]
    assert found == [
        (1, "a", "not_found"),
        (2, "b", "conflict"),
        (3, "c", "not_found"),
        (4, "d", "not_found"),
        (5, "e", "dropped"),
        (6, "f", "dependency_failed"),
        (8, "h", "not_found"),
        (9, "i", "not_found"),
        (10, "j", "not_found"),
        (13, "k", "dropped"),
        (14, "l", "dropped"),
        (15, "m", "dependency_failed"),
        (16, "n", "not_found"),
    ]
    messages = {p["id"]: p["message"] for p in report["problems"]}
    assert messages["a"] == "no module named 'Missing' in course 1"
    assert messages["b"] == (
        "2 modules named 'Dup' in course 1 (1, 2); name one by id or reference"
    )
    assert "is deleted by line 7" in messages["h"]
    assert "module 'P1' (new, line 11)" in messages["k"]
    assert messages["n"] == "'p1' acts on course 1, not on course 2"
    assert report["totals"]["problems"] == 13

    status, outcomes = await run(sandbox, tmp_path)
    assert status == 1
    not_ok = {op_id for op_id, outcome in outcomes.items() if outcome["status"] != "ok"}
    assert not_ok == {"a", "b", "c", "d", "f", "h", "i", "j", "m", "n"}
    # What the plan called dropped, Canvas did drop.
    assert outcomes["e"]["result"]["prerequisite_module_ids"] == []
    assert outcomes["l"]["result"].get("completion_requirement") is None


async def test_text_table(sandbox: Sandbox, tmp_path: Path) -> None:
    """The text format shows modules/items cells, totals and each problem."""
    status, text = await plan(
        sandbox,
        tmp_path,
        [
            {
                "op": "module.create",
                "course": 1,
                "params": {"name": "W", "published": True},
            },
            {"op": "module.show", "course": 2, "module": {"name": "Nope"}},
        ],
        fmt="text",
    )
    assert status == 1
    lines = text.splitlines()
    assert "each cell: modules/items" in lines
    row = next(line for line in lines if line.startswith("1 "))
    assert row.split() == ["1", "1/0", "-", "-", "1/0", "-", "-", "-", "-"]
    total = next(line for line in lines if line.startswith("total (2 courses)"))
    assert total.split()[3:] == ["1/0", "-", "-", "1/0", "-", "-", "-", "1"]
    job = str(tmp_path / "job.jsonl")
    assert f"  {job}:2: L2: not_found: no module named 'Nope' in course 2" in lines


def test_invalid_job_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job with a bad line is refused before anything is sent, as by run."""
    job = write_job(tmp_path / "bad.jsonl", [{"op": "module.explode", "course": 1}])
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.main(parser.parse_args([str(job)])) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_command_on_embedded_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no Canvas named, plan starts the embedded sandbox and plans there."""
    monkeypatch.delenv("CANVAS_BASE_URL", raising=False)
    job = write_job(
        tmp_path / "job.jsonl",
        [{"op": "module.create", "course": 3, "params": {"name": "W"}}],
    )
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args([str(job), "--format", "json", "--sandbox-courses", "3"])
    assert command.main(args) == 0
    report = orjson.loads(capsys.readouterr().out)
    assert report["embedded_sandbox"] is True
    assert report["totals"]["modules"] == changes(create=1)


async def test_big_module_items_read_on_demand(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Items of a module Canvas does not inline (over 100) are read when needed."""
    lines: list[dict[str, Any]] = [
        {"id": "big", "op": "module.create", "course": 1, "params": {"name": "Big"}}
    ]
    lines += [
        {
            "op": "item.create",
            "course": 1,
            "module": "@big",
            "params": {"type": "SubHeader", "title": f"H{n}"},
        }
        for n in range(1, 102)
    ]
    await setup(sandbox, tmp_path, lines)
    before = Counter(sandbox.stats.by_route)
    status, report = await plan(
        sandbox,
        tmp_path,
        [
            {
                "op": "item.delete",
                "course": 1,
                "module": {"name": "Big"},
                "item": {"title": "H101"},
            }
        ],
    )
    sent = Counter(sandbox.stats.by_route)
    sent.subtract(before)
    assert status == 0, report["problems"]
    assert course(report, "1")["items"] == changes(delete=1)
    items_route = "GET /api/v1/courses/{course_id}/modules/{module_id}/items"
    # 101 items at 100 a page.
    assert sent[items_route] == 2


async def test_refused_token_stops_with_3(sandbox: Sandbox, tmp_path: Path) -> None:
    """A token Canvas refuses stops the plan with exit 3 and writes no plan."""
    sandbox.revoke_token(TOKEN)
    job = write_job(
        tmp_path / "job.jsonl",
        [{"op": "module.create", "course": 1, "params": {"name": "W"}}],
    )
    out = io.StringIO()
    status = await plan_job(
        check_job(job), Target(sandbox.base_url, TOKEN), fmt="text", out=out
    )
    assert status == 3
    assert out.getvalue() == ""


async def test_existing_module_name_is_a_warning(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A module.create under a name the course has is warned of, not a problem."""
    headers = {"Authorization": "Bearer sandbox-token"}
    url = f"{sandbox.base_url}/api/v1/courses/1/modules"
    async with http.post(url, data={"module[name]": "Week 1"}, headers=headers) as r:
        existing = (await r.json())["id"]
    job = write_job(
        tmp_path / "job.jsonl",
        [
            {"op": "module.create", "course": 1, "params": {"name": "Week 1"}},
            {"op": "module.create", "course": 1, "params": {"name": "Week 2"}},
        ],
    )
    out = io.StringIO()
    status = await plan_job(
        check_job(job), Target(sandbox.base_url, TOKEN), fmt="json", out=out
    )
    plan = orjson.loads(out.getvalue())
    assert status == 0
    assert plan["problem_count"] == 0
    assert plan["warning_count"] == 1
    assert plan["warnings"][0]["line"] == 1
    assert plan["warnings"][0]["type"] == "exists"
    assert str(existing) in plan["warnings"][0]["message"]


@pytest.mark.parametrize(
    ("route", "body", "read"),
    [
        ("/api/v1/courses/sis_course_id:X", {"id": "abc"}, "course"),
        ("/api/v1/courses/5/modules", [{"name": "no id"}], "modules"),
    ],
)
async def test_plan_reads_check_the_answer_shape(
    route: str, body: Any, read: str
) -> None:
    """A course without an id, or modules without ids: BadAnswerError, no crash."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get(route, answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    try:
        async with CanvasClient(
            f"http://127.0.0.1:{port}", "t0ken", allow_insecure_http=True
        ) as client:
            reader = CanvasReader(client, concurrency=2)
            with pytest.raises(BadAnswerError):
                if read == "course":
                    await reader.course_id("sis_course_id:X")
                else:
                    await reader.modules("5")
            await reader.close()
    finally:
        await runner.cleanup()


async def test_csv_problems_are_named_by_row(sandbox: Sandbox, tmp_path: Path) -> None:
    """A CSV job's problem reads "file:row 3", as validate names it; 1 problem."""
    job = tmp_path / "job.csv"
    job.write_text("op,course,module,name\nmodule.create,1,,A\nmodule.update,1,999,B\n")
    out = io.StringIO()
    status = await plan_job(
        check_job(job), Target(sandbox.base_url, TOKEN), fmt="table", out=out
    )

    assert status == 1
    lines = out.getvalue().splitlines()
    assert "problems (file:row N: id: type: message)" in lines
    assert any(line.startswith(f"  {job}:row 3: L3: not_found: ") for line in lines)
    assert any(line.startswith("1 problem: fix it before the run") for line in lines)
