"""A run under Canvas's throttle: paced to the bucket, never failing for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canvas_read import read_results, write_job

from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import SandboxConfig, serve_sandbox
from bulkmod.target import Target

TOKEN = "sandbox-token"


def relock_job(courses: int, per_course: int) -> list[dict[str, Any]]:
    """Modules in many courses, each then relocked: writes spread over lanes."""
    lines: list[dict[str, Any]] = []
    for course in range(1, courses + 1):
        for n in range(per_course):
            lines.append(
                {
                    "id": f"c{course}-m{n}",
                    "op": "module.create",
                    "course": course,
                    "params": {"name": f"Module {n}"},
                }
            )
    return lines


async def run_on(
    config: SandboxConfig, tmp_path: Path, lines: list[dict[str, Any]]
) -> tuple[int, list[dict[str, Any]], int, int]:
    """Run a job on a fresh sandbox: status, outcomes, throttled, max in flight."""
    job = write_job(tmp_path / "job.jsonl", lines)
    async with serve_sandbox(config) as sandbox:
        status = await run_job(
            check_job(job),
            Target(sandbox.base_url, TOKEN),
            RunSettings(
                results=tmp_path / "results.jsonl",
                show_progress=False,
                concurrency=30,
            ),
        )
        stats = sandbox.stats
        return (
            status,
            read_results(tmp_path / "results.jsonl"),
            stats.throttled,
            stats.max_in_flight,
        )


async def test_hard_throttle_fails_nothing(tmp_path: Path) -> None:
    """A small bucket that drains fast: every operation ends ok, few refusals.

    hwm 300 with 50 reserved a request leaves room for 5 in flight; latency
    keeps requests in the air so that 30 lanes press against that limit.
    """
    config = SandboxConfig(
        courses=30,
        throttle_hwm=300,
        throttle_outflow=200,
        request_cost=1.0,
        latency_ms=20,
    )
    status, outcomes, throttled, most = await run_on(
        config, tmp_path, relock_job(30, 4)
    )
    assert status == 0
    assert len(outcomes) == 120
    assert all(outcome["status"] == "ok" for outcome in outcomes)
    requests = sum(outcome["attempts"] for outcome in outcomes)
    assert throttled <= 0.05 * requests
    assert most <= 5


async def test_low_high_water_mark_keeps_fewer_in_flight(tmp_path: Path) -> None:
    """With hwm 600 the engine keeps about 11 in flight; with hwm 250, about 4.

    (A little more than hwm / 50 can fit: Canvas's leak drains reservations
    too, so a long-running bucket admits an extra request now and then.)
    """
    lines = relock_job(30, 3)
    wide = SandboxConfig(courses=30, request_cost=0.01, latency_ms=30)
    narrow = SandboxConfig(
        courses=30, throttle_hwm=250, request_cost=0.01, latency_ms=30
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    status_wide, _, _, most_wide = await run_on(wide, tmp_path / "a", lines)
    status_narrow, _, _, most_narrow = await run_on(narrow, tmp_path / "b", lines)
    assert status_wide == status_narrow == 0
    assert 8 <= most_wide <= 13
    assert most_narrow <= 5 < most_wide
