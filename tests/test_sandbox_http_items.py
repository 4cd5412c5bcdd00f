"""Item routes over HTTP: create of each kind, update, done, read, sequence."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig

ADMIN = {"Authorization": "Bearer sandbox-token"}
STUDENT = {"Authorization": "Bearer sandbox-student-1"}
OK = {"message": "OK"}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=1, throttle=False)


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> tuple[int, Any]:
    kwargs.setdefault("headers", ADMIN)
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def _module(sandbox: Sandbox, http: aiohttp.ClientSession, name: str) -> str:
    """Create a module in course 1; return its URL."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    _, created = await _call(http, "POST", base, data={"module[name]": name})
    return f"{base}/{created['id']}"


async def test_create_items_of_each_kind(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """SubHeader, Assignment, Page, File and ExternalUrl items land in order."""
    module = await _module(sandbox, http, "Week 1")
    items = module + "/items"
    forms = [
        {"module_item[type]": "SubHeader", "module_item[title]": "Read first"},
        {"module_item[type]": "Assignment", "module_item[content_id]": "2"},
        {"module_item[type]": "Page", "module_item[page_url]": "page-1"},
        {"module_item[type]": "File", "module_item[content_id]": "1"},
        {
            "module_item[type]": "ExternalUrl",
            "module_item[external_url]": "https://example.invalid/x",
            "module_item[title]": "Link",
        },
    ]
    made = []
    for form in forms:
        status, body = await _call(http, "POST", items, data=form)
        assert status == 200, body
        made.append(body)

    assert [(i["type"], i["title"], i["position"]) for i in made] == [
        ("SubHeader", "Read first", 1),
        ("Assignment", "Assignment 2", 2),
        ("Page", "Page 1", 3),
        ("File", "file-1.pdf", 4),
        ("ExternalUrl", "Link", 5),
    ]
    assert made[1]["content_id"] == 2
    assert made[2]["page_url"] == "page-1"

    status, listed = await _call(http, "GET", items)
    assert [item["id"] for item in listed] == [item["id"] for item in made]


async def test_item_errors(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Missing wrapper, missing page_url and unknown content answer {"message"}."""
    items = await _module(sandbox, http, "W") + "/items"
    assert await _call(http, "POST", items, data={}) == (
        400,
        {"message": "missing module item parameter"},
    )
    assert await _call(http, "POST", items, json={"module_item": {"type": "Page"}}) == (
        400,
        {"message": "missing page_url parameter"},
    )
    form = {"module_item[type]": "Assignment", "module_item[content_id]": "999"}
    assert await _call(http, "POST", items, data=form) == (
        400,
        {"message": "Could not find content"},
    )


async def test_update_ignores_the_path_module(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """PUT and DELETE find the item course-wide whatever module the path names."""
    first = await _module(sandbox, http, "A")
    second = await _module(sandbox, http, "B")
    form = {"module_item[type]": "SubHeader", "module_item[title]": "S"}
    _, item = await _call(http, "POST", first + "/items", data=form)

    wrong = f"{second}/items/{item['id']}"
    body = {"module_item": {"title": "Renamed", "indent": 2}}
    status, updated = await _call(http, "PUT", wrong, json=body)
    assert (status, updated["title"], updated["indent"]) == (200, "Renamed", 2)
    assert updated["module_id"] == item["module_id"]

    # Show enforces the module of the path.
    assert await _call(http, "GET", wrong) == (404, NOT_FOUND)

    status, deleted = await _call(http, "DELETE", wrong)
    assert (status, deleted["id"]) == (200, item["id"])
    assert await _call(http, "DELETE", wrong) == (404, NOT_FOUND)


async def test_student_marks_done_and_read(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A student marks a published item done, not done, and read: {"message": "OK"}."""
    module = await _module(sandbox, http, "W")
    form = {"module_item[type]": "Page", "module_item[page_url]": "page-2"}
    _, item = await _call(http, "POST", module + "/items", data=form)
    await _call(http, "PUT", module, data={"module[published]": "1"})

    url = f"{module}/items/{item['id']}"
    assert await _call(http, "PUT", url + "/done", headers=STUDENT) == (200, OK)
    assert await _call(http, "DELETE", url + "/done", headers=STUDENT) == (200, OK)
    assert await _call(http, "POST", url + "/mark_read", headers=STUDENT) == (200, OK)

    status, shown = await _call(http, "GET", url, headers=STUDENT)
    assert status == 200
    assert "published" not in shown


async def test_student_cannot_see_unpublished_module(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """An unpublished module is a 404 to a student, and missing from the list."""
    module = await _module(sandbox, http, "Hidden")
    assert await _call(http, "GET", module, headers=STUDENT) == (404, NOT_FOUND)
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    assert await _call(http, "GET", base, headers=STUDENT) == (200, [])


async def test_item_sequence(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """The sequence of the middle of three items links its neighbours."""
    module = await _module(sandbox, http, "W")
    ids = []
    for slug in ("page-1", "page-2", "page-3"):
        form = {"module_item[type]": "Page", "module_item[page_url]": slug}
        _, item = await _call(http, "POST", module + "/items", data=form)
        ids.append(item["id"])

    url = sandbox.base_url + "/api/v1/courses/1/module_item_sequence"
    query = {"asset_type": "ModuleItem", "asset_id": str(ids[1])}
    status, body = await _call(http, "GET", url, params=query)
    assert status == 200
    [node] = body["items"]
    assert (node["prev"]["id"], node["current"]["id"], node["next"]["id"]) == (
        ids[0],
        ids[1],
        ids[2],
    )
    status, body = await _call(http, "GET", url, params={"asset_type": "Nope"})
    assert (status, body) == (400, {"message": "invalid asset_type"})


async def test_content_details_include(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """include[]=content_details adds the assignment's points to its item."""
    module = await _module(sandbox, http, "W")
    form = {"module_item[type]": "Assignment", "module_item[content_id]": "1"}
    await _call(http, "POST", module + "/items", data=form)
    status, listed = await _call(
        http, "GET", module + "/items", params={"include[]": "content_details"}
    )
    assert status == 200
    assert listed[0]["content_details"]["points_possible"] == 10.0


async def test_bad_completion_requirement_is_a_model_error(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """An unknown requirement type answers the model errors hash under its name."""
    items = await _module(sandbox, http, "W") + "/items"
    form = {
        "module_item[type]": "SubHeader",
        "module_item[title]": "S",
        "module_item[completion_requirement][type]": "must_dance",
    }
    status, body = await _call(http, "POST", items, data=form)
    assert status == 400
    message = "Invalid completion requirement type"
    assert body == {
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


async def test_student_id_shows_progression(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """student_id adds state to modules; a teacher's id is not a student's."""
    module = await _module(sandbox, http, "W")
    await _call(http, "PUT", module, data={"module[published]": "true"})
    base = sandbox.base_url + "/api/v1/courses/1/modules"

    status, listed = await _call(http, "GET", base, params={"student_id": "3"})
    assert status == 200
    assert "state" in listed[0]

    status, body = await _call(http, "GET", base, params={"student_id": "2"})
    assert (status, body["status"]) == (401, "unauthorized")


async def test_search_with_items_filters_after_paging(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """With include[]=items, a module is kept for a matching item, with only it."""
    alpha = await _module(sandbox, http, "Alpha")
    await _module(sandbox, http, "Gamma")
    for title in ("x1", "Beta note"):
        form = {"module_item[type]": "SubHeader", "module_item[title]": title}
        await _call(http, "POST", alpha + "/items", data=form)

    base = sandbox.base_url + "/api/v1/courses/1/modules"
    query = {"include[]": "items", "search_term": "beta"}
    status, listed = await _call(http, "GET", base, params=query)
    assert status == 200
    assert [(m["name"], [i["title"] for i in m["items"]]) for m in listed] == [
        ("Alpha", ["Beta note"])
    ]
