"""How people run a bulk job today: ``canvasapi`` in a loop, or in 30 threads.

This is the script an administrator writes: fetch each course once, then
create its modules, one request at a time (``serial``) or from a pool of 30
threads (``pool``, ``concurrent.futures``). Like a typical script it does not
retry: canvasapi raises ``Forbidden`` on Canvas's 403 "Rate Limit Exceeded"
(``RateLimitExceeded`` on a 429), and that module is simply not made.

It is run as a child process by ``latency_bound.py`` and ``drain_bound.py``
so that its time and CPU are measured like ``bulkmod run``'s::

    python benchmarks/today.py serial|pool URL COURSES PER_COURSE COUNTS.json

and writes what happened (requests, ok, throttled, failed) to COUNTS.json.
"""

from __future__ import annotations

import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from canvasapi import Canvas  # type: ignore[import-untyped]
from canvasapi.exceptions import (  # type: ignore[import-untyped]
    CanvasException,
    Forbidden,
)

TOKEN = "bench-token"
THREADS = 30


class _Counts:
    """Outcomes counted from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: Requests sent, answers throttled, other refusals; modules made
        #: (``ok``) and not made (``failed``: refused, or its course was).
        self.values = {"requests": 0, "throttled": 0, "errors": 0}
        self.values.update(ok=0, failed=0)

    def add(self, *keys: str) -> None:
        with self.lock:
            for key in keys:
                self.values[key] += 1


def _send(counts: _Counts, call: Any, *args: Any, **kwargs: Any) -> Any:
    """One canvasapi call, counted; None when Canvas refused it."""
    try:
        answer = call(*args, **kwargs)
    except Forbidden as err:
        # Canvas's throttle answers 403 with this text; canvasapi does not
        # tell it apart from a permission error, so the script must.
        counts.add("requests", "throttled" if "Rate Limit" in str(err) else "errors")
        return None
    except CanvasException:
        counts.add("requests", "errors")
        return None
    counts.add("requests")
    return answer


def _create(counts: _Counts, course: Any, name: str) -> None:
    """Create one module in ``course`` (None: the course was refused)."""
    made = None
    if course is not None:
        made = _send(counts, course.create_module, module={"name": name})
    counts.add("failed" if made is None else "ok")


def serial(canvas: Canvas, courses: int, per_course: int, counts: _Counts) -> None:
    """One request at a time: each course, then each of its modules."""
    for course_id in range(1, courses + 1):
        course = _send(counts, canvas.get_course, course_id)
        for k in range(1, per_course + 1):
            _create(counts, course, f"Module {k}")


def pool(canvas: Canvas, courses: int, per_course: int, counts: _Counts) -> None:
    """The same requests from a pool of 30 threads."""
    with ThreadPoolExecutor(max_workers=THREADS) as threads:
        fetched = list(
            threads.map(
                lambda cid: _send(counts, canvas.get_course, cid),
                range(1, courses + 1),
            )
        )
        jobs = []
        for k in range(1, per_course + 1):
            for course in fetched:
                jobs.append(threads.submit(_create, counts, course, f"Module {k}"))
        for job in jobs:
            job.result()


def main(argv: list[str]) -> int:
    """Run one way over the sandbox at ``argv``'s URL; write the counts."""
    how, url, courses, per_course, out = argv
    with warnings.catch_warnings():
        # The sandbox is plain http on 127.0.0.1; canvasapi warns of that.
        warnings.simplefilter("ignore", UserWarning)
        canvas = Canvas(url, TOKEN)
    counts = _Counts()
    run = serial if how == "serial" else pool
    run(canvas, int(courses), int(per_course), counts)
    Path(out).write_bytes(orjson.dumps(counts.values))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
