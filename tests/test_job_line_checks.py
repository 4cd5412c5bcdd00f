"""Every line gives the Operation, problems and references on record.

``tests/data/line-checks.jsonl`` holds job lines good and bad of every kind,
each with what :func:`check_line` makes of it: the problems in order (field
and message), the references to other lines, what the line acts on, and the
Operation built from it with the references it needs. Every line of the
JSON Lines jobs in ``tests/data/bad-jobs`` is on record as well.

A change to how lines are checked, meant or not, shows here as the lines
whose result differs. After a change that is meant, record the new results
with ``python tests/test_job_line_checks.py`` and read the diff.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from bulkmod.job.linecheck import LineCheck, check_line
from bulkmod.job.model import ByName, Every, Ref

DATA = Path(__file__).parent / "data"
RECORD = DATA / "line-checks.jsonl"
BAD_JOBS = DATA / "bad-jobs"


def describe(checked: LineCheck) -> dict[str, Any]:
    """Say in JSON terms everything checking a line gave."""
    operation = checked.operation
    built = None
    if operation is not None:
        built = {
            "line": operation.line,
            "id": operation.id,
            "op": operation.op,
            "course": operation.course,
            "module": _plain(operation.module),
            "item": _plain(operation.item),
            "params": _plain(operation.params),
            "after": list(operation.after),
            "as_user": operation.as_user,
            "refs": operation.refs(),
        }
    return {
        "problems": [list(problem) for problem in checked.problems],
        "refs": [
            [use.target, use.field, use.want and use.want.name, use.after]
            for use in checked.refs
        ],
        "kind": checked.kind.name,
        "course": checked.course,
        "declared_id": checked.declared_id,
        "operation": built,
    }


def _plain(value: Any) -> Any:
    # '@' cannot start a parameter name, so these cannot be taken for params.
    if isinstance(value, Ref):
        return {"@ref": value.op_id}
    if isinstance(value, ByName):
        return {"@by_name": value.value}
    if isinstance(value, Every):
        return {"@every": True}
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(inner) for inner in value]
    return value


@cache
def _bad_job_lines(name: str) -> list[bytes]:
    return (BAD_JOBS / name).read_bytes().split(b"\n")


def _decoded(record: dict[str, Any]) -> Any:
    """The line a record is about, decoded as a job's reader decodes it."""
    if "job" in record:
        raw = _bad_job_lines(record["job"])[record["number"] - 1]
        return orjson.loads(raw)
    return record["value"]


def _records() -> list[dict[str, Any]]:
    with RECORD.open(encoding="utf-8") as handle:
        return [json.loads(text) for text in handle]


def test_every_line_on_record_checks_as_recorded() -> None:
    """Same problems, in the same order, same references, same Operation."""
    records = _records()
    differ = []
    for record in records:
        checked = check_line(_decoded(record), record["number"])
        # Compared as text, so that the order of params counts too.
        got = json.dumps(describe(checked))
        if got != json.dumps(record["expect"]):
            differ.append((record, json.loads(got)))
    shown = "\n".join(
        f"{record.get('job', 'line')} {record['number']}: "
        f"{record.get('value')}\n  recorded {record['expect']}\n  now      {got}"
        for record, got in differ[:5]
    )
    assert not differ, f"{len(differ)} of {len(records)} lines differ:\n{shown}"


def test_a_check_without_the_operation_says_the_same() -> None:
    """build=False gives the same problems, references and kind, no Operation."""
    for record in _records():
        obj = _decoded(record)
        built = check_line(obj, record["number"])
        checked = check_line(obj, record["number"], build=False)
        assert checked.operation is None
        expect = describe(built)
        expect["operation"] = None
        assert describe(checked) == expect
        operation = built.operation
        assert checked.op == (operation.op if operation else None)
        assert checked.as_user == bool(operation and operation.as_user is not None)


def test_record_holds_every_bad_job_line() -> None:
    """Every line of the JSON Lines bad jobs that decodes is on record."""
    recorded = {
        (record["job"], record["number"]) for record in _records() if "job" in record
    }
    for path in sorted(BAD_JOBS.glob("*.jsonl")):
        for number, raw in enumerate(_bad_job_lines(path.name), start=1):
            if not raw.strip():
                continue
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # never reaches check_line
            assert (path.name, number) in recorded, f"{path.name}:{number}"


def test_record_covers_good_and_bad_lines() -> None:
    """The record holds valid lines of every operation and many problems."""
    expects = [record["expect"] for record in _records()]
    ops = {expect["operation"]["op"] for expect in expects if expect["operation"]}
    messages = {message for expect in expects for _, message in expect["problems"]}
    assert len(ops) == 17
    assert len(messages) > 300


def _record_again() -> None:
    """Write the record anew: the same lines, with what checking gives now."""
    records = _records()
    with RECORD.open("w", encoding="utf-8") as handle:
        for record in records:
            checked = check_line(_decoded(record), record["number"])
            record["expect"] = describe(checked)
            handle.write(
                json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
            )


if __name__ == "__main__":
    _record_again()
