"""What a job reads besides modules: course, caller, progress, content lists."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig

ADMIN = {"Authorization": "Bearer sandbox-token"}
TEACHER = {"Authorization": "Bearer sandbox-teacher"}
STUDENT = {"Authorization": "Bearer sandbox-student-1"}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=2, throttle=False)


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    kwargs.setdefault("headers", ADMIN)
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def test_course_by_id_and_sis_id(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """GET /courses/2 and /courses/sis_course_id:SIS-2 answer the same course."""
    root = sandbox.base_url + "/api/v1/courses/"
    status, course = await _call(http, "GET", root + "2")
    assert status == 200
    assert (course["id"], course["name"], course["sis_course_id"]) == (
        2,
        "Course 2",
        "SIS-2",
    )
    assert (await _call(http, "GET", root + "sis_course_id:SIS-2"))[1]["id"] == 2
    status, _ = await _call(http, "GET", root + "sis_course_id:SIS-9")
    assert status == 404


async def test_users_self(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """GET /users/self names the token's user: the teacher is user 2."""
    status, user = await _call(
        http, "GET", sandbox.base_url + "/api/v1/users/self", headers=TEACHER
    )
    assert (status, user["id"], user["name"]) == (200, 2, "Sandbox Teacher")


async def test_unenrolled_user_is_unauthorized(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A user in no course may not read course 1 or its assignments."""
    sandbox.state.add_user("Outsider", token="outsider")
    headers = {"Authorization": "Bearer outsider"}
    root = sandbox.base_url + "/api/v1/courses/1"
    for url in (root, root + "/assignments"):
        status, body = await _call(http, "GET", url, headers=headers)
        assert (status, body["status"]) == (401, "unauthorized")


async def test_assignment_list_and_search(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Course 1 lists its three assignments and the three behind graded work.

    search_term matches titles case-insensitively; one character is too short.
    """
    url = sandbox.base_url + "/api/v1/courses/1/assignments"
    status, found = await _call(http, "GET", url)
    assert status == 200
    assert [a["name"] for a in found] == [
        "Assignment 1",
        "Assignment 2",
        "Assignment 3",
        "Quiz 1",
        "Quiz 2",
        "Discussion 2",
    ]

    status, found = await _call(http, "GET", url, params={"search_term": "MENT 2"})
    assert [a["name"] for a in found] == ["Assignment 2"]

    status, body = await _call(http, "GET", url, params={"search_term": "a"})
    assert status == 400
    assert body["errors"][0]["field"] == "search_term"


async def test_each_content_list(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Pages, quizzes, discussions, files and tools list the seeded titles."""
    root = sandbox.base_url + "/api/v1/courses/1/"
    expected = {
        "pages": ("title", ["Page 1", "Page 2", "Page 3"]),
        "quizzes": ("title", ["Quiz 1", "Quiz 2"]),
        "discussion_topics": ("title", ["Discussion 1", "Discussion 2"]),
        "files": ("display_name", ["file-1.pdf", "file-2.pdf"]),
        "external_tools": ("name", ["Tool 1"]),
    }
    for kind, (key, titles) in expected.items():
        status, found = await _call(http, "GET", root + kind)
        assert status == 200, kind
        assert [content[key] for content in found] == titles, kind


async def test_content_lists_paginate(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Three pages at per_page 2: the first page has a next link to page 2."""
    url = sandbox.base_url + "/api/v1/courses/1/pages?per_page=2"
    async with http.get(url, headers=ADMIN) as response:
        assert len(await response.json()) == 2
        assert response.links["next"]["url"].query["page"] == "2"


async def test_students_do_not_see_unpublished_content(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """An unpublished page is listed for the teacher, not for a student."""
    state = sandbox.state
    state.add_content(state.find_course("1"), "page", "Draft", published=False)
    url = sandbox.base_url + "/api/v1/courses/1/pages"
    _, for_teacher = await _call(http, "GET", url, headers=TEACHER)
    _, for_student = await _call(http, "GET", url, headers=STUDENT)
    assert [p["title"] for p in for_teacher] == ["Page 1", "Page 2", "Page 3", "Draft"]
    assert [p["title"] for p in for_student] == ["Page 1", "Page 2", "Page 3"]


async def test_show_page_by_slug(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """GET /courses/1/pages/page-2 answers that page."""
    url = sandbox.base_url + "/api/v1/courses/1/pages/page-2"
    status, page = await _call(http, "GET", url)
    assert (status, page["title"]) == (200, "Page 2")


async def test_async_batch_progress(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """An async batch answers a Progress whose endpoint then reports completion."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    _, module = await _call(http, "POST", base, data={"module[name]": "W"})
    form = {"event": "publish", "module_ids[]": str(module["id"]), "async": "true"}
    status, body = await _call(http, "PUT", base, data=form)
    assert status == 200
    assert body["completed"] is None
    progress = body["progress"]["progress"]

    url = sandbox.base_url + f"/api/v1/progress/{progress['id']}"
    status, shown = await _call(http, "GET", url)
    assert (status, shown["workflow_state"]) == (200, "completed")
    assert shown["results"] == {"completed": [module["id"]]}
