"""``bulkmod report``: what a results file says, without reading it line by line.

A results file may hold several outcome lines for one operation id (a rerun
appends new ones); the last one is the operation's outcome. The report reads
the file twice, streaming: once to learn which line is the last of each id,
once to count those lines. Memory holds a small entry per id, never the
results themselves, and a torn last line (a run killed mid-write, or one still
writing) is left out.

What counts where:

- statuses, operations by status, errors by type, failing courses, latency
  and adoptions count the last outcome of each id;
- requests, retries and throttled answers count every outcome line, since an
  earlier run's requests were sent too;
- fan-out children (ids ``<parent>/<object id>``) are counted apart from the
  job's own operations; a fan-out parent's own line sums up its children, so
  errors and failing courses count the children's errors instead of it.

``--format csv`` writes rows of ``section,key,field,value`` (header row
first). ``field`` is empty for a plain number: ``status,failed,,2``;
``by_op,module.create,ok,3`` counts a pair; ``course,sis_course_id:BIO-1,
first_error,not_found: ...`` describes one failing course.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bulkmod.engine.journal import iter_records

#: Outcome statuses, in the order a report shows them.
STATUSES = ("ok", "failed", "skipped")

#: Failing courses a table shows; json and csv give them all.
_COURSES_SHOWN = 20
#: Ids of in-flight operations kept as examples.
_IN_FLIGHT_KEPT = 20

HELP = "summarise a results file"

DESCRIPTION = (
    "Summarise a results file: operations by status and by operation, errors "
    "by type, the courses with failures, latency percentiles, requests, "
    "retries, throttled answers, creates adopted after a lost answer, and "
    "operations left in flight by a run that was stopped. A file still being "
    "written, or cut short by a killed run, is read up to its last whole line. "
    "When an operation has several outcome lines (the job was run again), the "
    "last one counts."
)

EPILOG = """\
examples:
  bulkmod report term-start.jsonl.results.jsonl
      a table for the terminal
  bulkmod report results.jsonl --format json | jq .operations
      one JSON object
  bulkmod report results.jsonl --format csv > report.csv
      rows of section,key,field,value: status,failed,,2 or
      by_op,module.create,ok,3 or course,12,first_error,not_found: ...

