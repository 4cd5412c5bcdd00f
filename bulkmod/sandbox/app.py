"""The sandbox's aiohttp application: routes, and the path every request takes.

One middleware carries each request through what Canvas's stack does to it,
in Canvas's order::

    count it -> throttle: reserve the up-front cost, or refuse (plain text)
             -> authenticate the token (401 + WWW-Authenticate)
             -> read parameters, act as ``as_user_id`` (admins only)
             -> the handler (CanvasFailure -> Canvas's error body)
             -> latency, holding the reservation
             -> throttle: settle the real cost; X-Request-Cost and
                X-Rate-Limit-Remaining on the answer
             -> injected faults: 500 before the handler, or a dropped
                connection after it

The per-request path is kept lean (no logging, no copies of records): the
sandbox serves benchmarks at thousands of requests a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bulkmod.sandbox import routes_courses, routes_items, routes_modules
from bulkmod.sandbox.auth import (
    WWW_AUTHENTICATE,
    AuthFailure,
    acting_user,
    authenticate,
    request_token,
    token_hash,
)
from bulkmod.sandbox.faults import Fault, server_error_body
from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.pagination import InvalidPage
from bulkmod.sandbox.params import InvalidParams, read_params
from bulkmod.sandbox.routes_common import (
    CALLER,
    CONTEXT,
    Caller,
    SandboxContext,
    SandboxStats,
    caller_params,
    json_response,
)
from bulkmod.sandbox.throttle import request_cost

__all__ = ["CONTEXT", "SandboxContext", "SandboxStats", "create_app"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = structlog.get_logger("bulkmod.sandbox")

_THROTTLED_TEXT = {
    403: "403 Forbidden (Rate Limit Exceeded)\n",
    429: "429 Too Many Requests (Rate Limit Exceeded)\n",
}
_NOT_FOUND = CanvasFailure.not_found().body
_INVALID_PAGE = {
    "errors": [{"message": "An error occurred.", "error_code": "not_found"}]
}


def create_app(context: SandboxContext) -> web.Application:
    """Return the sandbox application serving Canvas's routes over ``context``."""
    app = web.Application(middlewares=[_canvas_middleware])
    app[CONTEXT] = context
    routes_modules.add_routes(app.router)
    routes_items.add_routes(app.router)
    routes_courses.add_routes(app.router)
    return app


@web.middleware
async def _canvas_middleware(
    request: web.Request, handler: _Handler
) -> web.StreamResponse:
    """Carry one request through throttle, auth, handler, faults and headers."""
    ctx = request.app[CONTEXT]
    stats = ctx.stats
    stats.requests += 1
    stats.by_method[request.method] += 1
    route = _route_name(request)
    stats.by_route[request.method + " " + route] += 1

    token = request_token(request)
    hashed = None if token is None else token_hash(token)
    if hashed is not None:
        stats.by_token[hashed] += 1
        key = "token:" + hashed
    else:
        key = "ip:" + (request.remote or "")

    throttle = ctx.throttle
    if throttle is not None and not throttle.reserve(key):
        return await _throttled(ctx, key)

    fault = ctx.faults.draw()
    cost = 0.0
    response: web.StreamResponse
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    try:
        if fault is Fault.FAIL:
            stats.failed += 1
            response = _server_error(ctx)
        else:
            response = await _answer(request, handler, ctx, token, hashed)
        if ctx.latency:
            await asyncio.sleep(ctx.latency)
        cost = request_cost(
            request.method, route, caller_params(request), ctx.request_cost
        )
    finally:
        stats.in_flight -= 1
        # Settled even when the client went away mid-request, as Canvas
        # refunds every reservation it took.
        remaining = ctx.hwm if throttle is None else throttle.settle(key, cost)

    response.headers["X-Request-Cost"] = str(cost)
    response.headers["X-Rate-Limit-Remaining"] = str(remaining)
    if fault is Fault.DROP:
        stats.dropped += 1
        _drop(request)
    return response


async def _answer(
    request: web.Request,
    handler: _Handler,
    ctx: SandboxContext,
    token: str | None,
    hashed: str | None,
) -> web.StreamResponse:
    """Authenticate, read parameters and run the handler; render any refusal."""
    try:
        user = authenticate(ctx.state, ctx.revocations, token, hashed)
        values = await read_params(request)
        caller = request[CALLER] = Caller(user, values)
        caller.viewer = acting_user(ctx.state, user, values.get("as_user_id"))
        return await handler(request)
    except CanvasFailure as failure:
        status = failure.status
        if status == 401:
            status = ctx.auth_error_status
        return json_response(failure.body, status=status)
    except AuthFailure as failure:
        headers = {"WWW-Authenticate": WWW_AUTHENTICATE}
        return json_response(failure.body, status=401, headers=headers)
    except InvalidParams as error:
        return json_response({"message": str(error)}, status=400)
    except InvalidPage:
        return json_response(_INVALID_PAGE, status=404)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        # Canvas answers an unknown API route like a missing record.
        return json_response(_NOT_FOUND, status=404)
    except Exception:
        ctx.stats.errors += 1
        _log.exception("sandbox_error", route=_route_name(request))
        return _server_error(ctx)


async def _throttled(ctx: SandboxContext, key: str) -> web.Response:
    """Refuse a request at the high-water mark, as Canvas's throttle does."""
    ctx.stats.throttled += 1
    assert ctx.throttle is not None
    # The refused request's reservation is refunded before the header is
    # computed, so the remaining quota it reports can be positive.
    remaining = ctx.throttle.settle(key, 0.0)
    if ctx.latency:
        await asyncio.sleep(ctx.latency)
    status = ctx.throttle_status
    response = web.Response(
        status=status,
        text=_THROTTLED_TEXT[status],
        content_type="text/plain",
        charset="utf-8",
    )
    response.headers["X-Rate-Limit-Remaining"] = str(remaining)
    return response


def _server_error(ctx: SandboxContext) -> web.Response:
    """Answer 500 with Canvas's body and a fresh error report id."""
    ctx.error_reports += 1
    return json_response(server_error_body(ctx.error_reports), status=500)


def _route_name(request: web.Request) -> str:
    """Return the route template of a request, or its path when none matched."""
    resource = request.match_info.route.resource
    if resource is None:
        return request.path
    return resource.canonical


def _drop(request: web.Request) -> None:
    """Close the connection so the client receives no answer at all."""
    transport = request.transport
    if transport is not None:
        transport.abort()
