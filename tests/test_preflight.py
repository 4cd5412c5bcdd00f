"""The preflight before a run: what is said, the confirmation, as_user, canary.

The sandbox is on loopback, where a run does not ask; ``confirm=True`` (the
``--confirm`` flag) asks all the same, as a Canvas elsewhere would.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job

from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.seed import STUDENT_TOKENS, TEACHER_TOKEN
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

ADMIN = "sandbox-token"
CREATE = "POST /api/v1/courses/{course_id}/modules"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses, no throttle."""
    return SandboxConfig(courses=3, throttle=False)


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the user's typing in it."""

    def isatty(self) -> bool:
        """Claim to be a terminal."""
        return True


JOB = [
    {"op": "module.create", "course": 1, "params": {"name": "W1"}},
    {"op": "module.delete", "course": 1, "module": {"name": "W1"}},
    {"op": "module.create", "course": 2, "params": {"name": "W1"}},
    {
        "op": "module.update",
        "course": 2,
        "module": "*",
        "params": {"require_sequential_progress": True},
    },
]


async def run(
    sandbox: Sandbox,
    tmp_path: Path,
    lines: list[dict[str, Any]],
    *,
    token: str = ADMIN,
    **settings: Any,
) -> int:
    """Run a job with the preflight asked for; answer the exit status."""
    job = write_job(tmp_path / "job.jsonl", lines)
    return await run_job(
        check_job(job),
        Target(sandbox.base_url, token),
        RunSettings(
            results=tmp_path / "results.jsonl",
            show_progress=False,
            confirm=True,
            **settings,
        ),
    )


async def test_refused_without_yes_when_not_a_terminal(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a terminal and no --yes: exit 2, only GET /users/self was sent."""
    status = await run(sandbox, tmp_path, JOB, stdin=io.StringIO("yes\n"))

    assert status == 2
    assert sandbox.stats.requests == 1
    assert sandbox.stats.by_route["GET /api/v1/users/self"] == 1
    assert not (tmp_path / "results.jsonl").exists()
    err = capsys.readouterr().err
    assert "pass --yes" in err and "Nothing was changed" in err


async def test_preflight_names_the_user_and_what_the_job_touches(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text names the token's user, the Canvas, the counts; --yes runs it."""
    status = await run(sandbox, tmp_path, JOB, yes=True)

    assert status == 0
    err = capsys.readouterr().err
    assert f"against {sandbox.base_url}" in err
    assert "token of:    Sandbox Admin (id 1)" in err
    assert "operations:  4 on 2 courses" in err
    assert "deletes:     1 operations" in err
    assert "fan-outs:    1 operations" in err
    assert "confirmed by --yes" in err


@pytest.mark.parametrize(("typed", "status"), [("yes\n", 0), ("YES\n", 0), ("n\n", 2)])
async def test_a_terminal_is_asked_to_type_yes(
    sandbox: Sandbox, tmp_path: Path, typed: str, status: int
) -> None:
    """On a terminal, yes runs the job; anything else sends nothing more."""
    got = await run(sandbox, tmp_path, JOB, stdin=Terminal(typed))

    assert got == status
    assert sandbox.stats.by_route[CREATE] == (2 if status == 0 else 0)


async def test_loopback_runs_without_asking(sandbox: Sandbox, tmp_path: Path) -> None:
    """Without --confirm a loopback Canvas is not asked about (stdin unread)."""
    job = write_job(tmp_path / "job.jsonl", JOB)
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, ADMIN),
        RunSettings(
            results=tmp_path / "r.jsonl", show_progress=False, stdin=io.StringIO()
        ),
    )
    assert status == 0


async def test_as_user_the_token_may_not_act_as_stops_before_writes(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher's token cannot act as student 3: exit 3, no write sent."""
    lines = [
        {"op": "module.create", "course": 1, "params": {"name": "W1"}},
        {"op": "module.list", "course": 1, "as_user": "3"},
        {"op": "module.list", "course": 2, "as_user": "3"},
    ]
    status = await run(sandbox, tmp_path, lines, token=TEACHER_TOKEN, yes=True)

    assert status == 3
    assert sandbox.stats.by_method["POST"] == 0
    # Once for the token's user, once for the one distinct as_user.
    assert sandbox.stats.by_route["GET /api/v1/users/self"] == 2
    assert "may not act as user 3" in capsys.readouterr().err


async def test_as_user_an_admin_may_act_as_runs(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The admin may act as student 3: the job runs."""
    lines = [{"op": "module.list", "course": 1, "as_user": "3"}]
    assert await run(sandbox, tmp_path, lines, yes=True) == 0


async def test_canary_course_stops_the_run_on_a_permission_failure(
    sandbox: Sandbox,
    tmp_path: Path,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A student's token fails unauthorized in course 2 (first): no other starts."""
    lines = [
        {"op": "module.create", "course": 2, "params": {"name": "W1"}},
        {"op": "module.create", "course": 1, "params": {"name": "W1"}},
        {"op": "module.create", "course": 2, "params": {"name": "W2"}},
        {"op": "module.create", "course": 3, "params": {"name": "W1"}},
    ]
    status = await run(
        sandbox, tmp_path, lines, token=STUDENT_TOKENS[0], yes=True, concurrency=5
    )

    assert status == 3
    outcomes = read_results(tmp_path / "results.jsonl")
    assert [(o["id"], o["status"]) for o in outcomes] == [
        ("L1", "failed"),
        ("L3", "failed"),
    ]
    assert outcomes[0]["error"]["type"] == "unauthorized"
    assert sandbox.stats.by_route[CREATE] == 2
    err = capsys.readouterr().err
    assert "course 2 (the first course, run alone)" in err
    assert "No other course was started" in err
    for course in (1, 3):
        assert await course_structure(http, sandbox.base_url, ADMIN, course) == []


async def test_canary_then_the_other_courses(sandbox: Sandbox, tmp_path: Path) -> None:
    """The first course runs alone, then the rest; a cross-course after waits."""
    lines = [
        {"id": "a", "op": "module.create", "course": 3, "params": {"name": "A"}},
        {"id": "b", "op": "module.create", "course": 1, "params": {"name": "B"}},
        {
            "id": "c",
            "op": "module.create",
            "course": 3,
            "params": {"name": "C"},
            "after": ["b"],
        },
    ]
    status = await run(sandbox, tmp_path, lines, yes=True)

    assert status == 0
    outcomes = read_results(tmp_path / "results.jsonl")
    # "c" needs "b" of course 1, so the canary ends at "a".
    assert [o["id"] for o in outcomes] == ["a", "b", "c"]
