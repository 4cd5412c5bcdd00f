"""The sandbox model's modules: shapes, creation, positions, deletes, students."""

from datetime import UTC, datetime

import pytest

from bulkmod.sandbox.model_objects import Course, User
from bulkmod.sandbox.seed import STUDENT_TOKENS, TEACHER_TOKEN
from bulkmod.sandbox.state import CanvasFailure, State, seed


@pytest.fixture
def state() -> State:
    """A seeded sandbox with two courses and a fixed clock."""
    made = State(
        "http://127.0.0.1:9", clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    seed(made, courses=2, export=None, admin_token="admin-token")
    return made


def _admin(state: State) -> User:
    user = state.user_for_token("admin-token")
    assert user is not None
    return user


def _names(state: State, course: Course) -> list[tuple[str, int]]:
    return [(m.name, m.position) for m in state.list_modules(course, _admin(state))]


def test_created_module_shape_is_unpublished_without_workflow_state(
    state: State,
) -> None:
    """A new module is unpublished even when asked; its JSON has no workflow_state."""
    course, admin = state.find_course("1"), _admin(state)
    module = state.create_module(course, admin, {"name": "Week 1", "published": "true"})
    assert state.module_json(module, admin) == {
        "id": 1,
        "position": 1,
        "name": "Week 1",
        "unlock_at": None,
        "require_sequential_progress": False,
        "requirement_type": "all",
        "publish_final_grade": False,
        "prerequisite_module_ids": [],
        "published": False,
        "items_count": 0,
        "items_url": "http://127.0.0.1:9/api/v1/courses/1/modules/1/items",
    }


def test_create_guards(state: State) -> None:
    """No module object -> missing module parameter; blank name -> missing name."""
    course, admin = state.find_course("1"), _admin(state)
    with pytest.raises(CanvasFailure) as missing:
        state.create_module(course, admin, None)
    assert (missing.value.status, missing.value.body) == (
        400,
        {"message": "missing module parameter"},
    )
    with pytest.raises(CanvasFailure) as blank:
        state.create_module(course, admin, {"name": " "})
    assert blank.value.body == {"message": "missing module name"}


def test_create_at_position_shifts_and_skips_deleted(state: State) -> None:
    """[A1,B2,C3] with C deleted, create D at 2 -> A1, D2, B3; C keeps 3."""
    course, admin = state.find_course("1"), _admin(state)
    for name in "ABC":
        state.create_module(course, admin, {"name": name})
    state.delete_module(course, admin, "3")
    state.create_module(course, admin, {"name": "D", "position": "2"})
    assert _names(state, course) == [("A", 1), ("D", 2), ("B", 3)]
    assert course.modules[3].position == 3


def test_position_is_never_clamped(state: State) -> None:
    """Position 10 with three modules stays 10; "abc" becomes 0 and shifts the rest."""
    course, admin = state.find_course("1"), _admin(state)
    for name in "ABC":
        state.create_module(course, admin, {"name": name})
    state.create_module(course, admin, {"name": "Far", "position": 10})
    state.create_module(course, admin, {"name": "Zero", "position": "abc"})
    assert _names(state, course) == [
        ("Zero", 0),
        ("A", 2),
        ("B", 3),
        ("C", 4),
        ("Far", 11),
    ]


def test_prerequisites_dropped_when_not_preceding(state: State) -> None:
    """Unknown, later and non-numeric prerequisite ids are dropped silently."""
    course, admin = state.find_course("1"), _admin(state)
    state.create_module(course, admin, {"name": "A"})
    state.create_module(course, admin, {"name": "B"})
    module = state.create_module(
        course, admin, {"name": "C", "prerequisite_module_ids": ["1", "99", "abc", "4"]}
    )
    assert state.module_json(module, admin)["prerequisite_module_ids"] == [1]


def test_move_drops_prerequisites_that_no_longer_precede(state: State) -> None:
    """B needs A; moving A below B re-saves B and drops the prerequisite."""
    course, admin = state.find_course("1"), _admin(state)
    state.create_module(course, admin, {"name": "A"})
    state.create_module(course, admin, {"name": "B", "prerequisite_module_ids": [1]})
    state.update_module(course, admin, "1", {"position": 3})
    assert course.modules[2].prerequisites == []
    assert _names(state, course) == [("B", 1), ("A", 3)]


def test_update_clears_prerequisites_with_blank(state: State) -> None:
    """prerequisite_module_ids "" on update clears them; absent leaves them."""
    course, admin = state.find_course("1"), _admin(state)
    state.create_module(course, admin, {"name": "A"})
    state.create_module(course, admin, {"name": "B", "prerequisite_module_ids": [1]})
    kept = state.update_module(course, admin, "2", {"name": "B2"})
    assert kept["prerequisite_module_ids"] == [1]
    cleared = state.update_module(course, admin, "2", {"prerequisite_module_ids": ""})
    assert cleared["prerequisite_module_ids"] == []


def test_update_answer_carries_warnings(state: State) -> None:
    """Update adds publish_warning and unpublish_warning, both false here."""
    course, admin = state.find_course("1"), _admin(state)
    state.create_module(course, admin, {"name": "A"})
    body = state.update_module(course, admin, "1", {"name": "", "published": "1"})
    assert body["name"] == ""
    assert body["published"] is True
    assert (body["publish_warning"], body["unpublish_warning"]) == (False, False)
    assert "relock_warning" not in body


def test_delete_is_soft_and_second_delete_404(state: State) -> None:
    """Delete answers the module (unpublished, no items); again -> 404."""
    course, admin = state.find_course("1"), _admin(state)
    state.create_module(course, admin, {"name": "A"})
    state.create_item(course, admin, "1", {"type": "SubHeader", "title": "Intro"})
    body = state.delete_module(course, admin, "1")
    assert (body["published"], body["items_count"], body["position"]) == (False, 0, 1)
    assert "workflow_state" not in body
    assert course.items[1].deleted
    with pytest.raises(CanvasFailure) as again:
        state.delete_module(course, admin, "1")
    assert again.value.status == 404
    assert again.value.body == {
        "errors": [{"message": "The specified resource does not exist."}]
    }


def test_delete_leaves_a_gap(state: State) -> None:
    """Deleting the middle module keeps the others' positions."""
    course, admin = state.find_course("1"), _admin(state)
    for name in "ABC":
        state.create_module(course, admin, {"name": name})
    state.delete_module(course, admin, "2")
    assert _names(state, course) == [("A", 1), ("C", 3)]
    assert state.create_module(course, admin, {"name": "D"}).position == 4


def test_ids_only_grow_and_modules_of_other_courses_are_404(state: State) -> None:
    """Module ids are global and increasing; another course's module is 404."""
    one, two, admin = state.find_course("1"), state.find_course("2"), _admin(state)
    first = state.create_module(one, admin, {"name": "A"})
    second = state.create_module(two, admin, {"name": "B"})
    assert (first.id, second.id) == (1, 2)
    with pytest.raises(CanvasFailure):
        state.get_module(one, admin, "2")
    with pytest.raises(CanvasFailure):
        state.get_module(one, admin, "abc")


def test_search_term_filters_names_and_rejects_short_terms(state: State) -> None:
    """search_term matches names case-insensitively; one letter is 400."""
    course, admin = state.find_course("1"), _admin(state)
    for name in ("Week One", "Week Two", "Final"):
        state.create_module(course, admin, {"name": name})
    found = state.list_modules(course, admin, search_term="week")
    assert [m.name for m in found] == ["Week One", "Week Two"]
    with pytest.raises(CanvasFailure) as short:
        state.list_modules(course, admin, search_term="w")
    assert (
        short.value.body["errors"][0]["message"] == "2 or more characters is required"
    )


def test_searched_module_json_keeps_matching_items(state: State) -> None:
    """With items, a non-matching module keeps only matching items or is dropped."""
    course, admin = state.find_course("1"), _admin(state)
    module = state.create_module(course, admin, {"name": "Week"})
    state.create_item(course, admin, "1", {"type": "SubHeader", "title": "Reading"})
    state.create_item(course, admin, "1", {"type": "SubHeader", "title": "Quiz time"})
    body = state.searched_module_json(module, admin, "read")
    assert body is not None
    assert [item["title"] for item in body["items"]] == ["Reading"]
    assert state.searched_module_json(module, admin, "nothing") is None


def test_include_items_omitted_above_100(state: State) -> None:
    """include items lists 100 items inline but omits the key at 101."""
    course, admin = state.find_course("1"), _admin(state)
    module = state.create_module(course, admin, {"name": "Big"})
    for n in range(100):
        state.create_item(course, admin, "1", {"type": "SubHeader", "title": f"H{n}"})
    assert len(state.module_json(module, admin, include_items=True)["items"]) == 100
    state.create_item(course, admin, "1", {"type": "SubHeader", "title": "H100"})
    body = state.module_json(module, admin, include_items=True)
    assert "items" not in body
    assert body["items_count"] == 101


def test_students_see_published_modules_only_and_cannot_write(state: State) -> None:
    """Students: unpublished -> 404, no published key, create -> unauthorized."""
    course, admin = state.find_course("1"), _admin(state)
    student = state.user_for_token(STUDENT_TOKENS[0])
    assert student is not None
    state.create_module(course, admin, {"name": "Hidden"})
    shown = state.create_module(course, admin, {"name": "Shown"})
    state.update_module(course, admin, "2", {"published": True})
    assert state.list_modules(course, student) == [shown]
    with pytest.raises(CanvasFailure) as hidden:
        state.get_module(course, student, "1")
    assert hidden.value.status == 404
    body = state.module_json(shown, student, student=student)
    assert "published" not in body
    assert (body["state"], body["completed_at"]) == (
        "completed",
        "2026-01-02T03:04:05Z",
    )
    with pytest.raises(CanvasFailure) as denied:
        state.create_module(course, student, {"name": "Mine"})
    assert (denied.value.status, denied.value.body["status"]) == (401, "unauthorized")
    with pytest.raises(CanvasFailure) as update:
        state.update_module(course, student, "2", {"name": "x"})
    assert update.value.body["status"] == "unauthorized"


def test_teacher_may_write(state: State) -> None:
    """The seeded teacher creates modules in every course."""
    teacher = state.user_for_token(TEACHER_TOKEN)
    assert teacher is not None
    assert state.create_module(state.find_course("2"), teacher, {"name": "T"}).id == 1


def test_find_course_forms(state: State) -> None:
    """Courses are found by id, SIS id, hex SIS id, uuid and lti_context_id."""
    course = state.find_course("2")
    assert state.find_course("sis_course_id:SIS-2") is course
    assert state.find_course("hex:sis_course_id:" + b"SIS-2".hex()) is course
    assert state.find_course(f"uuid:{course.uuid}") is course
    assert state.find_course(f"lti_context_id:{course.lti_context_id}") is course
    for bad in ("abc", "99", "sis_course_id:nope", "hex:sis_course_id:zz"):
        with pytest.raises(CanvasFailure):
            state.find_course(bad)
