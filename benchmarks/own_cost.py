"""Our own cost: client CPU per operation, bulkmod against a bare aiohttp loop.

The sandbox runs in its own process with the throttle off, no latency, a
tiny fixed cost and a bucket of 100,000 units, as an administrator may set
it (so the pacer never holds a request back: with Canvas's default 600 it
would keep 11 requests in flight, not the bare loop's 20, and the figure
would be one of pacing, not of cost). The same job
(module.create in many courses) is then sent twice: by ``bulkmod run`` with
its default 20 courses in progress, and by a bare aiohttp loop sending the
same requests (``/users/self``, then per course the module list bulkmod
reads first and one POST per module) with 20 courses in progress, each
reading and parsing the answer and nothing else. Each client is a child
process: its user+system CPU comes from ``os.wait4``; start-up is taken off
with a one-operation job. Goal: bulkmod's rate at least 70% of the bare
loop's (the rates of one run are compared, then the median of the ratios
taken); the CPU per operation is printed beside it.

    python benchmarks/own_cost.py [--courses 100] [--per-course 100] [--runs 9]
        [--profile FILE]

``--profile FILE`` also runs bulkmod once under cProfile and writes the
functions that cost most to FILE. Prints one line.
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import sys
from pathlib import Path

import aiohttp
import orjson
from _common import (
    PYTHON,
    TOKEN,
    Measured,
    bulkmod_run,
    machine,
    measure,
    median,
    module_job,
    sandbox,
    spread,
    workdir,
)

CONCURRENCY = 20
SANDBOX_FLAGS = ("--no-throttle", "--request-cost", "0.01", "--throttle-hwm", "100000")


def main() -> None:
    """Run the benchmark (or, with ``--bare``, be the bare loop)."""
    if sys.argv[1:2] == ["--bare"]:
        url, courses, per_course = sys.argv[2:5]
        asyncio.run(_bare(url, int(courses), int(per_course)))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--per-course", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    ops = args.courses * args.per_course

    ours: list[float] = []
    bare: list[float] = []
    ours_rate: list[float] = []
    bare_rate: list[float] = []
    failed = 0.0
    with workdir() as tmp:
        job, one = tmp / "job.jsonl", tmp / "one.jsonl"
        module_job(job, args.courses, args.per_course)
        module_job(one, 1, 1)
        for turn in range(args.runs):
            # Which client goes first alternates, so that neither always
            # meets the machine as the other left it.
            for client in ("bulkmod", "bare") if turn % 2 == 0 else ("bare", "bulkmod"):
                with sandbox(*SANDBOX_FLAGS, courses=args.courses) as url:
                    if client == "bulkmod":
                        start = bulkmod_run(url, one, tmp / "one.results.jsonl")
                        run = bulkmod_run(url, job, tmp / "job.results.jsonl")
                        failed += run.extra["failed"]
                    else:
                        start = _bare_run(url, 1, 1)
                        run = _bare_run(url, args.courses, args.per_course)
                cpu, rate = (
                    (ours, ours_rate) if client == "bulkmod" else (bare, bare_rate)
                )
                cpu.append(_per_op(run, start, ops))
                rate.append((ops - 1) / (run.wall - start.wall))
        if args.profile is not None:
            _profile(job, tmp, args.courses, args.profile)

    rates = [
        100 * mine / theirs for mine, theirs in zip(ours_rate, bare_rate, strict=True)
    ]
    cpu = median(ours) / median(bare)
    print(
        f"own cost: {ops} module.create in {args.courses} courses, "
        f"{CONCURRENCY} in progress, throttle off | bulkmod "
        f"{spread(ours_rate, 0)} ops/s, {spread(ours, 0)} us CPU/op, "
        f"failed {failed:.0f} | bare aiohttp loop {spread(bare_rate, 0)} ops/s, "
        f"{spread(bare, 0)} us CPU/op | rate {spread(rates, 0)}% of the bare "
        f"loop's (goal >= 70%), CPU per op {cpu:.2f}x | {machine()}"
    )


def _per_op(run: Measured, start: Measured, ops: int) -> float:
    """Microseconds of CPU per operation beyond the one-operation job."""
    return 1e6 * (run.cpu - start.cpu) / (ops - 1)


def _bare_run(url: str, courses: int, per_course: int) -> Measured:
    script = str(Path(__file__).resolve())
    return measure([PYTHON, script, "--bare", url, str(courses), str(per_course)])


async def _bare(url: str, courses: int, per_course: int) -> None:
    """Send the job's requests with nothing but aiohttp and orjson."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    api = url + "/api/v1"
    slots = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def call(method: str, path: str, data: bytes | None = None) -> object:
            async with session.request(
                method, api + path, data=data, headers=form if data else None
            ) as resp:
                body = orjson.loads(await resp.read())
                resp.raise_for_status()
                return body

        async def lane(course: int) -> None:
            async with slots:
                await call(
                    "GET", f"/courses/{course}/modules?include[]=items&per_page=100"
                )
                for k in range(1, per_course + 1):
                    data = f"module%5Bname%5D=Module+{k}".encode()
                    await call("POST", f"/courses/{course}/modules", data)

        await call("GET", "/users/self")
        await asyncio.gather(*(lane(course) for course in range(1, courses + 1)))


def _profile(job: Path, tmp: Path, courses: int, out: Path) -> None:
    """Run bulkmod once under cProfile; write the costliest functions."""
    stats_file = tmp / "run.prof"
    # cProfile's default clock is the wall clock, which on two shared cores
    # charges the client for the sandbox's turns; count CPU time instead.
    code = (
        "import cProfile, sys, time\n"
        "from bulkmod.cli import main\n"
        "profile = cProfile.Profile(time.process_time)\n"
        "status = profile.runcall(main, sys.argv[2:])\n"
        "profile.dump_stats(sys.argv[1])\n"
        "sys.exit(status)\n"
    )
    with sandbox(*SANDBOX_FLAGS, courses=courses) as url:
        measure(
            [
                PYTHON,
                "-c",
                code,
                str(stats_file),
                "run",
                str(job),
                "--results",
                str(tmp / "profiled.results.jsonl"),
                "--log-level",
                "error",
            ],
            env={"CANVAS_BASE_URL": url, "CANVAS_TOKEN": TOKEN},
        )
    with out.open("w") as text:
        stats = pstats.Stats(str(stats_file), stream=text)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
