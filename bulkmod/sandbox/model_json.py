"""Canvas's JSON shapes of modules, items, content and progress.

Module JSON never carries ``workflow_state``; ``published`` appears only for
staff looking as themselves (no ``student_id``), and ``state``,
``completed_at`` and each requirement's ``completed`` only when a student's
progression is shown.
"""

from __future__ import annotations

from typing import Any

from bulkmod import rules
from bulkmod.sandbox.model_objects import (
    Content,
    Course,
    Item,
    Module,
    Progress,
    User,
)
from bulkmod.sandbox.model_store import Store
from bulkmod.sandbox.progressions import ModuleProgress, Progressions

#: ``include[]=items`` is honoured only up to this many visible items.
MAX_INLINE_ITEMS = 100

#: API path segment of each content kind.
_CONTENT_PATHS = {
    "assignment": "assignments",
    "quiz": "quizzes",
    "discussion": "discussion_topics",
    "file": "files",
    "page": "pages",
    "tool": "external_tools",
}


def module_json(
    store: Store,
    module: Module,
    viewer: User,
    *,
    include_items: bool = False,
    include_content_details: bool = False,
    student: User | None = None,
    items: list[Item] | None = None,
) -> dict[str, Any]:
    """A module as ``viewer`` sees it (or as ``student`` when given).

    ``items`` overrides the items shown inline (a search keeps only some).
    """
    course = store.courses[module.course_id]
    who = student or viewer
    visible = store.visible_items(module, who)
    progressions = Progressions(store, course, student) if student else None

    body: dict[str, Any] = {
        "id": module.id,
        "position": module.position,
        "name": module.name,
        "unlock_at": module.unlock_at,
        "require_sequential_progress": module.require_sequential_progress,
        "requirement_type": rules.requirement_type(
            None, any(item.requirement for item in visible)
        ),
        "publish_final_grade": module.publish_final_grade,
        "prerequisite_module_ids": _live_prerequisites(course, module),
    }
    if progressions is not None:
        progress = progressions.of(module)
        body["state"] = progress.state
        body["completed_at"] = progress.completed_at
    if student is None and store.can_manage(course, viewer):
        body["published"] = module.published
    body["items_count"] = len(visible)
    body["items_url"] = store.api_url(f"/courses/{course.id}/modules/{module.id}/items")

    if include_items and len(visible) <= MAX_INLINE_ITEMS:
        shown = visible if items is None else items
        body["items"] = [
            item_json(
                store,
                item,
                viewer,
                include_content_details=include_content_details,
                student=student,
                progressions=progressions,
            )
            for item in shown
        ]
    return body


def _live_prerequisites(course: Course, module: Module) -> list[int]:
    """The module's prerequisites that are not deleted, in their order."""
    # Looked up one by one: a module list would otherwise walk every module
    # of the course for each module shown.
    live = []
    for prerequisite in module.prerequisites:
        other = course.modules.get(prerequisite)
        if other is not None and other.workflow_state != "deleted":
            live.append(prerequisite)
    return live


def item_json(
    store: Store,
    item: Item,
    viewer: User,
    *,
    include_content_details: bool = False,
    student: User | None = None,
    progressions: Progressions | None = None,
) -> dict[str, Any]:
    """A module item as ``viewer`` sees it (or as ``student`` when given)."""
    course = store.courses[item.course_id]
    if student is not None and progressions is None:
        progressions = Progressions(store, course, student)
    content = item.content

    body: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "position": item.position,
        "indent": item.indent or 0,
        "type": item.type,
        "module_id": item.module.id,
    }
    if item.type == "ExternalUrl":
        body["html_url"] = store.api_url(
            f"/courses/{course.id}/module_item_redirect/{item.id}"
        )
    elif item.type != "SubHeader":
        body["html_url"] = store.web_url(
            f"/courses/{course.id}/modules/items/{item.id}"
        )

    if item.type in ("File", "Discussion", "Assignment", "Quiz", "ExternalTool"):
        body["content_id"] = content.id if content is not None else 0
    if item.type == "Page" and content is not None:
        body["page_url"] = content.slug
        body["publish_at"] = None
    url = _content_url(store, item)
    if url is not None:
        body["url"] = url
    if item.type in ("ExternalUrl", "ExternalTool"):
        body["external_url"] = item.external_url
        body["new_tab"] = item.new_tab

    progress = progressions.of(item.module) if progressions is not None else None
    if item.requirement is not None and not item.deleted:
        requirement = dict(item.requirement)
        if progress is not None:
            requirement["completed"] = progress.completed.get(item.id, False)
        body["completion_requirement"] = requirement

    if student is None and store.can_manage(course, viewer):
        body["published"] = item.published
        body["unpublishable"] = content is None or not content.has_submissions
    if include_content_details:
        locked = progressions.item_locked(item) if progressions is not None else False
        body["content_details"] = _content_details(item, locked, progress)
    return body


