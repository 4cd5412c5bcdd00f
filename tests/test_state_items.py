"""The sandbox model's module items: content, positions, requirements, moves."""

from datetime import UTC, datetime
from typing import Any

import pytest

from bulkmod.sandbox.model_objects import Course, User
from bulkmod.sandbox.seed import STUDENT_TOKENS
from bulkmod.sandbox.state import CanvasFailure, State, seed


@pytest.fixture
def state() -> State:
    """A seeded sandbox (two courses) whose course 1 has modules 1 and 2."""
    made = State("http://h", clock=lambda: datetime(2026, 1, 2, tzinfo=UTC))
    seed(made, courses=2, export=None, admin_token="admin-token")
    course, admin = made.find_course("1"), _admin(made)
    made.create_module(course, admin, {"name": "M1"})
    made.create_module(course, admin, {"name": "M2"})
    return made


def _admin(state: State) -> User:
    user = state.user_for_token("admin-token")
    assert user is not None
    return user


def _course(state: State) -> Course:
    return state.find_course("1")


def _create(state: State, params: dict[str, Any], module: str = "1") -> dict[str, Any]:
    return state.create_item(_course(state), _admin(state), module, params)


def _positions(state: State, module: str = "1") -> list[tuple[str, int | None]]:
    items = state.list_items(_course(state), _admin(state), module)
    return [(item.title, item.position) for item in items]


def test_assignment_item_shape(state: State) -> None:
    """An Assignment item mirrors its published content and carries URLs."""
    body = _create(state, {"type": "Assignment", "content_id": "2"})
    assert body == {
        "id": 1,
        "title": "Assignment 2",
        "position": 1,
        "indent": 0,
        "type": "Assignment",
        "module_id": 1,
        "html_url": "http://h/courses/1/modules/items/1",
        "content_id": 2,
        "url": "http://h/api/v1/courses/1/assignments/2",
        "published": True,
        "unpublishable": True,
    }


def test_page_item_needs_page_url(state: State) -> None:
    """Page items: no page_url -> 400, unknown slug -> 400, slug -> page_url."""
    with pytest.raises(CanvasFailure) as missing:
        _create(state, {"type": "Page", "content_id": "1"})
    assert missing.value.body == {"message": "missing page_url parameter"}
    with pytest.raises(CanvasFailure) as unknown:
        _create(state, {"type": "Page", "page_url": "nope"})
    assert unknown.value.body == {"message": "invalid page_url parameter"}
    body = _create(state, {"type": "Page", "page_url": "page-2", "title": "Read me"})
    assert (body["page_url"], body["title"], body["publish_at"]) == (
        "page-2",
        "Read me",
        None,
    )
    assert "content_id" not in body


def test_unknown_content_or_type_is_could_not_find(state: State) -> None:
    """A missing content_id or an unknown type -> 400 Could not find content."""
    for params in ({"type": "Quiz", "content_id": "999"}, {"type": "Widget"}, {}):
        with pytest.raises(CanvasFailure) as failure:
            _create(state, params)
        assert failure.value.body == {"message": "Could not find content"}


def test_assignment_behind_a_quiz_gives_a_quiz_item(state: State) -> None:
    """The assignment behind Quiz 1 of course 1 (id 7: after 2x3 plain) gives a Quiz."""
    quiz = state.list_content(_course(state), "quiz")[0]
    assert quiz.assignment is not None
    assert quiz.assignment.id == 7
    body = _create(state, {"type": "Assignment", "content_id": quiz.assignment.id})
    assert (body["type"], body["content_id"], body["title"]) == (
        "Quiz",
        quiz.id,
        "Quiz 1",
    )


def test_contentless_items_start_unpublished(state: State) -> None:
    """SubHeader and ExternalUrl items start unpublished; ExternalUrl needs a URL."""
    header = _create(state, {"type": "SubHeader"})
    assert (header["title"], header["published"]) == ("No title", False)
    assert "html_url" not in header
    link = _create(
        state, {"type": "ExternalUrl", "external_url": "https://x.invalid/a"}
    )
    assert link["html_url"] == "http://h/api/v1/courses/1/module_item_redirect/2"
    assert (link["external_url"], link["new_tab"]) == ("https://x.invalid/a", False)
    with pytest.raises(CanvasFailure) as bad:
        _create(state, {"type": "ExternalUrl", "external_url": "::"})
    assert list(bad.value.body["errors"]) == ["url"]


