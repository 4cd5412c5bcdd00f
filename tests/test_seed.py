"""Seeding: users, tokens, courses and their documented content."""

from pathlib import Path

from bulkmod.export.reader import read_export
from bulkmod.sandbox.seed import STUDENT_TOKENS, TEACHER_TOKEN
from bulkmod.sandbox.state import State, seed

_EXPORT = Path(__file__).resolve().parent.parent / "jobs"


def test_users_and_tokens() -> None:
    """Admin 1 holds the admin token; teacher 2; students 3-5 with their tokens."""
    state = State()
    seed(state, courses=1, export=None, admin_token="secret")
    admin = state.user_for_token("secret")
    assert admin is not None and (admin.id, admin.admin) == (1, True)
    teacher = state.user_for_token(TEACHER_TOKEN)
    assert teacher is not None and teacher.id == 2
    assert [state.user_for_token(t).id for t in STUDENT_TOKENS] == [3, 4, 5]  # type: ignore[union-attr]
    assert "secret" not in repr(admin)


def test_courses_and_content_ids_follow_the_documented_formulas() -> None:
    """Course c has assignments 3(c-1)+1..3c, pages page-1..3, tool id c."""
    state = State()
    seed(state, courses=3, export=None, admin_token="t")
    course = state.find_course("sis_course_id:SIS-2")
    assert (course.id, course.name) == (2, "Course 2")
    plain = [c for c in state.list_content(course, "assignment") if c.owner is None]
    assert [(c.id, c.title) for c in plain] == [
        (4, "Assignment 1"),
        (5, "Assignment 2"),
        (6, "Assignment 3"),
    ]
    assert [c.id for c in state.list_content(course, "quiz")] == [3, 4]
    assert [c.slug for c in state.list_content(course, "page")] == [
        "page-1",
        "page-2",
        "page-3",
    ]
    assert [c.id for c in state.list_content(course, "tool")] == [2]
    assert all(
        c.published for kind in course.content for c in course.content[kind].values()
    )
    assert course.modules == {}
    backing = [c.id for c in state.list_content(course, "assignment") if c.owner]
    assert all(i > 9 for i in backing)


def test_export_content_is_added_with_titles_and_slugs() -> None:
    """The shipped export adds its pages by slug and its other content by title."""
    export = read_export(_EXPORT / "exports" / "web-multimedia-cis300")
    state = State()
    seed(state, courses=2, export=export, admin_token="t")
    kinds = {"Assignment": "assignment", "Quiz": "quiz", "File": "file"}
    for course_ref in ("1", "2"):
        course = state.find_course(course_ref)
        welcome = course.pages_by_slug["welcome-and-start-here"]
        assert welcome.title == "Welcome and Start Here"
        for module in export.modules:
            for item in module.items:
                if item.type == "Page":
                    assert item.page_slug in course.pages_by_slug
                elif item.type in kinds:
                    titles = {
                        c.title for c in state.list_content(course, kinds[item.type])
                    }
                    assert (item.content_title or item.title) in titles
