"""A loopback proxy in front of the sandbox that spoils chosen answers.

The sandbox's own faults strike at random; a test of one lost answer needs
to choose which request loses it. Each :class:`Rule` names a method and a
path pattern and what to do to the next matching requests:

- ``drop``: pass the request on (Canvas acts), then close the connection;
- ``fail_after``: pass it on, then answer 500 (Canvas acted and failed after);
- ``fail``: answer 500 without passing it on (nothing happened);
- ``slow``: pass it on, then hold the answer ``delay`` seconds;
- ``reject``: answer 401 "Invalid access token." without passing it on.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

_SERVER_ERROR = b'{"errors":[{"message":"An error occurred."}]}'
_REJECTED = b'{"errors":[{"message":"Invalid access token."}]}'

#: Answer headers passed back as they are.
_KEPT = ("Content-Type", "X-Request-Cost", "X-Rate-Limit-Remaining")


@dataclass
class Rule:
    """Spoil the next ``times`` requests of ``method`` whose path matches."""

    method: str
    path: str
    action: str
    times: int = 1
    delay: float = 0.0
    #: Requests this rule spoiled so far.
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule spoils a request of ``method`` to ``path`` now."""
        return (
            self.hits < self.times
            and method == self.method
            and re.fullmatch(self.path, path) is not None
        )


@dataclass
class FaultProxy:
    """The proxy's address, its rules and what it passed on."""

    base_url: str
    rules: list[Rule]
    #: ``"METHOD /path"`` of every request, in the order they came.
    seen: list[str] = field(default_factory=list)

    def count(self, method: str, pattern: str) -> int:
        """Requests seen of ``method`` whose path matches ``pattern``."""
        return sum(
            1
            for entry in self.seen
            if entry.split(" ", 1)[0] == method
            and re.fullmatch(pattern, entry.split(" ", 1)[1])
        )


@asynccontextmanager
async def serve_proxy(upstream: str, rules: list[Rule]) -> AsyncIterator[FaultProxy]:
    """Serve a proxy to ``upstream`` on 127.0.0.1 until the block ends."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    proxy = FaultProxy("", rules)

    async def handle(request: web.Request) -> web.StreamResponse:
        proxy.seen.append(f"{request.method} {request.path}")
        rule = next((r for r in rules if r.matches(request.method, request.path)), None)
        if rule is not None:
            rule.hits += 1
        action = rule.action if rule is not None else "pass"
        if action == "fail":
            return web.Response(status=500, body=_SERVER_ERROR, content_type=_JSON)
        if action == "reject":
            return web.Response(
                status=401,
                body=_REJECTED,
                content_type=_JSON,
                headers={"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
            )

        body = await request.read()
        headers = {
            name: value
            for name, value in request.headers.items()
            if name in ("Authorization", "Content-Type", "Accept")
        }
        async with session.request(
            request.method,
            upstream + request.path_qs,
            data=body or None,
            headers=headers,
            allow_redirects=False,
        ) as answer:
            raw = await answer.read()
            kept = {
                name: answer.headers[name] for name in _KEPT if name in answer.headers
            }
            links = answer.headers.getall("Link", [])
            status = answer.status

        if action == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if action == "fail_after":
            return web.Response(status=500, body=_SERVER_ERROR, content_type=_JSON)
        if action == "slow":
            await asyncio.sleep(rule.delay if rule is not None else 0.0)
        response = web.Response(status=status, body=raw)
        for name, value in kept.items():
            response.headers[name] = value
        for link in links:
            response.headers.add("Link", link.replace(upstream, proxy.base_url))
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        proxy.base_url = f"http://127.0.0.1:{port}"
        yield proxy
    finally:
        await runner.cleanup()
        await session.close()


_JSON = "application/json"
