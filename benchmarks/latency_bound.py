"""Latency-bound: 100 ms answers, tiny costs; how near 11 requests in flight?

With every answer taking ``--latency-ms`` and costing almost nothing, the
only limit is the 50 units each request reserves while it runs: 11 fit under
the 600 high-water mark, so the best time is requests x latency / 11. Goal:
bulkmod at >= 90% of that, < 1% of requests throttled, none failed. The same
job is also run by canvasapi one request at a time and in 30 threads, the
way scripts do it today (no retry of a throttled request).

    python benchmarks/latency_bound.py [--courses 50] [--per-course 20]
        [--runs 3] [--serial-runs 1] [--pool-runs 3]

Times are wall seconds less the start-up (a one-operation job timed just
before on the same sandbox). Prints one line.
"""

from __future__ import annotations

import argparse

from _common import IN_FLIGHT_LIMIT, compare_under_throttle, describe, machine, median

LATENCY_MS = 100.0
COST = 0.01


def main() -> None:
    """Run the benchmark and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--courses", type=int, default=50)
    parser.add_argument("--per-course", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serial-runs", type=int, default=1)
    parser.add_argument("--pool-runs", type=int, default=3)
    args = parser.parse_args()

    flags = ["--latency-ms", str(LATENCY_MS), "--request-cost", str(COST)]
    compared = compare_under_throttle(
        flags,
        courses=args.courses,
        per_course=args.per_course,
        runs=args.runs,
        serial_runs=args.serial_runs,
        pool_runs=args.pool_runs,
    )

    # The one-operation job's requests are in the start-up already taken off.
    requests = median([run.extra["requests"] - 3 for run in compared.bulkmod])
    best = requests * LATENCY_MS / 1000 / IN_FLIGHT_LIMIT
    ops = args.courses * args.per_course
    print(
        f"latency-bound ({LATENCY_MS:g} ms, cost {COST:g}): {ops} module.create in "
        f"{args.courses} courses, best {best:.2f} s | "
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
