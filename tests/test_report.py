"""``bulkmod report``: counts of a hand-written results file, in each format."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from bulkmod import report
from bulkmod.report_counts import ReportError, build_report, percentile

HEADER = {
    "bulkmod": {
        "version": "0.1.0",
        "job": "jobs/term.jsonl",
        "job_sha256": "ab" * 32,
        "base_url": "http://127.0.0.1:9",
        "user": "Admin (id 1)",
        "started_at": "2024-08-01T10:00:00.000Z",
    }
}


def outcome(
    op_id: str, op: str, course: Any, status: str, **fields: Any
) -> dict[str, Any]:
    """One outcome line as the engine writes it, with quiet defaults."""
    record: dict[str, Any] = {
        "line": 1,
        "id": op_id,
        "op": op,
        "course": str(course),
        "course_id": course if isinstance(course, int) else None,
        "parent": None,
        "status": status,
        "http_status": 200,
        "attempts": 1,
        "throttled": 0,
        "adopted": False,
        "elapsed_ms": 1.0,
        "finished_at": "2024-08-01T10:00:01.000Z",
        "object_id": None,
        "result": None,
        "error": None,
    }
    record.update(fields)
    return record


def error(kind: str, message: str) -> dict[str, str]:
    """An outcome's error field."""
    return {"type": kind, "message": message}


#: A first run (stopped with c3 in flight), then a rerun that ended w2 ok.
RECORDS: list[dict[str, Any]] = [
    HEADER,
    outcome("w1", "module.create", 1, "ok", elapsed_ms=10.0, object_id=101),
    {"intent": "w2", "line": 2, "course_id": 1, "floor": 101, "at": "x"},
    outcome(
        "w2",
        "module.create",
        1,
        "failed",
        attempts=3,
        throttled=1,
        elapsed_ms=40.0,
        http_status=500,
        error=error("server_error", "answered 500"),
    ),
    outcome(
        "i1",
        "item.create",
        1,
        "skipped",
        attempts=0,
        elapsed_ms=0.1,
        http_status=None,
        error=error("dependency_failed", "needs w2"),
    ),
    outcome("all/201", "module.update", 2, "ok", parent="all", elapsed_ms=20.0),
    outcome(
        "all/202",
        "module.update",
        2,
        "failed",
        parent="all",
        elapsed_ms=30.0,
        http_status=404,
        error=error("not_found", "no module 202"),
    ),
    outcome(
        "all",
        "module.update",
        2,
        "failed",
        elapsed_ms=60.0,
        result={"children": 2, "failed": 1},
        error=error("dependency_failed", "1 of 2 children did not succeed"),
    ),
    outcome(
        "bad",
        "module.show",
        "sis_course_id:X",
        "failed",
        elapsed_ms=5.0,
        http_status=404,
        error=error("not_found", "no such course"),
    ),
    {"intent": "c3", "line": 8, "course_id": 1, "floor": 101, "at": "x"},
    outcome(
        "w2",
        "module.create",
        1,
        "ok",
        attempts=2,
        elapsed_ms=50.0,
        adopted=True,
        object_id=102,
        finished_at="2024-08-02T09:00:00.000Z",
    ),
    outcome("L9", "module.relock", 1, "ok", elapsed_ms=15.0),
    outcome(
        "u1",
        "item.update",
        1,
        "failed",
        elapsed_ms=25.0,
        http_status=400,
        error=error("invalid_input", "position: bad"),
    ),
]


def write_results(path: Path, records: list[dict[str, Any]], tail: bytes = b"") -> Path:
    """Write records as JSON Lines, then ``tail`` (a torn line) if given."""
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + tail)
    return path


