"""The Canvas client against small aiohttp servers on 127.0.0.1."""

from __future__ import annotations

import ast
import asyncio
import random
import sys
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from structlog.testing import capture_logs


def _install_stand_ins() -> None:
    """Provide params and pacing until the real modules are in the package."""
    try:
        import bulkmod.client.params  # noqa: F401
    except ModuleNotFoundError as missing:
        if missing.name != "bulkmod.client.params":
            raise
        params = types.ModuleType("bulkmod.client.params")

        def encode(values: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
            pairs: list[tuple[str, str]] = []
            for key, value in values.items():
                name = f"{prefix}[{key}]" if prefix else str(key)
                if isinstance(value, dict):
                    pairs.extend(encode(value, name))
                elif isinstance(value, list):
                    pairs.extend((f"{name}[]", str(v)) for v in value)
                else:
                    pairs.append((name, str(value)))
            return pairs

        params.encode = encode  # type: ignore[attr-defined]
        sys.modules["bulkmod.client.params"] = params
    try:
        import bulkmod.client.pacing  # noqa: F401
    except ModuleNotFoundError as missing:
        if missing.name != "bulkmod.client.pacing":
            raise
        pacing = types.ModuleType("bulkmod.client.pacing")

        class Pacer:
            def __init__(self, **kwargs: Any) -> None:
                self.kwargs = kwargs

            async def acquire(self) -> None:
                return None

            def release(self, **kwargs: Any) -> None:
                return None

            def throttle_delay(self, attempt: int) -> float:
                return float(attempt)

        pacing.Pacer = Pacer  # type: ignore[attr-defined]
        sys.modules["bulkmod.client.pacing"] = pacing


_install_stand_ins()

from bulkmod.client.errors import (  # noqa: E402
    NetworkError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
)
from bulkmod.client.http import CanvasClient, Stats  # noqa: E402
from bulkmod.client.urls import api_path  # noqa: E402

TOKEN = "7~SECRETtokenVALUE1234"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request as the fake Canvas received it."""

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class FakeCanvas:
    """A scripted server: each request gets the next handler of ``script``."""

    script: list[Handler] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, list[str]] = {}
        if request.can_read_body:
            posted = await request.post()
            for key in posted:
                form[key] = [str(v) for v in posted.getall(key)]
        self.seen.append(
            Seen(
                request.method,
                request.raw_path.partition("?")[0],
                request.raw_path.partition("?")[2],
                dict(request.headers),
                form,
            )
        )
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return await step(request)


class RecordingPacer:
    """A pacer that records its calls and throttles by attempt seconds."""

    def __init__(self) -> None:
        self.acquired = 0
        self.released: list[dict[str, Any]] = []

    async def acquire(self) -> None:
        self.acquired += 1

    def release(
        self,
        *,
        cost: str | float | None,
        remaining: str | float | None,
        throttled: bool,
    ) -> None:
        self.released.append(
            {"cost": cost, "remaining": remaining, "throttled": throttled}
        )

    def throttle_delay(self, attempt: int) -> float:
        return float(attempt)


class HalfRandom(random.Random):
    """Jitter pinned to the middle: every backoff is 3/4 of its ceiling."""

    def random(self) -> float:
        return 0.5


@pytest.fixture
async def canvas() -> AsyncIterator[FakeCanvas]:
    fake = FakeCanvas()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.base_url = f"http://{host}:{port}"
    yield fake
    await runner.cleanup()


@dataclass
class Sleeps:
    """A sleep that records the delays asked for and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def _client(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer, **kwargs: Any
) -> CanvasClient:
    return CanvasClient(
        canvas.base_url,
        TOKEN,
        pacer=pacer,  # type: ignore[arg-type]
        sleep=sleeps,
        rng=HalfRandom(),
        **kwargs,
    )


def answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Handler:
    """A handler giving a JSON answer with Canvas's quota headers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        sent = {"X-Request-Cost": "0.25", "X-Rate-Limit-Remaining": "575.5"}
        sent.update(headers or {})
        return web.Response(
            status=status,
            body=orjson.dumps(body),
            content_type="application/json",
            headers=sent,
        )

    return handler


def throttled(status: int = 403) -> Handler:
    """A handler giving Canvas's plain-text throttled answer."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status,
            text=f"{status} Forbidden (Rate Limit Exceeded)\n",
            headers={"X-Rate-Limit-Remaining": "20.0"},
        )

    return handler


async def dropped(request: web.Request) -> web.StreamResponse:
    """A handler that drops the connection without answering."""
    assert request.transport is not None
    request.transport.close()
    return web.Response()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def pacer() -> RecordingPacer:
    return RecordingPacer()


