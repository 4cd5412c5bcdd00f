"""The results file: the record of a run, and the journal a rerun resumes from.

A results file is JSON Lines. Its first line is a header naming the job (by
path and SHA-256), the Canvas it ran against and when. Then, as operations
end, one outcome line each (a line with a ``status``). Before a create or a
delete is sent, an intent line (``{"intent": <op id>, ...}``, no status) is
written, so that a run killed while the request was in the air knows, when
started again, that it must look in Canvas before sending it once more.

An intent stays open until an ``ok`` outcome of its operation follows it. A
failed or skipped outcome leaves it open, since the request may have landed
all the same (its answer lost, or a create that worked before the publish
after it failed); the one exception is a delete that failed with 404, a
definite answer that there was nothing to delete. While an intent is open, a
rerun looks in Canvas before sending that create again, and takes a 404 to
that delete as done.

Every line is written whole and flushed at once; a torn last line (the
process was killed mid-write) is ignored when the file is read back, and cut
off before a rerun appends. One writer at a time: the file is locked while a
run holds it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from bulkmod import __version__

#: Bytes read to tell a header torn by a kill from a file of something else;
#: a header line is far shorter.
_HEADER_PROBE = 4096


class JournalError(Exception):
    """The results file cannot be used for this run; the message says why."""


class _Clock:
    """Formats the time, reusing the text of the millisecond until it changes."""

    def __init__(self) -> None:
        self._millisecond = -1
        self._second = -1
        self._date = ""
        self._text = ""

    def now(self) -> str:
        """The current time: ``2026-12-04T20:39:27.803Z``."""
        millisecond = int(time.time() * 1000)
        if millisecond == self._millisecond:
            # Two timestamps go into most operations' lines, and a fast run
            # ends several operations in a millisecond.
            return self._text
        second, fraction = divmod(millisecond, 1000)
        if second != self._second:
            self._date = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self._second = second
        self._millisecond = millisecond
        self._text = f"{self._date}{fraction:03d}Z"
        return self._text


#: The current time as Canvas writes it: ISO-8601 UTC with a ``Z``. A bound
#: method, not a function around one: it is asked twice for most operations.
utc_now = _Clock().now


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    """Yield every whole JSON object line of a results file, header included.

    A line that is not a JSON object (a torn last line, say) is passed over.
    """
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


@dataclass
class Previous:
    """What an earlier run on the same results file left behind."""

    #: Ids of operations (and fan-out children) whose last outcome was ok.
    ok: set[str] = field(default_factory=set)
    #: For the ids a later line refers to: the object id their ok outcome
    #: produced and the course it resolved to.
    values: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    #: Open intents (see the module docstring): op id -> the intent record.
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: For each course with an open create intent, and each kind (``module``,
    #: ``item``: each has ids of its own): ids of the objects that creates
    #: ended ok made or adopted there, which a lost create must not take.
    claimed: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    #: Outcome lines read, for the log.
    outcomes: int = 0


def read_previous(path: Path, referenced: set[str]) -> Previous:
    """Read an earlier run's results so that a rerun resumes where it stopped."""
    previous = Previous()
    for record in iter_records(path):
        if "intent" in record:
            previous.pending[str(record["intent"])] = record
            continue
        status = record.get("status")
        op_id = record.get("id")
        if status is None or not isinstance(op_id, str):
            continue
        previous.outcomes += 1
        if closes_intent(record):
            previous.pending.pop(op_id, None)
        if status == "ok":
            previous.ok.add(op_id)
            if op_id in referenced:
                previous.values[op_id] = (
                    record.get("object_id"),
                    record.get("course_id"),
                )
        else:
            previous.ok.discard(op_id)
    _read_claims(path, previous)
    return previous


def closes_intent(record: dict[str, Any]) -> bool:
    """Whether an outcome settles its intent: Canvas's state is known after it.

    An ``ok`` does; so does a delete that found nothing to delete, and a
    create that Canvas refused outright (404: the course or module is not
    there; 401/403: not allowed), since nothing was made. Any other failure
    leaves a create or delete in doubt: the request may have landed (a lost
    answer, a 5xx, or Canvas's habit of saving an item before answering 400
    about its completion requirement), so a rerun looks in Canvas first.
    """
    if record.get("status") == "ok":
        return True
    error = record.get("error")
    if not isinstance(error, dict):
        return False
    op = str(record.get("op", ""))
    if op.endswith(".delete"):
        return error.get("type") == "not_found"
    return op.endswith(".create") and error.get("type") in ("not_found", "unauthorized")


