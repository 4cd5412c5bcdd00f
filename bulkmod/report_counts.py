"""Counting a results file for ``bulkmod report``, in two streaming passes.

A results file may hold several outcome lines for one operation id (a rerun
appends new ones); the last one is the operation's outcome. The first pass
learns which line is the last of each id, the second counts those lines.
Memory holds a small entry per id, never the results themselves, and a torn
last line (a run killed mid-write, or one still writing) is left out.

What counts where:

- statuses, operations by status, errors by type, failing courses, latency
  and adoptions count the last outcome of each id;
- requests and throttled answers count every outcome line, since an
  earlier run's requests were sent too (requests include the lookups of
  names, titles and id floors, so a clean run sends more than one per line);
- operations not yet run are the header's ``operations`` (the job's count;
  a results file written before it was recorded has none) less the job's
  operations with an outcome;
- ``bulkmod_resume`` lines (a run resumed on the file, perhaps by another
  user) are counted as runs, the last one kept;
- fan-out children (ids ``<parent>/<object id>``) are counted apart from the
  job's own operations; a fan-out parent's own line sums up its children, so
  errors, failing courses and latency count the children instead of it.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkmod.engine.journal import closes_intent, iter_records
from bulkmod.engine.tally import KNOCK_ON

#: Outcome statuses, in the order a report shows them.
STATUSES = ("ok", "failed", "skipped")

#: Ids of in-flight operations kept as examples.
_IN_FLIGHT_KEPT = 20


class ReportError(Exception):
    """The file is not a results file that can be reported on."""


@dataclass
class FailingCourse:
    """Failed or skipped outcomes in one course, and the first of them."""

    course: str
    course_id: int | None
    count: int = 0
    #: ``(op id, error type, message)`` of the first failure (a failed outcome
    #: is preferred to a skipped one, which only says what it waited for).
    first_error: tuple[str, str, str] | None = None
    first_is_failed: bool = False


@dataclass
class Report:
    """Everything ``bulkmod report`` says about one results file."""

    path: str
    header: dict[str, Any]
    #: Last outcomes of the job's own operations, by status.
    statuses: Counter[str] = field(default_factory=Counter)
    #: Last outcomes of fan-out children, by status.
    children: Counter[str] = field(default_factory=Counter)
    #: ``(op, status)`` -> count, over the job's own operations.
    by_op: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    courses: dict[str, FailingCourse] = field(default_factory=dict)
    #: elapsed_ms of the last outcomes that sent a request.
    latencies: array[float] = field(default_factory=lambda: array("d"))
    requests: int = 0
    throttled: int = 0
    adopted: int = 0
    #: Creates that took an object the course had before the run
    #: (``--existing adopt``), and creates made beside one (``warn``).
    adopted_existing: int = 0
    beside_existing: int = 0
    #: Runs resumed on this file after the first, and the last of them.
    resumes: int = 0
    last_resume: dict[str, Any] | None = None
    #: Ids with an intent line and no outcome after it.
    in_flight: int = 0
    in_flight_ids: list[str] = field(default_factory=list)
    outcome_lines: int = 0
    last_finished_at: str | None = None
    #: The file ends in a partial line: a run was killed mid-write or is writing.
    torn_tail: bool = False

    def latency(self) -> dict[str, float | int | None]:
        """Count, p50, p90, p99 and max of elapsed_ms (nearest rank)."""
        ordered = sorted(self.latencies)
        return {
            "count": len(ordered),
            "p50": percentile(ordered, 50),
            "p90": percentile(ordered, 90),
            "p99": percentile(ordered, 99),
            "max": ordered[-1] if ordered else None,
        }

    @property
    def job_operations(self) -> int | None:
        """The job's operation count, as the header recorded it (if it did)."""
        count = self.header.get("operations")
        return count if isinstance(count, int) and count >= 0 else None

    @property
    def not_run(self) -> int | None:
        """Operations of the job with no outcome yet (None when not known)."""
        total = self.job_operations
        if total is None:
            return None
        return max(total - self.statuses.total(), 0)

    def ranked_errors(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Root-cause error types, most first; then the knock-on ones."""
        ranked = sorted(self.errors.items(), key=lambda p: (-p[1], p[0]))
        roots = [pair for pair in ranked if pair[0] not in KNOCK_ON]
        knock_on = [pair for pair in ranked if pair[0] in KNOCK_ON]
        return roots, knock_on

    def failing_courses(self) -> list[FailingCourse]:
        """Courses with failures, most first (ties by course as written)."""
        return sorted(self.courses.values(), key=lambda c: (-c.count, c.course))


def percentile(ordered: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of sorted values: the ceil(pct% * n)-th."""
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def read_header(path: Path) -> dict[str, Any]:
    """Return the header of a results file; raise ReportError if it has none."""
    try:
        first = next(iter_records(path), None)
    except OSError as err:
        raise ReportError(f"{path}: cannot read it ({err.strerror or err})") from err
    header = first.get("bulkmod") if first else None
    if not isinstance(header, dict):
        raise ReportError(
            f"{path}: not a bulkmod results file (its first line is no header)"
        )
    return header


def is_fan_out_parent(record: dict[str, Any]) -> bool:
    """Tell whether an outcome line is a fan-out parent's summing-up line."""
    result = record.get("result")
    return (
        record.get("parent") is None
        and isinstance(result, dict)
        and "children" in result
    )


def _outcomes(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(index, record)`` for every whole line after the header."""
    for index, record in enumerate(iter_records(path)):
        if index:
            yield index, record


def build_report(path: Path) -> Report:
    """Read a results file (two streaming passes) and count what it says."""
    report = Report(str(path), read_header(path))
    try:
        last, seen = _first_pass(path, report)
        _second_pass(path, report, last, seen)
        report.torn_tail = _ends_torn(path)
    except OSError as err:
        raise ReportError(f"{path}: cannot read it ({err.strerror or err})") from err
    return report


def _first_pass(path: Path, report: Report) -> tuple[dict[str, int], int]:
    """Find each id's last outcome line; count traffic and open intents."""
    last: dict[str, int] = {}
    pending: dict[str, None] = {}
    seen = 0
    for index, record in _outcomes(path):
        seen = index + 1
        resumed = record.get("bulkmod_resume")
        if isinstance(resumed, dict):
            report.resumes += 1
            report.last_resume = resumed
            continue
        if "intent" in record:
            pending[str(record["intent"])] = None
            continue
        op_id = record.get("id")
        if record.get("status") is None or not isinstance(op_id, str):
            continue
        last[op_id] = index
        if closes_intent(record):
            pending.pop(op_id, None)
        report.outcome_lines += 1
        attempts = _int(record.get("attempts"))
        report.requests += attempts
        report.throttled += _int(record.get("throttled"))
    report.in_flight = len(pending)
    report.in_flight_ids = list(pending)[:_IN_FLIGHT_KEPT]
    return last, seen


def _second_pass(path: Path, report: Report, last: dict[str, int], seen: int) -> None:
    # A run still writing adds lines between the passes: only the lines the
    # first pass saw are counted, so both passes speak of the same file.
    for index, record in _outcomes(path):
        if index >= seen:
            break
        op_id = record.get("id")
        if isinstance(op_id, str) and last.get(op_id) == index:
            _count(report, record)


def _count(report: Report, record: dict[str, Any]) -> None:
    status = str(record["status"])
    op = str(record.get("op"))
    child = record.get("parent") is not None
    summing_up = is_fan_out_parent(record)

    if child:
        report.children[status] += 1
    else:
        report.statuses[status] += 1
        report.by_op[(op, status)] += 1
    if record.get("adopted"):
        report.adopted += 1
    report.adopted_existing += bool(record.get("adopted_existing"))
    report.beside_existing += bool(record.get("existing"))
    finished = record.get("finished_at")
    if isinstance(finished, str) and (
        report.last_finished_at is None or finished > report.last_finished_at
    ):
        report.last_finished_at = finished

    elapsed = record.get("elapsed_ms")
    sent = not summing_up and _int(record.get("attempts")) > 0
    if sent and isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
        report.latencies.append(float(elapsed))

    error = record.get("error")
    if status == "ok" or summing_up or not isinstance(error, dict):
        return
    error_type = str(error.get("type"))
    report.errors[error_type] += 1
    _count_course(report, record, status, error_type, str(error.get("message")))


def _count_course(
    report: Report, record: dict[str, Any], status: str, error_type: str, message: str
) -> None:
    course = str(record.get("course"))
    entry = report.courses.get(course)
    if entry is None:
        course_id = record.get("course_id")
        entry = FailingCourse(course, course_id if isinstance(course_id, int) else None)
        report.courses[course] = entry
    entry.count += 1
    failed = status == "failed"
    if entry.first_error is None or (failed and not entry.first_is_failed):
        entry.first_error = (str(record.get("id")), error_type, message)
        entry.first_is_failed = failed


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _ends_torn(path: Path) -> bool:
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        if size == 0:
            return False
        handle.seek(size - 1)
        return handle.read(1) != b"\n"
