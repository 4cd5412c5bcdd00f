"""Term start end to end: a real course export built in many course shells.

For each course export in ``tests/data/course-exports``, a sandbox is seeded
with courses holding the export's content, ``bulkmod from-export`` writes the
job for them, the job is run, and every course is read back over the API and
compared, field by field, with the export. The expectation is worked out here
from the export and Canvas's rules, never from the job: a mistake in the job
shows up as a difference.
"""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from canvas_read import course_structure, get_all, read_results

from bulkmod.cli import main as bulkmod_main
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.export.reader import CourseExport, ExportItem, read_export
from bulkmod.job.validate import check_job
from bulkmod.sandbox.server import Sandbox, SandboxConfig, serve_sandbox
from bulkmod.target import Target

TOKEN = "sandbox-token"
EXPORTS = Path(__file__).parent / "data" / "course-exports"
EXPORT_NAMES = (
    "course-template-helium",
    "earth-processes-spcs302",
    "web-multimedia-cis300",
)

#: Item type -> the course's list of that content, and the field holding its
#: title (Canvas names it differently per kind).
CONTENT_LISTS = {
    "Assignment": ("assignments", "name"),
    "Quiz": ("quizzes", "title"),
    "Discussion": ("discussion_topics", "title"),
    "File": ("files", "display_name"),
    "Page": ("pages", "title"),
    "ExternalTool": ("external_tools", "name"),
}

#: The only item types whose ``new_tab`` and ``external_url`` Canvas shows.
EXTERNAL_TYPES = ("ExternalUrl", "ExternalTool")

META = "course_settings/module_meta.xml"

WRITES = ("POST", "PUT", "DELETE")

Structure = list[dict[str, Any]]


# --- what the export says the course should hold --------------------------


def expected_structure(export: CourseExport) -> Structure:
    """The modules and items a course should show after the job, in order."""
    names = {module.identifier: module.title for module in export.modules}
    seen: set[str] = set()
    modules: Structure = []
    for module in export.modules:
        # Canvas keeps only prerequisites that come before the module.
        prerequisites = [names[i] for i in module.prerequisites if i in seen]
        seen.add(module.identifier)
        modules.append(
            {
                "name": module.title,
                "require_sequential_progress": module.require_sequential_progress,
                "unlock_at": _export_time(module.unlock_at),
                "prerequisites": prerequisites,
                "published": module.workflow_state == "active",
                "items": [_expected_item(item) for item in module.items],
            }
        )
    return modules


def _expected_item(item: ExportItem) -> dict[str, Any]:
    external = item.type in EXTERNAL_TYPES
    requirement = None
    if item.completion_requirement is not None:
        requirement = dict(item.completion_requirement)
    content = None
    if item.type in CONTENT_LISTS:
        content = item.content_title
    return {
        "type": item.type,
        "title": item.title,
        "indent": item.indent,
        "new_tab": item.new_tab if external else None,
        "external_url": item.url if external else None,
        "page_url": item.page_slug if item.type == "Page" else None,
        "content": content,
        "completion_requirement": requirement,
        "published": item.workflow_state == "active",
    }


def _export_time(text: str | None) -> datetime | None:
    # Export dates are UTC written without a zone.
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def without_content(structure: Structure) -> Structure:
    """The structure with every item that points at content left out."""
    return [
        {**module, "items": [i for i in module["items"] if i["content"] is None]}
        for module in structure
    ]


# --- what the course holds, read over the API -----------------------------


async def read_course(
    http: aiohttp.ClientSession, sandbox: Sandbox, course: int
) -> dict[str, Any]:
    """Everything the comparison needs, as Canvas answers it (a snapshot)."""
    snapshot: dict[str, Any] = {
        "modules": await course_structure(http, sandbox.base_url, TOKEN, course)
    }
    for endpoint, _ in CONTENT_LISTS.values():
        snapshot[endpoint] = await get_all(
            http, sandbox.base_url, TOKEN, f"/courses/{course}/{endpoint}"
        )
    return snapshot


