"""Item actions: create, update (and move), delete.

Quirks kept from Canvas: create shifts later items only when the requested
slot is taken (and does so even when the content is then not found); an
invalid completion requirement answers 400 after the item was saved; update
and delete find the item anywhere in the course, whatever module the path
names; scoring requirements on items that cannot be graded are dropped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bulkmod import rules
from bulkmod.sandbox import model_publish
from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_json import item_json
from bulkmod.sandbox.model_objects import Content, Course, Item, Module, User
from bulkmod.sandbox.model_store import Store

#: ``module_item[type]``, underscored as Canvas does, -> API type.
_TYPES = {
    "wiki_page": "Page",
    "page": "Page",
    "attachment": "File",
    "file": "File",
    "assignment": "Assignment",
    "discussion_topic": "Discussion",
    "discussion": "Discussion",
    "quiz": "Quiz",
    "external_url": "ExternalUrl",
    "context_external_tool": "ExternalTool",
    "external_tool": "ExternalTool",
    "context_module_sub_header": "SubHeader",
    "sub_header": "SubHeader",
}

#: API type -> the content kind it links to.
_KINDS = {
    "Page": "page",
    "File": "file",
    "Assignment": "assignment",
    "Discussion": "discussion",
    "Quiz": "quiz",
    "ExternalTool": "tool",
}

#: Content kinds whose title follows an item rename.
_RENAMED_WITH_ITEM = frozenset({"assignment", "quiz", "discussion", "page"})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_INVALID_REQUIREMENT = "Invalid completion requirement type"


def _underscore(value: Any) -> str:
    return _CAMEL.sub("_", str(value)).lower()


def create_item(
    store: Store, course: Course, viewer: User, module_id: str, params: Any
) -> dict[str, Any]:
    """Create an item in a module; answers its JSON."""
    module = store.live_module(course, module_id)
    store.require_manage(course, viewer)
    if not isinstance(params, dict):
        raise CanvasFailure.bad_request("missing module item parameter")

    item_type = _TYPES.get(_underscore(params.get("type") or ""))
    page = None
    if item_type == "Page":
        slug = params.get("page_url")
        if slug is None:
            raise CanvasFailure.bad_request("missing page_url parameter")
        page = course.pages_by_slug.get(str(slug))
        if page is None or page.deleted:
            raise CanvasFailure.bad_request("invalid page_url parameter")

    # Canvas makes room for an explicit position before it looks the content up.
    live = {item.id: item.position for item in module.live_items()}
    raw_position = params.get("position")
    requested = rules.to_i(raw_position) if not rules.is_blank(raw_position) else 0
    position, shifts = rules.place_new_item(live, requested if requested > 0 else None)
    _apply_positions(course, shifts)

    item = _build_item(store, course, module, item_type, page, params, position)
    module.items.append(item)
    course.items[item.id] = item
    store.items[item.id] = item
    if item.content is not None:
        item.content.items.append(item)

    _set_position(store, item, params)
    _set_requirement(item, params)
    return item_json(store, item, viewer)


def _build_item(
    store: Store,
    course: Course,
    module: Module,
    item_type: str | None,
    page: Content | None,
    params: dict[str, Any],
    position: int,
) -> Item:
    now = store.now()
    item = Item(
        id=0,
        course_id=course.id,
        module=module,
        type=item_type or "",
        title="",
        position=position,
        indent=rules.to_i(params.get("indent")),
        created_at=now,
        updated_at=now,
    )
    title = params.get("title")
    if item_type in ("SubHeader", "ExternalUrl", "ExternalTool"):
        url = params.get("external_url")
        item.external_url = None if url is None else str(url)
        item.new_tab = rules.to_bool(params.get("new_tab"))
        if item_type == "ExternalUrl" and not _valid_url(item.external_url):
            raise CanvasFailure.model_error("url", "invalid", "is not a valid URL")
        if item_type == "ExternalTool":
            item.content = match_tool(
                course, item.external_url, params.get("content_id")
            )
        fallback = item.content.title if item.content is not None else "No title"
        item.title = fallback if rules.is_blank(title) else str(title)
        item.workflow_state = "unpublished"
    else:
        content = (
            page
            if page is not None
            else _find_content(store, course, item_type, params)
        )
        if content is None:
            raise CanvasFailure.bad_request("Could not find content")
        # An assignment behind a quiz or discussion gives an item for that.
        content = content.linked()
        item.content = content
        item.type = {"quiz": "Quiz", "discussion": "Discussion"}.get(
            content.kind, item.type
        )
        item.title = content.title if title is None else str(title)
        item.workflow_state = "active" if content.published else "unpublished"
    item.id = store.next_id("items")
    return item


def _find_content(
    store: Store, course: Course, item_type: str | None, params: dict[str, Any]
) -> Content | None:
    kind = _KINDS.get(item_type or "")
    if kind is None or kind in ("page", "tool"):
        return None
    return store.find_content(course, kind, params.get("content_id"))


def match_tool(course: Course, url: str | None, preferred: Any) -> Content | None:
    """The external tool an item launches: by URL, preferring ``content_id``.

    None stands for Canvas's placeholder tool (id 0).
    """
    tools = [t for t in course.content.get("tool", {}).values() if not t.deleted]
    preferred_id = rules.to_i(preferred)
    chosen = next((t for t in tools if t.id == preferred_id), None)
    if not url:
        return chosen
    if chosen is not None and _same_tool(chosen, url):
        return chosen
    exact = next((t for t in tools if t.url == url), None)
    if exact is not None:
        return exact
    return next((t for t in tools if _same_tool(t, url)), None)


def _same_tool(tool: Content, url: str) -> bool:
    if not tool.url:
        return False
    return tool.url == url or urlsplit(tool.url).hostname == urlsplit(url).hostname


def _valid_url(url: str | None) -> bool:
    if not url or not url.strip():
        return False
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def update_item(
    store: Store, course: Course, viewer: User, item_id: str, params: Any
) -> dict[str, Any]:
    """Update an item anywhere in the course; answers its JSON."""
    item = store.live_item(course, item_id)
    store.require_manage(course, viewer)
    if not isinstance(params, dict):
        raise CanvasFailure.bad_request("missing module item parameter")

    now = store.now()
    publish = rules.to_bool(params["published"]) if "published" in params else None
    if publish is False and not model_publish.can_unpublish(item):
        raise CanvasFailure.bad_request("item can't be unpublished", 403)

    title = params.get("title")
    if title is not None:
        item.title = str(title)
    if item.type in ("ExternalUrl", "ExternalTool") and params.get("external_url"):
        item.external_url = str(params["external_url"])
        if item.type == "ExternalTool":
            _relink(
                item,
                match_tool(course, item.external_url, item.content and item.content.id),
            )
    if params.get("indent") is not None:
        item.indent = rules.to_i(params["indent"])
    if params.get("new_tab") not in (None, False):
        item.new_tab = rules.to_bool(params["new_tab"])
    target = params.get("module_id")
    if target not in (None, False) and rules.to_i(target) != item.module.id:
        _move(store, course, item, target, params)

    if publish is True:
        model_publish.publish_item(item, now)
    elif publish is False:
        model_publish.unpublish_item(item, now)
    item.updated_at = now

    _set_position(store, item, params)
    _set_requirement(item, params)
    if title is not None and item.content is not None:
        _rename_content(item.content, item.title, now)
    return item_json(store, item, viewer)


def _move(
    store: Store, course: Course, item: Item, target_id: Any, params: dict[str, Any]
) -> None:
    target = store.any_module(course, target_id)
    if target is None:
        raise CanvasFailure.bad_request("invalid module_id")
    source = item.module
    positions = {other.id: other.position for other in source.items}
    _apply_positions(course, rules.remove_from_list(positions, item.id))
    source.items.remove(item)
    target.items.append(item)
    item.module = target
    # The requirement travels with the item, overriding any in the request.
    if item.requirement is not None:
        params["completion_requirement"] = dict(item.requirement)
        item.requirement = None


def _relink(item: Item, content: Content | None) -> None:
    if item.content is content:
        return
    if item.content is not None:
        item.content.items.remove(item)
    item.content = content
    if content is not None:
        content.items.append(item)


def _rename_content(content: Content, title: str, now: str) -> None:
    target = content.linked()
    if target.kind not in _RENAMED_WITH_ITEM:
        return
    target.title = title
    target.updated_at = now
    if target.assignment is not None:
        target.assignment.title = title
    for sibling in target.items:
        if sibling.workflow_state != "deleted":
            sibling.title = title


def delete_item(
    store: Store, course: Course, viewer: User, item_id: str
) -> dict[str, Any]:
    """Soft-delete an item anywhere in the course; answers its JSON."""
    item = store.live_item(course, item_id)
    store.require_manage(course, viewer)
    model_publish.delete_item(item, store.now())
    return item_json(store, item, viewer)


def _apply_positions(course: Course, changes: dict[int, int | None]) -> None:
    for item_id, position in changes.items():
        course.items[item_id].position = position


def _set_position(store: Store, item: Item, params: dict[str, Any]) -> None:
    raw = params.get("position")
    if raw is None or raw is False:
        return
    positions = {other.id: other.position for other in item.module.items}
    course = store.courses[item.course_id]
    _apply_positions(course, rules.insert_at(positions, item.id, rules.to_i(raw)))


def _set_requirement(item: Item, params: dict[str, Any]) -> None:
    raw = params.get("completion_requirement")
    if raw is None or raw is False:
        return
    if rules.is_blank(raw):
        item.requirement = None
        return
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in rules.REQUIREMENT_TYPES:
        raise CanvasFailure.model_error(
            "completion_requirement", _INVALID_REQUIREMENT, _INVALID_REQUIREMENT
        )
    assert isinstance(raw, dict)
    content = item.content
    has_assignment = content is not None and content.assignment is not None
    if rules.requirement_kept(str(kind), rules.is_gradable(item.type, has_assignment)):
        item.requirement = rules.normalise_requirement(raw)
    else:
        item.requirement = None
