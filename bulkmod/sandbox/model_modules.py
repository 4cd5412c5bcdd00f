"""Module actions: list, show, create, update, delete, relock, batch update.

Canvas's order of checks is kept: the record lookup (404) comes before the
permission check for update, delete and relock, after it for create and
batch update; then the parameter guards.
"""

from __future__ import annotations

import re
from typing import Any

from bulkmod import rules
from bulkmod.sandbox import model_publish
from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_json import module_json, progress_json
from bulkmod.sandbox.model_objects import Course, Module, Progress, User
from bulkmod.sandbox.model_store import Store, iso, parse_time

#: The shortest ``search_term`` Canvas accepts.
MIN_SEARCH_TERM = 2

_BATCH_EVENTS = ("publish", "unpublish", "delete")
_LEADING_DIGITS = re.compile(r"\d+")


def check_search_term(term: str | None) -> str | None:
    """The search term to apply, None when blank; 400 when too short."""
    if term is None or not term.strip():
        return None
    if len(term) < MIN_SEARCH_TERM:
        message = f"{MIN_SEARCH_TERM} or more characters is required"
        error = {"field": "search_term", "code": "invalid", "message": message}
        raise CanvasFailure(400, {"errors": [error]})
    return term


def internal_error() -> CanvasFailure:
    """Canvas's answer to an unhandled exception."""
    error = {"message": "An error occurred.", "error_code": "internal_server_error"}
    return CanvasFailure(500, {"errors": [error], "error_report_id": 1})


def list_modules(
    store: Store,
    course: Course,
    viewer: User,
    *,
    search_term: str | None,
    include_items: bool,
    student: User | None,
) -> list[Module]:
    """Modules shown to the viewer; the name filter applies without items."""
    store.require_read(course, viewer)
    term = check_search_term(search_term)
    modules = store.visible_modules(course, student or viewer)
    if term is not None and not include_items:
        needle = term.lower()
        modules = [m for m in modules if needle in m.name.lower()]
    return modules


def searched_module_json(
    store: Store,
    module: Module,
    viewer: User,
    search_term: str,
    *,
    include_content_details: bool = False,
    student: User | None = None,
) -> dict[str, Any] | None:
    """Module JSON under ``include[]=items`` and a search, or None to drop it.

    A module whose name matches keeps all its items; otherwise only items
    whose title matches are kept, and a module with none is dropped.
    """
    needle = search_term.lower()
    items = None
    if needle not in module.name.lower():
        visible = store.visible_items(module, student or viewer)
        items = [item for item in visible if needle in item.title.lower()]
        if not items:
            return None
    return module_json(
        store,
        module,
        viewer,
        include_items=True,
        include_content_details=include_content_details,
        student=student,
        items=items,
    )


def create_module(
    store: Store, course: Course, viewer: User, params: dict[str, Any] | None
) -> Module:
    """Create an unpublished module at the bottom, then move it if asked."""
    store.require_manage(course, viewer)
    if not isinstance(params, dict):
        raise CanvasFailure.bad_request("missing module parameter")
    if rules.is_blank(params.get("name")):
        raise CanvasFailure.bad_request("missing module name")

    now = store.now()
    module = Module(
        id=store.next_id("modules"),
        course_id=course.id,
        name=str(params["name"]),
        position=rules.next_position(store.module_positions(course).values()),
        created_at=now,
        updated_at=now,
    )
    _apply_attributes(module, params)
    if "prerequisite_module_ids" in params:
        ids = params["prerequisite_module_ids"]
        if not isinstance(ids, list):
            # Canvas calls .map on the value and fails with a 500.
            raise internal_error()
        module.prerequisites = _existing_modules(store, course, ids)
    course.modules[module.id] = module
    store.modules[module.id] = module
    _validate_prerequisites(store, course, module)
    _set_position(store, course, module, params)
    return module


def update_module(
    store: Store, course: Course, viewer: User, module_id: str, params: Any
) -> dict[str, Any]:
    """Update a module; publishing cascades to its items unless skipped."""
    module = store.live_module(course, module_id)
    store.require_manage(course, viewer)
    if not isinstance(params, dict):
        raise CanvasFailure.bad_request("missing module parameter")

    now = store.now()
    was_published = module.published
    old_prerequisites = list(module.prerequisites)
    old_unlock_at = module.unlock_at
    warnings: list[dict[str, Any]] = []
    unpublish_warning = False
    if "published" in params:
        skip = rules.to_bool(params.get("skip_content_tags"))
        if rules.to_bool(params["published"]):
            model_publish.publish_module(module, now, skip_content_tags=skip)
            if not skip:
                warnings = model_publish.publish_warnings(module)
        else:
            model_publish.unpublish_module(module, now, skip_content_tags=skip)
            if not skip:
                unpublish_warning = any(i.published for i in module.live_items())

    if "name" in params:
        module.name = "" if params["name"] is None else str(params["name"])
    _apply_attributes(module, params)
    if "prerequisite_module_ids" in params:
        ids = params["prerequisite_module_ids"]
        if rules.is_blank(ids):
            module.prerequisites = []
        elif not isinstance(ids, list):
            raise internal_error()
        else:
            module.prerequisites = _existing_modules(store, course, ids)
    module.updated_at = now
    _validate_prerequisites(store, course, module)
    _set_position(store, course, module, params)

    body = module_json(store, module, viewer)
    if _relock_warning(course, module, was_published, old_prerequisites, old_unlock_at):
        body["relock_warning"] = True
    body["publish_warning"] = bool(warnings)
    if warnings:
        body["publish_warning_items"] = warnings
    body["unpublish_warning"] = unpublish_warning
    return body


