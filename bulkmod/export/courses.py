"""The list of courses a job is built for: ``1-200,305``, SIS forms, ``@file``.

A list is comma-separated entries. An entry is a Canvas course id (``305``), a
range of ids (``1-200``, both ends included), or, when it holds a ``:``, one
course named in a Canvas id form (``sis_course_id:BIO-101``); such an entry is
taken whole, dashes included. ``@FILE`` instead reads one entry per line of
FILE, skipping blank lines and lines starting with ``#``.

A course listed twice is kept once, at its first place: building the same
modules twice in one course is never what a list means.
"""

from __future__ import annotations

import re
from pathlib import Path

from bulkmod.job.linecheck import parse_course

#: More courses than this in one list is taken for a typo in a range
#: (``1-2000000``): a job of that size would run for days.
MAX_COURSES = 100_000

_ID = re.compile(r"\d{1,19}")
_RANGE = re.compile(r"(\d{1,19})\s*-\s*(\d{1,19})")


def parse_course_list(spec: str, *, base: Path | None = None) -> list[str]:
    """Return the courses ``spec`` lists, in order, each once.

    Numeric ids come back as digit strings without leading zeros, id forms as
    written. ``base`` is the folder a relative ``@file`` is read from (default:
    the current one). A bad entry is a :class:`ValueError` naming it.
    """
    spec = spec.strip()
    if spec.startswith("@"):
        entries = _read_file(spec[1:].strip(), base)
    else:
        entries = [(entry, f"entry {entry.strip()!r}") for entry in spec.split(",")]

    courses: dict[str, None] = {}
    for entry, where in entries:
        for course in _parse_entry(entry.strip(), where):
            courses.setdefault(course, None)
            if len(courses) > MAX_COURSES:
                raise ValueError(
                    f"{where}: the list names more than {MAX_COURSES} courses; "
                    "check the ranges"
                )

    if not courses:
        raise ValueError("the course list is empty")
    return list(courses)


def _read_file(name: str, base: Path | None) -> list[tuple[str, str]]:
    if not name:
        raise ValueError("'@' must be followed by the name of a file of courses")
    path = Path(name)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(
            f"{path}: cannot read the course list ({exc.strerror})"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: the course list is not UTF-8 text") from None

    entries: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            entries.append((stripped, f"{path}:{number}: {stripped!r}"))
    return entries


def _parse_entry(entry: str, where: str) -> list[str]:
    if not entry:
        raise ValueError(f"{where}: empty entry (two commas in a row?)")

    if ":" in entry:
        return [_id_form(entry, where)]

    if _ID.fullmatch(entry):
        if int(entry) == 0:
            raise ValueError(f"{where}: course ids start at 1")
        return [str(int(entry))]

    match = _RANGE.fullmatch(entry)
    if match is None:
        raise ValueError(
            f"{where}: not a course id, a range like 1-200, or an id form like "
            "sis_course_id:BIO-101"
        )
    first, last = int(match.group(1)), int(match.group(2))
    if first == 0:
        raise ValueError(f"{where}: course ids start at 1")
    if first > last:
        raise ValueError(f"{where}: the range runs backwards; write {last}-{first}")
    if last - first >= MAX_COURSES:
        raise ValueError(
            f"{where}: the range holds more than {MAX_COURSES} courses; check its ends"
        )
    return [str(course) for course in range(first, last + 1)]


def _id_form(entry: str, where: str) -> str:
    # The job's own check, so that every listed course validates in the job.
    course, problem = parse_course(entry)
    if course is None:
        raise ValueError(f"{where}: {problem}")
    return course
