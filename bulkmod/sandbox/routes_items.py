"""Handlers of Canvas's module item routes, and the course's item sequence."""

from __future__ import annotations

from aiohttp import web

from bulkmod.sandbox.model_objects import Item
from bulkmod.sandbox.routes_common import (
    course_of,
    includes,
    json_response,
    optional_text,
    paginated,
    params,
    state_of,
    viewer,
    wrapped,
)

_ITEMS = "/api/v1/courses/{course_id}/modules/{module_id}/items"
_ITEM = _ITEMS + "/{item_id}"


async def list_items(request: web.Request) -> web.Response:
    """GET the items of one module, a page at a time."""
    state, user, values = state_of(request), viewer(request), params(request)
    course = course_of(request)
    details = "content_details" in includes(values)
    student = state.student_for(course, user, optional_text(values.get("student_id")))
    items = state.list_items(
        course,
        user,
        request.match_info["module_id"],
        search_term=optional_text(values.get("search_term")),
        student=student,
    )

    def render(item: Item) -> object:
        return state.item_json(
            item, user, include_content_details=details, student=student
        )

    return paginated(request, items, render)


async def show_item(request: web.Request) -> web.Response:
    """GET one item of one module."""
    state, user, values = state_of(request), viewer(request), params(request)
    course = course_of(request)
    student = state.student_for(course, user, optional_text(values.get("student_id")))
    module_id, item_id = request.match_info["module_id"], request.match_info["item_id"]
    item = state.get_item(course, user, module_id, item_id, student=student)
    body = state.item_json(
        item,
        user,
        include_content_details="content_details" in includes(values),
        student=student,
    )
    return json_response(body)


async def create_item(request: web.Request) -> web.Response:
    """POST a new item into a module."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    fields = wrapped(params(request), "module_item")
    body = state.create_item(course, user, request.match_info["module_id"], fields)
    return json_response(body)


async def update_item(request: web.Request) -> web.Response:
    """PUT changes to an item (or move it to another module)."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    body = state.update_item(
        course,
        user,
        request.match_info["module_id"],
        request.match_info["item_id"],
        wrapped(params(request), "module_item"),
    )
    return json_response(body)


async def delete_item(request: web.Request) -> web.Response:
    """DELETE an item (soft: its JSON comes back)."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    body = state.delete_item(
        course, user, request.match_info["module_id"], request.match_info["item_id"]
    )
    return json_response(body)


async def mark_done(request: web.Request) -> web.Response:
    """PUT (done) or DELETE (not done) the caller's mark on an item."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    body = state.mark_done(
        course,
        user,
        request.match_info["module_id"],
        request.match_info["item_id"],
        request.method == "PUT",
    )
    return json_response(body)


async def mark_read(request: web.Request) -> web.Response:
    """POST that the caller has viewed an item."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    body = state.mark_read(
        course, user, request.match_info["module_id"], request.match_info["item_id"]
    )
    return json_response(body)


async def item_sequence(request: web.Request) -> web.Response:
    """GET the items before and after an asset in the course's sequence."""
    state, user, values = state_of(request), viewer(request), params(request)
    course = course_of(request)
    body = state.item_sequence(
        course,
        user,
        optional_text(values.get("asset_type")),
        optional_text(values.get("asset_id")),
    )
    return json_response(body)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the item routes."""
    router.add_get(_ITEMS, list_items, allow_head=False)
    router.add_post(_ITEMS, create_item)
    router.add_get(_ITEM, show_item, allow_head=False)
    router.add_put(_ITEM, update_item)
    router.add_delete(_ITEM, delete_item)
    router.add_put(_ITEM + "/done", mark_done)
    router.add_delete(_ITEM + "/done", mark_done)
    router.add_post(_ITEM + "/mark_read", mark_read)
    sequence = "/api/v1/courses/{course_id}/module_item_sequence"
    router.add_get(sequence, item_sequence, allow_head=False)
