"""Stream a job file, one line at a time, into checked operations.

A job is JSON Lines, or CSV when its name ends in ``.csv`` (see
:mod:`bulkmod.job.csvjob`). It is read as bytes, line by line, and never held
whole, so a job of a million lines costs what one line costs. Blank lines are
skipped but counted: a line number is always the physical line. Each line is
checked on its own here; what needs the whole job (references, duplicate
ids) is checked by :func:`bulkmod.job.validate.check_job`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import orjson

from bulkmod.job.build import build_checked
from bulkmod.job.csvjob import read_rows
from bulkmod.job.linecheck import LineCheck, check_line
from bulkmod.job.model import Operation

_BOM = b"\xef\xbb\xbf"

#: A file's identity (device, inode, size, times): equal while it is unchanged.
Identity = tuple[int, int, int, int, int]

#: Bytes of lines read from a job at a time; the file is looked at after each.
_BATCH_BYTES = 1 << 16


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a job, at a line and (usually) a field."""

    path: str
    line: int
    #: A dotted field path (``params.type``); for a CSV job, the column.
    field: str | None
    message: str

    def __str__(self) -> str:
        """Name it as ``file:line: field: message`` (CSV: row and column)."""
        if is_csv(self.path):
            where = f"{self.path}:row {self.line}"
            if self.field is not None:
                where += f": column '{self.field}'"
        else:
            where = f"{self.path}:{self.line}"
            if self.field is not None:
                where += f": {self.field}"
        return f"{where}: {self.message}"


def is_csv(path: str | Path) -> bool:
    """Tell whether a job file is read as CSV (by its extension)."""
    return str(path).lower().endswith(".csv")