def _read_claims(path: Path, previous: Previous) -> None:
    """Collect the objects of ok creates, in the courses of open create intents."""
    courses = {
        int(intent["course_id"])
        for intent in previous.pending.values()
        if intent.get("kind") in ("module", "item")
        and isinstance(intent.get("course_id"), int)
    }
    if not courses:
        return
    previous.claimed = {
        (course, kind): set() for course in courses for kind in ("module", "item")
    }
    for record in iter_records(path):
        op = str(record.get("op", ""))
        key = (record.get("course_id"), op.split(".")[0])
        object_id = record.get("object_id")
        if (
            record.get("status") == "ok"
            and op.endswith(".create")
            and key in previous.claimed
            and isinstance(object_id, int)
        ):
            previous.claimed[key].add(object_id)


def _drop_torn_tail(handle: IO[bytes]) -> None:
    """Cut a last line that a killed run left half-written, so appends are whole."""
    size = handle.seek(0, os.SEEK_END)
    keep = size
    while keep > 0:
        step = min(4096, keep)
        handle.seek(keep - step)
        chunk = handle.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = keep - step + newline + 1
            break
        keep -= step
    if keep != size:
        handle.truncate(keep)
    handle.seek(0, os.SEEK_END)


def _open_locked(path: Path) -> IO[bytes]:
    """Open ``path`` for appending, holding its lock; refuse if another run has it."""
    handle = path.open("ab+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise JournalError(
            f"{path}: another bulkmod run is writing this results file; "
            "wait for it to finish or choose another file with --results"
        ) from None
    return handle


def _torn_header_only(handle: IO[bytes]) -> bool:
    """Whether the file holds nothing but the start of a header line."""
    handle.seek(0)
    head = handle.read(_HEADER_PROBE)
    handle.seek(0, os.SEEK_END)
    return b"\n" not in head and head.startswith(b'{"bulkmod":')


class Journal:
    """Append-only writer of one results file, locked while open."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self._handle = handle
        self._fd = handle.fileno()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        job: str,
        job_sha256: str,
        base_url: str,
        user: str | None,
        fresh: bool,
        operations: int | None = None,
    ) -> tuple[Journal, bool]:
        """Open ``path`` for a run, checking that it belongs to this job.

        With ``fresh``, an existing file is moved aside (to
        ``<name>.<timestamp>``) and the run starts over. Otherwise an existing
        file of the same job and Canvas is resumed (the answer says whether)
        and one of another job or Canvas is refused. A new file starts with
        the header (``operations`` is the job's operation count); a resumed
        one gets a ``bulkmod_resume`` line naming who resumed it and when.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = _open_locked(path)
        try:
            if fresh and os.fstat(handle.fileno()).st_size > 0:
                aside = path.with_name(f"{path.name}.{dt.datetime.now():%Y%m%d-%H%M%S}")
                os.replace(path, aside)
                handle.close()
                handle = _open_locked(path)
            resuming = cls._prepare(path, handle, job_sha256, base_url)
        except BaseException:
            handle.close()
            raise
        journal = cls(path, handle)
        if resuming:
            # No status: readers of outcomes pass over it.
            journal.write(
                {
                    "bulkmod_resume": {
                        "user": user,
                        "started_at": utc_now(),
                        "base_url": base_url,
                    }
                }
            )
        else:
            journal.write(
                {
                    "bulkmod": {
                        "version": __version__,
                        "job": job,
                        "job_sha256": job_sha256,
                        "base_url": base_url,
                        "user": user,
                        "started_at": utc_now(),
                        "operations": operations,
                    }
                }
            )
        return journal, resuming

    @staticmethod
    def _prepare(path: Path, handle: IO[bytes], job_sha256: str, base_url: str) -> bool:
        if os.fstat(handle.fileno()).st_size == 0:
            return False
        header = next(iter_records(path), {}).get("bulkmod")
        if not isinstance(header, dict):
            if _torn_header_only(handle):
                # Killed while the header was being written: nothing else was.
                handle.truncate(0)
                return False
            raise JournalError(
                f"{path}: not a bulkmod results file; choose another file "
                "with --results, or pass --fresh to move it aside"
            )
        if header.get("job_sha256") != job_sha256:
            raise JournalError(
                f"{path}: these results belong to another job (or the job file "
                "changed since); pass --fresh to move them aside and start over"
            )
        if header.get("base_url") != base_url:
            raise JournalError(
                f"{path}: these results are of a run against "
                f"{header.get('base_url')}, not {base_url}; pass --fresh to "
                "move them aside and start over"
            )
        _drop_torn_tail(handle)
        return True

    def write(self, record: dict[str, Any]) -> None:
        """Append one line and hand it to the operating system at once."""
        data = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        # Straight to the file (opened to append), not through the handle's
        # buffer, which every other use of the handle leaves empty: one
        # system call per line. A short write, if the disk fills, goes on.
        written = os.write(self._fd, data)
        while written < len(data):
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        """Flush to disk and release the lock."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        finally:
            self._handle.close()
