"""Drain-bound: each request costs 2 units and the bucket leaks 100 a second.

Nothing is slow, so the bucket's headroom (about 500 units) is spent at
once and after that requests can run only as fast as the leak pays for
them: the best time is (requests x cost - 500) / outflow. Goal: bulkmod at
>= 90% of that rate and < 2% of requests throttled. The same job is also run
by canvasapi one request at a time and in 30 threads (no retry).

    python benchmarks/drain_bound.py [--courses 50] [--per-course 20]
        [--runs 3] [--serial-runs 3] [--pool-runs 3]

Times are wall seconds less the start-up (a one-operation job timed just
before on the same sandbox, whose cost has leaked away before the job
starts). Prints one line.
"""

from __future__ import annotations

import argparse

from _common import HEADROOM, compare_under_throttle, describe, machine, median

COST = 2.0
OUTFLOW = 100.0


def main() -> None:
    """Run the benchmark and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--courses", type=int, default=50)
    parser.add_argument("--per-course", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serial-runs", type=int, default=3)
    parser.add_argument("--pool-runs", type=int, default=3)
    args = parser.parse_args()

    flags = ["--request-cost", str(COST), "--throttle-outflow", str(OUTFLOW)]
    compared = compare_under_throttle(
        flags,
        courses=args.courses,
        per_course=args.per_course,
        runs=args.runs,
        serial_runs=args.serial_runs,
        pool_runs=args.pool_runs,
    )

    requests = median([run.extra["requests"] for run in compared.bulkmod])
    best = (requests * COST - HEADROOM) / OUTFLOW
    ops = args.courses * args.per_course
    print(
        f"drain-bound (cost {COST:g}, outflow {OUTFLOW:g}/s): {ops} module.create "
        f"in {args.courses} courses, best {best:.2f} s | "
        + " | ".join(
            (
                describe("bulkmod", compared.bulkmod, best),
                describe("canvasapi loop", compared.serial, None),
                describe("canvasapi 30 threads", compared.pool, None),
            )
        )
        + f" | {machine()}"
    )


if __name__ == "__main__":
    main()
