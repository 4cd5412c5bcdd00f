"""Course shells that are not empty: --existing warn, adopt, skip, duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, read_results, write_job

from bulkmod.engine.existing import differences
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target

TOKEN = "sandbox-token"
CREATE = "POST /api/v1/courses/{course_id}/modules"
LIST = "GET /api/v1/courses/{course_id}/modules"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Two courses, no throttle."""
    return SandboxConfig(courses=2, throttle=False)


async def run(
    sandbox: Sandbox, job: Path, lines: list[dict[str, Any]], **settings: Any
) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run a job; answer the exit status and the outcomes by id."""
    write_job(job, lines)
    results = job.with_name(job.name + ".results.jsonl")
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False, **settings),
    )
    return status, {o["id"]: o for o in read_results(results)}


async def shell(sandbox: Sandbox, tmp_path: Path) -> int:
    """Course 1 already holds "Week 1"; answer its id."""
    status, got = await run(
        sandbox,
        tmp_path / "setup.jsonl",
        [{"id": "w", "op": "module.create", "course": 1, "params": {"name": "Week 1"}}],
    )
    assert status == 0
    return int(got["w"]["object_id"])


TERM = [
    {
        "id": "w1",
        "op": "module.create",
        "course": 1,
        "params": {"name": "Week 1", "unlock_at": "2030-01-06T08:00:00Z"},
    },
    {
        "id": "h",
        "op": "item.create",
        "course": 1,
        "module": "@w1",
        "params": {"type": "SubHeader", "title": "Start here"},
    },
    {"id": "w2", "op": "module.create", "course": 1, "params": {"name": "Week 2"}},
]


async def names(http: aiohttp.ClientSession, sandbox: Sandbox) -> list[Any]:
    """Course 1's modules: name and item titles."""
    modules = await course_structure(http, sandbox.base_url, TOKEN, 1)
    return [(m["name"], [i["title"] for i in m["items"]]) for m in modules]