def test_external_tool_matched_by_url_or_placeholder(state: State) -> None:
    """A tool item finds Tool 1 by URL; an unknown URL points at tool id 0."""
    found = _create(
        state, {"type": "ExternalTool", "external_url": "https://tool-1.invalid/launch"}
    )
    assert (found["content_id"], found["title"]) == (1, "Tool 1")
    placeholder = _create(
        state, {"type": "ExternalTool", "external_url": "https://other.invalid/x"}
    )
    assert placeholder["content_id"] == 0


def test_create_shifts_only_when_slot_taken(state: State) -> None:
    """Items at [1,3,4,5] (2 deleted): create at 3 -> new 3, others 1,4,5,6."""
    for n in range(1, 6):
        _create(state, {"type": "SubHeader", "title": f"H{n}"})
    state.delete_item(_course(state), _admin(state), "1", "2")
    _create(state, {"type": "SubHeader", "title": "New", "position": 3})
    assert _positions(state) == [("H1", 1), ("New", 3), ("H3", 4), ("H4", 5), ("H5", 6)]
    _create(state, {"type": "SubHeader", "title": "Gap", "position": 2})
    _create(state, {"type": "SubHeader", "title": "Far", "position": 20})
    assert _positions(state)[1] == ("Gap", 2)
    assert _positions(state)[-1] == ("Far", 20)


def test_created_out_of_order(state: State) -> None:
    """Creating at 3, then 1, then 2 gives positions 1, 2, 3 in that order."""
    for title, position in (("C", 3), ("A", 1), ("B", 2)):
        _create(state, {"type": "SubHeader", "title": title, "position": position})
    assert _positions(state) == [("A", 1), ("B", 2), ("C", 3)]


def test_update_position_uses_insert_at(state: State) -> None:
    """Five items: move item 1 to 2 -> [2,1,3,4,5]; then to 4 -> [4,1,2,3,5]."""
    for n in range(1, 6):
        _create(state, {"type": "SubHeader", "title": f"I{n}"})
    course, admin = _course(state), _admin(state)
    state.update_item(course, admin, "1", "1", {"position": 2})
    assert [course.items[i].position for i in range(1, 6)] == [2, 1, 3, 4, 5]
    state.update_item(course, admin, "1", "1", {"position": "4"})
    assert [course.items[i].position for i in range(1, 6)] == [4, 1, 2, 3, 5]


def test_move_compacts_source_and_keeps_requirement(state: State) -> None:
    """Moving an item out compacts the source; its requirement moves with it."""
    _create(state, {"type": "SubHeader", "title": "A"})
    _create(
        state,
        {
            "type": "Assignment",
            "content_id": "1",
            "completion_requirement": {"type": "must_submit"},
        },
    )
    _create(state, {"type": "SubHeader", "title": "C"})
    _create(state, {"type": "SubHeader", "title": "X"}, module="2")
    course, admin = _course(state), _admin(state)
    body = state.update_item(course, admin, "2", "2", {"module_id": "2", "position": 1})
    assert (body["module_id"], body["position"]) == (2, 1)
    assert body["completion_requirement"] == {"type": "must_submit"}
    assert _positions(state) == [("A", 1), ("C", 2)]
    assert _positions(state, "2") == [("Assignment 1", 1), ("X", 2)]
    with pytest.raises(CanvasFailure) as bad:
        state.update_item(course, admin, "1", "2", {"module_id": "99"})
    assert bad.value.body == {"message": "invalid module_id"}


def test_move_without_position_sorts_last(state: State) -> None:
    """A moved item without a position has position null."""
    _create(state, {"type": "SubHeader", "title": "A"})
    body = state.update_item(_course(state), _admin(state), "1", "1", {"module_id": 2})
    assert body["position"] is None


