"""Handlers of what a job needs besides modules: the course, the caller,
progress records, and the course's content lists."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_objects import Content, Course, User
from bulkmod.sandbox.routes_common import (
    course_of,
    json_response,
    optional_text,
    paginated,
    params,
    state_of,
    viewer,
)

#: Path segment of each content list -> the sandbox's content kind.
CONTENT_ROUTES = {
    "assignments": "assignment",
    "pages": "page",
    "quizzes": "quiz",
    "discussion_topics": "discussion",
    "files": "file",
    "external_tools": "tool",
}

#: Canvas's shortest accepted ``search_term``.
_MIN_SEARCH = 2


async def show_course(request: web.Request) -> web.Response:
    """GET one course."""
    user = viewer(request)
    course = course_of(request)
    state_of(request).require_read(course, user)
    return json_response(course_json(course, user))


async def show_self(request: web.Request) -> web.Response:
    """GET the user the request acts as."""
    user = viewer(request)
    body = {
        "id": user.id,
        "name": user.name,
        "sortable_name": user.name,
        "short_name": user.name,
        "login_id": f"user{user.id}",
    }
    return json_response(body)


async def show_progress(request: web.Request) -> web.Response:
    """GET one Progress record of a background job."""
    progress_id = request.match_info["progress_id"]
    return json_response(state_of(request).get_progress(viewer(request), progress_id))


async def list_content(request: web.Request) -> web.Response:
    """GET a page of one kind of the course's content, ``search_term`` applied."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    state_of(request).require_read(course, user)
    kind = CONTENT_ROUTES[request.match_info["kind"]]
    found = state.list_content(course, kind)
    if not state.can_manage(course, user):
        found = [content for content in found if content.published]
    term = optional_text(params(request).get("search_term"))
    if term is not None:
        found = _search(found, term)
    return paginated(request, found, state.content_json)


async def show_content(request: web.Request) -> web.Response:
    """GET one piece of content by id (pages also by their slug)."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    state_of(request).require_read(course, user)
    kind = CONTENT_ROUTES[request.match_info["kind"]]
    ref = request.match_info["content_id"]
    for content in state.list_content(course, kind):
        if str(content.id) == ref or (kind == "page" and content.slug == ref):
            if content.published or state.can_manage(course, user):
                return json_response(state.content_json(content))
            break
    raise CanvasFailure.not_found()


def course_json(course: Course, user: User) -> dict[str, Any]:
    """Return Canvas's Course JSON, with the caller's enrolment."""
    role = course.roles.get(user.id)
    enrollments = [] if role is None else [_enrollment(user, role)]
    return {
        "id": course.id,
        "name": course.name,
        "course_code": course.name,
        "sis_course_id": course.sis_course_id,
        "uuid": course.uuid,
        "workflow_state": "available",
        "account_id": 1,
        "root_account_id": 1,
        "enrollment_term_id": 1,
        "default_view": "modules",
        "is_public": False,
        "start_at": None,
        "end_at": None,
        "created_at": course.created_at or None,
        "time_zone": "UTC",
        "enrollments": enrollments,
    }


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the course, user, progress and content routes."""
    course = "/api/v1/courses/{course_id}"
    kinds = "|".join(CONTENT_ROUTES)
    router.add_get(course, show_course, allow_head=False)
    router.add_get("/api/v1/users/self", show_self, allow_head=False)
    router.add_get("/api/v1/progress/{progress_id}", show_progress, allow_head=False)
    router.add_get(course + "/{kind:" + kinds + "}", list_content, allow_head=False)
    router.add_get(
        course + "/{kind:" + kinds + "}/{content_id}", show_content, allow_head=False
    )


def _enrollment(user: User, role: str) -> dict[str, Any]:
    kind = "TeacherEnrollment" if role == "teacher" else "StudentEnrollment"
    return {
        "type": role,
        "role": kind,
        "user_id": user.id,
        "enrollment_state": "active",
    }


def _search(found: list[Content], term: str) -> list[Content]:
    """Keep content whose title holds ``term``, as Canvas's search does."""
    if len(term) < _MIN_SEARCH:
        error = {
            "field": "search_term",
            "code": "invalid",
            "message": f"{_MIN_SEARCH} or more characters is required",
        }
        raise CanvasFailure(400, {"errors": [error]})
    needle = term.casefold()
    return [content for content in found if needle in content.title.casefold()]
