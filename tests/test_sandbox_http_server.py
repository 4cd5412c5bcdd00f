"""The sandbox's lifecycle: serving in-process, and the ``bulkmod sandbox`` command."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bulkmod.sandbox.cli import build_parser, main
from bulkmod.sandbox.server import SandboxConfig, serve_sandbox

ADMIN = {"Authorization": "Bearer sandbox-token"}
HELIUM = Path(__file__).parent / "data" / "course-exports" / "course-template-helium"
_RUN_CLI = "import sys; from bulkmod.sandbox.cli import main; sys.exit(main())"


async def test_serve_and_stop() -> None:
    """The base URL is the origin on a free port; after the block nothing listens."""
    config = SandboxConfig(courses=1)
    async with aiohttp.ClientSession() as http:
        async with serve_sandbox(config) as sandbox:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.base_url)
            assert sandbox.state.base_url == sandbox.base_url
            assert sandbox.stats.requests == 0
            url = sandbox.base_url + "/api/v1/users/self"
            async with http.get(url, headers=ADMIN) as response:
                assert response.status == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(url, headers=ADMIN) as response:
                await response.read()


async def test_seed_export_adds_its_content() -> None:
    """With an export, each course also holds the assignments its items point at."""
    config = SandboxConfig(courses=2, seed_export=HELIUM, throttle=False)
    async with serve_sandbox(config) as sandbox, aiohttp.ClientSession() as http:
        url = sandbox.base_url + "/api/v1/courses/2/assignments"
        query = {"search_term": "[T] Basic Assignment"}
        async with http.get(url, params=query, headers=ADMIN) as response:
            found = await response.json()
        assert [assignment["name"] for assignment in found] == ["[T] Basic Assignment"]
        assert sandbox.state.find_course("2").modules == {}


def test_missing_export_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export that cannot be read stops the command with status 2, no URL."""
    assert main(["--seed-export", str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("bulkmod sandbox: ")


def test_config_checks_statuses() -> None:
    """Only 403/429 throttle statuses and 401/403 auth statuses are accepted."""
    with pytest.raises(ValueError):
        SandboxConfig(throttle_status=500)
    with pytest.raises(ValueError):
        SandboxConfig(auth_error_status=404)


def test_help_documents_seeded_users(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names the admin token and every knob."""
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    text = capsys.readouterr().out
    assert "sandbox-token" in text
    for flag in ("--no-throttle", "--throttle-status", "--drop-rate", "--random-seed"):
        assert flag in text


def test_flags_reach_the_config() -> None:
    """Every flag parses into the option of the same name."""
    args = build_parser().parse_args(
        ["--port", "8123", "--no-throttle", "--throttle-status", "429"]
        + ["--auth-error-status", "403", "--request-cost", "1.5", "--latency-ms", "5"]
    )
    assert (args.port, args.no_throttle, args.throttle_status) == (8123, True, 429)
    assert (args.auth_error_status, args.request_cost, args.latency_ms) == (
        403,
        1.5,
        5.0,
    )


def test_bad_status_is_a_usage_error() -> None:
    """--throttle-status 500 is refused with exit status 2."""
    with pytest.raises(SystemExit) as stopped:
        main(["--throttle-status", "500"])
    assert stopped.value.code == 2


async def test_command_prints_url_and_stops_on_sigterm() -> None:
    """The first stdout line is the base URL; SIGTERM stops it with status 0."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RUN_CLI,
        "--port",
        "0",
        "--courses",
        "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        base_url = line.decode().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        async with aiohttp.ClientSession() as http:
            url = base_url + "/api/v1/users/self"
            async with http.get(url, headers=ADMIN) as response:
                assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