def actual_structure(snapshot: dict[str, Any]) -> Structure:
    """The snapshot in the expectation's terms: names, titles, no ids."""
    titles: dict[str, dict[Any, str]] = {}
    for kind, (endpoint, title_field) in CONTENT_LISTS.items():
        key = "url" if kind == "Page" else "id"
        titles[kind] = {c[key]: c[title_field] for c in snapshot[endpoint]}

    module_names = {module["id"]: module["name"] for module in snapshot["modules"]}
    modules: Structure = []
    for module in snapshot["modules"]:
        unlock_at = module["unlock_at"]
        modules.append(
            {
                "name": module["name"],
                "require_sequential_progress": module["require_sequential_progress"],
                "unlock_at": None if unlock_at is None else _api_time(unlock_at),
                "prerequisites": [
                    module_names[i] for i in module["prerequisite_module_ids"]
                ],
                "published": module["published"],
                "items": [_actual_item(item, titles) for item in module["items"]],
            }
        )
    return modules


def _actual_item(item: dict[str, Any], titles: dict[str, dict[Any, str]]) -> Any:
    kind = item["type"]
    content = None
    if kind == "Page":
        content = titles["Page"].get(item["page_url"], "<no such page>")
    elif kind in CONTENT_LISTS:
        content = titles[kind].get(item["content_id"], "<no such content>")
    requirement = item.get("completion_requirement")
    if requirement is not None:
        requirement = {k: v for k, v in requirement.items() if k != "completed"}
    return {
        "type": kind,
        "title": item["title"],
        "indent": item["indent"],
        "new_tab": item.get("new_tab"),
        "external_url": item.get("external_url"),
        "page_url": item.get("page_url"),
        "content": content,
        "completion_requirement": requirement,
        "published": item["published"],
    }


def _api_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def positions_run_from_one(snapshot: dict[str, Any]) -> bool:
    """Modules, and the items of each, sit at positions 1..n without gaps."""
    modules = snapshot["modules"]
    if [m["position"] for m in modules] != list(range(1, len(modules) + 1)):
        return False
    return all(
        [i["position"] for i in m["items"]] == list(range(1, len(m["items"]) + 1))
        for m in modules
    )


# --- running --------------------------------------------------------------


def write_term_start_job(export: Path, courses: str, job: Path) -> Path:
    """Write the job with the command a user types: ``bulkmod from-export``."""
    status = bulkmod_main(
        ["from-export", str(export), "--courses", courses, "-o", str(job)]
    )
    assert status == 0
    return job


async def run(sandbox: Sandbox, job: Path) -> tuple[int, list[dict[str, Any]]]:
    """Run ``job`` (resuming its results file); return status and outcomes."""
    results = job.with_name(job.name + ".results.jsonl")
    status = await run_job(
        check_job(job),
        Target(sandbox.base_url, TOKEN),
        RunSettings(results=results, show_progress=False),
    )
    return status, read_results(results)


def writes(sandbox: Sandbox) -> Counter[str]:
    """Requests the sandbox received that could change something."""
    by_method = sandbox.stats.by_method
    return Counter({method: by_method[method] for method in WRITES})


async def build_and_check(
    export_path: Path,
    courses: int,
    tmp_path: Path,
    http: aiohttp.ClientSession,
    *,
    expected_from: Path | None = None,
) -> list[dict[str, Any]]:
    """Seed, generate, run, compare every course, then run again and compare.

    The expectation is read from ``expected_from`` (default: the export
    itself). Return each course's snapshot, as read after the run.
    """
    expected = expected_structure(read_export(expected_from or export_path))
    config = SandboxConfig(courses=courses, seed_export=export_path, throttle=False)
    job = write_term_start_job(export_path, f"1-{courses}", tmp_path / "term.jsonl")

    async with serve_sandbox(config) as sandbox:
        status, outcomes = await run(sandbox, job)
        failed = [o for o in outcomes if o["status"] != "ok"]
        assert (status, failed[:3]) == (0, [])

        before = [await read_course(http, sandbox, c) for c in range(1, courses + 1)]
        for course, snapshot in enumerate(before, start=1):
            assert actual_structure(snapshot) == expected, f"course {course}"
            assert positions_run_from_one(snapshot), f"course {course}"

        sent = writes(sandbox)
        again, _ = await run(sandbox, job)
        assert again == 0
        assert writes(sandbox) == sent
        after = [await read_course(http, sandbox, c) for c in range(1, courses + 1)]
        assert after == before
    return after


