"""The access token: a run stops when it dies, and it never shows anywhere.

A token revoked in the middle of a run stops the run (exit 3) with its
results kept, and the same command with a good token finishes the job. The
token never appears in a log line, a result or a message, even at debug
level, and plain ``http://`` to a host that is not loopback is refused.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job
from crash_tools import run_cli, run_env
from fault_proxy import Rule, serve_proxy

from bulkmod.client import http as client_http
from bulkmod.engine import operations
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

#: Distinctive, so that a grep for it cannot match anything else.
SECRET = "Zq7-secret-token-4f1c9e"
SECOND = "second-admin-token-8b2d"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses; the admin's token is the secret; answers take 2 ms."""
    return SandboxConfig(courses=3, throttle=False, token=SECRET, latency_ms=2)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait milliseconds, not seconds, between re-sends."""
    monkeypatch.setattr(client_http, "_BACKOFF_BASE", 0.005)
    monkeypatch.setattr(operations, "BACKOFF_FIRST", 0.005)


def build_job() -> list[dict[str, Any]]:
    """Three courses of ten modules; course 3 waits for course 1's last one."""
    lines: list[dict[str, Any]] = []
    for course in (1, 2, 3):
        for n in range(1, 11):
            line: dict[str, Any] = {
                "id": f"c{course}m{n}",
                "op": "module.create",
                "course": course,
                "params": {"name": f"Module {n}"},
            }
            if course == 3 and n == 1:
                line["after"] = ["c1m10"]
            lines.append(line)
    return lines


async def revoke_after(sandbox: Sandbox, requests: int) -> int:
    """Revoke the admin's token once the sandbox has seen ``requests``."""
    while sandbox.stats.requests < requests:
        await asyncio.sleep(0.001)
    sandbox.revoke_token(SECRET)
    return sandbox.stats.requests


async def test_revoked_token_stops_the_run_and_a_good_one_finishes_it(
    sandbox: Sandbox,
    tmp_path: Path,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Revoked mid-run: exit 3 at once, results kept; a new token finishes."""
    job = write_job(tmp_path / "job.jsonl", build_job())
    results = tmp_path / "job.results.jsonl"
    settings = RunSettings(results=results, show_progress=False, concurrency=3)

    revoker = asyncio.create_task(revoke_after(sandbox, 8))
    status = await asyncio.wait_for(
        run_job(check_job(job), Target(sandbox.base_url, SECRET), settings), 10
    )
    revoked_at = await revoker
    sent_after = sandbox.stats.requests - revoked_at

    assert status == 3
    first = read_results(results)
    statuses = Counter(outcome["status"] for outcome in first)
    # Only the operations in the air when it happened failed (one per lane).
    assert statuses["failed"] <= 3 and statuses["ok"] >= 1
    assert {o["error"]["type"] for o in first if o["error"]} == {"unauthorized"}
    assert sent_after <= 3
    assert "Canvas refused the access token" in capsys.readouterr().err

    sandbox.state.add_user("Second Admin", admin=True, token=SECOND)
    status = await run_job(check_job(job), Target(sandbox.base_url, SECOND), settings)
    assert status == 0
    last = {outcome["id"]: outcome for outcome in read_results(results)}
    assert {o["status"] for o in last.values()} == {"ok"}
    assert len(last) == 30
    for course in (1, 2, 3):
        modules = await course_structure(http, sandbox.base_url, SECOND, course)
        assert sorted(m["name"] for m in modules) == sorted(
            f"Module {n}" for n in range(1, 11)
        )


async def test_expired_token_at_the_start_sends_nothing_else(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token refused from the first request: exit 3, no operation sent."""
    job = write_job(tmp_path / "job.jsonl", build_job())
    sandbox.expire_token(SECRET)
    settings = RunSettings(results=tmp_path / "r.jsonl", show_progress=False)

    status = await run_job(check_job(job), Target(sandbox.base_url, SECRET), settings)

    assert status == 3
    assert sandbox.stats.requests == 1
    assert "Expired access token" in capsys.readouterr().err


async def test_token_appears_in_no_log_line_result_or_message(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Debug logs as JSON, results and error messages never hold the token."""
    lines = [
        *build_job()[:2],
        {"id": "gone", "op": "module.show", "course": 1, "module": 999999},
        {"id": "c2", "op": "module.create", "course": 2, "params": {"name": "M"}},
    ]
    job = write_job(tmp_path / "job.jsonl", lines)
    results = tmp_path / "job.results.jsonl"
    rules = [
        Rule("POST", r"/api/v1/courses/1/modules", "drop"),
        Rule("GET", r"/api/v1/courses/1/modules", "fail"),
        # The token dies at the end: its refusal is a message too.
        Rule("POST", r"/api/v1/courses/2/modules", "reject", times=100),
    ]
    async with serve_proxy(sandbox.base_url, rules) as proxy:
        status, out, err = await run_cli(
            [
                "run",
                str(job),
                "--base-url",
                proxy.base_url,
                "--results",
                str(results),
                "--log-level",
                "debug",
                "--log-format",
                "json",
                "--concurrency",
                "1",
            ],
            run_env(SECRET),
        )

    assert status == 3
    assert "canvas.request" in err and "canvas.retry" in err
    assert '"adopted":true' in results.read_text()
    for where, text in (
        ("stderr", err),
        ("stdout", out),
        ("results", results.read_text()),
    ):
        assert SECRET not in text, where


@pytest.mark.parametrize(
    "url", ["http://canvas.example.edu", "http://10.1.2.3:8080/api/v1"]
)
async def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path, url: str) -> None:
    """http:// to a host that is not loopback needs --allow-insecure-http."""
    job = write_job(tmp_path / "job.jsonl", build_job()[:1])

    status, _, err = await run_cli(
        ["run", str(job), "--base-url", url], run_env(SECRET)
    )

    assert status == 2
    assert "--allow-insecure-http" in err
    assert SECRET not in err
    assert not (tmp_path / "job.jsonl.results.jsonl").exists()
