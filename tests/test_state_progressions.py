"""Students' progressions, mark done / read, and the item sequence."""

from datetime import UTC, datetime

import pytest

from bulkmod.sandbox.model_objects import Course, User
from bulkmod.sandbox.seed import STUDENT_TOKENS
from bulkmod.sandbox.state import CanvasFailure, State, seed

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def state() -> State:
    """Course 1: A(1) has a sub-header and page-1 (must_view) and page-2
    (must_mark_done); B(2) needs A and holds page-3. Both published."""
    made = State("http://h", clock=lambda: NOW)
    seed(made, courses=1, export=None, admin_token="admin-token")
    course, admin = made.find_course("1"), _user(made, "admin-token")
    made.create_module(course, admin, {"name": "A"})
    made.create_module(course, admin, {"name": "B", "prerequisite_module_ids": ["1"]})
    made.create_item(course, admin, "1", {"type": "SubHeader", "title": "Intro"})
    made.create_item(
        course,
        admin,
        "1",
        {
            "type": "Page",
            "page_url": "page-1",
            "completion_requirement": {"type": "must_view"},
        },
    )
    made.create_item(
        course,
        admin,
        "1",
        {
            "type": "Page",
            "page_url": "page-2",
            "completion_requirement": {"type": "must_mark_done"},
        },
    )
    made.create_item(course, admin, "2", {"type": "Page", "page_url": "page-3"})
    made.batch_update(course, admin, {"event": "publish", "module_ids": ["1", "2"]})
    return made


def _user(state: State, token: str) -> User:
    user = state.user_for_token(token)
    assert user is not None
    return user


def _course(state: State) -> Course:
    return state.find_course("1")


def _states(state: State, student: User) -> list[tuple[str, str | None]]:
    course = _course(state)
    return [
        (body["state"], body["completed_at"])
        for body in (
            state.module_json(m, student, student=student)
            for m in state.list_modules(course, student)
        )
    ]


def test_requirements_move_a_module_to_completed(state: State) -> None:
    """unlocked -> started after a view -> completed after done; B unlocks."""
    student, course = _user(state, STUDENT_TOKENS[0]), _course(state)
    assert _states(state, student) == [("unlocked", None), ("locked", None)]
    assert state.mark_read(course, student, "1", "2") == {"message": "OK"}
    assert _states(state, student)[0] == ("started", None)
    state.mark_done(course, student, "1", "3", True)
    assert _states(state, student) == [
        ("completed", "2026-03-01T12:00:00Z"),
        ("completed", "2026-03-01T12:00:00Z"),
    ]
    other = _user(state, STUDENT_TOKENS[1])
    assert _states(state, other)[0] == ("unlocked", None)


def test_requirement_completed_flags(state: State) -> None:
    """Each requirement shows completed for the student; staff see none."""
    student, course = _user(state, STUDENT_TOKENS[0]), _course(state)
    state.mark_read(course, student, "1", "2")
    module = course.modules[1]
    body = state.module_json(module, student, include_items=True, student=student)
    flags = [item.get("completion_requirement") for item in body["items"]]
    assert flags == [
        None,
        {"type": "must_view", "completed": True},
        {"type": "must_mark_done", "completed": False},
    ]
    admin = _user(state, "admin-token")
    staff = state.module_json(module, admin, include_items=True)
    assert staff["items"][1]["completion_requirement"] == {"type": "must_view"}


def test_mark_not_done_undoes(state: State) -> None:
    """Marking not done takes the requirement back; it always answers OK."""
    student, course = _user(state, STUDENT_TOKENS[0]), _course(state)
    state.mark_done(course, student, "1", "3", True)
    assert state.mark_done(course, student, "1", "3", False) == {"message": "OK"}
    assert _states(state, student)[0] == ("unlocked", None)


def test_locked_module_item_cannot_be_marked_read(state: State) -> None:
    """An item of a module behind an unmet prerequisite answers 403 locked."""
    student, course = _user(state, STUDENT_TOKENS[0]), _course(state)
    with pytest.raises(CanvasFailure) as failure:
        state.mark_read(course, student, "2", "4")
    assert (failure.value.status, failure.value.body) == (
        403,
        {"message": "The module item is locked."},
    )


