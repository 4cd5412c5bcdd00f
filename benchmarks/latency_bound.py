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

from _common import IN_FLIGHT_LIMIT, compare_from, median, throttle_args, throttle_line

LATENCY_MS = 100.0
COST = 0.01


def main() -> None:
    """Run the benchmark and print its line."""
    args = throttle_args(__doc__, serial_runs=1)
    flags = ["--latency-ms", str(LATENCY_MS), "--request-cost", str(COST)]
    compared = compare_from(flags, args)

    # The one-operation job's requests are in the start-up already taken off.
    requests = median([run.extra["requests"] - 3 for run in compared.bulkmod])
    best = requests * LATENCY_MS / 1000 / IN_FLIGHT_LIMIT
    print(
        throttle_line(
            f"latency-bound ({LATENCY_MS:g} ms, cost {COST:g})", args, best, compared
        )
    )


if __name__ == "__main__":
    main()
