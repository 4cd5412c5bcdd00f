"""Course shells that are not empty: a module or item already there.

Canvas allows two modules of one name, so a term-start job run on a shell
that already holds "Week 1" would silently build a second one. Before its
first create in a course, the engine lists the course's modules (for the id
floor of :mod:`bulkmod.engine.recovery`); the same listing tells which names
the course had before this run. ``--existing`` says what a ``module.create``
of such a name does:

- ``warn`` (default): create it all the same; the result names the modules
  that were there (``"existing": [ids]``) and a warning is logged;
- ``adopt``: take the module that is there instead (``"adopted_existing":
  true``; its id feeds references); params that differ from it are named in
  the result (``"differs"``), not changed;
- ``skip``: record the operation ``skipped`` (``conflict``), so that the lines
  that depend on it are skipped too;
- ``duplicate``: create it, saying nothing.

An ``item.create`` into a module the course had before this run is judged
the same way against that module's items as they were before the run (an
item of the same type and title, and the same content, page or URL where
the line gives one; listed once per module, when the first such create
runs): ``warn`` creates it and names them, ``adopt`` takes the oldest one
not yet taken (a job that makes two items of one title takes two), ``skip``
records a ``conflict``.

Modules and items this run deletes or renames are kept track of, so a name
is judged against the course as it stands when the create runs.
"""

from __future__ import annotations

from typing import Any

from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.urls import api_path

#: The choices of ``--existing``.
EXISTING = ("warn", "adopt", "skip", "duplicate")


#: Marks a module of the survey that a create of this run has adopted.
ADOPTED = "adopted_by_this_run"


def same_name(
    modules: dict[int, dict[str, Any]], name: Any, floor: int
) -> list[dict[str, Any]]:
    """Modules of ``name`` that were there before this run, oldest first.

    Only ids at or below ``floor`` count: a module above it was made by this
    very create, on an earlier attempt whose answer was lost. A module an
    earlier create of this run adopted counts no more: each is taken once.
    """
    if not modules:
        return []
    found = [
        module
        for module_id, module in modules.items()
        if module_id <= floor and module.get("name") == name and not module.get(ADOPTED)
    ]
    return sorted(found, key=lambda module: int(module["id"]))


async def items_before(
    client: CanvasClient,
    course_id: int,
    module: dict[str, Any],
    stats: Stats,
    as_user: str | None,
) -> list[dict[str, Any]]:
    """The items of a module the course had before this run (listed once).

    The list is kept in the module's entry, so that the items this run takes
    or deletes can be struck from it.
    """
    items = module.get("items")
    if not isinstance(items, list):
        path = api_path(
            "/courses/{course}/modules/{module}/items",
            course=course_id,
            module=int(module["id"]),
        )
        items = await client.list_all(path, as_user=as_user, stats=stats, kind="item")
        module["items"] = items
    return items


def same_items(
    items: list[dict[str, Any]], params: dict[str, Any], floor: int
) -> list[dict[str, Any]]:
    """Items that match what an ``item.create`` sets, oldest first.

    Type and title must match, and the content, page or URL where the
    create gives one. Only ids at or below ``floor`` count, as for modules.
    """
    found = [
        item for item in items if int(item["id"]) <= floor and _same_item(item, params)
    ]
    return sorted(found, key=lambda item: int(item["id"]))


def _same_item(item: dict[str, Any], params: dict[str, Any]) -> bool:
    wanted = params.get("type")
    # An assignment that backs a quiz or discussion is listed as one, under
    # the quiz's or topic's own content id.
    backed = wanted == "Assignment" and item.get("type") in ("Quiz", "Discussion")
    if item.get("type") != wanted and not backed:
        return False
    if item.get("title") != params.get("title"):
        return False
    keys = ("page_url", "external_url") if backed else _POINTERS
    return all(str(item.get(key)) == str(params[key]) for key in keys if key in params)


#: What an item points at: judged equal when the create gives it.
_POINTERS = ("content_id", "page_url", "external_url")


def take(items: list[dict[str, Any]], item: dict[str, Any]) -> None:
    """Strike an adopted item from the list, so no other create takes it."""
    items[:] = [entry for entry in items if entry["id"] != item["id"]]


def differences(params: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The params of a create that the existing module or item does not have.

    Answer ``{param: {"job": wanted, "canvas": found}}``. A dict param (a
    completion requirement) is judged by the keys the job gives.
    """
    differs: dict[str, Any] = {}
    for key, wanted in params.items():
        there = found.get(key)
        if isinstance(wanted, dict):
            same = isinstance(there, dict) and not differences(wanted, there)
        elif key == "prerequisite_module_ids":
            same = sorted(map(str, wanted or [])) == sorted(map(str, there or []))
        elif isinstance(wanted, bool) or isinstance(there, bool):
            same = bool(wanted) == bool(there)
        else:
            same = wanted == there or str(wanted) == str(there)
        if not same:
            differs[key] = {"job": wanted, "canvas": there}
    return differs


def describe(found: list[dict[str, Any]]) -> str:
    """Name modules or items for a message: ``'Week 1' (id 12)``."""
    return ", ".join(
        f"{entry.get('name', entry.get('title'))!r} (id {entry['id']})"
        for entry in found
    )


def note_change(
    modules: dict[int, dict[str, Any]],
    op: str,
    module_id: int,
    params: dict[str, Any],
    item_id: int | None = None,
) -> None:
    """Keep the known modules and items true after a change of this run.

    ``module_id`` is one of ``modules``: the module the change was made to.
    """
    if op == "module.delete":
        del modules[module_id]
    elif op == "module.update" and "name" in params:
        modules[module_id] = {**modules[module_id], "name": params["name"]}
    elif op.startswith("item.") and item_id is not None:
        _note_item_change(modules[module_id], op, item_id, params)


def _note_item_change(
    module: dict[str, Any], op: str, item_id: int, params: dict[str, Any]
) -> None:
    items = module.get("items")
    if not isinstance(items, list):
        return
    moved = "module_id" in params and str(params["module_id"]) != str(module["id"])
    if op == "item.delete" or (op == "item.update" and moved):
        take(items, {"id": item_id})
    elif op == "item.update" and "title" in params:
        items[:] = [
            {**item, "title": params["title"]} if item["id"] == item_id else item
            for item in items
        ]
