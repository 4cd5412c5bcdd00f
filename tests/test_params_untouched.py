"""A run reads a line's params and never changes them (they may be shared)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from canvas_read import read_results, write_job

from bulkmod.engine import run as run_module
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.model import Operation
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=2, throttle=False)


LINES: list[dict[str, Any]] = [
    {"id": "w", "op": "module.create", "course": 1, "params": {"name": "Week 1"}},
    {
        "op": "item.create",
        "course": 1,
        "module": {"name": "Week 1"},
        "params": {
            "type": "ExternalUrl",
            "title": "Docs",
            "external_url": "https://example.com/docs",
            "published": True,
            "completion_requirement": {"type": "must_view"},
            "position": 1,
        },
    },
    {
        "op": "item.create",
        "course": 1,
        "module": {"name": "Week 1"},
        "params": {"type": "SubHeader", "title": "Read first", "indent": 1},
    },
    {
        "op": "module.update",
        "course": 1,
        "module": "*",
        "params": {"require_sequential_progress": True, "published": True},
    },
    {
        "op": "item.update",
        "course": 1,
        "module": {"name": "Week 1"},
        "item": "*",
        "params": {"indent": 2, "completion_requirement": {"type": "must_view"}},
    },
    {"op": "module.create", "course": 2, "params": {"name": "Week 1"}},
    {"op": "module.create", "course": 2, "params": {"name": "Week 1"}},
    {"op": "module.publish", "course": 2, "module": "*", "params": {}},
]


async def test_params_are_the_same_after_the_run(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No operation changes the params of its line, however it ran."""
    seen: list[tuple[Operation, dict[str, Any]]] = []
    original = run_module._operations

    def watched(path: Path, courses: set[str] | None = None) -> Iterator[Operation]:
        for op in original(path, courses):
            seen.append((op, copy.deepcopy(op.params)))
            yield op

    monkeypatch.setattr(run_module, "_operations", watched)
    job = write_job(tmp_path / "job.jsonl", LINES)
    results = tmp_path / "job.results.jsonl"
    await asyncio.wait_for(
        run_job(
            check_job(job),
            Target(sandbox.base_url, TOKEN),
            RunSettings(results=results, show_progress=False, existing="adopt"),
        ),
        60,
    )
    outcomes = read_results(results)
    assert len(seen) == len(LINES)
    assert any(outcome["parent"] is not None for outcome in outcomes)
    assert all(outcome["status"] == "ok" for outcome in outcomes)
    for op, params in seen:
        assert op.params == params, op.id
