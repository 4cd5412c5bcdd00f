"""Handlers of Canvas's module routes: list, show, create, update, delete,
relock and the batch publish/unpublish/delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bulkmod.sandbox.pagination import paginate
from bulkmod.sandbox.routes_common import (
    course_of,
    includes,
    json_response,
    optional_text,
    params,
    state_of,
    viewer,
    wrapped,
)

_MODULES = "/api/v1/courses/{course_id}/modules"
_MODULE = _MODULES + "/{module_id}"


async def list_modules(request: web.Request) -> web.Response:
    """GET the course's modules, a page at a time.

    With ``include[]=items`` a ``search_term`` is applied after pagination,
    module by module, as Canvas does: pages may come out short.
    """
    state, user, values = state_of(request), viewer(request), params(request)
    course = course_of(request)
    wanted = includes(values)
    with_items = "items" in wanted
    details = with_items and "content_details" in wanted
    student = state.student_for(course, user, optional_text(values.get("student_id")))
    term = optional_text(values.get("search_term"))
    modules = state.list_modules(
        course, user, search_term=term, include_items=with_items, student=student
    )
    page, link = paginate(request.url, modules)

    rendered: list[dict[str, Any]] = []
    for module in page:
        if with_items and term is not None:
            found = state.searched_module_json(
                module, user, term, include_content_details=details, student=student
            )
            if found is not None:
                rendered.append(found)
        else:
            rendered.append(
                state.module_json(
                    module,
                    user,
                    include_items=with_items,
                    include_content_details=details,
                    student=student,
                )
            )
    return json_response(rendered, headers={"Link": link} if link else None)


async def show_module(request: web.Request) -> web.Response:
    """GET one module."""
    state, user, values = state_of(request), viewer(request), params(request)
    course = course_of(request)
    wanted = includes(values)
    with_items = "items" in wanted
    student = state.student_for(course, user, optional_text(values.get("student_id")))
    module_id = request.match_info["module_id"]
    module = state.get_module(course, user, module_id, student=student)
    body = state.module_json(
        module,
        user,
        include_items=with_items,
        include_content_details=with_items and "content_details" in wanted,
        student=student,
    )
    return json_response(body)


async def create_module(request: web.Request) -> web.Response:
    """POST a new module (always unpublished)."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    module = state.create_module(course, user, wrapped(params(request), "module"))
    return json_response(state.module_json(module, user))


async def update_module(request: web.Request) -> web.Response:
    """PUT changes to one module."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    module_id = request.match_info["module_id"]
    changes = wrapped(params(request), "module")
    return json_response(state.update_module(course, user, module_id, changes))


async def delete_module(request: web.Request) -> web.Response:
    """DELETE one module (soft: its JSON comes back)."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    module_id = request.match_info["module_id"]
    return json_response(state.delete_module(course, user, module_id))


async def relock_module(request: web.Request) -> web.Response:
    """PUT a relock of one module's progressions."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    module_id = request.match_info["module_id"]
    return json_response(state.relock_module(course, user, module_id))


async def batch_update(request: web.Request) -> web.Response:
    """PUT one event (publish, unpublish, delete) to several modules."""
    state, user = state_of(request), viewer(request)
    course = course_of(request)
    return json_response(state.batch_update(course, user, params(request)))


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the module routes."""
    router.add_get(_MODULES, list_modules, allow_head=False)
    router.add_post(_MODULES, create_module)
    router.add_put(_MODULES, batch_update)
    router.add_get(_MODULE, show_module, allow_head=False)
    router.add_put(_MODULE, update_module)
    router.add_delete(_MODULE, delete_module)
    router.add_put(_MODULE + "/relock", relock_module)