def delete_module(
    store: Store, course: Course, viewer: User, module_id: str
) -> dict[str, Any]:
    """Soft-delete a module and its items; answers the deleted module."""
    module = store.live_module(course, module_id)
    store.require_manage(course, viewer)
    model_publish.delete_module(module, store.now())
    return module_json(store, module, viewer)


def batch_update(
    store: Store, course: Course, viewer: User, params: dict[str, Any]
) -> dict[str, Any]:
    """Publish, unpublish or delete the listed modules, in position order."""
    store.require_manage(course, viewer)
    event = params.get("event")
    if rules.is_blank(event):
        raise CanvasFailure.bad_request("need to specify event")
    if event not in _BATCH_EVENTS:
        raise CanvasFailure.bad_request("invalid event")
    raw_ids = params.get("module_ids")
    if rules.is_blank(raw_ids):
        raise CanvasFailure.bad_request("must specify module_ids[]")

    wanted = set(rules.api_ids(raw_ids if isinstance(raw_ids, list) else [raw_ids]))
    modules = [m for m in store.live_modules(course) if m.id in wanted]
    if not modules:
        raise CanvasFailure(404, {"message": "no modules found"})

    skip = rules.to_bool(params.get("skip_content_tags"))
    if not rules.to_bool(params.get("async")):
        completed = _apply_batch(store, modules, str(event), skip)
        return {"completed": completed, "progress": None}

    now = store.now()
    progress = Progress(
        id=store.next_id("progresses"),
        context_id=course.id,
        user_id=viewer.id,
        tag="context_module_batch_update",
        created_at=now,
        updated_at=now,
    )
    store.progresses[progress.id] = progress
    # The answer shows the job as queued, as Canvas's does; the sandbox then
    # runs it at once, so the progress endpoint already reports it done.
    queued = _raw_progress(store, progress)
    completed = _apply_batch(store, modules, str(event), skip)
    progress.workflow_state = "completed"
    progress.completion = 100.0
    progress.results = {"completed": completed}
    progress.updated_at = store.now()
    return {"completed": None, "progress": {"progress": queued}}


def _raw_progress(store: Store, progress: Progress) -> dict[str, Any]:
    raw = progress_json(store, progress)
    raw.pop("url")
    raw["completion"] = None
    raw["delayed_job_id"] = None
    return raw


def _apply_batch(
    store: Store, modules: list[Module], event: str, skip: bool
) -> list[int]:
    now = store.now()
    for module in modules:
        if event == "publish":
            model_publish.publish_module(module, now, skip_content_tags=skip)
        elif event == "unpublish":
            model_publish.unpublish_module(module, now, skip_content_tags=skip)
        else:
            model_publish.delete_module(module, now)
    return [module.id for module in modules]


def _apply_attributes(module: Module, params: dict[str, Any]) -> None:
    if "unlock_at" in params:
        moment = parse_time(
            None if params["unlock_at"] is None else str(params["unlock_at"])
        )
        module.unlock_at = iso(moment) if moment else None
    if "require_sequential_progress" in params:
        module.require_sequential_progress = rules.to_bool(
            params["require_sequential_progress"]
        )
    if "publish_final_grade" in params:
        module.publish_final_grade = rules.to_bool(params["publish_final_grade"])


def _existing_modules(store: Store, course: Course, ids: list[Any]) -> list[int]:
    # Canvas turns each id into "module_<id>" and reads back the leading
    # digits, keeping only the course's not-deleted modules.
    live = store.module_positions(course)
    kept: list[int] = []
    for raw in ids:
        match = _LEADING_DIGITS.match(str(raw))
        if match and int(match.group()) in live and int(match.group()) not in kept:
            kept.append(int(match.group()))
    return kept


def _validate_prerequisites(store: Store, course: Course, module: Module) -> None:
    positions = store.module_positions(course)
    module.prerequisites = rules.valid_prerequisites(
        module.prerequisites, positions, module.position
    )


def _set_position(
    store: Store, course: Course, module: Module, params: dict[str, Any]
) -> None:
    raw = params.get("position")
    if raw is None or raw is False:
        return
    positions: dict[int, int | None] = dict(store.module_positions(course))
    for module_id, position in rules.insert_at(
        positions, module.id, rules.to_i(raw)
    ).items():
        assert position is not None
        course.modules[module_id].position = position
    # Canvas re-saves every module after a move, which drops prerequisites
    # that no longer come first.
    live = store.module_positions(course)
    for other in store.live_modules(course):
        other.prerequisites = rules.valid_prerequisites(
            other.prerequisites, live, other.position
        )


def _relock_warning(
    course: Course,
    module: Module,
    was_published: bool,
    old_prerequisites: list[int],
    old_unlock_at: str | None,
) -> bool:
    if not module.published:
        return False
    if not was_published:
        needed_by_active = any(
            other.published and module.id in other.prerequisites
            for other in course.modules.values()
        )
        has_requirements = any(item.requirement for item in module.live_items())
        if needed_by_active or module.prerequisites or has_requirements:
            return True
        if module.unlock_at:
            return True
    if set(module.prerequisites) - set(old_prerequisites):
        return True
    return bool(module.unlock_at and not old_unlock_at)
