"""``bulkmod undo``: a job that takes a run back, last change first.

From the ok outcomes of a results file, in reverse order of how they ended:

- a created module or item is deleted (``module.create`` -> ``module.delete``
  of its id, ``item.create`` -> ``item.delete``); one that was inserted at a
  position is first moved past the end, so that the siblings the insert
  shifted move back; a module taken with ``--existing adopt`` is left alone;
- an update sets back the values it replaced (``before`` in its result):
  fields, places (an item's module and position), publish states; publishing
  that reached a module's items (``module.update`` without
  ``skip_content_tags``, ``module.publish``/``unpublish``) has recorded the
  items' states too, and each is set back on its own, the module with
  ``skip_content_tags``;
- a delete is not undone: Canvas cannot bring a deleted module or item back
  through the API. The deleted objects, with their results, are printed and
  written to ``JOB.deleted.jsonl`` beside the undo job;
- relocks, ``item.done``/``undone``/``mark_read`` and reads have no undo;
  they are listed.

Failed writes are listed as well: Canvas may hold part of one (a create
whose answer was lost, a publish that reached some items), which only a look
in Canvas can settle. Lines of the undo job name courses, modules and items
by numeric id, and the job runs like any other (try ``bulkmod plan`` first).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import orjson

from bulkmod.engine.journal import iter_records, read_previous
from bulkmod.report_counts import ReportError, is_fan_out_parent, read_header

#: A position past the end of any module or course: a created object is moved
#: there before its delete, which shifts its later siblings back by one.
PAST_THE_END = 100_000

#: Ids named per kind of operation that has no undo; the rest are counted.
_NAMED = 5

#: Writes that can leave something behind when they fail.
_WRITES = frozenset(
    {
        "module.create",
        "module.update",
        "module.delete",
        "module.publish",
        "module.unpublish",
        "item.create",
        "item.update",
        "item.delete",
    }
)


class UndoError(Exception):
    """No undo job can be written; the message says why."""


@dataclass
class UndoJob:
    """What an undo job holds, and what it could not take back."""

    #: Lines of the undo job.
    written: int = 0
    #: Outcome lines of objects the run deleted (not undone).
    deleted: list[dict[str, Any]] = field(default_factory=list)
    #: Operations with no undo: op -> ids.
    no_undo: dict[str, list[str]] = field(default_factory=dict)
    #: Modules taken with ``--existing adopt``, left as they are.
    adopted: list[str] = field(default_factory=list)
    #: Writes that failed, which Canvas may hold part of.
    in_doubt: list[str] = field(default_factory=list)


def build_undo(results: Path, out: IO[bytes]) -> UndoJob:
    """Write the undo job of ``results`` to ``out``; raise UndoError if none.

    The outcomes are held in memory (one entry per operation), since the job
    is written from the last one back.
    """
    try:
        read_header(results)
        _refuse_in_the_air(results)
        outcomes = _last_outcomes(results)
    except ReportError as err:
        raise UndoError(str(err)) from None
    except OSError as err:
        raise UndoError(f"{results}: cannot read it ({err.strerror})") from None

    undo = UndoJob()
    collected: list[dict[str, Any]] = []
    for record in outcomes:
        op = str(record.get("op"))
        if record.get("status") != "ok":
            failed = record.get("status") == "failed" and op in _WRITES
            if failed and _maybe_partial(record) and not is_fan_out_parent(record):
                undo.in_doubt.append(str(record.get("id")))
            continue
        if is_fan_out_parent(record):
            continue
        if op.endswith(".delete"):
            undo.deleted.append(record)
            continue
        lines = _undo_lines(record, undo)
        if lines is None:
            undo.no_undo.setdefault(op, []).append(str(record.get("id")))
            continue
        collected.extend(lines)
    for line in _oldest_values_only(collected):
        out.write(orjson.dumps(line) + b"\n")
        undo.written += 1
    undo.deleted.reverse()
    return undo


#: Fields whose order of setting matters (moves): every step is kept.
_ORDERED = ("position", "module_id")


def _oldest_values_only(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, for each field of each object, only the value it had first.

    The job goes from the last change back, so a field a run changed twice
    is set back twice, and only the last setting (the value before the run)
    counts. Were an undo run to fail on that line and then resume, the
    earlier one, sent again, would leave the middle value: so it is dropped.
    Moves keep every step, since positions are set back by replaying them.
    """
    last: dict[tuple[Any, ...], int] = {}
    for index, line in enumerate(lines):
        for key in line.get("params", {}):
            if key not in _ORDERED and key != "skip_content_tags":
                last[_field(line, key)] = index
    kept = []
    for index, line in enumerate(lines):
        params = line.get("params")
        if params is None or line["op"] not in ("module.update", "item.update"):
            kept.append(line)
            continue
        trimmed = {
            key: value
            for key, value in params.items()
            if key in _ORDERED
            or key == "skip_content_tags"
            or last[_field(line, key)] == index
        }
        if "published" not in trimmed:
            trimmed.pop("skip_content_tags", None)
        if trimmed:
            kept.append({**line, "params": trimmed})
    return kept


