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

from _common import HEADROOM, compare_from, median, throttle_args, throttle_line

COST = 2.0
OUTFLOW = 100.0


def main() -> None:
    """Run the benchmark and print its line."""
    args = throttle_args(__doc__, serial_runs=3)
    flags = ["--request-cost", str(COST), "--throttle-outflow", str(OUTFLOW)]
    compared = compare_from(flags, args)

    requests = median([run.extra["requests"] for run in compared.bulkmod])
    best = (requests * COST - HEADROOM) / OUTFLOW
    print(
        throttle_line(
            f"drain-bound (cost {COST:g}, outflow {OUTFLOW:g}/s)", args, best, compared
        )
    )


if __name__ == "__main__":
    main()
