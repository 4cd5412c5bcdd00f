"""``bulkmod undo``: a run of creates, updates, moves and publishes taken back."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from canvas_read import course_structure, read_results, write_job

from bulkmod.cli import main as bulkmod_main
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig
from bulkmod.target import Target
from bulkmod.undo import PAST_THE_END, deleted_path, run_undo

TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Three courses, no throttle: these tests are about what is done."""
    return SandboxConfig(courses=3, throttle=False)


async def run(
    sandbox: Sandbox, job: Path, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Run a job on the sandbox; it must end all ok; return its outcomes."""
    write_job(job, lines)
    results = job.with_name(job.name + ".results.jsonl")
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False),
    )
    outcomes = read_results(results)
    assert status == 0, [o for o in outcomes if o["status"] != "ok"]
    return outcomes


async def snapshot(
    http: aiohttp.ClientSession, sandbox: Sandbox
) -> dict[int, list[dict[str, Any]]]:
    """Every course's modules and items, every field, as Canvas shows them."""
    return {
        course: await course_structure(http, sandbox.base_url, TOKEN, course)
        for course in (1, 2, 3)
    }


def module(name: str, **params: Any) -> dict[str, Any]:
    """A module.create in course 1, its id its name."""
    return {
        "id": name,
        "op": "module.create",
        "course": 1,
        "params": {"name": name, **params},
    }


def item(op_id: str, course: int, module_ref: str, **params: Any) -> dict[str, Any]:
    """An item.create line in an earlier line's module."""
    return {
        "id": op_id,
        "op": "item.create",
        "course": course,
        "module": f"@{module_ref}",
        "params": params,
    }


SETUP = [
    # Course 1: A published (with a requirement, an indent), B after A,
    # C unpublished with unpublished items.
    module("A", published=True),
    item(
        "a1",
        1,
        "A",
        type="Assignment",
        content={"title": "Assignment 1"},
        completion_requirement={"type": "must_view"},
    ),
    item("a2", 1, "A", type="SubHeader", title="Read"),
    item("a3", 1, "A", type="Page", content={"title": "Page 1"}),
    item(
        "a4",
        1,
        "A",
        type="ExternalUrl",
        title="Docs",
        external_url="https://example.com/docs",
        indent=1,
    ),
    module("B", prerequisite_module_ids=["@A"]),
    item("b1", 1, "B", type="Assignment", content={"title": "Assignment 2"}),
    item("b2", 1, "B", type="SubHeader", title="B head"),
    module("C", require_sequential_progress=True),
    item("c1", 1, "C", type="SubHeader", title="C1"),
    item(
        "c2",
        1,
        "C",
        type="ExternalUrl",
        title="C2",
        external_url="https://example.com/c2",
    ),
    # Course 2: D unpublished with a page, E published.
    {"id": "D", "op": "module.create", "course": 2, "params": {"name": "D"}},
    item("d1", 2, "D", type="Page", content={"title": "Page 2"}),
    item("d2", 2, "D", type="SubHeader", title="D head"),
    {
        "id": "E",
        "op": "module.create",
        "course": 2,
        "params": {"name": "E", "published": True},
    },
    item("e1", 2, "E", type="Assignment", content={"title": "Assignment 3"}),
]


async def test_undo_takes_the_run_back(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Creates, updates, moves and publishes, then their undo: Canvas as before."""
    made = {o["id"]: o["object_id"] for o in await run(sandbox, tmp_path / "s", SETUP)}
    first = await snapshot(http, sandbox)

    changes = [
        module("New", published=True),
        item("n1", 1, "New", type="SubHeader", title="New head"),
        module("Intro", position=1),
        {
            "op": "item.create",
            "course": 1,
            "module": made["A"],
            "params": {"type": "SubHeader", "title": "Top", "position": 1},
        },
        {
            "op": "module.update",
            "course": 1,
            "module": {"name": "B"},
            "params": {"name": "B renamed", "unlock_at": "2030-01-01T00:00:00Z"},
        },
        {
            "op": "module.update",
            "course": 1,
            "module": made["C"],
            "params": {"published": True},
        },
        {
            "op": "item.update",
            "course": 1,
            "module": made["A"],
            "item": {"title": "Read"},
            "params": {"title": "Read this", "indent": 2},
        },
        {
            "op": "item.update",
            "course": 1,
            "module": made["A"],
            "item": made["a3"],
            "params": {"module_id": made["B"], "position": 1},
        },
        {
            "op": "item.update",
            "course": 1,
            "module": made["B"],
            "item": made["b2"],
            "params": {"position": 1},
        },
        {"op": "module.unpublish", "course": 1, "module": made["A"]},
        {"op": "module.publish", "course": 2, "module": "*"},
        {
            "op": "module.update",
            "course": 2,
            "module": made["D"],
            "params": {"position": 2},
        },
        {"op": "module.list", "course": 3},
    ]
    outcomes = await run(sandbox, tmp_path / "c", changes)
    changed = await snapshot(http, sandbox)
    assert changed != first
    by_line = {o["line"]: o for o in outcomes if o["parent"] is None}
    cascade = by_line[6]["before"]
    assert cascade["published"] is False
    assert {(i["id"], i["published"]) for i in cascade["items"]} == {
        (made["c1"], False),
        (made["c2"], False),
    }
    # Third in A, then fourth once "Top" was inserted at 1.
    assert by_line[8]["before"] == {"module_id": made["A"], "position": 4}
    assert by_line[10]["before"]["modules"] == [{"id": made["A"], "published": True}]

    undo_job = tmp_path / "undo.jsonl"
    err = io.StringIO()
    assert run_undo(tmp_path / "c.results.jsonl", undo_job, err) == 0
    lines = [orjson.loads(raw) for raw in undo_job.read_bytes().splitlines()]
    first_create = by_line[1]["object_id"]
    assert {"op": "module.delete", "course": 1, "module": first_create} in lines
    intro = by_line[3]["object_id"]
    at = lines.index({"op": "module.delete", "course": 1, "module": intro})
    assert lines[at - 1]["params"] == {"position": PAST_THE_END}
    assert "no undo: 1 module.list" in err.getvalue()

    await run(sandbox, undo_job, lines)
    assert await snapshot(http, sandbox) == first
    assert deleted_path(undo_job).read_bytes() == b""


async def test_deletes_and_relocks_are_listed_not_undone(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A delete goes to JOB.deleted.jsonl and stderr; a relock is listed."""
    made = {o["id"]: o["object_id"] for o in await run(sandbox, tmp_path / "s", SETUP)}
    await run(
        sandbox,
        tmp_path / "c",
        [
            {
                "id": "gone",
                "op": "item.delete",
                "course": 1,
                "module": made["C"],
                "item": made["c1"],
            },
            {"id": "re", "op": "module.relock", "course": 1, "module": made["A"]},
        ],
    )
    undo_job = tmp_path / "undo.jsonl"
    err = io.StringIO()
    assert run_undo(tmp_path / "c.results.jsonl", undo_job, err) == 0

    assert undo_job.read_bytes() == b""
    deleted = [orjson.loads(raw) for raw in deleted_path(undo_job).read_bytes().split()]
    assert [(d["id"], d["object_id"]) for d in deleted] == [("gone", made["c1"])]
    text = err.getvalue()
    assert f"gone: item.delete course 1 id {made['c1']} 'C1'" in text
    assert "no undo: 1 module.relock (re)" in text


def test_a_file_that_is_not_results_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bulkmod undo of a file without a results header writes nothing, exit 2."""
    bogus = tmp_path / "x.jsonl"
    bogus.write_bytes(b'{"op": "module.list"}\n')

    assert bulkmod_main(["undo", str(bogus), "-o", str(tmp_path / "u.jsonl")]) == 2
    assert list(tmp_path.iterdir()) == [bogus]
    assert "not a bulkmod results file" in capsys.readouterr().err


def test_a_create_in_the_air_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run killed while a create was in the air: no undo until it resumes.

    A 404 refusal settles its intent; a create with no outcome does not.
    """
    results = tmp_path / "r.jsonl"
    header = {"bulkmod": {"job": "j.jsonl", "job_sha256": "0", "base_url": "x"}}
    refused = {"type": "not_found", "message": "no such module"}
    lines = [
        header,
        {"intent": "a", "line": 1, "course_id": 1, "kind": "item", "floor": 9},
        {"id": "a", "op": "item.create", "status": "failed", "error": refused},
        {"intent": "b", "line": 2, "course_id": 1, "kind": "module", "floor": 9},
    ]
    results.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))

    out = tmp_path / "u.jsonl"
    assert bulkmod_main(["undo", str(results), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1 creates or deletes were sent when the run stopped" in err
    assert "(b)" in err
    assert not out.exists()


async def test_undo_of_twice_changed_fields_and_requirements(
    sandbox: Sandbox, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A field changed twice is set back once, to its first value; a
    completion requirement the run added is removed.

    Course 2: D (unpublished, items unpublished) is published by a batch
    publish of every module, then unpublished again with its items; d2 gets
    a requirement it did not have. The undo holds one published value per
    item, and running it gives back the snapshot.
    """
    await run(sandbox, tmp_path / "setup.jsonl", SETUP)
    first = await snapshot(http, sandbox)
    changes = [
        {"op": "module.publish", "course": 2, "module": "*"},
        {
            "op": "module.update",
            "course": 2,
            "module": {"name": "E"},
            "params": {"published": False},
        },
        {
            "op": "item.update",
            "course": 2,
            "module": {"name": "D"},
            "item": {"title": "D head"},
            "params": {"completion_requirement": {"type": "must_view"}},
        },
    ]
    await run(sandbox, tmp_path / "c", changes)
    assert await snapshot(http, sandbox) != first

    undo_job = tmp_path / "undo.jsonl"
    assert run_undo(tmp_path / "c.results.jsonl", undo_job, io.StringIO()) == 0
    lines = [orjson.loads(raw) for raw in undo_job.read_bytes().splitlines()]
    published = [
        (line["item"], line["params"]["published"])
        for line in lines
        if line["op"] == "item.update" and "published" in line.get("params", {})
    ]
    assert len(published) == len({item for item, _ in published})
    assert {"completion_requirement": ""} in [line.get("params") for line in lines]

    await run(sandbox, tmp_path / "undo-run", lines)
    assert await snapshot(http, sandbox) == first
