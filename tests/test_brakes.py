"""Pilot runs and brakes: --pilot, --max-failures, --on-failure skip-course."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job
from fault_proxy import Rule, serve_proxy

from bulkmod.cli import main as bulkmod_main
from bulkmod.engine.brakes import (
    FailureBrake,
    FailureLimit,
    parse_failure_limit,
)
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.report_counts import build_report
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"
CREATE = "POST /api/v1/courses/{course_id}/modules"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses, no throttle."""
    return SandboxConfig(courses=3, throttle=False)


async def run(
    sandbox: Sandbox, job: Path, lines: list[dict[str, Any]], **settings: Any
) -> tuple[int, list[dict[str, Any]]]:
    """Run a job (results beside it); answer the status and all outcomes so far."""
    write_job(job, lines)
    results = job.with_name(job.name + ".results.jsonl")
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False, **settings),
    )
    return status, read_results(results)


def create(course: int, name: str, **fields: Any) -> dict[str, Any]:
    """A module.create line."""
    return {"op": "module.create", "course": course, "params": {"name": name}, **fields}


def missing(course: int) -> dict[str, Any]:
    """A line that fails not_found: a module that does not exist."""
    return {"op": "module.update", "course": course, "module": 999, "params": {}}


async def test_pilot_runs_the_first_courses_then_the_rest_resumes(
    sandbox: Sandbox,
    tmp_path: Path,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--pilot 2 does courses 2 and 1 (first seen); then the rest, none twice."""
    lines = [
        create(2, "A"),
        create(1, "A"),
        create(3, "A"),
        create(2, "B"),
        create(3, "B"),
    ]
    job = tmp_path / "job.jsonl"
    status, outcomes = await run(sandbox, job, lines, pilot=2)

    assert status == 0
    assert sorted(o["id"] for o in outcomes) == ["L1", "L2", "L4"]
    err = capsys.readouterr().err
    assert "pilot: ran the first 2 of 3 courses" in err
    assert "run the same command without --pilot" in err

    status, outcomes = await run(sandbox, job, lines)
    assert status == 0
    assert sorted(o["id"] for o in outcomes) == ["L1", "L2", "L3", "L4", "L5"]
    assert sandbox.stats.by_route[CREATE] == 5
    names = {
        course: [
            m["name"]
            for m in await course_structure(http, sandbox.base_url, TOKEN, course)
        ]
        for course in (1, 2, 3)
    }
    assert names == {1: ["A"], 2: ["A", "B"], 3: ["A", "B"]}


async def test_max_failures_count_stops_the_run(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-failures 2: the second failure stops the run, exit 3, kept results."""
    lines = [create(1, "A"), missing(1), missing(1), missing(1), create(1, "B")]
    status, outcomes = await run(
        sandbox, tmp_path / "job.jsonl", lines, max_failures=FailureLimit(count=2)
    )

    assert status == 3
    assert [(o["id"], o["status"]) for o in outcomes] == [
        ("L1", "ok"),
        ("L2", "failed"),
        ("L3", "failed"),
    ]
    assert "stopped: 2 operations failed (--max-failures 2)" in capsys.readouterr().err


async def test_max_failures_share_waits_for_twenty_outcomes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """5%: a failure first does not stop at once; at 20 ended, 1 failed is 5%."""
    reads = [{"op": "module.list", "course": 1}] * 24
    status, outcomes = await run(
        sandbox,
        tmp_path / "job.jsonl",
        [missing(1), *reads],
        max_failures=parse_failure_limit("5%"),
    )

    assert status == 3
    assert len(outcomes) == 20
    assert outcomes[0]["status"] == "failed"


async def test_skip_course_after_a_failure(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """skip-course: course 1's later lines are skipped (stopped); course 2 runs."""
    lines = [
        create(1, "A"),
        missing(1),
        create(1, "B"),
        create(2, "A"),
        create(1, "C"),
        create(2, "B"),
    ]
    status, outcomes = await run(
        sandbox, tmp_path / "job.jsonl", lines, on_failure="skip-course"
    )

    assert status == 1
    got = {o["id"]: o for o in outcomes}
    assert [got[i]["status"] for i in ("L1", "L2", "L3", "L4", "L5", "L6")] == [
        "ok",
        "failed",
        "skipped",
        "ok",
        "skipped",
        "ok",
    ]
    assert got["L3"]["error"] == {
        "type": "stopped",
        "message": "not sent: L2 failed in this course (--on-failure skip-course)",
    }
    assert sandbox.stats.by_route[CREATE] == 3
    err = capsys.readouterr().err
    assert "courses stopped after a failure (--on-failure skip-course): 1" in err
    assert "  course 1: after L2 failed" in err


async def test_continue_is_the_default(sandbox: Sandbox, tmp_path: Path) -> None:
    """Without skip-course a course's later lines run after a failure."""
    status, outcomes = await run(
        sandbox, tmp_path / "job.jsonl", [missing(1), create(1, "A")]
    )
    assert status == 1
    assert [o["status"] for o in outcomes] == ["failed", "ok"]


@pytest.mark.parametrize(
    ("text", "limit"),
    [("3", FailureLimit(count=3)), ("5%", FailureLimit(share=0.05))],
)
def test_parse_failure_limit(text: str, limit: FailureLimit) -> None:
    """A count or a percentage."""
    assert parse_failure_limit(text) == limit


@pytest.mark.parametrize("text", ["0", "-1", "0%", "101%", "x", "2.5"])
def test_parse_failure_limit_refuses(text: str) -> None:
    """Zero, negatives, shares beyond 100% and words are refused."""
    with pytest.raises(ValueError, match="--max-failures"):
        parse_failure_limit(text)


def test_fan_out_parent_lines_do_not_count_twice() -> None:
    """Children count; the parent line that sums them up does not."""
    brake = FailureBrake(FailureLimit(count=2))
    child = {"status": "failed", "parent": "p", "result": None}
    parent = {
        "status": "failed",
        "parent": None,
        "result": {"children": 2, "failed": 1},
    }
    assert brake.note(child) is None
    assert brake.note(parent) is None
    assert brake.failed == 1 and brake.ended == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-failures", "0"], "--max-failures '0'"),
        (["--pilot", "0"], "--pilot must be at least 1"),
    ],
)
def test_bad_brake_flags_send_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    """A bad --max-failures or --pilot is refused before anything runs: exit 2."""
    job = write_job(tmp_path / "job.jsonl", [create(1, "A")])

    assert bulkmod_main(["run", str(job), *flags]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [job]


async def test_failed_pilot_says_to_look_before_going_on(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pilot with a failure points at report and retry, not at the rest."""
    lines = [missing(1), create(1, "A"), create(2, "A")]
    job = tmp_path / "job.jsonl"
    status, _ = await run(sandbox, job, lines, pilot=1)

    assert status == 1
    err = capsys.readouterr().err
    results = f"{job}.results.jsonl"
    assert "pilot: ran the first 1 of 2 courses, and 1 operations there" in err
    assert f"'bulkmod report {results}'" in err
    assert f"'bulkmod retry {results} -o rest.jsonl'" in err
    assert "deal with them before the other 1 courses" in err
    assert "instead of this job from then on" in err


async def test_max_failures_points_at_retry(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stop reason names report and retry, not only running it again."""
    job = tmp_path / "job.jsonl"
    await run(sandbox, job, [missing(1)], max_failures=FailureLimit(count=1))

    err = capsys.readouterr().err
    assert f"'bulkmod retry {job}.results.jsonl -o rest.jsonl'" in err
    assert f"'bulkmod report {job}.results.jsonl'" in err


async def test_children_a_stop_cut_off_get_a_line(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The first child fails and stops the run; the second is skipped, stopped.

    The parent says why; the report's error counts add up to the non-ok
    children, which the parent's line sums up (it is not counted again).
    """
    lines = [
        create(1, "A"),
        create(1, "B"),
        {
            "id": "all",
            "op": "module.update",
            "course": 1,
            "module": "*",
            "params": {"require_sequential_progress": True},
        },
    ]
    job = tmp_path / "job.jsonl"
    rules = [Rule("PUT", r"/api/v1/courses/1/modules/\d+", "fail", times=1)]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        write_job(job, lines)
        results = tmp_path / "results.jsonl"
        status = await run_job(
            check_job(job),
            Target(proxy.base_url, TOKEN),
            RunSettings(
                results=results,
                show_progress=False,
                max_retries=0,
                max_failures=FailureLimit(count=1),
            ),
        )

    assert status == 3
    got = {o["id"]: o for o in read_results(results)}
    children = sorted(
        (o for o in got.values() if o["parent"] == "all"), key=lambda o: o["id"]
    )
    assert [(o["status"], o["error"]["type"]) for o in children] == [
        ("failed", "server_error"),
        ("skipped", "stopped"),
    ]
    assert children[1]["error"]["message"] == "not sent: the run stopped before it ran"
    assert got["all"]["status"] == "failed"
    # The parent takes its first failed child's error type.
    assert got["all"]["error"] == {
        "type": "server_error",
        "message": "1 of 2 children did not succeed; "
        "the run stopped before 1 child ran",
    }
    counted = build_report(results)
    assert counted.errors == {"server_error": 1, "stopped": 1}
    assert counted.children["failed"] + counted.children["skipped"] == 2
    assert counted.statuses == {"ok": 2, "failed": 1}
