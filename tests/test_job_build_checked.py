"""A line the whole-job check passed is built as checking it would build it.

A run reads its job twice: the whole-job check first, then the run itself,
which builds the lines of an unchanged file without checking each again
(:func:`build_checked`). Every valid line on record, and every line of the
jobs shipped in ``jobs/``, must give the very Operation :func:`check_line`
gives, or be left to it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from test_job_line_checks import _decoded, _plain, _records

from bulkmod.job.build import build_checked
from bulkmod.job.linecheck import check_line
from bulkmod.job.model import Operation
from bulkmod.job.reader import Problem, read_operations
from bulkmod.job.validate import check_job

JOBS = Path(__file__).parent.parent / "jobs"


def _valid_lines() -> list[tuple[Any, int]]:
    lines = [
        (_decoded(record), record["number"])
        for record in _records()
        if record["expect"]["operation"] is not None
    ]
    for path in sorted(JOBS.glob("*.jsonl")):
        if path.name.endswith(".results.jsonl"):
            continue  # what a run of a job leaves beside it
        for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
            if raw.strip():
                lines.append((orjson.loads(raw), number))
    return lines


def _same(built: Operation, checked: Operation) -> bool:
    """Equal, and equal in every type and order (a "5" is not a 5)."""

    def text(operation: Operation) -> str:
        return json.dumps(
            [
                operation.line,
                operation.id,
                operation.op,
                operation.course,
                _plain(operation.module),
                _plain(operation.item),
                _plain(operation.params),
                list(operation.after),
                operation.as_user,
                operation.refs(),
            ]
        )

    return built == checked and text(built) == text(checked)


def test_every_valid_line_builds_as_checked() -> None:
    """Built or left to the check; never built otherwise than the check builds."""
    built = 0
    lines = _valid_lines()
    for obj, number in lines:
        checked = check_line(obj, number).operation
        assert checked is not None, (number, obj)
        fast = build_checked(obj, number)
        if fast is not None:
            built += 1
            assert _same(fast, checked), (number, obj, fast, checked)
    # Only lines of types no check passes are left.
    assert built == len(lines)


def test_built_params_are_the_lines_own_copy() -> None:
    """Params are a new dict each time, as the check gives them."""
    obj = {"op": "module.create", "course": 5, "params": {"name": "Week 1"}}
    first, second = build_checked(obj, 1), build_checked(obj, 2)
    assert first is not None and second is not None
    assert first.params == obj["params"]
    assert first.params is not obj["params"]
    assert first.params is not second.params


@pytest.mark.parametrize(
    "obj",
    [
        [1, 2],
        "module.create",
        {"op": "module.create", "course": 5, "params": {"name": "W"}, "typo": 1},
        {"op": "module.create", "course": [5], "params": {"name": "W"}},
        {"op": "module.create", "course": 5.0, "params": {"name": "W"}},
        {"op": ["module.create"], "course": 5, "params": {"name": "W"}},
        {"op": "module.nope", "course": 5, "params": {"name": "W"}},
        {"op": "module.create", "course": 5, "params": ["name"]},
        {"op": "module.create", "course": 5, "params": None},
        {"op": "item.create", "course": 5, "module": True, "params": {"type": "X"}},
        {"op": "item.create", "course": 5, "module": "week", "params": {"type": "X"}},
        {"op": "item.update", "course": 5, "module": 3, "item": {"ref": 4}},
        {"op": "item.update", "course": 5, "module": 3, "item": {"a": 1, "b": 2}},
        {"op": "module.create", "course": 5, "params": {"name": "W"}, "after": "a"},
        {"op": "module.create", "course": 5, "params": {"name": "W"}, "after": [1]},
        {"op": "module.create", "course": 5, "params": {"name": "W"}, "as_user": 1.5},
    ],
)
def test_odd_values_are_left_to_the_check(obj: Any) -> None:
    """A value of a type no valid line has: not built, but checked."""
    assert build_checked(obj, 1) is None


def _job(tmp_path: Path, *lines: dict[str, Any]) -> Path:
    path = tmp_path / "job.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def test_a_run_reads_an_unchanged_job_as_the_check_does(tmp_path: Path) -> None:
    """The same operations, whether checked again or built."""
    path = _job(
        tmp_path,
        {"op": "module.create", "course": "007", "params": {"name": "W1"}, "id": "w1"},
        {
            "op": "item.create",
            "course": 7,
            "module": "@w1",
            "params": {"type": "SubHeader", "title": "T"},
        },
        {
            "op": "module.update",
            "course": "sis_course_id:A",
            "module": {"name": "W1"},
            "params": {"published": True},
        },
        {"op": "module.relock", "course": 7, "module": "*"},
    )
    summary = check_job(path)
    assert summary.ok and summary.identity is not None
    assert list(read_operations(path, checked_as=summary.identity)) == list(
        read_operations(path)
    )


def test_a_job_changed_since_its_check_is_checked_again(tmp_path: Path) -> None:
    """A file that is not the one checked gets every line checked."""
    path = _job(tmp_path, {"op": "module.create", "course": 5, "params": {"name": "W"}})
    summary = check_job(path)
    assert summary.identity is not None
    path.write_bytes(
        b'{"op": "module.create", "course": -5, "params": {"name": "W"}}\n'
    )
    found = list(read_operations(path, checked_as=summary.identity))
    assert len(found) == 1 and isinstance(found[0], Problem)
    assert found[0].field == "course"


def test_a_file_changed_during_the_check_has_no_identity(tmp_path: Path) -> None:
    """Changed while read: the run cannot count on the check."""
    path = _job(tmp_path, {"op": "module.create", "course": 5, "params": {"name": "W"}})
    from bulkmod.job.reader import JobReader

    reader = JobReader(path, build=False)
    checks = iter(reader)
    next(checks)
    with path.open("ab") as handle:
        handle.write(b'{"op": "module.create", "course": 6, "params": {"name": "W"}}\n')
    os.utime(path, ns=(1, 1))
    list(checks)
    assert reader.identity is None


def test_odd_text_is_built_without_an_error() -> None:
    """Digits of other scripts are text to the builder, never an int() error."""
    obj = {"op": "module.create", "course": 5, "params": {"name": "W"}}
    for odd in ("\u00b2", "\u0663"):
        built = build_checked({**obj, "as_user": odd}, 1)
        assert built is not None and built.as_user == odd
        assert build_checked({**obj, "course": odd}, 1) is not None
        assert build_checked({**obj, "module": odd}, 1) is None


def test_lines_written_while_a_run_reads_the_job_are_checked(tmp_path: Path) -> None:
    """A job that grows (or changes) under a run: what is read after is checked."""
    good = {
        "op": "module.update",
        "course": 5,
        "module": 1,
        "params": {"published": True},
    }
    path = _job(tmp_path, good)
    summary = check_job(path)
    assert summary.identity is not None
    reading = read_operations(path, checked_as=summary.identity)
    first = next(reading)
    assert isinstance(first, Operation)
    bad = {"op": "module.update", "course": "sis_course_id:a/b", "module": 1}
    with path.open("ab") as handle:
        handle.write(orjson.dumps(bad) + b"\n")
    rest = list(reading)
    assert len(rest) == 1 and isinstance(rest[0], Problem)
    assert rest[0].line == 2 and rest[0].field == "course"


def test_a_check_cut_short_by_csv_still_counts_every_line(tmp_path: Path) -> None:
    """Lines are read in batches: a pass that stops early loses none of them."""
    path = tmp_path / "job.csv"
    rows = "".join(f"x{n},y\n" for n in range(5000))
    path.write_text("nonsense header\n" + rows)
    summary = check_job(path)
    assert summary.problem_count == 3  # the header: every row goes unread
    assert summary.lines == 5001
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
