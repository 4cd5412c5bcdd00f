"""The module item sequence: an asset's neighbours across the whole course.

The sequence runs through the modules the caller sees in position order and
their items in position order, skipping sub-headers; ``prev`` and ``next``
cross module boundaries. Each place the asset appears gives one node, ten at
most.
"""

from __future__ import annotations

from typing import Any

from bulkmod import rules
from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_json import item_json, module_json
from bulkmod.sandbox.model_objects import Course, Item, Module, User
from bulkmod.sandbox.model_store import Store, parse_id

#: The most nodes one answer holds.
MAX_NODES = 10


def item_sequence(
    store: Store,
    course: Course,
    viewer: User,
    asset_type: str | None,
    asset_id: str | None,
    student: User | None,
) -> dict[str, Any]:
    """Answer ``{"items": [...], "modules": [...]}`` for one asset."""
    store.require_read(course, viewer)
    kind = rules.SEQUENCE_ASSET_TYPES.get((asset_type or "").lower())
    if kind is None:
        raise CanvasFailure.bad_request("invalid asset_type")
    if asset_id is None:
        raise CanvasFailure.bad_request("missing asset_id")

    who = student or viewer
    sequence = [
        item
        for module in store.visible_modules(course, who)
        for item in store.visible_items(module, who)
        if item.type != "SubHeader"
    ]
    nodes: list[dict[str, Any]] = []
    modules: dict[int, Module] = {}
    for index, item in enumerate(sequence):
        if not _matches(item, kind, asset_id):
            continue
        before = sequence[index - 1] if index > 0 else None
        after = sequence[index + 1] if index + 1 < len(sequence) else None
        node: dict[str, Any] = {}
        for name, shown in (("prev", before), ("current", item), ("next", after)):
            node[name] = None
            if shown is not None:
                node[name] = item_json(store, shown, viewer, student=student)
                modules.setdefault(shown.module.id, shown.module)
        node["mastery_path"] = None
        nodes.append(node)
        if len(nodes) == MAX_NODES:
            break

    ordered = sorted(modules.values(), key=lambda m: (m.position, m.id))
    return {
        "items": nodes,
        "modules": [module_json(store, m, viewer, student=student) for m in ordered],
    }


def _matches(item: Item, kind: str, asset_id: str) -> bool:
    if kind == "ModuleItem":
        return item.id == parse_id(asset_id)
    content = item.content
    if content is None:
        return False
    if kind == "Page":
        return item.type == "Page" and content.slug == asset_id
    wanted = parse_id(asset_id)
    if kind == "Assignment":
        # A quiz or graded discussion is found by its assignment too.
        backing = content.assignment
        return (item.type == "Assignment" and content.id == wanted) or (
            backing is not None and backing.id == wanted
        )
    return item.type == kind and content.id == wanted
