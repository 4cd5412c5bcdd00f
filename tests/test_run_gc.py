"""A run and the garbage collector of the program it runs in."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from canvas_read import read_results, write_job

from bulkmod.engine.execute import Executor
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=2, throttle=False)


#: A container the program keeps for good, frozen with the rest before a run.
KEPT: list[object] = [object()]


def _tracked(obj: object) -> bool:
    """Whether the collector looks at ``obj`` (frozen objects it passes over)."""
    return any(found is obj for found in gc.get_objects())


@pytest.fixture
def frozen_before() -> Iterator[None]:
    """The program froze what it holds before the run (as a forking server does)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def run(
    sandbox: Sandbox, tmp_path: Path, name: str, lines: list[dict[str, Any]]
) -> tuple[int, list[dict[str, Any]]]:
    job = write_job(tmp_path / f"{name}.jsonl", lines)
    results = tmp_path / f"{name}.results.jsonl"
    status = await asyncio.wait_for(
        run_job(
            check_job(job),
            Target(sandbox.base_url, TOKEN),
            RunSettings(results=results, show_progress=False),
        ),
        60,
    )
    return status, read_results(results)


LINES = [
    {"op": "module.create", "course": 1, "params": {"name": "Week 1"}},
    {"op": "module.create", "course": 2, "params": {"name": "Week 1"}},
]


async def test_a_run_leaves_no_objects_frozen(sandbox: Sandbox, tmp_path: Path) -> None:
    """After a run the collector passes over nothing it did not before."""
    assert _tracked(KEPT)
    status, outcomes = await run(sandbox, tmp_path, "job", LINES)
    assert status == 0
    assert [outcome["status"] for outcome in outcomes] == ["ok", "ok"]
    assert _tracked(KEPT)


async def test_a_run_keeps_what_the_program_froze(
    sandbox: Sandbox, tmp_path: Path, frozen_before: None
) -> None:
    """What the program froze before the run is still frozen after it."""
    assert not _tracked(KEPT)
    status, _ = await run(sandbox, tmp_path, "job", LINES)
    assert status == 0
    assert not _tracked(KEPT)


async def thresholds_during(
    sandbox: Sandbox, tmp_path: Path
) -> list[tuple[int, int, int]]:
    """Run the two lines; the collector's thresholds as each operation began."""
    seen: list[tuple[int, int, int]] = []
    real_call = Executor.__call__

    async def noting(self: Executor, op: Any) -> None:
        seen.append(gc.get_threshold())
        await real_call(self, op)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Executor, "__call__", noting)
        status, _ = await run(sandbox, tmp_path, "job", LINES)
    assert status == 0 and len(seen) == 2
    return seen


async def test_a_run_gives_back_the_collectors_thresholds(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Young objects are collected less often during a run, as before after it."""
    before = gc.get_threshold()
    seen = await thresholds_during(sandbox, tmp_path)
    assert all(during[0] >= 7000 for during in seen)
    assert gc.get_threshold() == before


async def test_a_program_that_froze_its_heap_keeps_its_thresholds(
    sandbox: Sandbox, tmp_path: Path, frozen_before: None
) -> None:
    """A program that manages its collector is left to it, thresholds too."""
    before = gc.get_threshold()
    seen = await thresholds_during(sandbox, tmp_path)
    assert all(during == before for during in seen)
