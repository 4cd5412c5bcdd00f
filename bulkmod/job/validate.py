"""Check a whole job in one streaming pass: the core of ``bulkmod validate``.

On top of the checks each line gets on its own, a job is checked for what
joins its lines: ids are unique, and every reference (``"@x"``,
``{"ref": "x"}``, ``after``) names an earlier line that is itself valid and
acts on the right kind of object in the same course.

Memory stays small for a job of a million lines because only a compact
record is kept per line (one byte for what its operation acts on, one index
for its course) and a dict only of the ids written out in the job.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bulkmod.job.linecheck import (
    COURSE_FORMS,
    Kind,
    LineCheck,
    RefUse,
    check_line,
    is_default_id,
)
from bulkmod.job.reader import Identity, JobReader, Problem

#: How many problems a summary keeps; ``problem_count`` counts them all.
MAX_PROBLEMS = 1000

#: Set in a line's kind byte when the line has an id of its own, so that its
#: default ``L<n>`` does not name it.
_NAMED = 0x80
_KIND = 0x7F


@dataclass
class JobSummary:
    """What a job holds, and everything wrong with it."""

    path: str
    #: Of the file's bytes, as a run records it in its results header.
    sha256: str
    #: Lines that are valid operations.
    operations: int
    #: Physical lines, blank ones and a CSV header included.
    lines: int
    #: Distinct courses, as written (``5`` and ``"5"`` are one course).
    courses: int
    by_op: dict[str, int]
    deletes: int
    fan_outs: int
    as_user: int
    #: Ids that a later line refers to; a run keeps results only for these.
    referenced: set[str]
    #: The first :data:`MAX_PROBLEMS` problems.
    problems: list[Problem]
    problem_count: int
    #: The highest course written as a plain number (0 if none is).
    max_course_id: int = 0
    #: The file as it was checked, if it did not change while it was read:
    #: a run reading it again then need not check each line again.
    identity: Identity | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the job has no problem at all."""
        return self.problem_count == 0


def check_job(path: Path) -> JobSummary:
    """Read and check a whole job in one pass; raise OSError if unreadable."""
    reader = JobReader(path, build=False)
    check = _JobCheck(str(path))
    for checked in reader:
        check.add(checked, reader.problems(checked) if checked.problems else [])
    summary = check.summary
    summary.sha256 = reader.sha256()
    summary.identity = reader.identity
    summary.lines = reader.lines
    summary.courses = len(check.used_courses)
    summary.max_course_id = max(
        (int(name) for name in check.course_names if name.isdigit()), default=0
    )
    return summary


def check_objects(lines: Iterable[Any], name: str) -> JobSummary:
    """Check job lines already decoded, as :func:`check_job` checks a file's.

    Line ``n`` is the ``n``-th object; ``name`` stands for the file in the
    problems. For a job about to be written, so that it is checked by the
    very rules its reader will apply.
    """
    check = _JobCheck(name)
    lines_seen = 0
    for lines_seen, obj in enumerate(lines, start=1):
        checked = check_line(obj, lines_seen, build=False)
        check.add(
            checked,
            [
                Problem(name, lines_seen, where, text)
                for where, text in checked.problems
            ],
        )
    summary = check.summary
    summary.lines = lines_seen
    summary.courses = len(check.used_courses)
    return summary


def run_validate(path: Path, out: TextIO, err: TextIO) -> int:
    """Check a job, print each problem to ``out`` and a summary to ``err``.

    Return the exit status of ``bulkmod validate``: 0 for a valid job, 2 for
    a job with problems or a file that cannot be read.
    """
    try:
        summary = check_job(path)
    except OSError as error:
        err.write(f"bulkmod: cannot read {path}: {error.strerror or error}\n")
        return 2

    for problem in summary.problems:
        out.write(f"{problem}\n")
    hidden = summary.problem_count - len(summary.problems)
    if hidden:
        out.write(f"{path}: {counted(hidden, 'more problem')} not shown\n")
    err.write(describe(summary) + "\n")
    return 0 if summary.ok else 2