# --- the tests ------------------------------------------------------------


@pytest.mark.parametrize("name", EXPORT_NAMES)
async def test_export_built_in_fifty_courses(
    name: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """All 50 courses match the export; running the job again changes nothing."""
    await build_and_check(EXPORTS / name, 50, tmp_path, http)


@pytest.mark.parametrize("name", EXPORT_NAMES)
async def test_imscc_export_built_alike(
    name: str, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The export zipped as .imscc builds what the folder says, and resumes."""
    archive = tmp_path / f"{name}.imscc"
    folder = EXPORTS / name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())

    await build_and_check(archive, 3, tmp_path, http, expected_from=folder)


async def test_missing_content_fails_alone(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Items whose content the course lacks fail not_found; the rest is built."""
    export_path = EXPORTS / "web-multimedia-cis300"
    export = read_export(export_path)
    job = write_term_start_job(export_path, "1-2", tmp_path / "term.jsonl")
    looked_for = {
        f"c{course}-m{n}-i{k}": item
        for course in (1, 2)
        for n, module in enumerate(export.modules, start=1)
        for k, item in enumerate(module.items, start=1)
        if item.type in CONTENT_LISTS
    }

    async with serve_sandbox(SandboxConfig(courses=2, throttle=False)) as sandbox:
        status, outcomes = await run(sandbox, job)

        assert status == 1
        failed = {o["id"]: o for o in outcomes if o["status"] != "ok"}
        assert failed.keys() == looked_for.keys()
        for op_id, outcome in failed.items():
            item = looked_for[op_id]
            assert outcome["status"] == "failed", op_id
            assert outcome["error"]["type"] == "not_found", outcome
            message = outcome["error"]["message"]
            assert item.type in message, message
            assert str(item.content_title) in message, message

        expected = without_content(expected_structure(export))
        for course in (1, 2):
            snapshot = await read_course(http, sandbox, course)
            assert actual_structure(snapshot) == expected, f"course {course}"


def edited_copy(name: str, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of an export whose module_meta.xml has ``old`` once, made ``new``."""
    copy = tmp_path / name
    shutil.copytree(EXPORTS / name, copy)
    meta = copy / META
    text = meta.read_text(encoding="utf-8")
    assert text.count(old) == 1
    meta.write_text(text.replace(old, new), encoding="utf-8")
    return copy


async def test_renamed_file_item_finds_its_file(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A File item renamed in the source course still points at its file by name."""
    export = edited_copy(
        "web-multimedia-cis300",
        tmp_path,
        "<title>Layout.mp4</title>",
        "<title>Watch: page layout</title>",
    )

    [snapshot] = await build_and_check(export, 1, tmp_path, http)

    items = [i for m in snapshot["modules"] for i in m["items"]]
    [item] = [i for i in items if i["title"] == "Watch: page layout"]
    names = {f["id"]: f["display_name"] for f in snapshot["files"]}
    assert (item["type"], names[item["content_id"]]) == ("File", "Layout.mp4")


async def test_scoring_requirement_on_a_discussion_is_kept(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A min_score requirement on a discussion holds: its discussion is graded."""
    export = edited_copy(
        "earth-processes-spcs302",
        tmp_path,
        '<completionRequirement type="must_contribute">\n'
        "        <identifierref>g7c7f84772bf973e6c7e164b733d1422f</identifierref>",
        '<completionRequirement type="min_score">\n'
        "        <min_score>7.5</min_score>\n"
        "        <identifierref>g7c7f84772bf973e6c7e164b733d1422f</identifierref>",
    )
    discussion = read_export(export).modules[1].items[3]
    assert (discussion.type, discussion.completion_requirement) == (
        "Discussion",
        {"type": "min_score", "min_score": 7.5},
    )

    await build_and_check(export, 1, tmp_path, http)
