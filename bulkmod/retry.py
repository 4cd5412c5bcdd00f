"""``bulkmod retry``: a new job of exactly the operations that did not end ok.

The new job holds, in the original order, every operation of the original job
whose last outcome in the results file is not ok: failed, skipped, or never
attempted (no outcome at all, as when the run was stopped). Each is written
with the fields it had, so that it can be fixed by hand and run on its own:

- an explicit id is kept; a default id ``L<n>`` (reserved for line ``n``'s own
  default, which the line no longer is) becomes the explicit ``line<n>``, and
  every reference to it follows;
- a reference to an operation that ended ok becomes the id of the object its
  outcome recorded, and an ``after`` entry naming one is dropped, since it has
  succeeded already;
- a fan-out (``"*"``) that did not end ok is written as it is and runs whole
  again: its children are updates, deletes or reads, which are safe to send
  again, and ``"*"`` is resolved anew when it runs (creates never fan out).

Nothing is written when the job file changed since the run (its SHA-256 is not
the one in the results header), nor while an operation is in flight: a create
or delete that was sent when the run stopped, with no outcome recorded. Only
the original run, started again on its own results file, can find out whether
Canvas did it; a new job would send it blind, and might create a module twice.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from bulkmod.engine.journal import closes_intent, iter_records
from bulkmod.job.linecheck import is_default_id
from bulkmod.job.model import ByName, Every, Operation, Ref, Selector
from bulkmod.job.reader import JobReader, is_csv, read_operations
from bulkmod.report_counts import ReportError, read_header

#: In-flight ids named in the refusal; the rest are counted.
_IN_FLIGHT_NAMED = 10

HELP = "write a job of the operations that did not end ok"

DESCRIPTION = """\
Write a new job of exactly the operations of the original job whose last
outcome is not ok (failed, skipped, or never attempted), in the original
order, so that fixing and running the failures again is one command.

References to operations that did end ok become the ids of the objects they
made or acted on, and after entries naming them are dropped: the new job runs
on its own. A default id L<n> is written as the explicit id line<n>, and the
references to it follow. A fan-out ('*') that did not end ok is retried whole
(its children are updates, deletes or reads, safe to send again). The original
job is read from the path in the results header (or --job) and must not have
changed since the run.
"""

EPILOG = """\
examples:
  bulkmod retry term-start.jsonl.results.jsonl -o fix.jsonl
      fix.jsonl holds what did not end ok; edit it, then: bulkmod run fix.jsonl
  bulkmod retry results.jsonl -o - --job jobs/term-start.jsonl
      name the original job (moved since the run); write to stdout

If the run was stopped while a create or delete was in the air, run the
original command again first: it resumes and finds out whether Canvas did it.
--include-in-flight writes such operations anyway, at the risk of doing one
twice.

exit status: 0 the job was written (maybe empty: nothing to retry); 2 nothing
written: unreadable files, the job changed since the run, or operations in
flight
"""


class RetryError(Exception):
    """No retry job can be written; the message says why and what to do."""


@dataclass
class RetryJob:
    """What a retry job holds, for the message that follows it."""

    job: Path
    #: Operations of the original job.
    operations: int = 0
    #: Of them, those written to the retry job.
    written: int = 0
    #: Ids written whose intent had no outcome (only with include_in_flight).
    in_flight: list[str] = field(default_factory=list)


@dataclass
class _Outcomes:
    """The last outcome of each of the job's own operations, as retry needs it."""

    #: Ids whose last outcome is ok -> the object id it recorded.
    ok: dict[str, int | None] = field(default_factory=dict)
    #: Ids with an intent line and no outcome after it.
    in_flight: dict[str, None] = field(default_factory=dict)


