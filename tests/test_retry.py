"""``bulkmod retry``: a job of exactly what did not end ok, able to run on its own."""

from __future__ import annotations

import argparse
import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from canvas_read import course_structure, read_results

from bulkmod import report, retry
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.report_counts import build_report
from bulkmod.retry import RetryError, build_retry
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"

#: The original job; line 3 is blank, so default ids skip L3.
JOB: list[dict[str, Any] | None] = [
    {"id": "w1", "op": "module.create", "course": 1, "params": {"name": "Week 1"}},
    {
        "op": "module.create",
        "course": 1,
        "params": {"name": "Week 2", "prerequisite_module_ids": [{"ref": "w1"}]},
    },
    None,
    {
        "op": "item.create",
        "course": 1,
        "module": "@L2",
        "params": {"type": "SubHeader", "title": "Intro"},
    },
    {
        "id": "h",
        "op": "item.create",
        "course": 1,
        "module": "@w1",
        "params": {"type": "SubHeader", "title": "Read"},
    },
    {
        "id": "mv",
        "op": "item.update",
        "course": 1,
        "module": {"ref": "w1"},
        "item": "@h",
        "params": {"position": 1},
        "after": ["L2", "w1"],
    },
    {
        "id": "all",
        "op": "module.update",
        "course": "sis_course_id:SIS-1",
        "module": "*",
        "params": {"require_sequential_progress": True},
    },
    {"op": "module.show", "course": "2", "module": {"name": "Week 1"}, "as_user": "5"},
    {"id": "ok2", "op": "module.relock", "course": 1, "module": "@w1"},
    {
        "id": "p",
        "op": "module.update",
        "course": 1,
        "module": "@w1",
        "params": {"prerequisite_module_ids": ["@L2"]},
    },
]


def write_job(path: Path, lines: Sequence[dict[str, Any] | None]) -> Path:
    """Write a JSONL job; None stands for a blank line."""
    path.write_bytes(
        b"".join(orjson.dumps(line) + b"\n" if line else b"\n" for line in lines)
    )
    return path


def header(job: Path) -> dict[str, Any]:
    """The results header of a run of ``job`` as it is now."""
    return {
        "bulkmod": {
            "version": "0.1.0",
            "job": str(job),
            "job_sha256": hashlib.sha256(job.read_bytes()).hexdigest(),
            "base_url": "http://127.0.0.1:9",
            "user": "Admin (id 1)",
            "started_at": "2024-08-01T10:00:00.000Z",
        }
    }


def outcome(op_id: str, status: str, **fields: Any) -> dict[str, Any]:
    """An outcome line with only the fields retry reads."""
    return {"id": op_id, "parent": None, "status": status, "object_id": None, **fields}


def write_results(path: Path, records: list[dict[str, Any]]) -> Path:
    """Write a results file."""
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    return path


def results_of(tmp_path: Path, job: Path) -> Path:
    """A first run of JOB (L2 failed, L8 never reached), then a rerun of mv."""
    return write_results(
        tmp_path / "job.results.jsonl",
        [
            header(job),
            outcome("w1", "ok", object_id=101),
            outcome("L2", "failed"),
            outcome("L4", "skipped"),
            outcome("h", "ok", object_id=501),
            outcome("mv", "skipped"),
            outcome("all/101", "ok", parent="all", object_id=101),
            outcome("all/102", "failed", parent="all"),
            outcome("all", "failed", result={"children": 2, "failed": 1}),
            outcome("ok2", "failed"),
            outcome("p", "skipped"),
            outcome("ok2", "ok", object_id=101),
            outcome("mv", "failed"),
        ],
    )


def retry_lines(results: Path, **options: Any) -> list[dict[str, Any]]:
    """Build a retry job in memory and parse its lines."""
    out = io.BytesIO()
    build_retry(results, out, **options)
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def test_retry_holds_exactly_what_did_not_end_ok(tmp_path: Path) -> None:
    """Failed, skipped and unattempted lines, in order, references resolved."""
    job = write_job(tmp_path / "job.jsonl", JOB)
    results = results_of(tmp_path, job)

    out = io.BytesIO()
    summary = build_retry(results, out)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]

    assert (summary.operations, summary.written) == (9, 6)
    assert lines == [
        {
            "id": "line2",
            "op": "module.create",
            "course": 1,
            "params": {"name": "Week 2", "prerequisite_module_ids": [101]},
        },
        {
            "id": "line4",
            "op": "item.create",
            "course": 1,
            "module": "@line2",
            "params": {"type": "SubHeader", "title": "Intro"},
        },
        {
            "id": "mv",
            "op": "item.update",
            "course": 1,
            "module": 101,
            "item": 501,
            "params": {"position": 1},
            "after": ["line2"],
        },
        {
            "id": "all",
            "op": "module.update",
            "course": "sis_course_id:SIS-1",
            "module": "*",
            "params": {"require_sequential_progress": True},
        },
        {
            "id": "line8",
            "op": "module.show",
            "course": 2,
            "module": {"name": "Week 1"},
            "as_user": 5,
        },
        {
            "id": "p",
            "op": "module.update",
            "course": 1,
            "module": 101,
            "params": {"prerequisite_module_ids": [{"ref": "line2"}]},
        },
    ]
    new_job = tmp_path / "retry.jsonl"
    new_job.write_bytes(out.getvalue())
    checked = check_job(new_job)
    assert checked.ok, [str(problem) for problem in checked.problems]
    assert checked.operations == 6