def test_update_and_delete_ignore_the_path_module(state: State) -> None:
    """Update/delete work with any module id; show enforces it."""
    _create(state, {"type": "SubHeader", "title": "A"})
    course, admin = _course(state), _admin(state)
    assert state.update_item(course, admin, "999", "1", {"indent": "2"})["indent"] == 2
    with pytest.raises(CanvasFailure) as show:
        state.get_item(course, admin, "2", "1")
    assert show.value.status == 404
    body = state.delete_item(course, admin, "abc", "1")
    assert body["published"] is False
    with pytest.raises(CanvasFailure) as again:
        state.delete_item(course, admin, "1", "1")
    assert again.value.status == 404


def test_invalid_requirement_is_400_after_saving(state: State) -> None:
    """A bogus requirement type answers the model error but keeps the item."""
    with pytest.raises(CanvasFailure) as failure:
        _create(
            state,
            {
                "type": "SubHeader",
                "title": "A",
                "completion_requirement": {"type": "must_dance"},
            },
        )
    message = "Invalid completion requirement type"
    assert failure.value.body == {
        "errors": {
            "completion_requirement": [
                {
                    "attribute": "completion_requirement",
                    "type": message,
                    "message": message,
                }
            ]
        }
    }
    assert _positions(state) == [("A", 1)]


def test_scoring_requirement_dropped_on_pages(state: State) -> None:
    """min_score on a Page is dropped; on a Quiz it is kept as a float."""
    page = _create(
        state,
        {
            "type": "Page",
            "page_url": "page-1",
            "completion_requirement": {"type": "min_score", "min_score": 5},
        },
    )
    assert "completion_requirement" not in page
    quiz = _create(
        state,
        {
            "type": "Quiz",
            "content_id": 1,
            "completion_requirement": {"type": "min_score", "min_score": "5"},
        },
    )
    assert quiz["completion_requirement"] == {"type": "min_score", "min_score": 5.0}
    cleared = state.update_item(
        _course(state),
        _admin(state),
        "1",
        str(quiz["id"]),
        {"completion_requirement": ""},
    )
    assert "completion_requirement" not in cleared


def test_item_publish_cascades_to_content_and_siblings(state: State) -> None:
    """Unpublishing one item unpublishes its page and the other item on it."""
    first = _create(state, {"type": "Page", "page_url": "page-3"})
    second = _create(state, {"type": "Page", "page_url": "page-3"}, module="2")
    course, admin = _course(state), _admin(state)
    state.update_item(course, admin, "1", str(first["id"]), {"published": False})
    page = course.pages_by_slug["page-3"]
    assert page.published is False
    assert course.items[second["id"]].published is False


def test_item_with_submissions_cannot_be_unpublished(state: State) -> None:
    """Content with submissions: unpublish -> 403 item can't be unpublished."""
    body = _create(state, {"type": "Assignment", "content_id": "1"})
    _course(state).content["assignment"][1].has_submissions = True
    with pytest.raises(CanvasFailure) as failure:
        state.update_item(
            _course(state), _admin(state), "1", str(body["id"]), {"published": "false"}
        )
    assert (failure.value.status, failure.value.body) == (
        403,
        {"message": "item can't be unpublished"},
    )


def test_rename_renames_content(state: State) -> None:
    """Renaming an assignment item renames the assignment too."""
    body = _create(state, {"type": "Assignment", "content_id": "3"})
    state.update_item(
        _course(state), _admin(state), "1", str(body["id"]), {"title": "Essay"}
    )
    assert _course(state).content["assignment"][3].title == "Essay"


def test_students_cannot_see_unpublished_items_or_write(state: State) -> None:
    """Students: unpublished item 404; item create -> unauthorized."""
    course, admin = _course(state), _admin(state)
    student = state.user_for_token(STUDENT_TOKENS[1])
    assert student is not None
    state.update_module(
        course, admin, "1", {"published": True, "skip_content_tags": True}
    )
    _create(state, {"type": "SubHeader", "title": "Draft"})
    assert state.list_items(course, student, "1") == []
    with pytest.raises(CanvasFailure) as hidden:
        state.get_item(course, student, "1", "1")
    assert hidden.value.status == 404
    with pytest.raises(CanvasFailure) as denied:
        state.create_item(course, student, "1", {"type": "SubHeader"})
    assert denied.value.body["status"] == "unauthorized"