def build_retry(
    results: Path,
    out: IO[bytes],
    *,
    job: Path | None = None,
    include_in_flight: bool = False,
) -> RetryJob:
    """Write the retry job of ``results`` to ``out``; raise RetryError if not.

    ``job`` overrides the job path of the results header. Nothing is written to
    ``out`` when an error is raised before the first line; errors found while
    writing (a reference with no object id recorded) leave ``out`` partial, so
    write to a temporary file (as :func:`main` does).
    """
    try:
        header = read_header(results)
    except ReportError as err:
        raise RetryError(str(err)) from None
    job_path = _job_path(header, results, job)
    try:
        outcomes = _read_outcomes(results)
    except OSError as err:
        raise RetryError(f"{results}: cannot read it ({err.strerror})") from None
    try:
        taken = _check_job(job_path, header)
    except OSError as err:
        raise RetryError(
            f"{job_path}: cannot read the job that ran ({err.strerror}); "
            "name it with --job"
        ) from None

    in_flight = [op_id for op_id in outcomes.in_flight if op_id not in outcomes.ok]
    if in_flight and not include_in_flight:
        raise RetryError(_in_flight_message(in_flight, results))

    rename = _renamer(taken)
    summary = RetryJob(job_path)
    for entry in read_operations(job_path):
        if not isinstance(entry, Operation):
            continue
        summary.operations += 1
        if entry.id in outcomes.ok:
            continue
        line = _retry_line(entry, outcomes.ok, rename)
        out.write(orjson.dumps(line) + b"\n")
        summary.written += 1
        if entry.id in outcomes.in_flight:
            summary.in_flight.append(entry.id)
    return summary


def _job_path(header: dict[str, Any], results: Path, job: Path | None) -> Path:
    """The original job: ``--job``, or the header's path (as run, or beside)."""
    if job is not None:
        return job
    named = header.get("job")
    if not isinstance(named, str) or not named:
        raise RetryError(f"{results}: the header names no job file; give it with --job")
    path = Path(named)
    if path.is_absolute() or path.exists():
        return path
    # A relative path was relative to where the run was started; the results
    # file usually sits next to the job, so look there too.
    beside = results.parent / path.name
    return beside if beside.exists() else path


def _read_outcomes(results: Path) -> _Outcomes:
    outcomes = _Outcomes()
    for record in iter_records(results):
        op_id = record.get("intent")
        if isinstance(op_id, str):
            outcomes.in_flight[op_id] = None
            continue
        op_id = record.get("id")
        if record.get("status") is None or not isinstance(op_id, str):
            continue
        if closes_intent(record):
            outcomes.in_flight.pop(op_id, None)
        if record.get("parent") is not None:
            # A fan-out child: its parent's own line says how the job's
            # operation ended.
            continue
        if record["status"] == "ok":
            object_id = record.get("object_id")
            outcomes.ok[op_id] = object_id if isinstance(object_id, int) else None
        else:
            outcomes.ok.pop(op_id, None)
    # Children's intents do not stop a retry: their parent runs whole again
    # and resolves "*" anew, so what was done is not selected twice.
    for op_id in [op_id for op_id in outcomes.in_flight if "/" in op_id]:
        del outcomes.in_flight[op_id]
    return outcomes


def _check_job(path: Path, header: dict[str, Any]) -> set[str]:
    """Check the job is the one that ran; return its ids of the form line...."""
    reader = JobReader(path)
    taken: set[str] = set()
    problems = 0
    for checked in reader:
        problems += bool(checked.problems)
        operation = checked.operation
        if operation is not None and operation.id.startswith("line"):
            taken.add(operation.id)
    if reader.sha256() != header.get("job_sha256"):
        raise RetryError(
            f"{path}: this job file changed since the run (its SHA-256 is not the "
            "one in the results header), so its lines may not be the operations "
            "that ran; give the job as it was with --job"
        )
    if problems:
        raise RetryError(f"{path}: the job has problems; see bulkmod validate {path}")
    return taken


def _in_flight_message(in_flight: list[str], results: Path) -> str:
    named = ", ".join(in_flight[:_IN_FLIGHT_NAMED])
    if len(in_flight) > _IN_FLIGHT_NAMED:
        named += f" and {len(in_flight) - _IN_FLIGHT_NAMED} more"
    count = len(in_flight)
    were = "1 operation was" if count == 1 else f"{count} operations were"
    have = "has" if count == 1 else "have"
    return (
        f"{results}: {were} sent when the run stopped and {have} no outcome "
        f"({named}); run the original job again on these "
        "results first (it resumes and finds out whether Canvas did them), or "
        "pass --include-in-flight to write them anyway at the risk of doing "
        "one twice"
    )


def _renamer(taken: set[str]) -> Callable[[str], str]:
    """Map an id of the original job to its id in the retry job."""

    def rename(op_id: str) -> str:
        if not is_default_id(op_id):
            return op_id
        base = f"line{op_id[1:]}"
        name, suffix = base, 2
        while name in taken:
            name, suffix = f"{base}-{suffix}", suffix + 1
        return name

    return rename


