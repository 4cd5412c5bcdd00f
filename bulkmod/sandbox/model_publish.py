"""Publishing and unpublishing: what a change of publish state cascades to.

Publishing an item publishes the content it links to, and every other item
linking to that content follows the content's state. Unpublishing does the
same, except that content with student submissions cannot be unpublished:
it stays published and so do its items. Publishing a module cascades to its
items unless ``skip_content_tags`` is set.
"""

from __future__ import annotations

from typing import Any

from bulkmod import rules
from bulkmod.sandbox.model_objects import Content, Item, Module


def set_content_published(content: Content, published: bool, now: str) -> None:
    """Set the content's publish state and make its items follow the change.

    Content already in that state is left alone, siblings included: Canvas
    syncs the items only when the content itself is saved.
    """
    target = content.linked()
    if target.published == published:
        return
    for record in (target, target.assignment):
        if record is not None and record.published != published:
            record.published = published
            record.updated_at = now
    state = "active" if published else "unpublished"
    for item in target.items:
        if item.workflow_state not in ("deleted", state):
            item.workflow_state = state
            item.updated_at = now


def can_unpublish(item: Item) -> bool:
    """Whether the item's content allows unpublishing (no submissions)."""
    content = item.content
    return content is None or not content.linked().has_submissions


def _cascades(item: Item) -> bool:
    return item.content is not None and item.type in rules.PUBLISH_CASCADES_TO_CONTENT


def publish_item(item: Item, now: str) -> None:
    """Publish an item and the content behind it."""
    if item.workflow_state == "unpublished":
        item.workflow_state = "active"
        item.updated_at = now
    if _cascades(item):
        assert item.content is not None
        set_content_published(item.content, True, now)


def unpublish_item(item: Item, now: str) -> bool:
    """Unpublish an item and its content; False when the content refuses."""
    if not can_unpublish(item):
        return False
    if item.workflow_state == "active":
        item.workflow_state = "unpublished"
        item.updated_at = now
    if _cascades(item):
        assert item.content is not None
        set_content_published(item.content, False, now)
    return True


def publish_module(module: Module, now: str, *, skip_content_tags: bool) -> None:
    """Publish a module and, unless skipped, every item in it."""
    module.workflow_state = "active"
    module.updated_at = now
    if not skip_content_tags:
        for item in module.live_items():
            publish_item(item, now)


def unpublish_module(module: Module, now: str, *, skip_content_tags: bool) -> None:
    """Unpublish a module and, unless skipped, every item that allows it."""
    module.workflow_state = "unpublished"
    module.updated_at = now
    if not skip_content_tags:
        for item in module.live_items():
            unpublish_item(item, now)


def publish_warnings(module: Module) -> list[dict[str, Any]]:
    """Items a module publish left unpublished, as Canvas reports them."""
    return [
        {"id": item.id, "title": item.title, "reason": "unknown"}
        for item in module.live_items()
        if item.workflow_state == "unpublished"
    ]


def delete_module(module: Module, now: str) -> None:
    """Soft-delete a module and its items; positions stay as they were."""
    module.workflow_state = "deleted"
    module.deleted_at = now
    module.updated_at = now
    for item in module.items:
        if item.workflow_state != "deleted":
            delete_item(item, now)


def delete_item(item: Item, now: str) -> None:
    """Soft-delete an item and drop its completion requirement."""
    item.workflow_state = "deleted"
    item.requirement = None
    item.updated_at = now