def _content_url(store: Store, item: Item) -> str | None:
    content = item.content
    course_id = item.course_id
    if item.type == "ExternalTool":
        return store.api_url(
            f"/courses/{course_id}/external_tools/sessionless_launch"
            f"?launch_type=module_item&module_item_id={item.id}"
        )
    if content is None or item.type in rules.CONTENTLESS_TYPES:
        return None
    key = content.slug if content.kind == "page" else content.id
    return store.api_url(f"/courses/{course_id}/{_CONTENT_PATHS[content.kind]}/{key}")


def _content_details(
    item: Item, locked: bool, progress: ModuleProgress | None
) -> dict[str, Any]:
    details: dict[str, Any] = {}
    content = item.content
    if content is not None:
        points = content.points_possible
        if points is None and content.assignment is not None:
            points = content.assignment.points_possible
        if points is not None:
            details["points_possible"] = points
        if content.kind == "file":
            details["display_name"] = content.title
    details["locked_for_user"] = locked
    if locked:
        module = item.module
        details["lock_info"] = {
            "asset_string": f"content_tag_{item.id}",
            "context_module": {"id": module.id, "name": module.name},
        }
        if progress is not None and progress.locked:
            why = f'This item is part of the module "{module.name}", which is locked.'
        else:
            why = "This item is locked until the items before it are completed."
        details["lock_explanation"] = why
    return details


def content_json(store: Store, content: Content) -> dict[str, Any]:
    """Canvas's JSON of one piece of content, by kind."""
    course_id = content.course_id
    web = store.web_url(f"/courses/{course_id}/{_CONTENT_PATHS[content.kind]}")
    stamps = {"created_at": content.created_at, "updated_at": content.updated_at}
    if content.kind == "page":
        return {
            "page_id": content.id,
            "url": content.slug,
            "title": content.title,
            "published": content.published,
            "front_page": False,
            "html_url": f"{web}/{content.slug}",
            **stamps,
        }
    if content.kind == "file":
        return {
            "id": content.id,
            "display_name": content.title,
            "filename": content.title,
            "content-type": "application/octet-stream",
            "url": store.web_url(f"/files/{content.id}/download"),
            "locked": not content.published,
            "hidden": False,
            **stamps,
        }
    if content.kind == "tool":
        return {
            "id": content.id,
            "name": content.title,
            "url": content.url,
            "domain": _domain(content.url),
            "privacy_level": "anonymous",
            **stamps,
        }
    if content.kind == "assignment":
        body: dict[str, Any] = {
            "id": content.id,
            "name": content.title,
            "course_id": course_id,
            "published": content.published,
            "points_possible": content.points_possible,
            "has_submitted_submissions": content.has_submissions,
            "html_url": f"{web}/{content.id}",
            **stamps,
        }
        if content.owner is not None and content.owner.kind == "quiz":
            body["quiz_id"] = content.owner.id
        if content.owner is not None and content.owner.kind == "discussion":
            body["discussion_topic"] = {"id": content.owner.id}
        return body
    body = {
        "id": content.id,
        "title": content.title,
        "published": content.published,
        "html_url": f"{web}/{content.id}",
        "assignment_id": content.assignment.id if content.assignment else None,
        **stamps,
    }
    if content.kind == "quiz":
        body["points_possible"] = content.points_possible
    return body


def _domain(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    return url.split("://", 1)[1].split("/", 1)[0] or None


def progress_json(store: Store, progress: Progress) -> dict[str, Any]:
    """Canvas's Progress JSON, as the progress endpoint serves it."""
    return {
        "id": progress.id,
        "context_id": progress.context_id,
        "context_type": "Course",
        "user_id": progress.user_id,
        "tag": progress.tag,
        "completion": progress.completion,
        "workflow_state": progress.workflow_state,
        "created_at": progress.created_at,
        "updated_at": progress.updated_at,
        "message": progress.message,
        "results": progress.results,
        "url": store.api_url(f"/progress/{progress.id}"),
    }
