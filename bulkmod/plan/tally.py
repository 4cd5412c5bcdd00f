"""What a plan found: per course counts of the changes, and the problems.

A change is counted under what it does to a module or an item: ``create``,
``update`` (any field but place and publish state), ``move`` (a new
position, or an item into another module), ``publish``, ``unpublish`` and
``delete``. One operation may count under several (a rename that also moves
counts once under each); a fan-out counts once per child; a batch publish
once per module. Requests that change no module or item (relock, marking an
item done or read) count as ``other``, reads as ``reads``. Operations that
cannot be done are not counted: they are problems.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: What a change does, in the order tables show it.
CHANGES = ("create", "update", "move", "publish", "unpublish", "delete")

#: Problems kept for the output; the rest are only counted.
MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """An operation (or fan-out child) that cannot be done as written."""

    line: int
    id: str
    course: str
    #: A result error type (``not_found``, ``conflict``, ``invalid_input``,
    #: ``dependency_failed``...), or ``dropped`` for a prerequisite or
    #: completion requirement Canvas would silently leave out.
    type: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The problem as a JSON object."""
        return {
            "line": self.line,
            "id": self.id,
            "course": self.course,
            "type": self.type,
            "message": self.message,
        }


@dataclass
class CourseCounts:
    """What a run would do in one course (as the job writes the course)."""

    course: str
    course_id: int | None = None
    modules: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    other: int = 0
    reads: int = 0
    problems: int = 0

    def add(self, other: CourseCounts) -> None:
        """Add another course's counts to these (for totals)."""
        self.modules.update(other.modules)
        self.items.update(other.items)
        self.other += other.other
        self.reads += other.reads
        self.problems += other.problems

    def to_json(self) -> dict[str, Any]:
        """The counts as a JSON object, every change named even when 0."""
        return {
            "course": self.course,
            "course_id": self.course_id,
            "modules": {name: self.modules[name] for name in CHANGES},
            "items": {name: self.items[name] for name in CHANGES},
            "other": self.other,
            "reads": self.reads,
            "problems": self.problems,
        }


@dataclass
class PlanResult:
    """Everything a plan found, course by course in the order first seen."""

    courses: dict[str, CourseCounts] = field(default_factory=dict)
    problems: list[PlanProblem] = field(default_factory=list)
    problem_count: int = 0
    #: Things a run can do but the admin should know first: ``exists``, a
    #: module created under a name the course already has.
    warnings: list[PlanProblem] = field(default_factory=list)
    warning_count: int = 0
    operations: int = 0

    def course(self, course: str) -> CourseCounts:
        """The counts of a course, started when first asked for."""
        counts = self.courses.get(course)
        if counts is None:
            counts = self.courses[course] = CourseCounts(course)
        return counts

    def problem(self, problem: PlanProblem) -> None:
        """Record a problem (the first :data:`MAX_PROBLEMS` are kept)."""
        self.problem_count += 1
        self.course(problem.course).problems += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def warning(self, warning: PlanProblem) -> None:
        """Record a warning (the first :data:`MAX_PROBLEMS` are kept)."""
        self.warning_count += 1
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(warning)

    def totals(self) -> CourseCounts:
        """The counts of every course added up."""
        total = CourseCounts("total")
        for counts in self.courses.values():
            total.add(counts)
        return total
