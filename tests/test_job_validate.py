"""Checking a whole job: references, ids, the summary and ``validate``."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import orjson
import pytest

from bulkmod.job.validate import MAX_PROBLEMS, check_job, run_validate

BAD_JOBS = Path(__file__).parent / "data" / "bad-jobs"


def _job(tmp_path: Path, *lines: dict[str, object] | None) -> Path:
    """Write a job; None stands for a blank line."""
    path = tmp_path / "job.jsonl"
    path.write_bytes(
        b"".join(orjson.dumps(line) + b"\n" if line else b"\n" for line in lines)
    )
    return path


def _problems(path: Path) -> list[str]:
    return [
        str(problem).removeprefix(f"{path}:") for problem in check_job(path).problems
    ]


def _module(course: object = 1, **extra: object) -> dict[str, object]:
    return {"op": "module.create", "course": course, "params": {"name": "W"}, **extra}


def _sub(module: object, **extra: object) -> dict[str, object]:
    params = {"type": "SubHeader", "title": "T"}
    return {
        "op": "item.create",
        "course": 1,
        "module": module,
        "params": params,
        **extra,
    }


def test_summary_of_a_valid_job(tmp_path: Path) -> None:
    """A valid job is summed up: counts, courses, hash, referenced ids."""
    path = _job(
        tmp_path,
        _module(id="w1"),
        None,
        _sub("@w1", id="i1"),
        {"op": "item.delete", "course": "1", "module": "@w1", "item": "@i1"},
        _module(course="sis_course_id:B", params={"name": "W", "position": 1}),
        {"op": "module.publish", "course": 2, "module": "*", "after": ["L5"]},
        {"op": "item.mark_read", "course": 2, "module": 3, "item": 4, "as_user": 9},
    )
    summary = check_job(path)
    assert summary.problems == []
    assert summary.ok
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (summary.operations, summary.lines, summary.courses) == (6, 7, 3)
    assert summary.by_op == {
        "module.create": 2,
        "item.create": 1,
        "item.delete": 1,
        "module.publish": 1,
        "item.mark_read": 1,
    }
    assert (summary.deletes, summary.fan_outs, summary.as_user) == (1, 1, 1)
    assert summary.referenced == {"w1", "i1", "L5"}


def test_unknown_and_later_ids(tmp_path: Path) -> None:
    """A reference to no line, or to a later one, is named as such."""
    path = _job(tmp_path, _sub("@x"), _sub({"ref": "y"}), _module(id="y"))
    assert _problems(path) == [
        "1: module: no earlier line has the id 'x'",
        "2: module: 'y' is the id of line 3, later in the job; "
        "a reference must point to an earlier line",
    ]


def test_reference_to_invalid_line_is_named(tmp_path: Path) -> None:
    """A line that refers to a line with problems is itself refused, in a chain."""
    path = _job(
        tmp_path,
        {"op": "module.create", "course": 1, "id": "w1"},
        _sub("@w1", id="i1"),
        {"op": "item.show", "course": 1, "module": 5, "item": "@i1"},
    )
    assert _problems(path) == [
        "1: params.name: missing",
        "2: module: 'w1' (line 1) has problems of its own",
        "3: item: 'i1' (line 2) has problems of its own",
    ]


def test_fan_out_may_only_be_waited_for(tmp_path: Path) -> None:
    """A '*' operation's object cannot be referred to, but after may name it."""
    path = _job(
        tmp_path,
        {
            "op": "module.update",
            "course": 1,
            "module": "*",
            "id": "all",
            "params": {"published": True},
        },
        {"op": "module.show", "course": 1, "module": "@all"},
        {"op": "module.list", "course": 1, "after": ["all"]},
    )
    assert _problems(path) == [
        "2: module: 'all' (line 1) acts on many objects ('*'); only after may name it",
    ]


def test_reference_kinds(tmp_path: Path) -> None:
    """Module references need module operations, item references item ones."""
    path = _job(
        tmp_path,
        _module(id="w1"),
        _sub("@w1", id="i1"),
        _sub("@i1"),
        {"op": "item.show", "course": 1, "module": "@w1", "item": "@w1"},
        _module(params={"name": "W", "prerequisite_module_ids": ["@i1", "@w1"]}),
        {
            "op": "item.update",
            "course": 1,
            "module": 2,
            "item": 3,
            "params": {"module_id": {"ref": "i1"}},
        },
        {"op": "item.list", "course": 1, "module": "@w1", "id": "items"},
        {
            "op": "item.create",
            "course": 1,
            "module": "@w1",
            "params": {"type": "Quiz", "content_id": "@items"},
        },
    )
    assert _problems(path) == [
        "3: module: 'i1' (line 2) acts on an item; a module is needed here",
        "4: item: 'w1' (line 1) acts on a module; an item is needed here",
        "5: params.prerequisite_module_ids[0]: 'i1' (line 2) acts on an item; "
        "a module is needed here",
        "6: params.module_id.ref: 'i1' (line 2) acts on an item; "
        "a module is needed here",
        "8: params.content_id: 'items' (line 7) gives a list, not one object; "
        "only after may name it",
    ]


