"""Turn a course export into a job that builds its modules in many courses.

For each course, in list order, the job holds:

1. one ``module.create`` per module, in export order, id ``c<course>-m<n>``,
   with prerequisites as references to the modules created before it;
2. one ``item.create`` per item, module by module, id ``c<course>-m<n>-i<k>``,
   each asking for the item's published state as the export has it;
3. one ``module.update`` per module the export has published, id
   ``c<course>-m<n>-pub``, publishing the module without cascading to its
   items (so unpublished items stay unpublished).

Modules are built unpublished and published last, so students never see a
half-built module. No line sets a position: each module and item is added
after the last one, so the structure is built in export order (after what a
course already has). Gaps left in the source course by deleted modules or
items are not carried over, and Canvas does no costly re-ordering.

Items point at their content (page, assignment, quiz, discussion, file,
external tool) by its title, looked up in each course when the line runs: the
content must be there already, from a course copy or a blueprint. An item
whose content a course lacks fails as ``not_found`` naming the title; the
modules, the other items and the publishing are still built.

Nothing is written unless the whole job would pass ``bulkmod validate``: the
lines of the first course are checked by the job's own rules before the first
line is returned (the lines of the other courses differ only in the course,
checked by the same rule, and in their ids, unique to each course by
construction), and an export without modules is refused, as a job from it
would build nothing.

Dates in an export are UTC. Shifting moves them by whole days in UTC, so a
shift across a daylight-saving change moves the local time by an hour.

The job is plain JSON Lines, one operation a line, keys in a fixed order:
the same export and courses give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

import orjson

from bulkmod.export.courses import parse_course_list
from bulkmod.export.jobcheck import refuse_invalid, shown
from bulkmod.export.reader import (
    MODULE_META,
    CourseExport,
    ExportError,
    ExportItem,
    ExportModule,
)
from bulkmod.job.linecheck import parse_course

__all__ = ["build_job", "parse_course_list", "parse_shift", "write_job"]

#: Item types whose ``new_tab`` Canvas honours.
_EXTERNAL_TYPES = ("ExternalUrl", "ExternalTool")

#: Item types found in the course by their content's title. Pages too, not
#: by the export's slug: a course may hold the page under another slug (Canvas
#: makes slugs unique, so a copy can get ``-2``), and a page that is missing
#: then fails as ``not_found`` naming its title, not as a bare 400.
_TITLED_CONTENT = ("Assignment", "Quiz", "Discussion", "File", "Page", "ExternalTool")

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_.-]")
_OFFSET = re.compile(r"[+-]?\d{1,5}")


def build_job(
    export: CourseExport, courses: Iterable[str], *, shift_days: int | None = None
) -> Iterator[dict[str, Any]]:
    """Return the job lines that build ``export``'s modules in each course, in order.

    ``courses`` are digit strings or Canvas id forms (see
    :func:`parse_course_list`); ``shift_days`` moves every unlock date. All is
    checked before this returns: an export without modules, or whose job would
    not validate, is an :class:`ExportError` naming what to fix; a course Canvas
    would not read, or a shift past the calendar, a :class:`ValueError`.
    """
    if not export.modules:
        raise ExportError(
            f"the export {export.title!r} has no modules ({MODULE_META} lists "
            "none); a job from it would build nothing, so none was written"
        )
    unlock_dates = _unlock_dates(export, shift_days)

    targets: list[tuple[int | str, str]] = []
    prefixes: set[str] = set()
    for course in courses:
        targets.append(
            (_checked_course(course), _unique(_course_prefix(course), prefixes))
        )
    first = targets[0] if targets else (1, "c1")
    refuse_invalid(_described_lines(export, *first, unlock_dates))
    return _job_lines(export, targets, unlock_dates)


def _job_lines(
    export: CourseExport,
    targets: list[tuple[int | str, str]],
    unlock_dates: list[str | None],
) -> Iterator[dict[str, Any]]:
    for course, prefix in targets:
        for _, line in _described_lines(export, course, prefix, unlock_dates):
            yield line


def write_job(lines: Iterable[dict[str, Any]], out: BinaryIO) -> None:
    """Write job lines to ``out`` as JSON Lines, one line each."""
    for line in lines:
        out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))


def parse_shift(spec: str, export: CourseExport) -> int:
    """Return the days to move dates by, from ``FROM:TO`` or an offset like ``+119``.

    ``FROM`` and ``TO`` are ISO dates: the term start the export was made for
    and the new one. An empty ``FROM`` (``:2025-01-13``) takes the export's
    earliest unlock date as its term start.
    """
    spec = spec.strip()
    if _OFFSET.fullmatch(spec):
        return int(spec)

    source, colon, target = spec.partition(":")
    if not colon:
        raise ValueError(
            f"date shift {spec!r}: give FROM:TO as two ISO dates "
            "(2024-08-26:2025-01-13) or a number of days (+140, -7)"
        )
    new_start = _iso_date(target, spec)
    old_start = _iso_date(source, spec) if source.strip() else _first_date(export, spec)
    return (new_start - old_start).days


# --- one course -----------------------------------------------------------


def _described_lines(
    export: CourseExport,
    course: int | str,
    prefix: str,
    unlock_dates: list[str | None],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield one course's lines, each with the module or item it comes from."""
    module_ids = {
        module.identifier: f"{prefix}-m{n}"
        for n, module in enumerate(export.modules, start=1)
    }

    created: set[str] = set()
    for n, module in enumerate(export.modules, start=1):
        params = _module_params(module, unlock_dates[n - 1], module_ids, created)
        created.add(module.identifier)
        line = {
            "id": f"{prefix}-m{n}",
            "op": "module.create",
            "course": course,
            "params": params,
        }
        yield _module_name(n, module), line

    for n, module in enumerate(export.modules, start=1):
        for k, item in enumerate(module.items, start=1):
            line = {
                "id": f"{prefix}-m{n}-i{k}",
                "op": "item.create",
                "course": course,
                "module": f"@{prefix}-m{n}",
                "params": _item_params(item),
            }
            what = (
                f"item {k} {shown(item.title)} ({item.identifier}) of "
                f"{_module_name(n, module)}"
            )
            yield what, line

    for n, module in enumerate(export.modules, start=1):
        if module.published:
            line = {
                "id": f"{prefix}-m{n}-pub",
                "op": "module.update",
                "course": course,
                "module": f"@{prefix}-m{n}",
                "params": {"published": True, "skip_content_tags": True},
            }
            yield f"the publishing of {_module_name(n, module)}", line


