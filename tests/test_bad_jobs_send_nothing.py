"""A job with any bad line is refused whole by ``bulkmod run``: nothing is sent.

Each job of ``tests/data/bad-jobs`` (and one more, below, of injected and
path-like ids, cycles and bad types) goes through the real command line
against a sandbox: the command names every problem with its line, exits 2,
writes no results, and the sandbox receives no request at all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from crash_tools import run_cli, run_env

from bulkmod.sandbox.server import Sandbox, SandboxConfig

BAD_JOBS = Path(__file__).parent / "data" / "bad-jobs"
TOKEN = "sandbox-token"

#: Commands run side by side: each is mostly Python starting up.
_AT_ONCE = 4

#: Lines that ``bad-jobs`` lacks, each with the problem's line and field.
EXTRA: list[tuple[Any, str]] = [
    ({"op": "module.show", "course": 1, "module": "../2"}, "1: module:"),
    ({"op": "module.show", "course": 1, "module": "1?x=2"}, "2: module:"),
    ({"op": "item.show", "course": 1, "module": 1, "item": "1/../2"}, "3: item:"),
    ({"op": "module.list", "course": "1 OR 1=1"}, "4: course:"),
    ({"op": "module.list", "course": "1/../../accounts/1"}, "5: course:"),
    ({"op": "module.list", "course": 1, "as_user": "1&as_user_id=2"}, "6: as_user:"),
    ({"op": "module.show", "course": 1, "module": 0}, "7: module:"),
    ({"op": "module.show", "course": 1, "module": True}, "8: module:"),
    ({"op": "module.show", "course": 1, "module": "abc"}, "9: module:"),
    # A cycle: each names the other; the first names a later line.
    (
        {
            "id": "a",
            "op": "module.update",
            "course": 1,
            "module": "@b",
            "params": {"name": "x"},
        },
        "10: module: 'b' is the id of line 11, later",
    ),
    (
        {
            "id": "b",
            "op": "module.update",
            "course": 1,
            "module": "@a",
            "params": {"name": "y"},
        },
        "11: module:",
    ),
    (
        {
            "op": "item.create",
            "course": 1,
            "module": 1,
            "params": {"type": "Widget", "title": "t"},
        },
        "12: params.type:",
    ),
    (
        {"op": "item.create", "course": 1, "module": 1, "params": {"title": "no type"}},
        "13: params.type: missing",
    ),
    ({"op": "module.create", "course": 1, "params": {"name": 5}}, "14: params.name:"),
    (
        {"op": "module.create", "course": 1, "id": "x\ny", "params": {"name": "n"}},
        "15: id:",
    ),
    (
        {
            "op": "module.create",
            "course": "sis_course_id:A\u0000B",
            "params": {"name": "n"},
        },
        "16: course:",
    ),
    ({"op": "module.create", "course": 1, "params": {"name": "fine"}}, ""),
    ({"id": "a", "op": "module.list", "course": 1}, "18: id: 'a' is already"),
    ("just a string", "19: must be a JSON object"),
    (
        {
            "op": "module.update",
            "course": 1,
            "module": 1,
            "params": {"prerequisite_module_ids": ["@L99"]},
        },
        "20: params.prerequisite_module_ids[0]:",
    ),
]


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """A plain sandbox: whatever reaches it is counted."""
    return SandboxConfig(courses=2, throttle=False)


def extra_job(tmp_path: Path) -> tuple[Path, list[str]]:
    """Write the extra bad job; return it and the problems it must show."""
    path = tmp_path / "extra.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line, _ in EXTRA))
    return path, [problem for _, problem in EXTRA if problem]


def shipped_jobs() -> list[tuple[Path, list[str]]]:
    """The jobs of ``bad-jobs`` with the problems their ``.expected`` lists."""
    jobs = []
    for expected in sorted(BAD_JOBS.glob("*.expected")):
        job = expected.with_suffix("")
        jobs.append((job, expected.read_text(encoding="utf-8").splitlines()))
    return jobs


async def test_every_bad_job_is_refused_with_its_lines_and_nothing_is_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Exit 2, every problem named as file:line, no results, no request."""
    jobs = [*shipped_jobs(), extra_job(tmp_path)]
    assert len(jobs) >= 9
    room = asyncio.Semaphore(_AT_ONCE)

    async def refuse(job: Path, problems: list[str]) -> None:
        results = tmp_path / f"{job.name}.results.jsonl"
        async with room:
            status, out, err = await run_cli(
                [
                    "run",
                    str(job),
                    "--base-url",
                    sandbox.base_url,
                    "--results",
                    str(results),
                ],
                run_env(TOKEN),
            )
        assert status == 2, (job.name, err)
        assert out == ""
        for problem in problems:
            assert f"{job}:{problem}" in err, (job.name, problem)
        assert "nothing was sent" in err
        assert not results.exists()

    await asyncio.gather(*(refuse(job, problems) for job, problems in jobs))
    assert sandbox.stats.requests == 0