def _field(line: dict[str, Any], key: str) -> tuple[Any, ...]:
    kind = "item" if line["op"].startswith("item.") else "module"
    target = line.get("item") if kind == "item" else line.get("module")
    return (kind, line.get("course"), target, key)


def _refuse_in_the_air(results: Path) -> None:
    """Refuse while a create or delete of the run is in doubt.

    Such a request was sent when the run stopped and Canvas may have done it;
    an undo written now would leave it out. The run itself, started again,
    looks in Canvas and records what it finds.
    """
    pending = read_previous(results, set()).pending
    if pending:
        named = ", ".join(list(pending)[:_NAMED]) + (
            " ..." if len(pending) > _NAMED else ""
        )
        raise UndoError(
            f"{results}: {len(pending)} creates or deletes were sent when the run "
            f"stopped and have no outcome ({named}); run the same 'bulkmod run' "
            "command again first (it resumes and finds out whether Canvas did "
            "them), then write the undo"
        )


def _maybe_partial(record: dict[str, Any]) -> bool:
    """Whether a failed write may have changed Canvas in part.

    A lost answer or a server error may hide a change; Canvas also saves an
    item before answering 400 about its completion requirement. A refusal
    (404, 401/403, a conflict) or a skip changed nothing.
    """
    error = record.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    return kind in ("network", "server_error", "throttled", "invalid_input")


def _last_outcomes(results: Path) -> list[dict[str, Any]]:
    """The last outcome of each operation (and child), last ended first."""
    last: dict[str, int] = {}
    kept: list[dict[str, Any] | None] = []
    for record in iter_records(results):
        op_id = record.get("id")
        if record.get("status") is None or not isinstance(op_id, str):
            continue
        earlier = last.get(op_id)
        if earlier is not None:
            kept[earlier] = None
        last[op_id] = len(kept)
        kept.append(record)
    return [record for record in reversed(kept) if record is not None]


def _undo_lines(record: dict[str, Any], undo: UndoJob) -> list[dict[str, Any]] | None:
    """The lines that take one ok outcome back; None when it has no undo."""
    op = record["op"]
    course = record.get("course_id")
    object_id = record.get("object_id")
    result = record.get("result") if isinstance(record.get("result"), dict) else {}
    assert isinstance(result, dict)
    if op in ("module.create", "item.create") and record.get("adopted_existing"):
        # Taken from the course as it was: the run did not make it.
        undo.adopted.append(str(record["id"]))
        return []
    if op == "module.create":
        lines = []
        if "inserted_at" in record:
            lines.append(_line("module.update", course, object_id, None, _to_end()))
        lines.append(_line("module.delete", course, object_id, None, None))
        return lines
    if op == "item.create":
        module = result.get("module_id")
        lines = []
        if "inserted_at" in record:
            lines.append(_line("item.update", course, module, object_id, _to_end()))
        lines.append(_line("item.delete", course, module, object_id, None))
        return lines
    before = record.get("before")
    if op in ("module.update", "item.update"):
        if not isinstance(before, dict):
            return []
        return _update_back(record, before, result)
    if op in ("module.publish", "module.unpublish"):
        if not isinstance(before, dict):
            return []
        lines = [
            _line(
                "module.update",
                course,
                module["id"],
                None,
                {"published": module["published"], "skip_content_tags": True},
            )
            for module in before.get("modules", [])
            if isinstance(module.get("published"), bool)
        ]
        return lines + _items_back(course, before.get("items", []))
    return None