def describe(summary: JobSummary) -> str:
    """Say in one line what a job holds and whether it is valid."""
    if summary.problem_count:
        problems = counted(summary.problem_count, "problem")
        return (
            f"{summary.path}: {problems} in {counted(summary.lines, 'line')} "
            f"({counted(summary.operations, 'valid operation')}); fix "
            f"{'it' if summary.problem_count == 1 else 'them'}: nothing may be "
            "sent while one is left"
        )
    ops = ", ".join(f"{op} {count}" for op, count in sorted(summary.by_op.items()))
    text = (
        f"{summary.path}: {counted(summary.operations, 'operation')} on "
        f"{counted(summary.courses, 'course')} ({ops or 'none'}); "
        f"{counted(summary.deletes, 'delete')}, "
        f"{counted(summary.fan_outs, 'fan-out')}, "
        f"{summary.as_user} as another user"
    )
    return f"{text}; valid"


def counted(number: int, noun: str) -> str:
    """``1 problem``, ``2 problems``: a count with its noun."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _form(course: str) -> str:
    """Name how a course is written: digits or one of the id forms."""
    for form in COURSE_FORMS:
        if course.startswith(form):
            return form
    return ""


class _JobCheck:
    """The whole-job checks, fed one checked line at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        # Indexed by line number: what the line's operation acts on.
        self.kinds = bytearray(1)
        # Indexed by line number: the index of its course in course_names,
        # 0 standing for a course not known.
        self.course_of = array("I", [0])
        self.course_names: list[str] = [""]
        self.course_index: dict[str, int] = {}
        self.used_courses: set[int] = set()
        # Only ids written out in the job; default ids live in `kinds`.
        self.named = _IdTable()
        # Unknown ids referred to, with where their problems are kept, so the
        # message can say so if the id turns up later in the job.
        self.forward: dict[str, list[int]] = {}
        self.summary = JobSummary(path, "", 0, 0, 0, {}, 0, 0, 0, set(), [], 0)

    def add(self, checked: LineCheck, problems: list[Problem]) -> None:
        """Take in one checked line with its own problems."""
        line = checked.line
        grow = line + 1 - len(self.kinds)
        if grow == 1:
            # Most lines: the next one, right after the last.
            self.kinds.append(0)
            self.course_of.append(0)
        else:
            self.kinds.extend(bytes(grow))
            self.course_of.extend([0] * grow)
        if checked.course is not None:
            self.course_of[line] = self._index(checked.course)

        for problem in problems:
            self._report(problem)
        valid = not problems
        declared = checked.declared_id
        named = 0
        if declared is not None and declared != f"L{line}":
            valid = self._declare(declared, line) and valid
            named = _NAMED
        for use in checked.refs:
            valid = self._resolve(use, line) and valid

        kind = checked.kind if valid else Kind.INVALID
        self.kinds[line] = kind | named
        if valid and checked.op is not None:
            self._count(checked, kind)

    def _index(self, course: str) -> int:
        index = self.course_index.get(course)
        if index is None:
            index = len(self.course_names)
            self.course_names.append(course)
            self.course_index[course] = index
        return index

    def _count(self, checked: LineCheck, kind: Kind) -> None:
        op = checked.op
        assert op is not None
        summary = self.summary
        summary.operations += 1
        summary.by_op[op] = summary.by_op.get(op, 0) + 1
        self.used_courses.add(self.course_of[checked.line])
        if op.endswith(".delete"):
            summary.deletes += 1
        if kind == Kind.FAN_OUT:
            summary.fan_outs += 1
        if checked.as_user:
            summary.as_user += 1

    def _report(self, problem: Problem) -> int | None:
        """Keep a problem if there is room; return where it was kept."""
        self.summary.problem_count += 1
        if len(self.summary.problems) >= MAX_PROBLEMS:
            return None
        self.summary.problems.append(problem)
        return len(self.summary.problems) - 1

    def _declare(self, op_id: str, line: int) -> bool:
        first = self.named.get(op_id)
        if first is not None:
            self._report(
                Problem(
                    self.path,
                    line,
                    "id",
                    f"'{op_id}' is already the id of line {first}",
                )
            )
            return False
        self.named.add(op_id, line)
        for index in self.forward.pop(op_id, []):
            old = self.summary.problems[index]
            message = (
                f"'{op_id}' is the id of line {line}, later in the job; "
                "a reference must point to an earlier line"
            )
            self.summary.problems[index] = Problem(
                old.path, old.line, old.field, message
            )
        return True

    def _resolve(self, use: RefUse, line: int) -> bool:
        """Check one reference of ``line``; report and return False if wrong."""
        target = use.target
        message = None
        if is_default_id(target):
            where = int(target[1:])
            if where >= line:
                message = f"line {where} is not an earlier line"
            elif self.kinds[where] == Kind.NONE:
                message = f"line {where} holds no operation"
            elif self.kinds[where] & _NAMED:
                message = f"line {where} has an id of its own; refer to it by that id"
        else:
            found = self.named.get(target)
            if found is None:
                kept = self._report(
                    Problem(
                        self.path,
                        line,
                        use.field,
                        f"no earlier line has the id '{target}'",
                    )
                )
                if kept is not None:
                    self.forward.setdefault(target, []).append(kept)
                return False
            where = found
        if message is None:
            message = self._mismatch(use, where, line)
        if message is not None:
            self._report(Problem(self.path, line, use.field, message))
            return False
        self.summary.referenced.add(target)
        return True

    def _mismatch(self, use: RefUse, where: int, line: int) -> str | None:
        """Say why line ``where`` cannot be what ``use`` needs, or None."""
        kind = self.kinds[where] & _KIND
        name = f"'{use.target}' (line {where})"
        if kind == Kind.INVALID:
            return f"{name} has problems of its own"
        if use.after:
            return None
        if kind == Kind.FAN_OUT:
            return f"{name} acts on many objects ('*'); only after may name it"
        if kind == Kind.OTHER:
            return f"{name} gives a list, not one object; only after may name it"
        if use.want == Kind.MODULE and kind != Kind.MODULE:
            return f"{name} acts on an item; a module is needed here"
        if use.want == Kind.ITEM and kind != Kind.ITEM:
            return f"{name} acts on a module; an item is needed here"
        if use.want is not None and self.course_of[line]:
            theirs = self.course_names[self.course_of[where]]
            ours = self.course_names[self.course_of[line]]
            if theirs != ours and _form(theirs) == _form(ours):
                return f"{name} is in course {theirs}, this line in course {ours}"
        return None


