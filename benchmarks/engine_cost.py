"""bulkmod's own CPU per operation, with Canvas answering from memory.

``own_cost.py`` compares whole clients over loopback, where aiohttp, the
event loop and the sandbox on the other core make most of the time and
most of the noise. This one takes them out: the child process runs ``bulkmod
run`` with the client's exchange (``CanvasClient._exchange``, the one call
into aiohttp) answered at once from memory, with Canvas's shapes and quota
headers, so what is measured is bulkmod's own work per operation: reading
and checking the job, the lanes, the executor, the pacer, the results file.

The same job as ``own_cost.py`` (module.create in many courses, 20 in
progress). CPU of the child from ``os.wait4``, less that of a one-operation
job; median of several runs.

    python benchmarks/engine_cost.py [--courses 200] [--per-course 100] [--runs 5]

Prints one line.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
from pathlib import Path
from typing import Any

import orjson
from _common import (
    PYTHON,
    ROOT,
    TOKEN,
    Measured,
    machine,
    measure,
    module_job,
    spread,
    workdir,
)

#: Never connected to: every answer comes from memory.
_NOWHERE = "http://127.0.0.1:9"


def main() -> None:
    """Run the benchmark (or, with ``--child``, be the measured process)."""
    if sys.argv[1:2] == ["--child"]:
        sys.exit(_child(Path(sys.argv[2]), Path(sys.argv[3])))

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--per-course", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ops = args.courses * args.per_course

    per_op: list[float] = []
    with workdir() as tmp:
        job, one = tmp / "job.jsonl", tmp / "one.jsonl"
        module_job(job, args.courses, args.per_course)
        module_job(one, 1, 1)
        for _ in range(args.runs):
            start = _measured(one, tmp)
            run = _measured(job, tmp)
            per_op.append(1e6 * (run.cpu - start.cpu) / (ops - 1))
    print(
        f"engine cost: {ops} module.create in {args.courses} courses, answers "
        f"from memory | bulkmod {spread(per_op, 1)} us CPU/op | {machine()}"
    )


def _measured(job: Path, tmp: Path) -> Measured:
    results = tmp / "results.jsonl"
    if results.exists():
        results.unlink()
    script = str(Path(__file__).resolve())
    measured = measure([PYTHON, script, "--child", str(job), str(results)])
    if measured.status != 0:
        raise RuntimeError(f"bulkmod run ended with {measured.status}")
    return measured


def _child(job: Path, results: Path) -> int:
    """Run ``bulkmod run`` with every request answered from memory."""
    # The bulkmod of this checkout, whatever else is installed.
    sys.path.insert(0, str(ROOT))
    from multidict import CIMultiDict, CIMultiDictProxy

    from bulkmod.cli import main as bulkmod_main
    from bulkmod.client.http import CanvasClient

    headers = CIMultiDictProxy(
        CIMultiDict(
            {
                "Content-Type": "application/json; charset=utf-8",
                "X-Request-Cost": "0.01",
                "X-Rate-Limit-Remaining": "100000",
            }
        )
    )
    ids = itertools.count(1000)

    async def exchange(
        self: CanvasClient, session: Any, method: str, url: Any, data: Any
    ) -> tuple[int, Any, bytes]:
        # A request to Canvas gives the loop a turn at least once.
        await asyncio.sleep(0)
        return 200, headers, _answer(method, url.path, ids)

    CanvasClient._exchange = exchange  # type: ignore[method-assign]
    os.environ.update(CANVAS_BASE_URL=_NOWHERE, CANVAS_TOKEN=TOKEN)
    argv = ["run", str(job), "--results", str(results), "--log-level", "error"]
    return bulkmod_main(argv)


def _answer(method: str, path: str, ids: itertools.count[int]) -> bytes:
    """What Canvas answers: a new module, an empty list, the token's user."""
    if method == "POST":
        module_id = next(ids)
        course = path.split("/")[4]
        return orjson.dumps(
            {
                "id": module_id,
                "name": "Module",
                "position": 1,
                "unlock_at": None,
                "require_sequential_progress": False,
                "requirement_type": "all",
                "publish_final_grade": False,
                "prerequisite_module_ids": [],
                "published": False,
                "items_count": 0,
                "items_url": f"{_NOWHERE}/api/v1/courses/{course}/modules/"
                f"{module_id}/items",
                "state": "active",
            }
        )
    if path.endswith("/users/self"):
        return b'{"id": 1, "name": "Benchmark Admin"}'
    return b"[]"


if __name__ == "__main__":
    main()