def test_course_must_match_when_written_alike(tmp_path: Path) -> None:
    """References across courses are refused when both are written the same way."""
    path = _job(
        tmp_path,
        _module(course=1, id="w1"),
        _module(course="sis_course_id:A", id="wa"),
        {**_sub("@w1"), "course": "2"},
        {**_sub("@w1"), "course": "1"},
        {**_sub("@wa"), "course": "sis_course_id:B"},
        {**_sub("@wa"), "course": 1},
    )
    assert _problems(path) == [
        "3: module: 'w1' (line 1) is in course 1, this line in course 2",
        "5: module: 'wa' (line 2) is in course sis_course_id:A, "
        "this line in course sis_course_id:B",
    ]


def test_default_ids(tmp_path: Path) -> None:
    """L<n> names line n unless it is blank, later, invalid or has its own id."""
    path = _job(
        tmp_path,
        _module(),
        _module(id="named"),
        None,
        {"op": "module.create", "course": 1},
        {"op": "module.list", "course": 1, "after": ["L1", "L2", "L3", "L4", "L6"]},
        _sub("@L1"),
    )
    assert _problems(path) == [
        "4: params.name: missing",
        "5: after[1]: line 2 has an id of its own; refer to it by that id",
        "5: after[2]: line 3 holds no operation",
        "5: after[3]: 'L4' (line 4) has problems of its own",
        "5: after[4]: line 6 is not an earlier line",
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    """An id used twice is named at its second line, with the first."""
    path = _job(tmp_path, _module(id="w"), _module(id="v"), _module(id="w"))
    assert _problems(path) == ["3: id: 'w' is already the id of line 1"]


def test_problems_are_capped_but_counted(tmp_path: Path) -> None:
    """Only the first problems are kept; problem_count has them all."""
    path = tmp_path / "job.jsonl"
    path.write_bytes(b"x\n" * (MAX_PROBLEMS + 5))
    summary = check_job(path)
    assert len(summary.problems) == MAX_PROBLEMS
    assert summary.problem_count == MAX_PROBLEMS + 5
    assert summary.problems[-1].line == MAX_PROBLEMS


def test_validate_prints_problems_and_exits_2(tmp_path: Path) -> None:
    """validate prints file:line: field: message and exits 2 on problems."""
    path = _job(tmp_path, _module(), {"op": "modul.list", "course": 1})
    out, err = io.StringIO(), io.StringIO()
    assert run_validate(path, out, err) == 2
    assert out.getvalue() == (
        f"{path}:2: op: unknown operation 'modul.list' (did you mean 'module.list'?)\n"
    )
    assert err.getvalue() == (
        f"{path}: 1 problem in 2 lines (1 valid operation); fix it: nothing "
        "may be sent while one is left\n"
    )


def test_validate_valid_job_exits_0(tmp_path: Path) -> None:
    """A valid job prints nothing on stdout and exits 0."""
    path = _job(tmp_path, _module(), _module(course=2))
    out, err = io.StringIO(), io.StringIO()
    assert run_validate(path, out, err) == 0
    assert out.getvalue() == ""
    assert err.getvalue().endswith(
        "2 operations on 2 courses (module.create 2); "
        "0 deletes, 0 fan-outs, 0 as another user; valid\n"
    )


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    """A job file that cannot be read is an invalid job, not a crash."""
    out, err = io.StringIO(), io.StringIO()
    assert run_validate(tmp_path / "none.jsonl", out, err) == 2
    assert "cannot read" in err.getvalue()


def test_validate_says_how_many_are_hidden(tmp_path: Path) -> None:
    """Past the cap, validate says how many problems it did not print."""
    path = tmp_path / "job.jsonl"
    path.write_bytes(b"x\n" * (MAX_PROBLEMS + 3))
    out = io.StringIO()
    assert run_validate(path, out, io.StringIO()) == 2
    assert out.getvalue().splitlines()[-1] == f"{path}: 3 more problems not shown"


def test_many_named_ids(tmp_path: Path) -> None:
    """Thousands of named ids are told apart: no false duplicates or misses."""
    count = 5000
    lines = [_module(id=f"m{n}") for n in range(count)]
    lines += [_sub(f"@m{n}") for n in range(0, count, 7)]
    lines.append(_module(id="m4321"))
    lines.append(_sub("@m5000"))
    path = _job(tmp_path, *lines)
    assert _problems(path) == [
        f"{count + 715 + 1}: id: 'm4321' is already the id of line 4322",
        f"{count + 715 + 2}: module: no earlier line has the id 'm5000'",
    ]


@pytest.mark.parametrize(
    "job",
    sorted(
        path.name for path in BAD_JOBS.iterdir() if path.suffix in (".jsonl", ".csv")
    ),
)
def test_bad_jobs_corpus(job: str) -> None:
    """Every job of the corpus gives exactly the problems listed beside it."""
    path = BAD_JOBS / job
    expected = (BAD_JOBS / f"{job}.expected").read_text("utf-8").splitlines()
    summary = check_job(path)
    assert [str(problem).removeprefix(f"{path}:") for problem in summary.problems] == (
        expected
    )
    assert summary.problem_count == len(expected)


def test_malformed_reference_is_named_once(tmp_path: Path) -> None:
    """A reference that is wrong on its own line is not named again."""
    path = _job(
        tmp_path,
        {"op": "module.show", "course": 1, "module": "@"},
        {"op": "module.show", "course": 1, "module": "@me", "id": "me"},
        {"op": "module.show", "course": 1, "module": "@L3"},
    )
    assert _problems(path) == [
        "1: module: reference must not be empty",
        "2: module: refers to its own line",
        "3: module: refers to its own line",
    ]