#: The report of RECORDS, worked out by hand: w2's second outcome replaces its
#: first; latency is of the 7 last outcomes that sent a request, fan-out
#: parent left out: 5, 10, 15, 20, 25, 30, 50 (p50 is the 4th, p90 and p99
#: the 7th); requests 1+3+0+1+1+1+1+2+1+1 = 12. HEADER is of a version that
#: did not record the job's operation count: "not yet run" is unknown.
EXPECTED: dict[str, Any] = {
    "results": "",
    "header": {
        "job": "jobs/term.jsonl",
        "job_sha256": "ab" * 32,
        "base_url": "http://127.0.0.1:9",
        "user": "Admin (id 1)",
        "started_at": "2024-08-01T10:00:00.000Z",
        "operations": None,
    },
    "runs": {
        "count": 1,
        "last_user": "Admin (id 1)",
        "last_started_at": "2024-08-01T10:00:00.000Z",
    },
    "torn_tail": False,
    "outcome_lines": 10,
    "last_finished_at": "2024-08-02T09:00:00.000Z",
    "operations": {"total": 7, "ok": 3, "failed": 3, "skipped": 1},
    "not_run": None,
    "children": {"total": 2, "ok": 1, "failed": 1, "skipped": 0},
    "by_op": {
        "item.create": {"ok": 0, "failed": 0, "skipped": 1},
        "item.update": {"ok": 0, "failed": 1, "skipped": 0},
        "module.create": {"ok": 2, "failed": 0, "skipped": 0},
        "module.relock": {"ok": 1, "failed": 0, "skipped": 0},
        "module.show": {"ok": 0, "failed": 1, "skipped": 0},
        "module.update": {"ok": 0, "failed": 1, "skipped": 0},
    },
    "errors": {"not_found": 2, "dependency_failed": 1, "invalid_input": 1},
    "failing_courses": [
        {
            "course": "1",
            "course_id": 1,
            "count": 2,
            "first_error": {
                "id": "u1",
                "type": "invalid_input",
                "message": "position: bad",
            },
        },
        {
            "course": "2",
            "course_id": 2,
            "count": 1,
            "first_error": {
                "id": "all/202",
                "type": "not_found",
                "message": "no module 202",
            },
        },
        {
            "course": "sis_course_id:X",
            "course_id": None,
            "count": 1,
            "first_error": {
                "id": "bad",
                "type": "not_found",
                "message": "no such course",
            },
        },
    ],
    "latency_ms": {"count": 7, "p50": 20.0, "p90": 50.0, "p99": 50.0, "max": 50.0},
    "requests": 12,
    "throttled": 1,
    "adopted": 1,
    "existing": {"adopted": 0, "created_beside": 0},
    "in_flight": 1,
    "in_flight_ids": ["c3"],
}


def expected_for(path: Path, **changes: Any) -> dict[str, Any]:
    """EXPECTED for the file at ``path``, with some entries changed."""
    return {**EXPECTED, "results": str(path), **changes}


def test_counts_last_outcome_per_id(tmp_path: Path) -> None:
    """Every count of the json form matches the hand-worked report."""
    path = write_results(tmp_path / "r.jsonl", RECORDS)
    assert report.to_json(build_report(path)) == expected_for(path)


def test_torn_last_line_is_left_out(tmp_path: Path) -> None:
    """A half-written last line (bad's rerun outcome) changes nothing but the flag."""
    torn = b'{"line":6,"id":"bad","op":"module.show","course":"sis_course_id:X","sta'
    path = write_results(tmp_path / "r.jsonl", RECORDS, tail=torn)
    got = report.to_json(build_report(path))
    assert got == expected_for(path, torn_tail=True)


def test_only_a_header(tmp_path: Path) -> None:
    """A run killed before any outcome: zeros and no latency."""
    path = write_results(tmp_path / "r.jsonl", [HEADER])
    got = report.to_json(build_report(path))
    assert got["operations"] == {"total": 0, "ok": 0, "failed": 0, "skipped": 0}
    assert got["latency_ms"] == {
        "count": 0,
        "p50": None,
        "p90": None,
        "p99": None,
        "max": None,
    }
    assert "no operation sent a request" in report.render_table(build_report(path))


def test_nearest_rank_percentile() -> None:
    """The p-th percentile is the ceil(p% of n)-th smallest value."""
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 50) == 2.0
    assert percentile(values, 90) == 4.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_table(tmp_path: Path) -> None:
    """The table shows the header, the counts and each section's lines."""
    path = write_results(tmp_path / "r.jsonl", RECORDS, tail=b'{"li')
    text = report.render_table(build_report(path))
    lines = text.splitlines()
    assert lines[0] == f"results     {path}"
    assert "ends in a partial line: a run was killed mid-write" in lines[1]
    assert "job         jobs/term.jsonl (sha256 abababababab...)" in lines
    assert "canvas      http://127.0.0.1:9 as Admin (id 1)" in lines
    assert "operations  7: 3 ok, 3 failed, 1 skipped" in lines
    assert "fan-out     2: 1 ok, 1 failed, 0 skipped (children)" in lines
    assert lines[lines.index("  operation             ok   failed  skipped") + 3] == (
        "  module.create          2        0        0"
    )
    assert "  not_found                   2" in lines
    assert "  1                     2  u1: invalid_input: position: bad" in lines
    assert (
        "latency     p50 20.0  p90 50.0  p99 50.0  max 50.0 ms (of 7 operations)"
        in (lines)
    )
    assert lines[-1] == (
        "requests    12 (lookups included), throttled 1, adopted after a lost answer 1"
    )
    assert any(line.startswith("in flight   1 ") and "c3" in line for line in lines)