def _module_name(n: int, module: ExportModule) -> str:
    return f"module {n} {shown(module.title)} ({module.identifier})"


def _module_params(
    module: ExportModule,
    unlock_at: str | None,
    module_ids: dict[str, str],
    created: set[str],
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": module.title,
        "require_sequential_progress": module.require_sequential_progress,
    }
    if unlock_at is not None:
        params["unlock_at"] = unlock_at

    # A reference may only point back, and Canvas drops prerequisites that do
    # not come before the module anyway; unknown modules are dropped likewise.
    prerequisites = [
        {"ref": module_ids[ident]} for ident in module.prerequisites if ident in created
    ]
    if prerequisites:
        params["prerequisite_module_ids"] = prerequisites
    return params


def _item_params(item: ExportItem) -> dict[str, Any]:
    params: dict[str, Any] = {
        "type": item.type,
        "title": item.title,
        "indent": item.indent,
    }

    if item.type in _EXTERNAL_TYPES:
        params["new_tab"] = item.new_tab
        if item.url is not None:
            params["external_url"] = item.url
    if item.type in _TITLED_CONTENT:
        params["content"] = {"title": item.content_title or item.title}

    if item.completion_requirement is not None:
        params["completion_requirement"] = dict(item.completion_requirement)
    params["published"] = item.published
    return params


# --- ids ------------------------------------------------------------------


def _checked_course(course: str) -> int | str:
    """The course as the job's ``course`` field: a number where it is one."""
    value: int | str = int(course) if course.isdigit() else course
    # By the job's own rule, as every line of the course carries it.
    _, problem = parse_course(value)
    if problem is not None:
        raise ValueError(f"course {course!r}: {problem}")
    return value


def _course_prefix(course: str) -> str:
    return "c" + _NOT_IN_ID.sub("_", course)


def _unique(prefix: str, used: set[str]) -> str:
    # Two id forms can sanitize alike (``a b`` and ``a_b``); the later one gets
    # a counter. Digit ids are unique already, as the list holds each once.
    candidate, count = prefix, 1
    while candidate in used:
        count += 1
        candidate = f"{prefix}.{count}"
    used.add(candidate)
    return candidate


# --- dates ----------------------------------------------------------------


def _unlock_dates(export: CourseExport, shift_days: int | None) -> list[str | None]:
    """Each module's unlock date as the job sends it: UTC, shifted if asked."""
    dates: list[str | None] = []
    for module in export.modules:
        if module.unlock_at is None:
            dates.append(None)
            continue
        moment = _export_datetime(module)
        if shift_days:
            try:
                moment += timedelta(days=shift_days)
            except OverflowError:
                raise ValueError(
                    f"module {module.title!r}: unlock_at {module.unlock_at!r} "
                    f"shifted by {shift_days} days is past the calendar"
                ) from None
        dates.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return dates


def _export_datetime(module: ExportModule) -> datetime:
    text = module.unlock_at or ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"module {module.title!r}: unlock_at {text!r} is not an ISO date and time"
        ) from None
    # Canvas writes export dates in UTC without saying so.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso_date(text: str, spec: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"date shift {spec!r}: {text.strip()!r} is not an ISO date like 2025-01-13"
        ) from None


def _first_date(export: CourseExport, spec: str) -> date:
    dated = [m for m in export.modules if m.unlock_at is not None]
    if not dated:
        raise ValueError(
            f"date shift {spec!r}: the export has no unlock dates to take the "
            "term start from; give it as FROM:TO"
        )
    return min(_export_datetime(m).date() for m in dated)
