"""``bulkmod report``: what a results file says, without reading it line by line.

The counting is :mod:`bulkmod.report_counts`; this module lays the counts out
in the three formats and is the command.

``--format csv`` writes the ``json`` object laid flat, as rows of
``section,key,field,value`` (header row first): a top-level value is a row of
section ``summary`` (``summary,requests,,12``); an object's entries are rows
of its own section (``operations,failed,,2``), one row per inner field where
the entry is itself an object (``by_op,module.create,ok,3``,
``failing_courses,12,first_error,L7: not_found: ...``). Failing courses are
keyed by course as written, in-flight ids by their rank.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from bulkmod.report_counts import STATUSES, Report, ReportError, build_report

#: Failing courses a table shows; json and csv give them all.
_COURSES_SHOWN = 20
#: A first error longer than this is cut in the table (json and csv keep it).
_ERROR_WIDTH = 100

HELP = "summarise a results file"

DESCRIPTION = """\
Summarise a results file: operations by status and by operation (and how
many of the job's have no outcome yet), errors by type (root causes first,
then the skips that followed from them), the courses with failures, latency
percentiles, requests, throttled answers, creates adopted after a lost answer
or from the course as it was (--existing), operations left in flight by a
run that was stopped, and the runs that wrote the file.

When an operation has several outcome lines (the job was run again on the
same results file), the last one counts. A file still being written, or cut
short by a killed run, is read up to its last whole line.
"""

EPILOG = """\
examples:
  bulkmod report term-start.jsonl.results.jsonl
      a table for the terminal
  bulkmod report results.jsonl --format json | jq .operations
      one JSON object
  bulkmod report results.jsonl --format csv > report.csv
      the json object laid flat as rows of section,key,field,value, such
      as operations,failed,,2 or by_op,module.create,ok,3 or
      failing_courses,12,count,2

Requests and throttled answers count every outcome line (earlier runs'
requests were sent too); everything else counts the last outcome of each
operation. Requests include the lookups of names, titles and id floors, so
even a clean run sends more requests than it has lines. Latency is
elapsed_ms of operations that sent a request. Fan-out children are counted
apart from the job's own operations. "Not yet run" needs the job's
operation count in the header, which results files of older versions lack.

exit status: 0 report written, 2 the file cannot be read or is not a results
file
"""


# --- output -----------------------------------------------------------------


def to_json(report: Report) -> dict[str, Any]:
    """The report as one JSON-ready object (the ``json`` format)."""
    header = report.header
    return {
        "results": report.path,
        "header": {
            key: header.get(key)
            for key in (
                "job",
                "job_sha256",
                "base_url",
                "user",
                "started_at",
                "operations",
            )
        },
        "runs": _runs_json(report),
        "torn_tail": report.torn_tail,
        "outcome_lines": report.outcome_lines,
        "last_finished_at": report.last_finished_at,
        "operations": _by_status(report.statuses),
        "not_run": report.not_run,
        "children": _by_status(report.children),
        "by_op": {
            op: {status: report.by_op[(op, status)] for status in STATUSES}
            for op in _ops(report)
        },
        "errors": dict(_ranked(report)),
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
        "throttled": report.throttled,
        "adopted": report.adopted,
        "existing": {
            "adopted": report.adopted_existing,
            "created_beside": report.beside_existing,
        },
        "in_flight": report.in_flight,
        "in_flight_ids": report.in_flight_ids,
    }


def _ranked(report: Report) -> list[tuple[str, int]]:
    roots, knock_on = report.ranked_errors()
    return roots + knock_on


def _runs_json(report: Report) -> dict[str, Any]:
    last = report.last_resume or {}
    return {
        "count": 1 + report.resumes,
        "last_user": last.get("user", report.header.get("user")),
        "last_started_at": last.get("started_at", report.header.get("started_at")),
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
        lines.append("            (ends in a partial line: a run was killed mid-write")
        lines.append("            or is still writing; read up to the last whole line)")
    lines.append(f"job         {header.get('job')} (sha256 {_short(header)})")
    lines.append(f"canvas      {header.get('base_url')} as {header.get('user')}")
    lines.append(
        f"started     {header.get('started_at')}, last outcome "
        f"{report.last_finished_at or 'none'}"
    )
    lines.extend(_runs_lines(report))
    lines.append("")
    lines.append(f"operations  {_status_line(report.statuses)}{_not_run(report)}")
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
    lines.extend(_error_table(report))
    lines.extend(_course_table(report))
    lines.append("")
    lines.append(_latency_line(report))
    if report.adopted_existing or report.beside_existing:
        lines.append(
            f"existing    {report.adopted_existing} adopted from the course as it "
            f"was (--existing adopt), {report.beside_existing} created beside one "
            "of the same name (--existing warn)"
        )
    lines.append(
        f"requests    {report.requests} (lookups included), throttled "
        f"{report.throttled}, adopted after a lost answer {report.adopted}"
    )
    return "\n".join(lines) + "\n"


def _runs_lines(report: Report) -> list[str]:
    if not report.resumes:
        return []
    runs = _runs_json(report)
    first = report.header.get("user")
    text = f"runs        {runs['count']}, the last started {runs['last_started_at']}"
    if runs["last_user"] != first:
        text += f" as {runs['last_user']} (the first as {first})"
    return [text]


def _not_run(report: Report) -> str:
    total, missing = report.job_operations, report.not_run
    if total is None or missing is None:
        return ""
    return f" (of {total} in the job, {missing} not yet run)"


def _error_table(report: Report) -> list[str]:
    """Errors by type: root causes first, then what followed from them."""
    if not report.errors:
        return []
    roots, knock_on = report.ranked_errors()
    lines = ["", "errors by type"]
    lines.extend(f"  {error_type:<20} {count:>8}" for error_type, count in roots)
    if knock_on:
        counts = ", ".join(f"{count} {error_type}" for error_type, count in knock_on)
        lines.append(f"  and, following from those or from a stop: {counts}")
    return lines


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
    width = max(len("course"), *(len(entry.course) for entry in shown)) + 2
    lines = ["", title, f"  {'course':<{width}}{'count':>6}  first error"]
    for entry in shown:
        error = entry.first_error
        text = f"{error[0]}: {error[1]}: {error[2]}" if error else ""
        if len(text) > _ERROR_WIDTH:
            text = text[: _ERROR_WIDTH - 3] + "..."
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
    parser.add_argument(
        "results", type=Path, metavar="RESULTS", help="the results file of a run"
    )
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
