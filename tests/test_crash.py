"""``kill -9`` at any moment, then the same command again: everything once.

A ``bulkmod sandbox`` process with injected 500s and dropped connections
serves a job of a few hundred operations; ``bulkmod run`` processes are
killed with SIGKILL as the results file grows, and the same command is run
again until it ends by itself. Then every course is read back over the API.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from canvas_read import read_results, write_job
from crash_tools import outcome_lines, read_course, run_env, sandbox_process, stop

TOKEN = "crash-token"
COURSES = 5
WEEKS = 4
ITEMS = ("Overview", "Reading", "Slides", "Video", "Quiz prep")

#: Results-file lines at which a run is killed; one whole run writes ~290.
KILL_AT = (20, 80, 150, 230)

#: Seconds one run may take before the test gives up on it.
RUN_LIMIT = 60.0


def crash_job() -> list[dict[str, Any]]:
    """Modules with items, a rename, a fan-out, a scratch module deleted.

    Per course: 4 modules with 5 items each (24 creates), a rename, a
    fan-out update, and a scratch module created then deleted: 28 lines,
    140 in all.
    """
    lines: list[dict[str, Any]] = []
    for course in range(1, COURSES + 1):
        for week in range(1, WEEKS + 1):
            module = f"c{course}-w{week}"
            lines.append(
                {
                    "id": module,
                    "op": "module.create",
                    "course": course,
                    "params": {"name": f"Week {week}"},
                }
            )
            for title in ITEMS:
                lines.append(
                    {
                        "op": "item.create",
                        "course": course,
                        "module": f"@{module}",
                        "params": {"type": "SubHeader", "title": title},
                    }
                )
        lines += [
            {
                "op": "module.update",
                "course": course,
                "module": f"@c{course}-w1",
                "params": {"name": "Week 1: Start here"},
            },
            {
                "op": "module.update",
                "course": course,
                "module": "*",
                "params": {"require_sequential_progress": True},
            },
            {
                "id": f"c{course}-tmp",
                "op": "module.create",
                "course": course,
                "params": {"name": "Scratch"},
            },
            {"op": "module.delete", "course": course, "module": f"@c{course}-tmp"},
        ]
    return lines


def run_command(job: Path, base_url: str) -> list[str]:
    """The one ``bulkmod run`` command line every attempt uses."""
    return [
        sys.executable,
        "-m",
        "bulkmod",
        "run",
        str(job),
        "--base-url",
        base_url,
        "--concurrency",
        "5",
        "--log-level",
        "error",
    ]


def run_until_killed(command: list[str], results: Path, kill_at: int) -> int | None:
    """Start a run; SIGKILL it once the results file has ``kill_at`` lines.

    Return the exit status if it ended by itself first, else None.
    """
    proc = subprocess.Popen(
        command,
        env=run_env(TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + RUN_LIMIT
        while time.monotonic() < deadline:
            status = proc.poll()
            if status is not None:
                return status
            if outcome_lines(results) >= kill_at:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=5)
                return None
            time.sleep(0.005)
        raise AssertionError(f"a run did not reach line {kill_at} in {RUN_LIMIT} s")
    finally:
        stop(proc)


def last_outcomes(results: Path) -> dict[str, dict[str, Any]]:
    """The last outcome line of each operation id."""
    return {outcome["id"]: outcome for outcome in read_results(results)}


async def test_sigkill_at_any_moment_then_rerun_does_everything_once(
    tmp_path: Path,
) -> None:
    """Four kills and reruns under faults: each module and item exists once."""
    lines = crash_job()
    job = write_job(tmp_path / "crash.jsonl", lines)
    results = tmp_path / "crash.jsonl.results.jsonl"
    flags = (
        "--courses",
        str(COURSES),
        "--token",
        TOKEN,
        "--no-throttle",
        "--fail-rate",
        "0.03",
        "--drop-rate",
        "0.04",
        "--random-seed",
        "5",
    )

    with sandbox_process(*flags) as base_url:
        command = run_command(job, base_url)
        kills = 0
        for kill_at in KILL_AT:
            ended = await asyncio.to_thread(run_until_killed, command, results, kill_at)
            kills += ended is None
        finals = []
        for _ in range(4):
            finals.append(
                await asyncio.to_thread(
                    subprocess.run,
                    command,
                    env=run_env(TOKEN),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=RUN_LIMIT,
                )
            )
            if finals[-1].returncode == 0:
                break
        assert kills >= 3
        assert finals[-1].returncode == 0, [f.returncode for f in finals]

        async with aiohttp.ClientSession() as http:
            courses = [
                await read_course(http, base_url, TOKEN, course)
                for course in range(1, COURSES + 1)
            ]

    outcomes = last_outcomes(results)
    job_ids = {line.get("id", f"L{n}") for n, line in enumerate(lines, start=1)}
    assert job_ids <= set(outcomes)
    assert {outcomes[op_id]["status"] for op_id in job_ids} == {"ok"}
    for modules in courses:
        names = [module["name"] for module in modules]
        assert sorted(names) == sorted(
            ["Week 1: Start here"] + [f"Week {n}" for n in range(2, WEEKS + 1)]
        )
        for module in modules:
            assert module["require_sequential_progress"] is True
            titles = Counter(item["title"] for item in module["items"])
            assert titles == Counter(ITEMS), (module["name"], titles)