#: Fields whose absence before the run is set back by sending a blank.
_CLEARABLE = ("unlock_at", "completion_requirement")


def _update_back(
    record: dict[str, Any],
    before: dict[str, Any],
    result: dict[str, Any],
) -> list[dict[str, Any]]:
    """Set back what a ``module.update`` or ``item.update`` replaced."""
    op, course = record["op"], record.get("course_id")
    params = {
        key: value
        for key, value in before.items()
        if key != "items" and (value is not None or key in _CLEARABLE)
    }
    if "completion_requirement" in params and params["completion_requirement"] is None:
        # A blank requirement is how Canvas removes one.
        params["completion_requirement"] = ""
    if op == "item.update":
        module = result.get("module_id")
        if params.get("module_id") == module:
            del params["module_id"]
        item = record.get("object_id")
        return [_line(op, course, module, item, params)] if params else []
    if "published" in params:
        # The items are set back one by one (below), as they were.
        params["skip_content_tags"] = True
    module = record.get("object_id")
    lines = [_line(op, course, module, None, params)] if params else []
    return lines + _items_back(course, before.get("items", []))


def _items_back(course: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        _line(
            "item.update",
            course,
            item["module_id"],
            item["id"],
            {"published": item["published"]},
        )
        for item in items
        if isinstance(item.get("published"), bool)
    ]


def _to_end() -> dict[str, Any]:
    return {"position": PAST_THE_END}


def _line(
    op: str, course: Any, module: Any, item: Any, params: dict[str, Any] | None
) -> dict[str, Any]:
    line: dict[str, Any] = {"op": op, "course": course}
    if module is not None:
        line["module"] = module
    if item is not None:
        line["item"] = item
    if params:
        line["params"] = params
    return line


def deleted_path(output: Path) -> Path:
    """Where the deleted objects go: ``JOB.deleted.jsonl`` beside the undo job."""
    return output.with_name(output.name + ".deleted.jsonl")


def run_undo(results: Path, output: Path, err: TextIO | None = None) -> int:
    """Write the undo job and the deleted list; say what cannot be undone.

    Return 0 when the job was written, 2 when nothing could be.
    """
    stream = err if err is not None else sys.stderr
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=output.name + ".", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            undo = build_undo(results, out)
        os.replace(temporary, output)
    except UndoError as error:
        os.unlink(temporary)
        print(f"bulkmod: {error}", file=stream)
        return 2
    except BaseException:
        os.unlink(temporary)
        raise

    gone = deleted_path(output)
    with gone.open("wb") as out:
        for record in undo.deleted:
            out.write(orjson.dumps(record) + b"\n")
    print(_report(undo, output, gone), file=stream)
    return 0


def _report(undo: UndoJob, output: Path, gone: Path) -> str:
    lines = [f"bulkmod: wrote {output}: {undo.written} lines, last change first"]
    if undo.deleted:
        lines.append(
            f"not undone: {len(undo.deleted)} objects the run deleted (Canvas "
            f"cannot bring them back); their results are in {gone}:"
        )
        for record in undo.deleted:
            result = record.get("result")
            name = ""
            if isinstance(result, dict):
                name = str(result.get("name") or result.get("title") or "")
            lines.append(
                f"  {record.get('id')}: {record.get('op')} course "
                f"{record.get('course_id')} id {record.get('object_id')} {name!r}"
            )
    for op, ids in sorted(undo.no_undo.items()):
        shown = ", ".join(ids[:_NAMED]) + (" ..." if len(ids) > _NAMED else "")
        lines.append(f"no undo: {len(ids)} {op} ({shown})")
    if undo.adopted:
        lines.append(
            f"left as they were: {len(undo.adopted)} modules and items taken with "
            f"--existing adopt ({', '.join(undo.adopted[:_NAMED])})"
        )
    if undo.in_doubt:
        lines.append(
            f"check by hand: {len(undo.in_doubt)} writes failed, and Canvas may "
            f"hold part of them ({', '.join(undo.in_doubt[:_NAMED])})"
        )
    return "\n".join(lines)