class _IdTable:
    """Ids -> lines in about 32 bytes an id, where a dict would take 120.

    An open-addressing table of two independent hashes of each id (96 bits
    together) instead of the ids themselves: for a job of a million named
    ids the chance that two different ids look the same is below 1e-16, and
    what such a collision would cost is one wrong message.
    """

    def __init__(self) -> None:
        self._size = 1024
        self._hashes = array("q", bytes(8 * self._size))
        self._checks = array("I", bytes(4 * self._size))
        self._lines = array("I", bytes(4 * self._size))
        self._count = 0

    def get(self, op_id: str) -> int | None:
        """Return the line of ``op_id``, or None."""
        first, second = _hashes(op_id)
        slot = self._find(first, second)
        return self._lines[slot] if self._hashes[slot] else None

    def add(self, op_id: str, line: int) -> None:
        """Record that ``op_id`` is the id of ``line`` (first one wins)."""
        first, second = _hashes(op_id)
        slot = self._find(first, second)
        if self._hashes[slot]:
            return
        self._hashes[slot], self._checks[slot], self._lines[slot] = first, second, line
        self._count += 1
        if self._count * 3 > self._size * 2:
            self._grow()

    def _find(self, first: int, second: int) -> int:
        mask = self._size - 1
        slot = first & mask
        while self._hashes[slot]:
            if self._hashes[slot] == first and self._checks[slot] == second:
                return slot
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old = zip(self._hashes, self._checks, self._lines, strict=True)
        self._size *= 2
        self._hashes = array("q", bytes(8 * self._size))
        self._checks = array("I", bytes(4 * self._size))
        self._lines = array("I", bytes(4 * self._size))
        mask = self._size - 1
        for first, second, line in old:
            if first:
                slot = first & mask
                while self._hashes[slot]:
                    slot = (slot + 1) & mask
                self._hashes[slot], self._checks[slot] = first, second
                self._lines[slot] = line


def _hashes(op_id: str) -> tuple[int, int]:
    # Zero marks an empty slot, so no real hash may be zero.
    first = hash(op_id) or 1
    return first, zlib.crc32(op_id.encode("utf-8", "surrogatepass"))
