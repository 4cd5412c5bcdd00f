"""Finding a create whose answer was lost, instead of creating it twice.

Canvas has no idempotency keys: a create sent again after a timeout, a 5xx or
a dropped connection may build the module or item twice. So before a create
is sent, the engine notes the highest id of that kind it knows in the course
(the *floor*, kept in the intent line of the results file). Canvas ids only
grow, and a lane writes to its course one operation at a time, so after a
lost answer every module (or item) with an id above the floor that matches
what the operation set (name; or type, title and content) was made by that
operation, unless another create of the job already ended ok with it (a job
may make two modules of one name: the second is not the first). One match is
adopted; none means the create did not land and it is sent again; several
are a conflict that the user must settle in Canvas.

Looking cannot see a create that Canvas is still carrying out: after a
timeout the engine waits before it looks (see ``Sender``).

Which operations are safe to repeat, and why:

- reads (``*.list``, ``*.show``, ``sequence.get``): sent again plainly;
- updates to a value (``module.update``, ``item.update``, ``module.relock``,
  ``module.publish``/``unpublish``, ``item.done``/``undone``/``mark_read``):
  sending twice leaves Canvas as sending once, so sent again plainly;
- deletes (``module.delete``, ``item.delete``): sent again; a 404 after a lost
  answer (or on a rerun after an intent) means the first one landed;
- creates (``module.create``, ``item.create``): looked for first, as above;
  the publish that may follow one is an update.

A rerun treats an operation whose intent line has no ok outcome after it as
one whose answer was lost (see :mod:`bulkmod.engine.journal`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bulkmod.client.errors import ConflictError
from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.shapes import checked_entries, where
from bulkmod.client.urls import api_path


@dataclass
class Survey:
    """A course as the engine first sees it, before its first create there."""

    module_floor: int
    item_floor: int
    #: Its modules then (without their items), by id.
    modules: dict[int, dict[str, Any]]


async def survey(
    client: CanvasClient, course_id: int, stats: Stats, as_user: str | None
) -> Survey:
    """The highest module and item ids of a course now, and its modules."""
    path = api_path("/courses/{course}/modules", course=course_id)
    modules = await client.list_all(
        path, query={"include": ["items"]}, as_user=as_user, stats=stats, kind="module"
    )
    module_floor = max((int(module["id"]) for module in modules), default=0)
    item_floor = 0
    for module in modules:
        items = module.get("items")
        if items is None:
            # Canvas leaves items out of a module that has more than 100.
            items = await client.list_all(
                path + f"/{int(module['id'])}/items",
                as_user=as_user,
                stats=stats,
                kind="item",
            )
        else:
            checked_entries(items, "item", where("GET", path))
        item_floor = max([item_floor, *(int(item["id"]) for item in items)])
    kept = {
        int(module["id"]): {
            key: value for key, value in module.items() if key != "items"
        }
        for module in modules
    }
    return Survey(module_floor, item_floor, kept)


async def find_module(
    client: CanvasClient,
    course_id: int,
    params: dict[str, Any],
    floor: int,
    stats: Stats,
    as_user: str | None,
    claimed: Collection[int] = (),
) -> dict[str, Any] | None:
    """The module a lost ``module.create`` made, or None if it did not land."""
    path = api_path("/courses/{course}/modules", course=course_id)
    modules = await client.list_all(path, as_user=as_user, stats=stats, kind="module")
    name = params.get("name")
    found = [
        module
        for module in modules
        if _new(module, floor, claimed) and module.get("name") == name
    ]
    return _only(found, "module", name)


async def find_item(
    client: CanvasClient,
    course_id: int,
    module_id: int,
    params: dict[str, Any],
    floor: int,
    stats: Stats,
    as_user: str | None,
    claimed: Collection[int] = (),
) -> dict[str, Any] | None:
    """The item a lost ``item.create`` made, or None if it did not land."""
    path = api_path(
        "/courses/{course}/modules/{module}/items", course=course_id, module=module_id
    )
    items = await client.list_all(path, as_user=as_user, stats=stats, kind="item")
    found = [
        item
        for item in items
        if _new(item, floor, claimed) and _same_item(item, params)
    ]
    return _only(found, "item", params.get("title"))


def _new(found: dict[str, Any], floor: int, claimed: Collection[int]) -> bool:
    object_id = int(found["id"])
    return object_id > floor and object_id not in claimed


def _same_item(item: dict[str, Any], params: dict[str, Any]) -> bool:
    wanted_type = params.get("type")
    if wanted_type is not None and item.get("type") not in (
        wanted_type,
        # An assignment that backs a quiz or discussion comes back as one.
        *(("Quiz", "Discussion") if wanted_type == "Assignment" else ()),
    ):
        return False
    if "title" in params and item.get("title") != params["title"]:
        return False
    for key in ("page_url", "external_url"):
        if key in params and item.get(key) != params[key]:
            return False
    return not (
        "content_id" in params
        and wanted_type != "Assignment"
        and str(item.get("content_id")) != str(params["content_id"])
    )


def _only(found: list[dict[str, Any]], what: str, name: Any) -> dict[str, Any] | None:
    if len(found) > 1:
        ids = ", ".join(str(entry["id"]) for entry in found)
        raise ConflictError(
            f"after a lost answer, {len(found)} new {what}s named {name!r} were "
            f"found ({ids}); check them in Canvas and delete the extra ones"
        )
    return found[0] if found else None