def test_csv_rows(tmp_path: Path) -> None:
    """csv lays the json form flat as section,key,field,value rows."""
    path = write_results(tmp_path / "r.jsonl", RECORDS)
    rows = list(csv.reader(io.StringIO(report.render_csv(build_report(path)))))
    assert rows[0] == ["section", "key", "field", "value"]
    assert ["header", "user", "", "Admin (id 1)"] in rows
    assert ["summary", "torn_tail", "", "false"] in rows
    assert ["summary", "requests", "", "12"] in rows
    assert ["operations", "failed", "", "3"] in rows
    assert ["children", "ok", "", "1"] in rows
    assert ["by_op", "module.create", "ok", "2"] in rows
    assert ["errors", "not_found", "", "2"] in rows
    assert ["failing_courses", "sis_course_id:X", "course_id", ""] in rows
    assert ["failing_courses", "1", "count", "2"] in rows
    assert [
        "failing_courses",
        "1",
        "first_error",
        "u1: invalid_input: position: bad",
    ] in rows
    assert ["latency_ms", "p50", "", "20.0"] in rows
    assert ["in_flight_ids", "1", "", "c3"] in rows
    assert all(len(row) == 4 for row in rows)


def run_main(path: Path, fmt: str) -> int:
    """Call the command's entry point as the command line would."""
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.main(parser.parse_args([str(path), "--format", fmt]))


def test_main_prints_json(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """--format json prints one JSON object on stdout and exits 0."""
    path = write_results(tmp_path / "r.jsonl", RECORDS)
    assert run_main(path, "json") == 0
    assert orjson.loads(capsysbinary.readouterr().out) == expected_for(path)


def test_main_refuses_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file without a results header, or none at all, exits 2 and says why."""
    job = tmp_path / "job.jsonl"
    job.write_bytes(b'{"op": "module.list", "course": 1}\n')
    assert run_main(job, "table") == 2
    assert "not a bulkmod results file" in capsys.readouterr().err
    assert run_main(tmp_path / "missing.jsonl", "table") == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(ReportError):
        build_report(job)


def test_root_causes_come_before_knock_on_errors(tmp_path: Path) -> None:
    """One not_found under many skips: it is listed first, skips on one line."""
    records: list[dict[str, Any]] = [
        HEADER,
        outcome("a", "module.update", 1, "failed", error=error("not_found", "gone")),
    ]
    records += [
        outcome(f"d{n}", "item.create", 1, "skipped", error=error(kind, "x"))
        for n, kind in enumerate(["dependency_failed"] * 5 + ["stopped"] * 2)
    ]
    counted = build_report(write_results(tmp_path / "r.jsonl", records))

    lines = report.render_table(counted).splitlines()
    start = lines.index("errors by type")
    assert lines[start + 1 : start + 3] == [
        "  not_found                   1",
        "  and, following from those or from a stop: 5 dependency_failed, 2 stopped",
    ]
    assert list(report.to_json(counted)["errors"]) == [
        "not_found",
        "dependency_failed",
        "stopped",
    ]


def test_not_yet_run_from_the_header_count(tmp_path: Path) -> None:
    """A header of 5 operations and 2 outcomes: 3 not yet run."""
    header = {"bulkmod": {**HEADER["bulkmod"], "operations": 5}}
    records = [
        header,
        outcome("a", "module.create", 1, "ok"),
        outcome("b", "module.create", 1, "ok"),
    ]
    counted = build_report(write_results(tmp_path / "r.jsonl", records))

    assert counted.not_run == 3
    assert report.to_json(counted)["not_run"] == 3
    assert (
        "operations  2: 2 ok, 0 failed, 0 skipped (of 5 in the job, 3 not yet run)"
        in (report.render_table(counted).splitlines())
    )


def test_resumed_by_another_user_names_both(tmp_path: Path) -> None:
    """A resume line is no outcome; the report names the first and last user."""
    resume = {
        "bulkmod_resume": {
            "user": "Helper (id 7)",
            "started_at": "2024-08-02T08:00:00.000Z",
            "base_url": "http://127.0.0.1:9",
        }
    }
    records = [HEADER, outcome("a", "module.create", 1, "ok"), resume]
    counted = build_report(write_results(tmp_path / "r.jsonl", records))

    assert counted.outcome_lines == 1
    assert report.to_json(counted)["runs"] == {
        "count": 2,
        "last_user": "Helper (id 7)",
        "last_started_at": "2024-08-02T08:00:00.000Z",
    }
    assert (
        "runs        2, the last started 2024-08-02T08:00:00.000Z as Helper (id 7) "
        "(the first as Admin (id 1))"
    ) in report.render_table(counted).splitlines()


def test_existing_objects_are_counted(tmp_path: Path) -> None:
    """Creates adopted from the course, or made beside a namesake, are counted."""
    records = [
        HEADER,
        outcome("a", "module.create", 1, "ok", adopted_existing=True),
        outcome("b", "item.create", 1, "ok", adopted_existing=True),
        outcome("c", "module.create", 1, "ok", existing=[4]),
    ]
    counted = build_report(write_results(tmp_path / "r.jsonl", records))

    assert report.to_json(counted)["existing"] == {"adopted": 2, "created_beside": 1}
    assert (
        "existing    2 adopted from the course as it was (--existing adopt), 1 "
        "created beside one of the same name (--existing warn)"
    ) in report.render_table(counted).splitlines()
