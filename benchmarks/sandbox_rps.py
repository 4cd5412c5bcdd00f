"""The sandbox itself: simple requests a second it serves on one core.

The sandbox is one process on one event loop, so it uses at most one core;
a separate client process (bare aiohttp, 32 requests in flight) keeps it
busy with ``GET /users/self`` and then with a module show for a fixed time
each. The figure is requests a second, and requests per CPU-second of the
sandbox process (read from /proc), which is its one-core capacity even when
the client, on the other core, is the slower of the two. Throttle off.

    python benchmarks/sandbox_rps.py [--seconds 5] [--concurrency 32] [--runs 3]

Prints one line.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from _common import PYTHON, TOKEN, cpu_seconds, machine, sandbox_process, spread

ROUTES = {
    "users/self": "/api/v1/users/self",
    "module show": "/api/v1/courses/1/modules/{module}",
}


def main() -> None:
    """Run the benchmark (or, with ``--client``, be its client)."""
    if sys.argv[1:2] == ["--client"]:
        url, seconds, concurrency = sys.argv[2:5]
        count = asyncio.run(_client(url, float(seconds), int(concurrency)))
        print(count)
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    parts = []
    for name, route in ROUTES.items():
        rates: list[float] = []
        per_cpu: list[float] = []
        for _ in range(args.runs):
            with sandbox_process("--no-throttle", courses=1) as (base, pid):
                url = base + route.format(module=_make_module(base))
                before = cpu_seconds(pid)
                started = time.perf_counter()
                count = _run_client(url, args.seconds, args.concurrency)
                elapsed = time.perf_counter() - started
                used = cpu_seconds(pid) - before
            rates.append(count / elapsed)
            per_cpu.append(count / used)
        parts.append(
            f"{name}: {spread(rates, 0)} req/s, {spread(per_cpu, 0)} req per "
            "sandbox CPU-second"
        )
    print(
        f"sandbox rps ({args.concurrency} in flight, separate client process) | "
        + " | ".join(parts)
        + f" | {machine()}"
    )


def _make_module(base: str) -> int:
    """Create the module the module show reads; return its id."""

    async def create() -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                base + "/api/v1/courses/1/modules",
                data={"module[name]": "Week 1"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as resp,
        ):
            resp.raise_for_status()
            return int((await resp.json())["id"])

    return asyncio.run(create())


def _run_client(url: str, seconds: float, concurrency: int) -> int:
    script = str(Path(__file__).resolve())
    out = subprocess.run(
        [PYTHON, script, "--client", url, str(seconds), str(concurrency)],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip())


async def _client(url: str, seconds: float, concurrency: int) -> int:
    """GET ``url`` with ``concurrency`` requests in flight; return answers."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    count = 0
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"the sandbox answered {resp.status}")
                count += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count


if __name__ == "__main__":
    main()