async def test_warn_creates_and_names_the_existing_module(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Default: a second "Week 1" is made; the result names the first one."""
    old = await shell(sandbox, tmp_path)
    listed = sandbox.stats.by_route[LIST]
    status, got = await run(sandbox, tmp_path / "job.jsonl", TERM)

    assert status == 0
    assert got["w1"]["existing"] == [old]
    assert got["w1"]["object_id"] != old
    assert "existing" not in got["w2"]
    # One listing for the course, before its first create; none per create.
    assert sandbox.stats.by_route[LIST] - listed == 1
    assert await names(http, sandbox) == [
        ("Week 1", []),
        ("Week 1", ["Start here"]),
        ("Week 2", []),
    ]


async def test_adopt_takes_the_existing_module(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """adopt: no create; the existing id feeds @w1; differing params are named."""
    old = await shell(sandbox, tmp_path)
    before = sandbox.stats.by_route[CREATE]
    status, got = await run(sandbox, tmp_path / "job.jsonl", TERM, existing="adopt")

    assert status == 0
    assert got["w1"]["adopted_existing"] is True
    assert got["w1"]["object_id"] == old
    assert got["w1"]["differs"] == {
        "unlock_at": {"job": "2030-01-06T08:00:00Z", "canvas": None}
    }
    assert sandbox.stats.by_route[CREATE] - before == 1
    assert await names(http, sandbox) == [("Week 1", ["Start here"]), ("Week 2", [])]


async def test_skip_records_a_conflict_and_skips_dependents(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """skip: w1 skipped (conflict, naming the module), h skipped with it."""
    old = await shell(sandbox, tmp_path)
    status, got = await run(sandbox, tmp_path / "job.jsonl", TERM, existing="skip")

    assert status == 1
    assert got["w1"]["status"] == "skipped"
    assert got["w1"]["error"]["type"] == "conflict"
    assert f"'Week 1' (id {old})" in got["w1"]["error"]["message"]
    assert got["h"]["status"] == "skipped"
    assert got["h"]["error"]["type"] == "dependency_failed"
    assert got["w2"]["status"] == "ok"
    assert await names(http, sandbox) == [("Week 1", []), ("Week 2", [])]


async def test_duplicate_creates_silently(sandbox: Sandbox, tmp_path: Path) -> None:
    """duplicate: created, and the result says nothing of the other."""
    await shell(sandbox, tmp_path)
    status, got = await run(sandbox, tmp_path / "job.jsonl", TERM, existing="duplicate")
    assert status == 0
    assert "existing" not in got["w1"] and "adopted_existing" not in got["w1"]


async def test_names_this_run_made_or_renamed_away_do_not_count(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A name this run made, or freed by a rename first, is not "existing"."""
    await shell(sandbox, tmp_path)
    lines = [
        {"id": "a", "op": "module.create", "course": 1, "params": {"name": "A"}},
        {"id": "a2", "op": "module.create", "course": 1, "params": {"name": "A"}},
        {
            "id": "ren",
            "op": "module.update",
            "course": 1,
            "module": {"name": "Week 1"},
            "params": {"name": "Old week 1"},
        },
        {"id": "w", "op": "module.create", "course": 1, "params": {"name": "Week 1"}},
        {"id": "other", "op": "module.create", "course": 2, "params": {"name": "A"}},
    ]
    status, got = await run(sandbox, tmp_path / "job.jsonl", lines, existing="skip")

    assert status == 0
    assert all(outcome["status"] == "ok" for outcome in got.values())


def test_differences_compare_as_canvas_shows() -> None:
    """Equal values, ids as text and booleans match; others are named."""
    module = {
        "name": "W",
        "position": 2,
        "prerequisite_module_ids": [4, 5],
        "published": False,
    }
    asked = {
        "name": "W",
        "position": "2",
        "prerequisite_module_ids": ["5", "4"],
        "published": True,
    }
    assert differences(asked, module) == {"published": {"job": True, "canvas": False}}


ITEM_CREATE = "POST /api/v1/courses/{course_id}/modules/{module_id}/items"


async def shell_with_items(sandbox: Sandbox, tmp_path: Path) -> dict[str, int]:
    """Course 1 holds "Week 1" with a sub-header and a link; answer their ids."""
    lines = [
        {"id": "w", "op": "module.create", "course": 1, "params": {"name": "Week 1"}},
        {
            "id": "h",
            "op": "item.create",
            "course": 1,
            "module": "@w",
            "params": {"type": "SubHeader", "title": "Start here"},
        },
        {
            "id": "u",
            "op": "item.create",
            "course": 1,
            "module": "@w",
            "params": {
                "type": "ExternalUrl",
                "title": "Syllabus",
                "external_url": "https://example.invalid/syllabus",
            },
        },
    ]
    status, got = await run(sandbox, tmp_path / "setup.jsonl", lines)
    assert status == 0
    return {key: int(got[key]["object_id"]) for key in ("w", "h", "u")}


def item(op_id: str, module: Any, **params: Any) -> dict[str, Any]:
    """An item.create line in course 1."""
    return {
        "id": op_id,
        "op": "item.create",
        "course": 1,
        "module": module,
        "params": params,
    }


async def test_adopt_takes_the_items_of_an_adopted_module(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """adopt: the module and its "Start here" are taken; nothing is doubled.

    A link of another URL is not the same item and is created; the indent the
    job asks of "Start here" is named, not changed.
    """
    old = await shell_with_items(sandbox, tmp_path)
    before = sandbox.stats.by_route[ITEM_CREATE]
    lines = [
        {"id": "w1", "op": "module.create", "course": 1, "params": {"name": "Week 1"}},
        item("h", "@w1", type="SubHeader", title="Start here", indent=1),
        item(
            "u",
            "@w1",
            type="ExternalUrl",
            title="Syllabus",
            external_url="https://example.invalid/other",
        ),
    ]
    status, got = await run(sandbox, tmp_path / "job.jsonl", lines, existing="adopt")

    assert status == 0
    assert got["w1"]["object_id"] == old["w"]
    assert got["h"]["adopted_existing"] is True
    assert got["h"]["object_id"] == old["h"]
    assert got["h"]["differs"] == {"indent": {"job": 1, "canvas": 0}}
    assert "adopted_existing" not in got["u"]
    assert sandbox.stats.by_route[ITEM_CREATE] - before == 1
    assert await names(http, sandbox) == [
        ("Week 1", ["Start here", "Syllabus", "Syllabus"])
    ]


async def test_adopt_takes_each_existing_item_once(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Two creates of one title, one there: the first adopts, the second makes."""
    old = await shell_with_items(sandbox, tmp_path)
    lines = [
        item("a", old["w"], type="SubHeader", title="Start here"),
        item("b", old["w"], type="SubHeader", title="Start here"),
    ]
    status, got = await run(sandbox, tmp_path / "job.jsonl", lines, existing="adopt")

    assert status == 0
    assert got["a"]["object_id"] == old["h"]
    assert got["b"]["object_id"] > old["u"]
    assert await names(http, sandbox) == [
        ("Week 1", ["Start here", "Syllabus", "Start here"])
    ]


async def test_skip_and_warn_for_an_item_already_there(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """skip records a conflict naming the item; warn creates and names it."""
    old = await shell_with_items(sandbox, tmp_path)
    line = item("a", old["w"], type="SubHeader", title="Start here")

    status, got = await run(sandbox, tmp_path / "skip.jsonl", [line], existing="skip")
    assert status == 1
    assert got["a"]["status"] == "skipped"
    assert got["a"]["error"]["type"] == "conflict"
    assert f"'Start here' (id {old['h']})" in got["a"]["error"]["message"]

    status, got = await run(sandbox, tmp_path / "warn.jsonl", [line])
    assert status == 0
    assert got["a"]["existing"] == [old["h"]]
    assert got["a"]["object_id"] > old["u"]


async def test_an_item_this_run_deleted_is_not_adopted(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Deleted first, then made again: the create makes a new one."""
    old = await shell_with_items(sandbox, tmp_path)
    lines = [
        item(
            "first",
            old["w"],
            type="ExternalUrl",
            title="Syllabus",
            external_url="https://example.invalid/syllabus",
        ),
        {
            "id": "del",
            "op": "item.delete",
            "course": 1,
            "module": old["w"],
            "item": old["h"],
        },
        item("again", old["w"], type="SubHeader", title="Start here"),
    ]
    status, got = await run(sandbox, tmp_path / "job.jsonl", lines, existing="adopt")

    assert status == 0
    assert got["first"]["object_id"] == old["u"]
    assert "adopted_existing" not in got["again"]
    assert got["again"]["object_id"] > old["u"]


async def test_adopt_takes_each_existing_module_once(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Two creates of "Week 1" on a shell with one: the first adopts, one new."""
    existing = await shell(sandbox, tmp_path)
    status, got = await run(
        sandbox,
        tmp_path / "job.jsonl",
        [
            {
                "id": "x1",
                "op": "module.create",
                "course": 1,
                "params": {"name": "Week 1"},
            },
            {
                "id": "x2",
                "op": "module.create",
                "course": 1,
                "params": {"name": "Week 1"},
            },
            {
                "id": "i2",
                "op": "item.create",
                "course": 1,
                "module": "@x2",
                "params": {"type": "SubHeader", "title": "Second"},
            },
        ],
        existing="adopt",
    )
    assert status == 0
    assert got["x1"]["object_id"] == existing
    assert got["x1"]["adopted_existing"] is True
    assert got["x2"]["object_id"] != existing
    assert not got["x2"].get("adopted_existing")
    assert await names(http, sandbox) == [("Week 1", []), ("Week 1", ["Second"])]
