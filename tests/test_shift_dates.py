"""Term start with shifted dates: from-export --shift-dates, run, read back."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from canvas_read import course_structure

from bulkmod.cli import main as bulkmod_main
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"
EXPORT = Path(__file__).parent.parent / "jobs" / "exports" / "web-multimedia-cis300"

#: The export's unlock dates (module_meta.xml, in UTC), each moved by the
#: 1099 days from 2022-01-10 to 2025-01-13 (365 + 365 + 366 + 3).
SHIFTED = {
    "Case Study Solution - release week 2": "2025-01-20T16:00:00Z",
    "Case Study Solution - release week 3": "2025-01-27T15:00:00Z",
    "Case Study Solution - release week 4": "2025-02-03T16:00:00Z",
    "Case Study Solution - release week 5": "2025-02-10T16:00:00Z",
    "Case Study Solution - release week 6": "2025-02-17T15:00:00Z",
}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Two courses holding the export's content."""
    return SandboxConfig(courses=2, seed_export=EXPORT, throttle=False)


@pytest.mark.parametrize("shift", ["2022-01-10:2025-01-13", "+1099"])
async def test_shifted_job_builds_modules_with_shifted_dates(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession, shift: str
) -> None:
    """Every module with an unlock date gets it moved; the others get none."""
    job = tmp_path / "term.jsonl"
    argv = ["from-export", str(EXPORT), "--courses", "1-2", "--shift-dates", shift]
    assert bulkmod_main([*argv, "-o", str(job)]) == 0

    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=tmp_path / "r.jsonl", show_progress=False),
    )

    assert status == 0
    for course in (1, 2):
        modules = await course_structure(http, sandbox.base_url, TOKEN, course)
        dated = {m["name"]: m["unlock_at"] for m in modules if m["unlock_at"]}
        assert dated == SHIFTED
        assert len(modules) > len(SHIFTED)
