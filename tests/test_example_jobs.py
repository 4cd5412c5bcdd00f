"""The example jobs in jobs/ run as the README says, and their CSV twin matches."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from canvas_read import course_structure, read_results

from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

JOBS = Path(__file__).resolve().parent.parent / "jobs"
EXPORT = JOBS / "exports" / "web-multimedia-cis300"
TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The embedded sandbox of the README's main command, throttle off for speed."""
    return SandboxConfig(courses=20, seed_export=EXPORT, throttle=False)


async def run(sandbox: Sandbox, job: Path, tmp_path: Path) -> tuple[int, list]:
    """Run one example job; return its exit status and outcomes."""
    results = tmp_path / (job.name + ".results.jsonl")
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False),
    )
    return status, read_results(results)


@pytest.mark.parametrize(
    "name",
    ["relock.jsonl", "publish-week-1.jsonl", "publish-week-1.csv", "migration.jsonl"],
)
async def test_example_job_runs_clean(
    sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    """Every example job ends with every operation ok."""
    status, outcomes = await run(sandbox, JOBS / name, tmp_path)
    assert status == 0
    assert outcomes and all(o["status"] == "ok" for o in outcomes)


def test_csv_twin_reads_as_the_jsonl_job() -> None:
    """publish-week-1.csv and .jsonl give the same operations, line for line."""

    def shape(path: Path) -> list[tuple[object, ...]]:
        return [
            (op.op, op.course, op.module, op.item, op.params, op.after)
            for op in read_operations(path)
        ]

    csv, jsonl = (
        shape(JOBS / "publish-week-1.csv"),
        shape(JOBS / "publish-week-1.jsonl"),
    )
    assert csv == jsonl


async def test_migration_moves_renames_and_drops(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """After the migration example, course 1 looks as the job describes."""
    await run(sandbox, JOBS / "migration.jsonl", tmp_path)
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    assert [m["name"] for m in modules] == ["Course Resources", "Week 1"]
    assert [i["title"] for i in modules[0]["items"]] == ["Course Syllabus"]
    assert [i["title"] for i in modules[1]["items"]] == ["Assignment 1"]


async def test_main_term_start_job(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The README's main job builds the export's 15 modules in each of 20 courses."""
    status, outcomes = await run(sandbox, JOBS / "term-start.jsonl", tmp_path)
    assert status == 0
    assert len(outcomes) == 20 * (15 + 122 + 15)
    for course in (1, 20):
        modules = await course_structure(http, sandbox.base_url, TOKEN, course)
        assert len(modules) == 15
        assert sum(len(m["items"]) for m in modules) == 122
