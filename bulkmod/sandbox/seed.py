"""Seeding a sandbox: users, courses and the content their items can point at.

What :func:`seed` makes, with ``N`` courses:

Users (ids in this order):

* 1 ``Sandbox Admin``, an admin, with the admin token given;
* 2 ``Sandbox Teacher``, teacher in every course, token ``sandbox-teacher``;
* 3, 4, 5 ``Student 1`` .. ``Student 3``, students in every course, tokens
  ``sandbox-student-1`` .. ``sandbox-student-3``.

Courses 1..N, named ``Course <id>`` with ``sis_course_id`` ``SIS-<id>``, no
modules, and this published content (each kind has its own id sequence and
is made kind by kind over all courses, so in course ``c``):

* assignments ``Assignment 1..3`` (10 points): ids ``3(c-1)+1 .. 3c``;
* quizzes ``Quiz 1..2``, graded: ids ``2(c-1)+1 .. 2c``;
* discussions ``Discussion 1`` (ungraded) and ``Discussion 2`` (graded):
  ids ``2(c-1)+1 .. 2c``;
* pages ``Page 1..3`` with slugs ``page-1 .. page-3``: ids ``3(c-1)+1 .. 3c``;
* files ``file-1.pdf``, ``file-2.pdf``: ids ``2(c-1)+1 .. 2c``;
* external tool ``Tool 1`` at ``https://tool-1.invalid/launch``: id ``c``.

Graded quizzes and discussions have an assignment of the same title behind
them, with ids above ``3N``. With an export, every course then also gets the
content the export's items point at, titled as in the export (pages with the
export's slugs, tools with its URLs), unless the course already has content
of that kind and title. Export quizzes are graded, and so is an export
discussion whose item has a scoring completion requirement (``must_submit``,
``min_score``, ``min_percentage``): Canvas keeps those only on graded items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from bulkmod.rules import SCORING_TYPES
from bulkmod.sandbox.model_objects import Course

if TYPE_CHECKING:
    from bulkmod.sandbox.state import State

TEACHER_TOKEN = "sandbox-teacher"
STUDENT_TOKENS = ("sandbox-student-1", "sandbox-student-2", "sandbox-student-3")

#: API item type -> content kind, for the export's items.
_KIND_FOR_TYPE = {
    "Assignment": "assignment",
    "Quiz": "quiz",
    "Discussion": "discussion",
    "File": "file",
    "Page": "page",
    "ExternalTool": "tool",
}


class ExportItemLike(Protocol):
    """The fields of an export's item that seeding reads."""

    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def page_slug(self) -> str | None: ...
    @property
    def content_title(self) -> str | None: ...
    @property
    def completion_requirement(self) -> Mapping[str, object] | None: ...


class ExportModuleLike(Protocol):
    """The fields of an export's module that seeding reads."""

    @property
    def items(self) -> Sequence[ExportItemLike]: ...


class CourseExportLike(Protocol):
    """A read course export: its modules, each with its items."""

    @property
    def modules(self) -> Sequence[ExportModuleLike]: ...


def seed(
    state: State, *, courses: int, export: CourseExportLike | None, admin_token: str
) -> None:
    """Fill an empty state with the users, courses and content above."""
    state.add_user("Sandbox Admin", admin=True, token=admin_token)
    teacher = state.add_user("Sandbox Teacher", token=TEACHER_TOKEN)
    students = [
        state.add_user(f"Student {n}", token=token)
        for n, token in enumerate(STUDENT_TOKENS, start=1)
    ]

    made = [
        state.add_course(f"Course {n}", sis_course_id=f"SIS-{n}")
        for n in range(1, courses + 1)
    ]
    for course in made:
        state.enroll(course, teacher, "teacher")
        for student in students:
            state.enroll(course, student, "student")

    for course in made:
        for n in (1, 2, 3):
            state.add_content(
                course, "assignment", f"Assignment {n}", points_possible=10.0
            )
    for course in made:
        for n in (1, 2):
            state.add_content(
                course, "quiz", f"Quiz {n}", graded=True, points_possible=10.0
            )
    for course in made:
        state.add_content(course, "discussion", "Discussion 1")
        state.add_content(
            course, "discussion", "Discussion 2", graded=True, points_possible=5.0
        )
    for course in made:
        for n in (1, 2, 3):
            state.add_content(course, "page", f"Page {n}", slug=f"page-{n}")
    for course in made:
        for n in (1, 2):
            state.add_content(course, "file", f"file-{n}.pdf")
    for course in made:
        state.add_content(course, "tool", "Tool 1", url="https://tool-1.invalid/launch")

    if export is not None:
        for course in made:
            _seed_export_content(state, course, export)


def _seed_export_content(
    state: State, course: Course, export: CourseExportLike
) -> None:
    for module in export.modules:
        for item in module.items:
            kind = _KIND_FOR_TYPE.get(item.type)
            if kind is None:
                continue
            title = item.content_title or item.title
            existing = state.list_content(course, kind)
            if kind == "page":
                if item.page_slug and item.page_slug in course.pages_by_slug:
                    continue
                if not item.page_slug and any(c.title == title for c in existing):
                    continue
                state.add_content(course, "page", title, slug=item.page_slug)
            elif kind == "tool":
                if any(
                    c.title == title or (item.url and c.url == item.url)
                    for c in existing
                ):
                    continue
                state.add_content(course, "tool", title, url=item.url)
            elif not any(c.title == title for c in existing):
                state.add_content(course, kind, title, graded=_graded(kind, item))


def _graded(kind: str, item: ExportItemLike) -> bool:
    if kind == "quiz":
        return True
    requirement = item.completion_requirement or {}
    return kind == "discussion" and requirement.get("type") in SCORING_TYPES
