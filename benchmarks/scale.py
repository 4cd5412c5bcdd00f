"""Scale: memory and time of a huge validate, and of long runs.

1. ``bulkmod validate`` of a 1,000,000-line term-start job (``bulkmod
   from-export`` of the course export in ``jobs/exports`` over 6,580
   courses): wall time and peak RSS. Goal: < 150 MB.
2. ``bulkmod run`` of the same kind of job at about 20,000 and 100,000
   operations against a sandbox process (throttle off, tiny fixed cost):
   the client's peak RSS (goal < 250 MB) and its growth per operation
   between the two sizes (goal: about 100 bytes an operation or less).

Jobs are generated into a temporary folder and removed afterwards.

    python benchmarks/scale.py [--runs 1] [--small 132] [--large 658]

(``--small``/``--large`` are course counts: 152 operations each.) Prints
one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import (
    PYTHON,
    ROOT,
    Measured,
    bulkmod_run,
    machine,
    measure,
    median,
    sandbox,
    spread,
    workdir,
)

EXPORT = ROOT / "jobs" / "exports" / "web-multimedia-cis300"
VALIDATE_COURSES = 6580


def main() -> None:
    """Run the benchmark and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--small", type=int, default=132)
    parser.add_argument("--large", type=int, default=658)
    args = parser.parse_args()

    with workdir() as tmp:
        big = tmp / "million.jsonl"
        lines = _job(big, VALIDATE_COURSES)
        checks = [
            measure([PYTHON, "-m", "bulkmod", "validate", str(big)], timeout=300)
            for _ in range(args.runs)
        ]
        if any(check.status for check in checks):
            raise RuntimeError("bulkmod validate found problems in the job")
        big.unlink()

        sizes: dict[int, list[Measured]] = {}
        for courses in (args.small, args.large):
            job = tmp / f"job-{courses}.jsonl"
            ops = _job(job, courses)
            sizes[ops] = []
            for _ in range(args.runs):
                with sandbox(
                    "--no-throttle",
                    "--request-cost",
                    "0.01",
                    "--seed-export",
                    str(EXPORT),
                    courses=courses,
                ) as url:
                    run = bulkmod_run(url, job, tmp / "results.jsonl", timeout=480)
                if run.extra["ok"] != ops:
                    raise RuntimeError(f"{ops - run.extra['ok']:.0f} operations failed")
                sizes[ops].append(run)

    (small, small_runs), (large, large_runs) = sorted(sizes.items())
    slope = (
        1e6
        * (
            median([r.max_rss_mb for r in large_runs])
            - median([r.max_rss_mb for r in small_runs])
        )
        / (large - small)
    )
    print(
        f"scale | validate {lines} lines: {spread([c.wall for c in checks], 1)} s, "
        f"peak RSS {spread([c.max_rss_mb for c in checks], 0)} MB (goal < 150) | "
        + " | ".join(
            f"run {ops} ops: {spread([r.wall for r in runs], 1)} s, peak RSS "
            f"{spread([r.max_rss_mb for r in runs], 0)} MB"
            for ops, runs in sorted(sizes.items())
        )
        + f" (goal < 250) | growth {slope:.0f} bytes/op (goal ~100) | {machine()}"
    )


def _job(path: Path, courses: int) -> int:
    """Write a term-start job for courses 1..``courses``; return its lines."""
    measure(
        [
            PYTHON,
            "-m",
            "bulkmod",
            "from-export",
            str(EXPORT),
            "--courses",
            f"1-{courses}",
            "-o",
            str(path),
        ]
    )
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


if __name__ == "__main__":
    main()
