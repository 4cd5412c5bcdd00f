"""Helpers of the crash and fault tests: processes, and reading back under faults.

``sandbox_process`` runs ``bulkmod sandbox`` in a process of its own and
reads its base URL from its first stdout line; ``read_course`` reads a course
back over the API, sending again what the sandbox's injected faults spoil.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

#: Tries of one read-back request against a sandbox that injects faults.
_READ_TRIES = 40


@contextmanager
def sandbox_process(*flags: str, startup: float = 20.0) -> Iterator[str]:
    """Run ``bulkmod sandbox --port 0 FLAGS``; yield its base URL; stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulkmod", "sandbox", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + startup
        line = ""
        while not line and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), f"sandbox said {line!r}"
        yield line
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a process we started: SIGTERM, then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_env(token: str) -> dict[str, str]:
    """The environment of a ``bulkmod run`` child: the token, nothing of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANVAS_")}
    env["CANVAS_TOKEN"] = token
    return env


def outcome_lines(results: Path) -> int:
    """Whole lines in a results file so far (header and intents included)."""
    try:
        return results.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


async def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 30.0
) -> tuple[int, str, str]:
    """Run ``python -m bulkmod ARGS``; return its status, stdout and stderr.

    The loop keeps running meanwhile, so an in-process sandbox serves it.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bulkmod",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def get_all(
    session: aiohttp.ClientSession, base_url: str, token: str, path: str
) -> list[Any]:
    """Every page of a list, each page tried again until it comes back."""
    url: str | None = f"{base_url}/api/v1{path}?per_page=100"
    found: list[Any] = []
    headers = {"Authorization": f"Bearer {token}"}
    while url:
        for _ in range(_READ_TRIES):
            try:
                async with session.get(url, headers=headers) as answer:
                    if answer.status != 200:
                        continue
                    found.extend(await answer.json())
                    link = answer.links.get("next")
                    following = str(link["url"]) if link else None
                    break
            except aiohttp.ClientError:
                await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"could not read {url}")
        url = following
    return found


async def read_course(
    session: aiohttp.ClientSession, base_url: str, token: str, course: int
) -> list[dict[str, Any]]:
    """Modules in order, each with its items, read through injected faults."""
    modules = await get_all(session, base_url, token, f"/courses/{course}/modules")
    for module in modules:
        module["items"] = await get_all(
            session, base_url, token, f"/courses/{course}/modules/{module['id']}/items"
        )
    return modules
