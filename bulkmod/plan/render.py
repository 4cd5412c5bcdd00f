"""A plan shown to people (a table) and to programs (one JSON object)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bulkmod.job.reader import is_csv
from bulkmod.job.validate import counted
from bulkmod.plan.tally import CHANGES, CourseCounts, PlanProblem, PlanResult

#: The widest course column; longer SIS ids are cut with "...".
_COURSE_WIDTH = 32


@dataclass(frozen=True)
class Where:
    """What was planned, against which Canvas."""

    job: str
    base_url: str
    embedded: bool


def to_json(result: PlanResult, where: Where) -> dict[str, Any]:
    """The plan as one JSON-ready object (the ``json`` format)."""
    totals = result.totals().to_json()
    del totals["course"], totals["course_id"]
    return {
        "job": where.job,
        "base_url": where.base_url,
        "embedded_sandbox": where.embedded,
        "operations": result.operations,
        "ok": result.problem_count == 0,
        "courses": [counts.to_json() for counts in result.courses.values()],
        "totals": {"courses": len(result.courses), **totals},
        "problem_count": result.problem_count,
        "problems": [problem.to_json() for problem in result.problems],
        "warning_count": result.warning_count,
        "warnings": [warning.to_json() for warning in result.warnings],
    }


def render_text(result: PlanResult, where: Where) -> str:
    """The plan as a table for a terminal (the ``text`` format)."""
    canvas = where.base_url + (" (the embedded sandbox)" if where.embedded else "")
    lines = [
        f"plan of     {where.job}",
        f"canvas      {canvas}",
        f"            read only: nothing was changed; {result.operations} operations "
        f"in {len(result.courses)} courses",
        "",
    ]
    lines.extend(_table(result))
    totals = result.totals()
    if totals.reads:
        lines.append("")
        lines.append(
            f"reads       {totals.reads} (lists and shows, which change nothing)"
        )
    lines.extend(_problems(result, where.job))
    lines.append("")
    if result.problem_count:
        lines.append(
            f"{_count(result.problem_count, 'problem')}: fix "
            f"{'it' if result.problem_count == 1 else 'them'} before the run, or it "
            "will fail or skip those operations (or Canvas will leave out what "
            "is marked dropped)"
        )
    else:
        lines.append("no problems: a run can do every operation as written")
    return "\n".join(lines) + "\n"


def _table(result: PlanResult) -> list[str]:
    totals = result.totals()
    total_name = f"total ({counted(len(result.courses), 'course')})"
    names = [_cut(course) for course in result.courses]
    width = max(len("course"), len(total_name), *(len(name) for name in names)) + 2
    columns = [*CHANGES, "other", "problems"]
    header = f"{'course':<{width}}" + "".join(f"{name:>11}" for name in columns)
    lines = ["each cell: modules/items", header]
    for name, counts in zip(names, result.courses.values(), strict=True):
        lines.append(_row(name, counts, width))
    lines.append(_row(total_name, totals, width))
    return lines


def _row(name: str, counts: CourseCounts, width: int) -> str:
    cells = [_pair(counts.modules[change], counts.items[change]) for change in CHANGES]
    cells += [_number(counts.other), _number(counts.problems)]
    return f"{name:<{width}}" + "".join(f"{cell:>11}" for cell in cells)


def _pair(modules: int, items: int) -> str:
    if not modules and not items:
        return "-"
    return f"{modules}/{items}"


def _number(value: int) -> str:
    return str(value) if value else "-"


def _cut(course: str) -> str:
    if len(course) <= _COURSE_WIDTH:
        return course
    return course[: _COURSE_WIDTH - 3] + "..."


def _problems(result: PlanResult, job: str) -> list[str]:
    return _listed("problems", result.problems, result.problem_count, job) + _listed(
        "warnings", result.warnings, result.warning_count, job
    )


def _listed(title: str, kept: list[PlanProblem], count: int, job: str) -> list[str]:
    if not count:
        return []
    # A CSV job's lines are named as validate names them: by row.
    row = "row " if is_csv(job) else ""
    named = "row N" if row else "line"
    lines = ["", f"{title} (file:{named}: id: type: message)"]
    for problem in kept:
        lines.append(
            f"  {job}:{row}{problem.line}: {problem.id}: {problem.type}: "
            f"{problem.message}"
        )
    if count > len(kept):
        lines.append(f"  ... and {count - len(kept)} more")
    return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
