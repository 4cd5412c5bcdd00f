"""Module routes over HTTP: parameters in any encoding, answers and errors."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig

ADMIN = {"Authorization": "Bearer sandbox-token"}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=2, throttle=False)


async def _call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    kwargs.setdefault("headers", ADMIN)
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json()


async def test_create_with_form_and_with_json(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """module[name] as a form field and {"module": {...}} as JSON both create."""
    url = sandbox.base_url + "/api/v1/courses/1/modules"
    status, first = await _call(http, "POST", url, data={"module[name]": "Week 1"})
    assert status == 200
    assert first["name"] == "Week 1"
    assert first["position"] == 1
    assert first["published"] is False
    assert "workflow_state" not in first
    assert first["items_url"] == f"{url}/{first['id']}/items"

    body = {"module": {"name": "Week 2", "published": True}}
    status, second = await _call(http, "POST", url, json=body)
    assert status == 200
    assert (second["name"], second["position"]) == ("Week 2", 2)
    # Canvas ignores published on create.
    assert second["published"] is False


async def test_course_by_sis_id(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """The course may be named by sis_course_id:SIS-<id> in the path."""
    url = sandbox.base_url + "/api/v1/courses/sis_course_id:SIS-2/modules"
    status, created = await _call(http, "POST", url, data={"module[name]": "A"})
    assert status == 200
    assert f"/courses/2/modules/{created['id']}/items" in created["items_url"]


async def test_update_publish_show_delete(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Update publishes, show reads it back, delete answers it, a second delete 404s."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    _, created = await _call(http, "POST", base, data={"module[name]": "W"})
    url = f"{base}/{created['id']}"

    form = {"module[published]": "true", "module[name]": "Week"}
    status, updated = await _call(http, "PUT", url, data=form)
    assert status == 200
    assert (updated["name"], updated["published"]) == ("Week", True)
    assert updated["publish_warning"] is False

    status, shown = await _call(http, "GET", url)
    assert (status, shown["name"], shown["published"]) == (200, "Week", True)

    status, deleted = await _call(http, "DELETE", url)
    assert (status, deleted["id"], deleted["published"]) == (200, created["id"], False)
    assert await _call(http, "DELETE", url) == (404, NOT_FOUND)
    assert await _call(http, "GET", url) == (404, NOT_FOUND)


async def test_relock(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """PUT .../relock answers the module's JSON."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    _, created = await _call(http, "POST", base, data={"module[name]": "W"})
    status, relocked = await _call(http, "PUT", f"{base}/{created['id']}/relock")
    assert (status, relocked["id"]) == (200, created["id"])


async def test_batch_publish(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """PUT modules with event=publish answers completed ids in position order."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    ids = []
    for name in ("A", "B"):
        _, created = await _call(http, "POST", base, data={"module[name]": name})
        ids.append(created["id"])

    form = [("event", "publish"), ("module_ids[]", str(ids[1]))]
    form += [("module_ids[]", str(ids[0]))]
    status, body = await _call(http, "PUT", base, data=form)
    assert (status, body) == (200, {"completed": ids, "progress": None})

    status, listed = await _call(http, "GET", base)
    assert [module["published"] for module in listed] == [True, True]


async def test_bad_requests(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Hand-written guards answer 400 {"message": ...}; batch with nothing 404."""
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    assert await _call(http, "POST", base, data={}) == (
        400,
        {"message": "missing module parameter"},
    )
    assert await _call(http, "POST", base, data={"module[position]": "1"}) == (
        400,
        {"message": "missing module name"},
    )
    assert await _call(http, "PUT", base, data={"event": "burn"}) == (
        400,
        {"message": "invalid event"},
    )
    form = {"event": "delete", "module_ids[]": "999"}
    assert await _call(http, "PUT", base, data=form) == (
        404,
        {"message": "no modules found"},
    )


async def test_not_found(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """Unknown course, non-numeric module and unknown route all answer 404."""
    root = sandbox.base_url + "/api/v1"
    assert await _call(http, "GET", root + "/courses/99/modules") == (404, NOT_FOUND)
    assert await _call(http, "GET", root + "/courses/abc/modules") == (404, NOT_FOUND)
    assert await _call(http, "GET", root + "/courses/1/modules/x") == (404, NOT_FOUND)
    assert await _call(http, "GET", root + "/nothing/here") == (404, NOT_FOUND)


async def test_bad_json_body(sandbox: Sandbox, http: aiohttp.ClientSession) -> None:
    """A JSON body that does not parse is a 400, not a crash."""
    url = sandbox.base_url + "/api/v1/courses/1/modules"
    headers = {**ADMIN, "Content-Type": "application/json"}
    status, body = await _call(http, "POST", url, data=b"{nope", headers=headers)
    assert status == 400
    assert set(body) == {"message"}


async def test_unhandled_error_is_500(
    sandbox: Sandbox, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception answers Canvas's 500 body with an error report id."""

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sandbox.state, "list_modules", explode)
    url = sandbox.base_url + "/api/v1/courses/1/modules"
    status, body = await _call(http, "GET", url)
    assert status == 500
    assert body == {
        "errors": [
            {"message": "An error occurred.", "error_code": "internal_server_error"}
        ],
        "error_report_id": 1,
    }
    assert sandbox.stats.errors == 1