def test_default_id_renamed_around_an_explicit_one(tmp_path: Path) -> None:
    """L2 becomes line2-2 when the job already has an id line2."""
    job = write_job(
        tmp_path / "job.jsonl",
        [
            {
                "id": "line2",
                "op": "module.create",
                "course": 1,
                "params": {"name": "A"},
            },
            {"op": "module.create", "course": 1, "params": {"name": "B"}},
            {"op": "module.relock", "course": 1, "module": "@L2", "after": ["line2"]},
        ],
    )
    results = write_results(tmp_path / "r.jsonl", [header(job)])
    lines = retry_lines(results)
    assert [line["id"] for line in lines] == ["line2", "line2-2", "line3"]
    assert lines[2]["module"] == "@line2-2" and lines[2]["after"] == ["line2"]


def test_nothing_to_retry_writes_an_empty_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every operation ok: exit 0, an empty job, and stderr says so."""
    job = write_job(tmp_path / "job.jsonl", [JOB[0]])
    results = write_results(
        tmp_path / "r.jsonl", [header(job), outcome("w1", "ok", object_id=101)]
    )
    output = tmp_path / "retry.jsonl"
    assert run_main(results, output) == 0
    assert output.read_bytes() == b""
    assert "nothing to retry" in capsys.readouterr().err


def test_main_writes_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command writes the job file and says how many operations it holds."""
    job = write_job(tmp_path / "job.jsonl", JOB)
    results = results_of(tmp_path, job)
    output = tmp_path / "out" / "retry.jsonl"
    assert run_main(results, output) == 0
    assert len(output.read_bytes().splitlines()) == 6
    err = capsys.readouterr().err
    assert "wrote 6 operations" in err and "3 ended ok" in err


def test_changed_job_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job whose SHA-256 is not the header's: exit 2, no output file."""
    job = write_job(tmp_path / "job.jsonl", JOB)
    results = results_of(tmp_path, job)
    write_job(job, JOB[:4])
    output = tmp_path / "retry.jsonl"
    assert run_main(results, output) == 2
    assert "changed since the run" in capsys.readouterr().err
    assert not output.exists()
    assert list(tmp_path.glob(".retry.jsonl.*")) == []


def test_job_found_beside_the_results(tmp_path: Path) -> None:
    """A relative job path that is not found from here is looked for beside."""
    job = write_job(tmp_path / "job.jsonl", [JOB[0]])
    record = header(job)
    record["bulkmod"]["job"] = "elsewhere/job.jsonl"
    results = write_results(tmp_path / "r.jsonl", [record])
    assert retry_lines(results)[0]["id"] == "w1"


def test_job_option_overrides_the_header(tmp_path: Path) -> None:
    """--job names the original when the header's path is gone."""
    job = write_job(tmp_path / "moved.jsonl", [JOB[0]])
    record = header(job)
    record["bulkmod"]["job"] = "/nowhere/job.jsonl"
    results = write_results(tmp_path / "r.jsonl", [record])
    with pytest.raises(RetryError, match="cannot read the job that ran"):
        build_retry(results, io.BytesIO())
    assert retry_lines(results, job=job)[0]["id"] == "w1"


def test_in_flight_operation_is_refused_unless_asked(tmp_path: Path) -> None:
    """A create sent when the run stopped is not retried blind by default."""
    job = write_job(tmp_path / "job.jsonl", JOB[:2])
    results = write_results(
        tmp_path / "r.jsonl",
        [
            header(job),
            outcome("w1", "ok", object_id=101),
            {"intent": "L2", "line": 2, "course_id": 1, "floor": 101},
        ],
    )
    with pytest.raises(RetryError, match=r"1 operation was sent .*\(L2\)"):
        build_retry(results, io.BytesIO())
    out = io.BytesIO()
    summary = build_retry(results, out, include_in_flight=True)
    assert summary.in_flight == ["L2"]
    assert orjson.loads(out.getvalue())["id"] == "line2"