class JobReader:
    """One pass over a job file: every line checked, its bytes hashed.

    Iterate it once; afterwards :attr:`lines` is the number of physical lines,
    :meth:`sha256` the hash of the file's bytes and :attr:`identity` what the
    file was as it was read. Opening the file may raise :class:`OSError`.
    """

    def __init__(
        self,
        path: Path,
        *,
        build: bool = True,
        checked_as: Identity | None = None,
    ) -> None:
        """Prepare to read the job at ``path``.

        With ``build`` false the lines are checked but no Operation is built
        (see :func:`~bulkmod.job.linecheck.check_line`). ``checked_as`` is
        the :attr:`identity` of the file when a whole-job check read it: if
        the file is still that one, :meth:`operations` builds its lines
        without checking them again.
        """
        self.path = path
        self._build = build
        self._checked_as = checked_as
        self.lines = 0
        #: The file's identity, when it did not change while it was read
        #: (None until a whole pass is done).
        self.identity: Identity | None = None
        self._opened_as: Identity | None = None
        self._unchanged = True
        self._digest = hashlib.sha256()

    def sha256(self) -> str:
        """Return the hex SHA-256 of the bytes read so far (all, after a pass)."""
        return self._digest.hexdigest()

    def __iter__(self) -> Iterator[LineCheck]:
        """Yield a :class:`LineCheck` for every line that is not blank."""
        with self._reading() as lines:
            if is_csv(self.path):
                yield from self._csv(lines)
            else:
                yield from self._jsonl(lines)

    def operations(self) -> Iterator[Operation | Problem]:
        """Yield every line's Operation, or its problems, in one pass."""
        with self._reading() as lines:
            if self._opened_as == self._checked_as and not is_csv(self.path):
                yield from self._built(lines)
                return
            for checked in (
                self._csv(lines) if is_csv(self.path) else self._jsonl(lines)
            ):
                if checked.operation is not None:
                    yield checked.operation
                else:
                    yield from self.problems(checked)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Iterator[bytes]]:
        """Open the file; give its lines (see :meth:`_raw_lines`), one pass."""
        with self.path.open("rb") as handle:
            self._opened_as = _identity(handle)
            self._unchanged = True
            lines = self._raw_lines(handle)
            yield lines
            # A CSV job whose header is unusable stops early; the hash and the
            # line count still cover the whole file.
            for _ in lines:
                pass
            if self._unchanged:
                self.identity = self._opened_as

    def problems(self, checked: LineCheck) -> list[Problem]:
        """Return the problems of one checked line, named for this file."""
        name = str(self.path)
        return [
            Problem(name, checked.line, where, text) for where, text in checked.problems
        ]

    def _raw_lines(self, handle: BinaryIO) -> Iterator[bytes]:
        """Every line's bytes, counted and hashed, read a batch at a time.

        After each batch is read from the file, the file is looked at again:
        :attr:`_unchanged` stays true while it is the file that was opened,
        so every line read so far is as it was then.
        """
        while batch := handle.readlines(_BATCH_BYTES):
            if self._unchanged and _identity(handle) != self._opened_as:
                self._unchanged = False
            for raw in batch:
                self.lines += 1
                self._digest.update(raw)
                if self.lines == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                yield raw

    def _jsonl(self, lines: Iterator[bytes]) -> Iterator[LineCheck]:
        for raw in lines:
            if raw.strip():
                yield _check_jsonl_line(raw, self.lines, self._build)

    def _built(self, lines: Iterator[bytes]) -> Iterator[Operation | Problem]:
        """The lines of a file already checked whole: built, not checked.

        Lines read after the file changed are checked, each on its own.
        """
        for raw in lines:
            if not raw.strip():
                continue
            operation = None
            if self._unchanged:
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    obj = None
                operation = build_checked(obj, self.lines)
            if operation is not None:
                yield operation
                continue
            checked = _check_jsonl_line(raw, self.lines, True)
            if checked.operation is not None:
                yield checked.operation
            else:
                yield from self.problems(checked)

    def _csv(self, lines: Iterator[bytes]) -> Iterator[LineCheck]:
        # Lines that are not UTF-8 are passed on decoded with replacement
        # characters, so the CSV reader keeps its place, and remembered here
        # so the row that holds them is reported instead of checked.
        undecodable: dict[int, str] = {}

        def text_lines() -> Iterator[str]:
            for raw in lines:
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    undecodable[self.lines] = _not_utf8(raw, error)
                    yield raw.decode("utf-8", errors="replace")

        for row in read_rows(text_lines()):
            done = [n for n in undecodable if n <= row.end_line]
            bad = [undecodable.pop(n) for n in done if n >= row.line]
            result = LineCheck(row.line)
            if bad:
                result.problems.append((None, bad[0]))
            elif row.data is None or row.problems:
                result.problems.extend(row.problems)
            else:
                result = check_line(row.data, row.line, build=self._build)
                result.problems = [
                    (row.column_for(where), _csv_wording(text))
                    for where, text in result.problems
                ]
                result.refs = [
                    replace(use, field=row.column_for(use.field) or use.field)
                    for use in result.refs
                ]
            yield result


def _check_jsonl_line(raw: bytes, line: int, build: bool) -> LineCheck:
    try:
        # orjson reads UTF-8 bytes itself: no text copy of a good line.
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        return check_line(obj, line, build=build)
    # A line that is not JSON is read again as text, for the message.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return LineCheck(line, problems=[(None, _not_utf8(raw, error))])
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return LineCheck(
            line, problems=[(None, f"not JSON: {error.msg} at column {error.colno}")]
        )
    return check_line(obj, line, build=build)


def _csv_wording(message: str) -> str:
    # Messages name fields as JSON Lines writes them; one has a column of
    # another name in CSV.
    return message.replace("content.title", "content_title")


def _not_utf8(raw: bytes, error: UnicodeDecodeError) -> str:
    return f"not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})"


def read_operations(
    path: Path, *, checked_as: Identity | None = None
) -> Iterator[Operation | Problem]:
    """Stream a job file, yielding each line's Operation or its Problems.

    Each line is checked on its own; references between lines and duplicate
    ids are checked by :func:`bulkmod.job.validate.check_job`, which a run
    calls first. Given that check's ``identity``, the lines of a file that
    is still the one it read are built without being checked again.
    """
    return JobReader(path, checked_as=checked_as).operations()


def _identity(handle: BinaryIO) -> Identity:
    """What changes when the file does: its inode, size and times."""
    found = os.fstat(handle.fileno())
    return (
        found.st_dev,
        found.st_ino,
        found.st_size,
        found.st_mtime_ns,
        found.st_ctime_ns,
    )