Requests, retries and throttled answers count every outcome line (earlier
runs' requests were sent too); everything else counts the last outcome of
each operation. Latency is elapsed_ms of operations that sent a request.

exit status: 0 report written, 2 the file cannot be read or is not a results
file
"""


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
    retries: int = 0
    throttled: int = 0
    adopted: int = 0
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
        if "intent" in record:
            pending[str(record["intent"])] = None
            continue
        op_id = record.get("id")
        if record.get("status") is None or not isinstance(op_id, str):
            continue
        last[op_id] = index
        pending.pop(op_id, None)
        report.outcome_lines += 1
        attempts = _int(record.get("attempts"))
        report.requests += attempts
        report.retries += max(attempts - 1, 0)
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
    finished = record.get("finished_at")
    if isinstance(finished, str) and (
        report.last_finished_at is None or finished > report.last_finished_at
    ):
        report.last_finished_at = finished

    elapsed = record.get("elapsed_ms")
    if not summing_up and _int(record.get("attempts")) > 0:
        if isinstance(elapsed, int | float) and not isinstance(elapsed, bool):
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


# --- output -----------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    """The report as one JSON-ready object (the ``json`` format)."""
    header = report.header
    return {
        "results": report.path,
        "header": {
            key: header.get(key)
            for key in ("job", "job_sha256", "base_url", "user", "started_at")
        },
        "torn_tail": report.torn_tail,
        "outcome_lines": report.outcome_lines,
        "last_finished_at": report.last_finished_at,
        "operations": _by_status(report.statuses),
        "children": _by_status(report.children),
        "by_op": {
            op: {status: report.by_op[(op, status)] for status in STATUSES}
            for op in _ops(report)
        },
        "errors": dict(sorted(report.errors.items(), key=lambda p: (-p[1], p[0]))),
        "failing_courses": [
            {
                "course": entry.course,
                "course_id": entry.course_id,
                "count": entry.count,
                "first_error": _error_json(entry.first_error),
            }
            for entry in report.failing_courses()
        ],
        "latency_ms": report.latency(),
        "requests": report.requests,
        "retries": report.retries,
        "throttled": report.throttled,
        "adopted": report.adopted,
        "in_flight": report.in_flight,
        "in_flight_ids": report.in_flight_ids,
    }


def _by_status(counts: Counter[str]) -> dict[str, int]:
    found = {status: counts[status] for status in STATUSES}
    found.update({status: n for status, n in counts.items() if status not in found})
    return {"total": sum(counts.values()), **found}


def _ops(report: Report) -> list[str]:
    return sorted({op for op, _ in report.by_op})


def _error_json(error: tuple[str, str, str] | None) -> dict[str, str] | None:
    if error is None:
        return None
    op_id, error_type, message = error
    return {"id": op_id, "type": error_type, "message": message}


def render_csv(report: Report) -> str:
    """The report as ``section,key,field,value`` rows (the ``csv`` format).

    It is the ``json`` object laid flat: a top-level number is a row of section
    ``summary``; an object's entries are rows of its section, one row per inner
    field where the entry is itself an object. Failing courses are keyed by
    course, in-flight ids by their rank.
    """
    data = to_json(report)
    data["failing_courses"] = {
        entry.pop("course"): {**entry, "first_error": _error_text(entry["first_error"])}
        for entry in data["failing_courses"]
    }
    data["in_flight_ids"] = dict(enumerate(data["in_flight_ids"], 1))

    rows: list[list[Any]] = [["section", "key", "field", "value"]]
    for section, value in data.items():
        if not isinstance(value, dict):
            rows.append(["summary", section, "", _cell(value)])
            continue
        for key, inner in value.items():
            if isinstance(inner, dict):
                rows.extend([section, key, name, _cell(x)] for name, x in inner.items())
            else:
                rows.append([section, key, "", _cell(inner)])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error_text(error: dict[str, str] | None) -> str:
    if error is None:
        return ""
    return f"{error['id']}: {error['type']}: {error['message']}"


def render_table(report: Report) -> str:
    """The report as text for a terminal (the ``table`` format)."""
    header = report.header
    lines = [f"results     {report.path}"]
    if report.torn_tail:
        lines.append(
            "            (ends in a partial line: the run was killed mid-write or "
            "is still writing; read up to the last whole line)"
        )
    lines.append(f"job         {header.get('job')} (sha256 {_short(header)})")
    lines.append(f"canvas      {header.get('base_url')} as {header.get('user')}")
    lines.append(
        f"started     {header.get('started_at')}, last outcome "
        f"{report.last_finished_at or 'none'}"
    )
    lines.append("")
    lines.append(f"operations  {_status_line(report.statuses)}")
    if report.children.total():
        lines.append(f"fan-out     {_status_line(report.children)} (children)")
    if report.in_flight:
        shown = ", ".join(report.in_flight_ids)
        more = "" if report.in_flight <= len(report.in_flight_ids) else ", ..."
        lines.append(
            f"in flight   {report.in_flight} sent with no outcome recorded (the run "
            f"stopped): {shown}{more}"
        )
    lines.extend(_op_table(report))
    if report.errors:
        lines.append("")
        lines.append("errors by type")
        for error_type, count in sorted(
            report.errors.items(), key=lambda p: (-p[1], p[0])
        ):
            lines.append(f"  {error_type:<20} {count:>8}")
    lines.extend(_course_table(report))
    lines.append("")
    lines.append(_latency_line(report))
    lines.append(
        f"requests    {report.requests}, retries {report.retries}, throttled "
        f"{report.throttled}, adopted after a lost answer {report.adopted}"
    )
    return "\n".join(lines) + "\n"


def _short(header: dict[str, Any]) -> str:
    digest = header.get("job_sha256")
    return f"{digest[:12]}..." if isinstance(digest, str) else "unknown"


def _status_line(counts: Counter[str]) -> str:
    parts = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    others = [f"{n} {status}" for status, n in counts.items() if status not in STATUSES]
    return f"{counts.total()}: {', '.join([parts, *others])}"


def _op_table(report: Report) -> list[str]:
    ops = _ops(report)
    if not ops:
        return []
    width = max(len(op) for op in ops) + 2
    lines = ["", f"  {'operation':<{width}}" + "".join(f"{s:>9}" for s in STATUSES)]
    for op in ops:
        counts = "".join(f"{report.by_op[(op, s)]:>9}" for s in STATUSES)
        lines.append(f"  {op:<{width}}{counts}")
    return lines


def _course_table(report: Report) -> list[str]:
    courses = report.failing_courses()
    if not courses:
        return []
    shown = courses[:_COURSES_SHOWN]
    title = "courses with failures"
    if len(courses) > len(shown):
        title += f" (the {len(shown)} with most of {len(courses)})"
    width = max(len(entry.course) for entry in shown) + 2
    lines = ["", title, f"  {'course':<{width}}{'count':>6}  first error"]
    for entry in shown:
        error = entry.first_error
        text = f"{error[0]}: {error[1]}: {error[2]}" if error else ""
        lines.append(f"  {entry.course:<{width}}{entry.count:>6}  {text}")
    return lines


def _latency_line(report: Report) -> str:
    latency = report.latency()
    if not latency["count"]:
        return "latency     no operation sent a request"
    parts = "  ".join(
        f"{key} {latency[key]:.1f}" for key in ("p50", "p90", "p99", "max")
    )
    return f"latency     {parts} ms (of {latency['count']} operations)"


# --- command ----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``bulkmod report``'s arguments to its subparser."""
    parser.add_argument("results", type=Path, help="the results file of a run")
    parser.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default) for a terminal, json for one object, csv for "
        "section,key,field,value rows",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``bulkmod report``: print the report to stdout; return the exit status."""
    try:
        report = build_report(args.results)
    except ReportError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(to_json(report)) + b"\n")
        sys.stdout.flush()
    elif args.format == "csv":
        sys.stdout.write(render_csv(report))
    else:
        sys.stdout.write(render_table(report))
    return 0