def _retry_line(
    op: Operation, ok: dict[str, int | None], rename: Callable[[str], str]
) -> dict[str, Any]:
    """The line of ``op`` in the retry job, references resolved or renamed."""

    def value(ref: Ref, as_selector: bool) -> Any:
        if ref.op_id not in ok:
            new = rename(ref.op_id)
            return f"@{new}" if as_selector else {"ref": new}
        object_id = ok[ref.op_id]
        if object_id is None:
            raise RetryError(
                f"line {op.line}: refers to '{ref.op_id}', which ended ok but "
                "recorded no object id; write this line's retry by hand"
            )
        return object_id

    def params(found: Any) -> Any:
        if isinstance(found, Ref):
            return value(found, as_selector=False)
        if isinstance(found, dict):
            return {key: params(inner) for key, inner in found.items()}
        if isinstance(found, list):
            return [params(inner) for inner in found]
        return found

    def selector(found: Selector, by: str) -> Any:
        if isinstance(found, Ref):
            return value(found, as_selector=True)
        if isinstance(found, ByName):
            return {by: found.value}
        if isinstance(found, Every):
            return "*"
        return found

    line: dict[str, Any] = {"id": rename(op.id), "op": op.op, "course": _id(op.course)}
    if op.module is not None:
        line["module"] = selector(op.module, "name")
    if op.item is not None:
        line["item"] = selector(op.item, "title")
    if op.params:
        line["params"] = params(op.params)
    after = [rename(op_id) for op_id in op.after if op_id not in ok]
    if after:
        line["after"] = after
    if op.as_user is not None:
        line["as_user"] = _id(op.as_user)
    return line


def _id(text: str) -> int | str:
    """Write a digits-only course or user id as a number, as jobs usually do."""
    return int(text) if text.isascii() and text.isdigit() else text


# --- command ----------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``bulkmod retry``'s arguments to its subparser."""
    parser.add_argument(
        "results", type=Path, metavar="RESULTS", help="the results file of a run"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="JOB",
        help="the retry job to write (JSON Lines; '-' for stdout)",
    )
    parser.add_argument(
        "--job",
        type=Path,
        metavar="ORIGINAL",
        help="the original job (default: the path in the results header)",
    )
    parser.add_argument(
        "--include-in-flight",
        action="store_true",
        help="also write operations that were sent when the run stopped and "
        "have no outcome (a create might then be done twice)",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``bulkmod retry``: write the job, say what it holds; return the status."""
    try:
        summary = _write(args)
    except RetryError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return 2
    print(_said(summary, args.output), file=sys.stderr)
    return 0


def _write(args: argparse.Namespace) -> RetryJob:
    results: Path = args.results
    kwargs: dict[str, Any] = {
        "job": args.job,
        "include_in_flight": args.include_in_flight,
    }
    if args.output == "-":
        summary = build_retry(results, sys.stdout.buffer, **kwargs)
        sys.stdout.flush()
        return summary

    output = Path(args.output)
    if is_csv(output):
        raise RetryError(
            f"{output}: a retry job is JSON Lines; give it a name ending in .jsonl"
        )
    for other in (results, args.job):
        if other is not None and _same_file(output, other):
            raise RetryError(f"{output}: would overwrite {other}; choose another name")

    # Written aside and moved into place, so a refusal found half-way leaves
    # no partial job behind, and an existing file is replaced whole.
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            summary = build_retry(results, out, **kwargs)
        if _same_file(output, summary.job):
            raise RetryError(f"{output}: would overwrite the job; choose another name")
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return summary


def _same_file(one: Path, other: Path) -> bool:
    return one.resolve() == other.resolve()


def _said(summary: RetryJob, output: str) -> str:
    where = "stdout" if output == "-" else output
    if not summary.written:
        return (
            f"bulkmod: every operation of {summary.job} ended ok; nothing to "
            f"retry (wrote an empty job to {where})"
        )
    done = summary.operations - summary.written
    text = (
        f"bulkmod: wrote {_operations(summary.written)} to {where} (of "
        f"{summary.operations} in {summary.job}; {done} ended ok and are left out)"
    )
    if summary.in_flight:
        text += (
            f"; {len(summary.in_flight)} of them were in flight when the run "
            "stopped and may have been done already"
        )
    return text


def _operations(count: int) -> str:
    return "1 operation" if count == 1 else f"{count} operations"
