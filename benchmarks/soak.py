"""Soak: a term-start job under faults, killed with SIGKILL and run again.

Starts a sandbox process with injected 500s, dropped connections and
latency, builds a term-start job of a few thousand operations from the
course export in ``jobs/exports``, runs ``bulkmod run`` against it and kills
that run with SIGKILL a few times as its results file grows, then runs the
same command until it ends by itself. Finally it reads every course back
over the API and prints one line: operations done, faults met, duplicates
found and operations lost (both must be 0), and the machine.

Bounded: it gives up after ``--limit`` seconds (150 by default) and says so.

    python benchmarks/soak.py [--courses 20] [--kills 4] [--seed 1]

The sandbox runs as this same script with ``--serve``; on SIGTERM it prints
its counts (requests, throttled, 500s, drops) as one JSON line on stdout, so
that the faults met come from the sandbox itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
EXPORT = ROOT / "jobs" / "exports" / "web-multimedia-cis300"
TOKEN = "soak-token"

#: Shares of a whole run's results lines at which the runs are killed.
KILL_POINTS = (0.15, 0.4, 0.7, 0.85, 0.95)


def main() -> int:
    """Run the soak (or, with ``--serve``, be its sandbox)."""
    args = _parser().parse_args()
    if args.serve:
        return _serve(args)
    return _soak(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--courses", type=int, default=20, help="courses in the job (20)")
    add("--kills", type=int, default=4, help="runs killed with SIGKILL (4)")
    add("--seed", type=int, default=1, help="seed of the sandbox's faults (1)")
    add("--fail-rate", type=float, default=0.03)
    add("--drop-rate", type=float, default=0.03)
    add("--latency-ms", type=float, default=2.0)
    add("--limit", type=float, default=150.0, help="seconds before giving up (150)")
    add("--workdir", type=Path, default=None, help="where job and results go")
    add("--serve", action="store_true", help=argparse.SUPPRESS)
    return parser


def _serve(args: argparse.Namespace) -> int:
    """Serve the sandbox; print its counts as JSON when told to stop."""
    from bulkmod.sandbox.server import SandboxConfig, serve_sandbox

    config = SandboxConfig(
        courses=args.courses,
        seed_export=EXPORT,
        token=TOKEN,
        throttle_outflow=300,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        drop_rate=args.drop_rate,
        random_seed=args.seed,
    )

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with serve_sandbox(config) as sandbox:
            print(sandbox.base_url, flush=True)
            await stop.wait()
            stats = sandbox.stats
            counts = {
                "requests": stats.requests,
                "throttled": stats.throttled,
                "failed": stats.failed,
                "dropped": stats.dropped,
                "errors": stats.errors,
            }
            print(orjson.dumps(counts).decode(), flush=True)

    asyncio.run(serve())
    return 0


def _soak(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.limit
    workdir = args.workdir or Path(os.environ.get("TMPDIR", "/tmp")) / "bulkmod-soak"
    workdir.mkdir(parents=True, exist_ok=True)
    job = workdir / "soak.jsonl"
    results = workdir / "soak.jsonl.results.jsonl"
    results.unlink(missing_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bulkmod",
            "from-export",
            str(EXPORT),
            "--courses",
            f"1-{args.courses}",
            "-o",
            str(job),
        ],
        check=True,
        timeout=60,
    )
    operations = sum(1 for line in job.read_bytes().splitlines() if line.strip())

    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--courses",
            str(args.courses),
            "--seed",
            str(args.seed),
            "--fail-rate",
            str(args.fail_rate),
            "--drop-rate",
            str(args.drop_rate),
            "--latency-ms",
            str(args.latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            print(f"soak: the sandbox did not start ({base_url!r})", file=sys.stderr)
            return 2
        command = [
            sys.executable,
            "-m",
            "bulkmod",
            "run",
            str(job),
            "--base-url",
            base_url,
            "--concurrency",
            "20",
            "--log-level",
            "error",
        ]
        env = {**os.environ, "CANVAS_TOKEN": TOKEN}
        env.pop("CANVAS_BASE_URL", None)
        started = time.monotonic()
        kills, runs, status = _kill_and_rerun(
            command, env, results, operations, args.kills, deadline
        )
        elapsed = time.monotonic() - started
        found = asyncio.run(_read_back(base_url, args.courses))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    counts = orjson.loads(out.strip().splitlines()[-1]) if out.strip() else {}

    tally = _tally(results, job, found)
    print(
        f"soak: {tally['ok']}/{operations} operations done in {elapsed:.1f} s over "
        f"{runs} runs ({kills} killed with SIGKILL, last exit {status}); faults met: "
        f"{counts.get('failed', '?')} server errors, {counts.get('dropped', '?')} "
        f"dropped connections, {counts.get('throttled', '?')} throttled, "
        f"{tally['adopted']} creates adopted, {tally['requests']} requests in "
        f"all; duplicates found: {tally['duplicates']}; operations lost: "
        f"{tally['lost']}; machine: {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )
    return 0 if tally["duplicates"] == 0 and tally["lost"] == 0 else 1


def _kill_and_rerun(
    command: list[str],
    env: dict[str, str],
    results: Path,
    operations: int,
    kills: int,
    deadline: float,
) -> tuple[int, int, int | None]:
    """Run, killing the first ``kills`` runs; then rerun until one ends."""
    # A whole run writes about two lines an operation: an intent, an outcome.
    points = [int(share * 2 * operations) for share in KILL_POINTS[:kills]]
    killed = runs = 0
    status: int | None = None
    while time.monotonic() < deadline:
        runs += 1
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        kill_at = points[killed] if killed < len(points) else None
        while proc.poll() is None and time.monotonic() < deadline:
            if kill_at is not None and _lines(results) >= kill_at:
                proc.send_signal(signal.SIGKILL)
                killed += 1
                break
            time.sleep(0.01)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        status = proc.wait()
        if status in (0, 1) and killed >= len(points):
            return killed, runs, status
    print("soak: time limit reached before the job finished", file=sys.stderr)
    return killed, runs, status


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


async def _read_back(base_url: str, courses: int) -> dict[str, dict[int, str]]:
    """Every module and item of the courses: id -> where it is and its name."""
    found: dict[str, dict[int, str]] = {"module": {}, "item": {}}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for course in range(1, courses + 1):
            url = f"{base_url}/api/v1/courses/{course}/modules"
            for module in await _get_all(http, url):
                where = f"course {course}, module {module['id']}"
                found["module"][int(module["id"])] = f"{where}, {module['name']!r}"
                items = await _get_all(http, f"{url}/{module['id']}/items")
                for item in items:
                    found["item"][int(item["id"])] = f"{where}, {item['title']!r}"
    return found


async def _get_all(http: aiohttp.ClientSession, url: str) -> list[Any]:
    listed: list[Any] = []
    page: str | None = url + "?per_page=100"
    while page:
        for _ in range(50):
            try:
                async with http.get(page) as answer:
                    if answer.status == 200:
                        listed.extend(await answer.json())
                        link = answer.links.get("next")
                        following = str(link["url"]) if link else None
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
        else:
            raise RuntimeError(f"could not read {page}")
        page = following
    return listed


def _tally(
    results: Path, job: Path, found: dict[str, dict[int, str]]
) -> dict[str, int]:
    """Count done, lost, adopted and duplicated from the results and Canvas."""
    last: dict[str, dict[str, Any]] = {}
    requests = 0
    for raw in results.read_bytes().splitlines():
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if "status" in record:
            last[record["id"]] = record
            requests += record["attempts"]
    ids = []
    for number, raw in enumerate(job.read_bytes().splitlines(), start=1):
        if raw.strip():
            ids.append(orjson.loads(raw).get("id", f"L{number}"))

    made: dict[str, list[int]] = {"module": [], "item": []}
    for outcome in last.values():
        kind = outcome["op"].split(".")[0]
        if outcome["op"].endswith(".create") and outcome["status"] == "ok":
            made[kind].append(int(outcome["object_id"]))
    duplicates = lost = 0
    for kind in ("module", "item"):
        claimed = set(made[kind])
        # Objects no operation accounts for, and objects two operations took.
        extra = sorted(set(found[kind]) - claimed)
        for object_id in extra:
            print(
                f"soak: {kind} {object_id} ({found[kind][object_id]}) is the "
                "outcome of no operation",
                file=sys.stderr,
            )
        duplicates += len(extra) + len(made[kind]) - len(claimed)
        lost += len(claimed - set(found[kind]))
    not_ok = [op_id for op_id in ids if last.get(op_id, {}).get("status") != "ok"]
    return {
        "ok": len(ids) - len(not_ok),
        "lost": lost + len(not_ok),
        "duplicates": duplicates,
        "adopted": sum(bool(o.get("adopted")) for o in last.values()),
        "requests": requests,
    }


if __name__ == "__main__":
    sys.exit(main())