async def test_get_sends_headers_and_returns_json(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A GET carries the token header, Accept and User-Agent; the JSON comes back."""
    canvas.script = [answer({"id": 5, "name": "Week 1"})]
    stats = Stats()
    with capture_logs() as logs:
        async with _client(canvas, sleeps, pacer) as client:
            got = await client.request("GET", "/courses/1/modules/5", stats=stats)

    assert got == {"id": 5, "name": "Week 1"}
    seen = canvas.seen[0]
    assert (seen.method, seen.raw_path, seen.query_string) == (
        "GET",
        "/api/v1/courses/1/modules/5",
        "",
    )
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("bulkmod/0.1.0")
    assert stats == Stats(attempts=1, throttled=0, last_status=200)
    assert pacer.acquired == 1
    # The header values as Canvas sent them: the pacer reads them.
    assert pacer.released == [
        {"cost": "0.25", "remaining": "575.5", "throttled": False}
    ]
    assert logs == [
        {
            "event": "canvas.request",
            "log_level": "debug",
            "method": "GET",
            "path": "/api/v1/courses/1/modules/5",
            "status": 200,
            "cost": 0.25,
            "remaining": 575.5,
            "attempt": 1,
        }
    ]


async def test_form_query_and_as_user(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """form goes form-encoded in bracket form; query and as_user_id in the URL."""
    canvas.script = [answer({"id": 9})]
    async with _client(canvas, sleeps, pacer) as client:
        await client.request(
            "POST",
            "/courses/1/modules",
            form={"module": {"name": "Week 1 & 2"}},
            query={"include": ["items"]},
            as_user="42",
        )

    seen = canvas.seen[0]
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen.form == {"module[name]": ["Week 1 & 2"]}
    assert seen.query_string == "include%5B%5D=items&as_user_id=42"
    assert TOKEN not in seen.query_string


async def test_not_found_raises_without_retry(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A 404 raises NotFoundError after one attempt."""
    body = {"errors": [{"message": "The specified resource does not exist."}]}
    canvas.script = [answer(body, status=404)]
    stats = Stats()
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.request("GET", "/courses/1/modules/99", stats=stats)

    assert caught.value.body == body
    assert stats == Stats(attempts=1, throttled=0, last_status=404)
    assert sleeps.delays == []


async def test_token_rejected_over_the_wire(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A 401 with WWW-Authenticate is a rejected token; the token is not quoted."""
    canvas.script = [
        answer(
            {"errors": [{"message": "Invalid access token."}]},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="canvas-lms"'},
        )
    ]
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(UnauthorizedError) as caught:
            await client.request("GET", "/courses/1/modules")

    assert caught.value.token_rejected
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


@pytest.mark.parametrize("status", [403, 429])
async def test_throttled_answers_are_sent_again(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer, status: int
) -> None:
    """Throttled answers (403 text, 429) are re-sent after the pacer's delay."""
    canvas.script = [throttled(status), throttled(status), answer([1])]
    stats = Stats()
    with capture_logs() as logs:
        async with _client(canvas, sleeps, pacer) as client:
            got = await client.request(
                "POST", "/courses/1/modules", retry=False, stats=stats
            )

    assert got == [1]
    assert sleeps.delays == [1.0, 2.0]
    assert stats == Stats(attempts=3, throttled=2, last_status=200)
    assert [r["throttled"] for r in pacer.released] == [True, True, False]
    assert pacer.released[0] == {"cost": None, "remaining": "20.0", "throttled": True}
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [(e["event"], e["attempt"]) for e in warnings] == [
        ("canvas.throttled", 1),
        ("canvas.throttled", 2),
    ]


async def test_throttled_past_the_limit_raises(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A request throttled more than max_throttled times raises ThrottledError."""
    canvas.script = [throttled(429)]
    stats = Stats()
    async with _client(canvas, sleeps, pacer, max_throttled=3) as client:
        with pytest.raises(ThrottledError) as caught:
            await client.request("GET", "/courses/1/modules", stats=stats)

    assert "4 times" in caught.value.message
    assert stats == Stats(attempts=4, throttled=4, last_status=429)
    assert sleeps.delays == [1.0, 2.0, 3.0]


async def test_server_errors_retried_honouring_retry_after(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """5xx answers are re-sent with backoff, waiting at least Retry-After."""
    canvas.script = [
        answer({"errors": []}, status=503, headers={"Retry-After": "7"}),
        answer({"errors": []}, status=500),
        answer({"id": 1}),
    ]
    stats = Stats()
    async with _client(canvas, sleeps, pacer) as client:
        got = await client.request("PUT", "/courses/1/modules/1", stats=stats)

    assert got == {"id": 1}
    # First backoff 1 s * 0.75 = 0.75, raised to Retry-After 7; second 2 s * 0.75.
    assert sleeps.delays == [7.0, 1.5]
    assert stats == Stats(attempts=3, throttled=0, last_status=200)


async def test_server_errors_give_up_after_max_retries(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """After max_retries re-sends the last ServerError is raised."""
    canvas.script = [answer({"errors": []}, status=500)]
    async with _client(canvas, sleeps, pacer, max_retries=2) as client:
        with pytest.raises(ServerError):
            await client.request("GET", "/courses/1/modules")

    assert len(canvas.seen) == 3
    assert sleeps.delays == [0.75, 1.5]


async def test_retry_false_raises_at_once(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """With retry=False a 5xx or a dropped DELETE raises on the first attempt."""
    canvas.script = [answer({"errors": []}, status=500)]
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(ServerError):
            await client.request("POST", "/courses/1/modules", retry=False)
        canvas.script = [dropped]
        with pytest.raises(NetworkError):
            await client.request("DELETE", "/courses/1/modules/4", retry=False)

    assert len(canvas.seen) == 2
    assert sleeps.delays == []


async def test_dropped_connection_is_retried(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A dropped connection is a NetworkError, re-sent, and released with Nones."""
    canvas.script = [dropped, answer({"id": 3})]
    stats = Stats()
    with capture_logs() as logs:
        async with _client(canvas, sleeps, pacer) as client:
            got = await client.request("GET", "/courses/1/modules/3", stats=stats)

    assert got == {"id": 3}
    assert sleeps.delays == [0.75]
    assert stats == Stats(attempts=2, throttled=0, last_status=200)
    assert pacer.acquired == 2
    assert pacer.released[0] == {"cost": None, "remaining": None, "throttled": False}
    requests = [e for e in logs if e["event"] == "canvas.request"]
    assert [(e["status"], e["attempt"]) for e in requests] == [(None, 1), (200, 2)]
    assert requests[0]["error"] == "network"


async def test_timeout_is_network_error(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """No answer within timeout is a NetworkError naming --timeout."""

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.Response(text="[]")

    canvas.script = [slow]
    async with _client(canvas, sleeps, pacer, timeout=0.05, max_retries=0) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request("GET", "/courses/1/modules")

    assert "--timeout" in caught.value.message
    assert caught.value.status is None and caught.value.retryable
    assert len(pacer.released) == 1


async def test_non_json_success_is_network_error(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A 200 whose body is not JSON (a proxy's page) is a NetworkError."""

    async def portal(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>sign in</html>", content_type="text/html")

    canvas.script = [portal]
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request("GET", "/courses/1/modules", retry=False)

    assert caught.value.status == 200


async def test_redirect_not_followed(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A redirect is not followed (the token stays home) and not retried."""

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/login")

    canvas.script = [moved]
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request("GET", "/courses/1/modules")

    assert caught.value.status == 302
    assert len(canvas.seen) == 1


def _paged(pages: list[tuple[list[int], str | None]]) -> list[Handler]:
    def page(items: list[int], link: str | None) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            headers = {"lInK": link} if link is not None else {}
            return web.Response(
                body=orjson.dumps(items),
                content_type="application/json",
                headers=headers,
            )

        return handler

    return [page(items, link) for items, link in pages]


async def test_list_all_follows_next_links(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """list_all asks per_page=100, follows rel="next" as given, joins the pages."""
    base = canvas.base_url + "/api/v1/courses/1/modules"
    second = f"{base}?include%5B%5D=items&page=2&per_page=100"
    third = f"{base}?include%5B%5D=items&page=3&per_page=100"
    canvas.script = _paged(
        [
            ([1, 2], f'<{base}?page=1>; rel="current",<{second}>; rel="next"'),
            ([3], f'<{third}>; rel=next,<{base}?page=1>; rel="first"'),
            ([4], f'<{base}?page=1>; rel="first"'),
        ]
    ) + [answer([99])]
    stats = Stats()
    async with _client(canvas, sleeps, pacer) as client:
        got = await client.list_all(
            "/courses/1/modules", query={"include": ["items"]}, stats=stats
        )

    assert got == [1, 2, 3, 4]
    assert [s.query_string for s in canvas.seen] == [
        "include%5B%5D=items&per_page=100",
        "include%5B%5D=items&page=2&per_page=100",
        "include%5B%5D=items&page=3&per_page=100",
    ]
    assert stats.attempts == 3


async def test_list_all_keeps_as_user(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A next link without as_user_id gets it back, so pages stay the student's."""
    base = canvas.base_url + "/api/v1/courses/1/modules"
    canvas.script = _paged(
        [([1], f'<{base}?page=2&per_page=100>; rel="next"'), ([2], None)]
    )
    async with _client(canvas, sleeps, pacer) as client:
        got = await client.list_all("/courses/1/modules", as_user="8")

    assert got == [1, 2]
    assert canvas.seen[1].query_string == "page=2&per_page=100&as_user_id=8"


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:{port}/api/v1/courses/1/modules?page=2",
        "https://127.0.0.1:{port}/api/v1/courses/1/modules?page=2",
        "/login?page=2",
    ],
)
async def test_list_all_refuses_next_elsewhere(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer, target: str
) -> None:
    """A next page on another origin, or outside the API, is not requested."""
    port = canvas.base_url.rsplit(":", 1)[1]
    canvas.script = _paged([([1], f'<{target.format(port=port)}>; rel="next"')])
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(NetworkError) as caught:
            await client.list_all("/courses/1/modules")

    assert not caught.value.retryable
    assert len(canvas.seen) == 1


async def test_list_all_refuses_a_page_loop(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """Pages leading back to a page already read raise instead of looping."""
    loop = canvas.base_url + "/api/v1/courses/1/modules?page=2"
    canvas.script = _paged([([1], f'<{loop}>; rel="next"')])
    async with _client(canvas, sleeps, pacer) as client:
        with pytest.raises(NetworkError):
            await client.list_all("/courses/1/modules")

    assert len(canvas.seen) == 2


async def test_hostile_path_parts_reach_canvas_as_one_segment(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """Parts built with api_path arrive percent-encoded, never as new segments."""
    canvas.script = [answer([])]
    async with _client(canvas, sleeps, pacer) as client:
        for part in ("../x", "a/b", "?x", "%2e%2e"):
            await client.request(
                "GET", api_path("/courses/{course}/modules", course=part)
            )

    assert [s.raw_path for s in canvas.seen] == [
        "/api/v1/courses/..%2Fx/modules",
        "/api/v1/courses/a%2Fb/modules",
        "/api/v1/courses/%3Fx/modules",
        "/api/v1/courses/%252e%252e/modules",
    ]
    assert all(s.query_string == "" for s in canvas.seen)


async def test_raw_paths_with_query_or_dots_refused(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """A path with a query, a fragment or a dot segment is refused unsent."""
    async with _client(canvas, sleeps, pacer) as client:
        for path in ("/courses/1?x=1", "/courses/../users", "courses/1", "/a#b"):
            with pytest.raises(ValueError):
                await client.request("GET", path)

    assert canvas.seen == []


def test_constructor_refuses_bad_base_url_and_token() -> None:
    """Plain http off loopback and an empty token are refused before any request."""
    with pytest.raises(ValueError, match="--allow-insecure-http"):
        CanvasClient("http://canvas.example.edu", TOKEN)
    with pytest.raises(ValueError) as caught:
        CanvasClient("https://canvas.example.edu", " " + TOKEN)
    assert TOKEN not in str(caught.value)
    with pytest.raises(ValueError):
        CanvasClient("https://canvas.example.edu", "")


async def test_default_pacer_and_repr() -> None:
    """Without a pacer the client builds one; its repr shows the origin only."""
    client = CanvasClient("https://canvas.example.edu/api/v1/", TOKEN, max_rate=5.0)
    assert client.pacer is not None
    assert client.base_url == "https://canvas.example.edu"
    assert repr(client) == "CanvasClient('https://canvas.example.edu')"


async def test_token_never_logged_or_in_errors(
    canvas: FakeCanvas, sleeps: Sleeps, pacer: RecordingPacer
) -> None:
    """Neither the token nor the query string appears in any log event or error."""
    canvas.script = [
        answer([]),
        throttled(),
        answer({"errors": []}, status=500),
        dropped,
        answer({"errors": [{"message": f"bad {TOKEN}"}]}, status=400),
    ]
    errors: list[BaseException] = []
    with capture_logs() as logs:
        async with _client(canvas, sleeps, pacer, max_retries=1) as client:
            await client.request(
                "GET", "/courses/1/modules", query={"search_term": "wk"}
            )
            try:
                await client.request("GET", "/courses/1/modules")
            except NetworkError as err:
                errors.append(err)
            try:
                await client.request("GET", "/courses/1/modules")
            except Exception as err:  # noqa: BLE001
                errors.append(err)

    assert len(errors) == 2
    assert "[token]" in str(errors[1])
    events = [repr(event) for event in logs]
    assert any("canvas.request" in e for e in events)
    for text in events + [str(e) for e in errors] + [repr(e) for e in errors]:
        assert TOKEN not in text
        assert "search_term" not in text
    assert TOKEN not in repr(client)
    assert pacer.acquired == len(pacer.released) == 5


def test_client_imports_neither_engine_nor_sandbox() -> None:
    """The client package is the edge: it imports nothing of the engine or sandbox."""
    package = Path(__file__).parent.parent / "bulkmod" / "client"
    imported: set[str] = set()
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)

    assert "bulkmod.client.errors" in imported
    for name in imported:
        assert not name.startswith(("bulkmod.engine", "bulkmod.sandbox")), name