def test_settled_intent_is_not_in_flight(tmp_path: Path) -> None:
    """A create Canvas refused outright (404) is settled: it retries normally.

    One that failed otherwise (a 400 may follow a saved item) stays in doubt.
    """
    job = write_job(tmp_path / "job.jsonl", JOB[:2])
    intent = {"intent": "L2", "line": 2, "course_id": 1, "floor": 101}
    refused = {"type": "not_found", "message": "The specified resource ..."}
    results = write_results(
        tmp_path / "r.jsonl",
        [
            header(job),
            outcome("w1", "ok", object_id=101),
            intent,
            outcome("L2", "failed", op="item.create", error=refused),
        ],
    )
    assert [line["id"] for line in retry_lines(results)] == ["line2"]
    doubtful = {"type": "invalid_input", "message": "Invalid completion ..."}
    write_results(
        results,
        [
            header(job),
            outcome("w1", "ok", object_id=101),
            intent,
            outcome("L2", "failed", op="item.create", error=doubtful),
        ],
    )
    with pytest.raises(RetryError):
        retry_lines(results)


def test_output_must_not_be_csv_or_the_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A .csv name or the original job itself is refused with exit 2."""
    job = write_job(tmp_path / "job.jsonl", JOB)
    results = results_of(tmp_path, job)
    before = job.read_bytes()
    assert run_main(results, tmp_path / "retry.csv") == 2
    assert "JSON Lines" in capsys.readouterr().err
    assert run_main(results, job) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert job.read_bytes() == before


def run_main(results: Path, output: Path | str, *more: str) -> int:
    """Call the command's entry point as the command line would."""
    parser = argparse.ArgumentParser()
    retry.add_arguments(parser)
    return retry.main(parser.parse_args([str(results), "-o", str(output), *more]))


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """One course, no throttle: the end-to-end test is about what is done."""
    return SandboxConfig(courses=1, throttle=False)


async def test_retry_after_fixing_the_failing_line(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A run with a failure, its retry job with the line fixed: all ends ok."""
    job = write_job(
        tmp_path / "job.jsonl",
        [
            {
                "id": "w1",
                "op": "module.create",
                "course": 1,
                "params": {"name": "Week 1"},
            },
            {
                "op": "item.create",
                "course": 1,
                "module": 999999,
                "params": {"type": "SubHeader", "title": "Lost"},
            },
            {
                "op": "item.update",
                "course": 1,
                "module": "@w1",
                "item": "@L2",
                "params": {"indent": 1},
            },
            {
                "op": "module.update",
                "course": 1,
                "module": "@w1",
                "params": {"name": "Week One"},
                "after": ["L2"],
            },
            {
                "op": "item.create",
                "course": 1,
                "module": "@w1",
                "params": {"type": "SubHeader", "title": "Fine"},
            },
        ],
    )
    target = Target(sandbox.base_url, TOKEN)
    first = tmp_path / "job.results.jsonl"
    status = await run_job(
        check_job(job), target, RunSettings(results=first, show_progress=False)
    )
    assert status == 1
    counted = report.to_json(build_report(first))
    assert counted["operations"] == {"total": 5, "ok": 2, "failed": 1, "skipped": 2}
    assert counted["errors"] == {"not_found": 1, "dependency_failed": 2}
    week = next(o for o in read_results(first) if o["id"] == "w1")["object_id"]

    lines = retry_lines(first)
    assert [line["id"] for line in lines] == ["line2", "line3", "line4"]
    assert lines[1]["module"] == week and lines[1]["item"] == "@line2"
    assert lines[2]["module"] == week and lines[2]["after"] == ["line2"]
    # The fix: point the failing line at the real module.
    assert lines[0]["module"] == 999999
    lines[0]["module"] = week
    fixed = write_job(tmp_path / "retry.jsonl", lines)
    checked = check_job(fixed)
    assert checked.ok, [str(problem) for problem in checked.problems]

    second = tmp_path / "retry.results.jsonl"
    status = await run_job(
        checked, target, RunSettings(results=second, show_progress=False)
    )
    assert status == 0
    assert {o["id"]: o["status"] for o in read_results(second)} == {
        "line2": "ok",
        "line3": "ok",
        "line4": "ok",
    }
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [module["name"] for module in modules] == ["Week One"]
    items = {item["title"]: item["indent"] for item in modules[0]["items"]}
    assert items == {"Fine": 0, "Lost": 1}
