"""The unmodified ``canvasapi`` package works against the sandbox as against Canvas.

canvasapi is synchronous, so each scenario runs in a worker thread while the
sandbox serves on the test's event loop.
"""

from __future__ import annotations

import asyncio

import pytest
from canvasapi import Canvas
from canvasapi.exceptions import ResourceDoesNotExist, Unauthorized

from bulkmod.sandbox.server import Sandbox, SandboxConfig

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=1, throttle=False)


def _round_trip(base_url: str) -> dict[str, object]:
    """Drive a module's whole life through canvasapi; return what was seen."""
    seen: dict[str, object] = {}
    canvas = Canvas(base_url, "sandbox-token")
    course = canvas.get_course(1)
    seen["course"] = course.name

    module = course.create_module({"name": "Week 1"})
    seen["created"] = (module.name, module.published)
    module = module.edit(module={"name": "Week One", "published": True})
    seen["edited"] = (module.name, module.published)

    for n in range(2, 13):
        course.create_module({"name": f"Week {n}"})
    seen["listed"] = [m.name for m in course.get_modules(per_page=5)]

    kinds = [
        {"type": "SubHeader", "title": "Intro"},
        {"type": "Assignment", "content_id": 1},
        {"type": "Page", "page_url": "page-1"},
        {"type": "ExternalUrl", "external_url": "https://x.invalid/", "title": "L"},
    ]
    made = [module.create_module_item(module_item=kind) for kind in kinds]
    seen["made"] = [(item.type, item.title) for item in made]
    seen["items"] = [item.id for item in module.get_module_items(per_page=3)]
    seen["made_ids"] = [item.id for item in made]

    student = Canvas(base_url, "sandbox-student-1").get_course(1)
    page_item = student.get_module(module.id).get_module_item(made[2].id)
    seen["complete"] = page_item.complete().message
    seen["uncomplete"] = page_item.uncomplete().message
    try:
        student.create_module({"name": "Mine"})
    except Unauthorized:
        seen["student_create"] = "unauthorized"

    seen["relocked"] = module.relock().id == module.id
    seen["item_deleted"] = made[0].delete().id
    seen["deleted"] = module.delete().id == module.id
    try:
        course.get_module(module.id)
    except ResourceDoesNotExist:
        seen["after_delete"] = "not found"
    return seen


async def test_canvasapi_round_trip(sandbox: Sandbox) -> None:
    """Get course, create, edit, publish, page through, add items, mark done,
    relock and delete, all through canvasapi."""
    seen = await asyncio.to_thread(_round_trip, sandbox.base_url)

    assert seen["course"] == "Course 1"
    assert seen["created"] == ("Week 1", False)
    assert seen["edited"] == ("Week One", True)
    assert seen["listed"] == ["Week One"] + [f"Week {n}" for n in range(2, 13)]
    # 12 modules at 5 a page: three GETs of the module list.
    assert sandbox.stats.by_route["GET /api/v1/courses/{course_id}/modules"] == 3
    assert seen["made"] == [
        ("SubHeader", "Intro"),
        ("Assignment", "Assignment 1"),
        ("Page", "Page 1"),
        ("ExternalUrl", "L"),
    ]
    assert seen["items"] == seen["made_ids"]
    assert (seen["complete"], seen["uncomplete"]) == ("OK", "OK")
    assert seen["student_create"] == "unauthorized"
    assert seen["relocked"] is True
    made_ids = seen["made_ids"]
    assert isinstance(made_ids, list)
    assert seen["item_deleted"] == made_ids[0]
    assert seen["deleted"] is True
    assert seen["after_delete"] == "not found"
