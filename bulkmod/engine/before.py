"""What a change is about to replace, kept in its result so it can be undone.

An update records ``before``: the values of the fields it sets, as Canvas
showed them just before. Publishing reaches further than its own fields:
publishing or unpublishing a module (by ``module.update`` without
``skip_content_tags``, or by ``module.publish``/``unpublish``) also sets its
items, so their published states are recorded as well, and an item move
records both the module and the position the item left.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.shapes import canvas_id, checked_entries, where
from bulkmod.client.urls import api_path

#: Fields an item move changes together: recorded together.
MOVE_FIELDS = ("module_id", "position")


def fields_to_record(op: str, params: dict[str, Any]) -> list[str]:
    """The fields whose values ``before`` keeps for an update with ``params``."""
    keys = [key for key in params if key != "skip_content_tags"]
    if op == "item.update" and any(key in MOVE_FIELDS for key in keys):
        keys.extend(key for key in MOVE_FIELDS if key not in keys)
    return keys


def cascades(params: dict[str, Any]) -> bool:
    """Whether setting ``published`` with these params reaches the items."""
    return "published" in params and not _truthy(params.get("skip_content_tags"))


async def item_states(
    client: CanvasClient,
    course_id: int,
    module_ids: Iterable[int],
    stats: Stats,
    as_user: str | None,
) -> list[dict[str, Any]]:
    """Each item of these modules: ``{"id", "module_id", "published"}``."""
    states: list[dict[str, Any]] = []
    for module_id in module_ids:
        path = api_path(
            "/courses/{course}/modules/{module}/items",
            course=course_id,
            module=module_id,
        )
        items = await client.list_all(path, as_user=as_user, stats=stats, kind="item")
        states.extend(_state(item, module_id) for item in items)
    return states


async def publish_states(
    client: CanvasClient,
    course_id: int,
    module_ids: list[int],
    stats: Stats,
    as_user: str | None,
    *,
    with_items: bool,
) -> dict[str, Any]:
    """``before`` of a batch publish: the modules' and their items' states.

    One listing of the course's modules with their items; a module with
    more than 100 items (which Canvas leaves out) gets a listing of its own.
    """
    path = api_path("/courses/{course}/modules", course=course_id)
    query = {"include": ["items"]} if with_items else None
    listed = await client.list_all(
        path, query=query, as_user=as_user, stats=stats, kind="module"
    )
    wanted = set(module_ids)
    chosen = [module for module in listed if int(module["id"]) in wanted]
    before: dict[str, Any] = {
        "modules": [
            {"id": int(module["id"]), "published": module.get("published")}
            for module in chosen
        ]
    }
    if with_items:
        states: list[dict[str, Any]] = []
        for module in chosen:
            module_id = int(module["id"])
            items = module.get("items")
            if items is None:
                states.extend(
                    await item_states(client, course_id, [module_id], stats, as_user)
                )
            else:
                checked_entries(items, "item", where("GET", path))
                states.extend(_state(item, module_id) for item in items)
        before["items"] = states
    return before


def _state(item: dict[str, Any], module_id: int) -> dict[str, Any]:
    return {
        "id": int(item["id"]),
        "module_id": canvas_id(item.get("module_id")) or module_id,
        "published": item.get("published"),
    }


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)
