"""The sandbox model's batch update and module publish cascades."""

from datetime import UTC, datetime

import pytest

from bulkmod.sandbox.model_objects import Course, User
from bulkmod.sandbox.seed import STUDENT_TOKENS
from bulkmod.sandbox.state import CanvasFailure, State, seed


@pytest.fixture
def state() -> State:
    """Course 1 with modules A(1) B(2) C(3), each holding one page item."""
    made = State("http://h", clock=lambda: datetime(2026, 1, 2, tzinfo=UTC))
    seed(made, courses=2, export=None, admin_token="admin-token")
    course, admin = made.find_course("1"), _admin(made)
    for n, name in enumerate("ABC", start=1):
        made.create_module(course, admin, {"name": name})
        made.create_item(
            course, admin, str(n), {"type": "Page", "page_url": f"page-{n}"}
        )
    return made


def _admin(state: State) -> User:
    user = state.user_for_token("admin-token")
    assert user is not None
    return user


def _course(state: State) -> Course:
    return state.find_course("1")


def _batch(state: State, **params: object) -> dict[str, object]:
    return state.batch_update(_course(state), _admin(state), dict(params))


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "need to specify event"),
        ({"event": "archive", "module_ids": ["1"]}, 400, "invalid event"),
        ({"event": "publish"}, 400, "must specify module_ids[]"),
        ({"event": "publish", "module_ids": []}, 400, "must specify module_ids[]"),
        ({"event": "publish", "module_ids": ["x", "99"]}, 404, "no modules found"),
    ],
)
def test_batch_checks_in_order(
    state: State, params: dict[str, object], status: int, message: str
) -> None:
    """Each guard answers its own message, checked in Canvas's order."""
    with pytest.raises(CanvasFailure) as failure:
        _batch(state, **params)
    assert (failure.value.status, failure.value.body) == (status, {"message": message})


def test_batch_publish_in_position_order_dropping_bad_ids(state: State) -> None:
    """Ids come back in position order; non-numeric and foreign ids are skipped."""
    state.update_module(_course(state), _admin(state), "3", {"position": 1})
    body = _batch(state, event="publish", module_ids=["2", "sis:1", "3", "1", "77"])
    assert body == {"completed": [3, 1, 2], "progress": None}
    course = _course(state)
    assert all(m.published for m in course.modules.values())
    assert all(item.published for item in course.items.values())


def test_batch_unpublish_cascades_unless_skipped(state: State) -> None:
    """Unpublish cascades to items and pages; skip_content_tags leaves them."""
    course = _course(state)
    _batch(state, event="publish", module_ids=["1", "2"])
    _batch(state, event="unpublish", module_ids=["1"], skip_content_tags="true")
    assert not course.modules[1].published
    assert course.items[1].published
    _batch(state, event="unpublish", module_ids=["2"])
    assert not course.items[2].published
    assert not course.pages_by_slug["page-2"].published


def test_batch_delete_skips_deleted_modules(state: State) -> None:
    """Batch delete soft-deletes; already-deleted ids are skipped, then 404."""
    assert _batch(state, event="delete", module_ids=["1", "2"])["completed"] == [1, 2]
    assert _batch(state, event="delete", module_ids=["1", "3"])["completed"] == [3]
    with pytest.raises(CanvasFailure) as failure:
        _batch(state, event="delete", module_ids=["1"])
    assert failure.value.status == 404


def test_async_batch_answers_progress_that_get_progress_serves(state: State) -> None:
    """async: completed null plus a queued Progress; the progress is then completed."""
    body = _batch(state, event="publish", module_ids=["1"], **{"async": "1"})
    assert body["completed"] is None
    raw = body["progress"]
    assert isinstance(raw, dict)
    queued = raw["progress"]
    assert (queued["tag"], queued["workflow_state"]) == (
        "context_module_batch_update",
        "queued",
    )
    served = state.get_progress(_admin(state), str(queued["id"]))
    assert served["workflow_state"] == "completed"
    assert served["completion"] == 100.0
    assert served["url"] == "http://h/api/v1/progress/1"
    assert served["created_at"] == "2026-01-02T00:00:00Z"
    assert _course(state).modules[1].published
    student = state.user_for_token(STUDENT_TOKENS[0])
    assert student is not None
    with pytest.raises(CanvasFailure):
        state.get_progress(student, "1")
    with pytest.raises(CanvasFailure) as missing:
        state.get_progress(_admin(state), "2")
    assert missing.value.status == 404


def test_module_publish_cascades_to_items_and_content(state: State) -> None:
    """Publishing a module publishes its unpublished page item and the page."""
    course, admin = _course(state), _admin(state)
    state.update_item(course, admin, "1", "1", {"published": False})
    assert not course.pages_by_slug["page-1"].published
    state.update_module(course, admin, "1", {"published": True})
    assert course.items[1].published
    assert course.pages_by_slug["page-1"].published


def test_student_may_not_batch_update(state: State) -> None:
    """A student's batch update is unauthorized, before any parameter check."""
    student = state.user_for_token(STUDENT_TOKENS[0])
    assert student is not None
    with pytest.raises(CanvasFailure) as failure:
        state.batch_update(_course(state), student, {})
    assert failure.value.body["status"] == "unauthorized"