def test_sequential_progress_locks_later_items(state: State) -> None:
    """With sequential progress, page-2 is locked until page-1 is viewed."""
    course, admin = _course(state), _user(state, "admin-token")
    state.update_module(course, admin, "1", {"require_sequential_progress": True})
    student = _user(state, STUDENT_TOKENS[0])
    with pytest.raises(CanvasFailure):
        state.mark_read(course, student, "1", "3")
    state.mark_read(course, student, "1", "2")
    assert state.mark_read(course, student, "1", "3") == {"message": "OK"}
    details = state.item_json(
        course.items[3], student, include_content_details=True, student=student
    )["content_details"]
    assert details["locked_for_user"] is False


def test_unlock_at_in_the_future_locks(state: State) -> None:
    """A module whose unlock_at lies ahead is locked for students."""
    course, admin = _course(state), _user(state, "admin-token")
    state.update_module(course, admin, "1", {"unlock_at": "2026-04-01T00:00:00Z"})
    assert _states(state, _user(state, STUDENT_TOKENS[0]))[0] == ("locked", None)


def test_relock_locks_again_after_new_prerequisite(state: State) -> None:
    """Unlocked before a prerequisite was added, a student stays so until relock."""
    course, admin = _course(state), _user(state, "admin-token")
    student = _user(state, STUDENT_TOKENS[0])
    state.create_module(course, admin, {"name": "C"})
    state.update_module(course, admin, "3", {"published": True})
    assert _states(state, student)[2] == ("completed", "2026-03-01T12:00:00Z")
    state.update_module(course, admin, "3", {"prerequisite_module_ids": ["1"]})
    assert _states(state, student)[2][0] == "completed"
    state.relock_module(course, admin, "1")
    assert _states(state, student)[2] == ("locked", None)


def test_student_for(state: State) -> None:
    """Students are themselves; another student's id is unauthorized for them."""
    course = _course(state)
    one, two = _user(state, STUDENT_TOKENS[0]), _user(state, STUDENT_TOKENS[1])
    admin, teacher = _user(state, "admin-token"), _user(state, "sandbox-teacher")
    assert state.student_for(course, one, None) is one
    assert state.student_for(course, one, str(one.id)) is one
    assert state.student_for(course, teacher, str(two.id)) is two
    assert state.student_for(course, admin, None) is None
    for caller, target in ((one, two.id), (admin, teacher.id), (admin, 999)):
        with pytest.raises(CanvasFailure) as failure:
            state.student_for(course, caller, str(target))
        assert failure.value.body["status"] == "unauthorized"


def test_sequence_crosses_modules_and_skips_subheaders(state: State) -> None:
    """page-2's next is page-3 in module B; page-1's prev is none (not Intro)."""
    course, admin = _course(state), _user(state, "admin-token")
    body = state.item_sequence(course, admin, "Page", "page-2")
    node = body["items"][0]
    assert (node["prev"]["id"], node["current"]["id"], node["next"]["id"]) == (2, 3, 4)
    assert [m["id"] for m in body["modules"]] == [1, 2]
    first = state.item_sequence(course, admin, "moduleitem", "2")["items"][0]
    assert first["prev"] is None
    assert state.item_sequence(course, admin, "Quiz", "1") == {
        "items": [],
        "modules": [],
    }


def test_sequence_guards(state: State) -> None:
    """Unknown asset_type and missing asset_id are 400s."""
    course, admin = _course(state), _user(state, "admin-token")
    with pytest.raises(CanvasFailure) as kind:
        state.item_sequence(course, admin, "Widget", "1")
    assert kind.value.body == {"message": "invalid asset_type"}
    with pytest.raises(CanvasFailure) as missing:
        state.item_sequence(course, admin, "Page", None)
    assert missing.value.body == {"message": "missing asset_id"}
