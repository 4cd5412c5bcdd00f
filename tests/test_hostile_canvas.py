"""A run against a server that answers what Canvas never would.

Each test puts a small aiohttp server on 127.0.0.1 that answers like Canvas
except for one odd thing: a wrong JSON shape, a bad id, absurd rate-limit
headers, pages that never end, a huge body. The run must record a result for
every operation and go on, never crash or hang.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
from aiohttp import web
from canvas_read import read_results, write_job
from structlog.testing import capture_logs
from test_pacing import VirtualLoop
from test_pacing import run as run_virtual

from bulkmod.cli import main
from bulkmod.client.errors import BadAnswerError, InvalidError, NetworkError
from bulkmod.client.http import CanvasClient
from bulkmod.client.limits import MAX_BODY, MAX_LIST_BYTES, MAX_PAGES
from bulkmod.client.pacing import MAX_WAIT, Pacer
from bulkmod.client.quota import COST_RANGE, REMAINING_RANGE, quota_number
from bulkmod.engine import operations
from bulkmod.engine.execute import Executor
from bulkmod.engine.run import RunSettings, run_job
from bulkmod.job.validate import check_job
from bulkmod.target import Target, TargetError, read_token

TOKEN = "7~hostileTESTtoken"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """An answer with ``body`` as JSON (``body`` bytes are sent as they are)."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return web.Response(
        status=status, body=raw, content_type="application/json", headers=headers
    )


def odd(body: Any, status: int = 200) -> Handler:
    """A handler that always answers ``body``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer(body, status)

    return handler


@dataclass
class OddCanvas:
    """A fake Canvas: plain answers, except the odd ones a test sets.

    ``odd`` maps ``"METHOD /path regex"`` (path without ``/api/v1``) to a
    handler; the first that matches answers instead of the plain Canvas.
    """

    odd: dict[str, Handler] = field(default_factory=dict)
    #: Modules each course lists, by course id.
    modules: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: ``"METHOD /path"`` of every request, in order.
    seen: list[str] = field(default_factory=list)
    base_url: str = ""
    next_id: int = 10

    def count(self, method: str, pattern: str) -> int:
        """Requests seen of ``method`` whose path matches ``pattern``."""
        return sum(
            1
            for entry in self.seen
            if entry.startswith(method + " ")
            and re.fullmatch(pattern, entry.split(" ", 1)[1])
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix("/api/v1")
        self.seen.append(f"{request.method} {path}")
        for key, handler in self.odd.items():
            method, pattern = key.split(" ", 1)
            if method == request.method and re.fullmatch(pattern, path):
                return await handler(request)
        return await self._plain(request, path)

    async def _plain(self, request: web.Request, path: str) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        if path == "/users/self":
            return json_answer({"id": 1, "name": "Admin"})
        course = int(parts[1])
        listed = self.modules.setdefault(course, [])
        if request.method == "GET" and len(parts) == 3:
            return json_answer(listed)
        if request.method == "POST" and len(parts) == 3:
            form = await request.post()
            self.next_id += 1
            made = {"id": self.next_id, "name": form.get("module[name]")}
            listed.append(made)
            return json_answer({**made, "published": False})
        if len(parts) == 4:
            module_id = int(parts[3])
            return json_answer({"id": module_id, "name": "A", "published": False})
        if parts[-1] == "items":
            return json_answer([])
        return json_answer({"message": "not in this fake"}, status=404)


@pytest.fixture
async def canvas() -> AsyncIterator[OddCanvas]:
    """An :class:`OddCanvas` serving on a free port of 127.0.0.1."""
    fake = OddCanvas()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    fake.base_url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


async def run(
    canvas: OddCanvas, tmp_path: Path, lines: list[dict[str, Any]], **settings: Any
) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run a job on the fake; return the exit status and outcomes by id."""
    job = write_job(tmp_path / "job.jsonl", lines)
    status = await run_job(
        check_job(job),
        Target(canvas.base_url, TOKEN),
        RunSettings(
            results=tmp_path / "job.results.jsonl",
            show_progress=False,
            max_retries=1,
            **settings,
        ),
    )
    outcomes = read_results(tmp_path / "job.results.jsonl")
    return status, {outcome["id"]: outcome for outcome in outcomes}


def intents(tmp_path: Path) -> list[str]:
    """The op ids of the intent lines in the results file."""
    records = [
        orjson.loads(raw)
        for raw in (tmp_path / "job.results.jsonl").read_bytes().splitlines()
    ]
    return [record["intent"] for record in records if "intent" in record]


def create(op_id: str, course: int, name: str) -> dict[str, Any]:
    """A ``module.create`` line."""
    return {
        "id": op_id,
        "op": "module.create",
        "course": course,
        "params": {"name": name},
    }


# -- answers of the wrong shape -------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "no id"),
        ([], "a list, not an object"),
        (None, "null, not an object"),
        ("str", "a string, not an object"),
        ({"id": "abc"}, "id 'abc' is not a whole number above 0"),
        ({"id": 1.5}, "id 1.5 is not a whole number above 0"),
        ({"id": -5}, "id -5 is not a whole number above 0"),
        ({"id": 0}, "id 0 is not a whole number above 0"),
        ({"id": True}, "id True is not a whole number above 0"),
    ],
)
async def test_a_create_answer_of_the_wrong_shape_fails_that_create_alone(
    canvas: OddCanvas, tmp_path: Path, body: Any, problem: str
) -> None:
    """A 2xx create answer without a usable id fails it, sent once; others go on."""
    canvas.odd["POST /courses/1/modules"] = odd(body)

    status, outcomes = await run(
        canvas, tmp_path, [create("a", 1, "A"), create("b", 2, "B")]
    )

    assert status == 1
    assert outcomes["a"]["status"] == "failed"
    assert outcomes["a"]["object_id"] is None
    assert outcomes["a"]["error"] == {
        "type": "network",
        "message": "Canvas answered POST /api/v1/courses/1/modules with something "
        f"that is not a module ({problem}); check that the base URL points at "
        "Canvas",
    }
    assert canvas.count("POST", "/courses/1/modules") == 1
    assert outcomes["b"]["status"] == "ok"
    assert outcomes["b"]["object_id"] == 11
    assert sorted(intents(tmp_path)) == ["a", "b"]


async def test_a_create_whose_answer_was_unreadable_is_looked_for_on_rerun(
    canvas: OddCanvas, tmp_path: Path
) -> None:
    """The intent stays open: a rerun finds the module that landed, sends no POST."""
    canvas.odd["POST /courses/1/modules"] = odd({})
    status, _ = await run(canvas, tmp_path, [create("a", 1, "A")])
    assert status == 1

    canvas.odd.clear()
    canvas.modules[1] = [{"id": 11, "name": "A"}]
    posts = canvas.count("POST", "/courses/1/modules")
    status, outcomes = await run(canvas, tmp_path, [create("a", 1, "A")])

    assert status == 0
    assert outcomes["a"]["status"] == "ok"
    assert outcomes["a"]["adopted"] is True
    assert outcomes["a"]["object_id"] == 11
    assert canvas.count("POST", "/courses/1/modules") == posts


async def test_bad_answers_are_no_outage(canvas: OddCanvas, tmp_path: Path) -> None:
    """Three bad create answers in a row fail three creates; the run never stops."""
    canvas.odd["POST /courses/1/modules"] = odd({})

    status, outcomes = await run(
        canvas,
        tmp_path,
        [create("a", 1, "A"), create("b", 1, "B"), create("c", 1, "C")],
        outage_limit=0.0,
    )

    assert status == 1
    assert [outcomes[op_id]["status"] for op_id in "abc"] == ["failed"] * 3


LISTINGS = [
    ([{"name": "A"}], "entry 1: no id"),
    ([{"id": "x", "name": "A"}], "entry 1: id 'x' is not a whole number above 0"),
    ([1, 2], "entry 1 is a number, not an object"),
    ([{"id": 3, "name": "B"}, {"id": True, "name": "A"}], "entry 2: id True is not"),
    ({"id": 1}, "an object, not a list"),
]

#: Lines that read the course's module list: a name selector, a fan-out, and
#: a create (its survey of the course).
READERS = {
    "name": {
        "id": "a",
        "op": "module.update",
        "course": 1,
        "module": {"name": "A"},
        "params": {"published": False, "skip_content_tags": True},
    },
    "fan-out": {
        "id": "a",
        "op": "module.update",
        "course": 1,
        "module": "*",
        "params": {"published": False, "skip_content_tags": True},
    },
    "create": create("a", 1, "A"),
}


@pytest.mark.parametrize(("listing", "problem"), LISTINGS)
@pytest.mark.parametrize("reader", sorted(READERS))
async def test_a_module_list_of_the_wrong_shape_fails_the_operation_reading_it(
    canvas: OddCanvas, tmp_path: Path, listing: Any, problem: str, reader: str
) -> None:
    """A selector, fan-out or create on a bad list fails clearly; others go on."""
    canvas.odd["GET /courses/1/modules"] = odd(listing)

    status, outcomes = await run(
        canvas, tmp_path, [READERS[reader], create("b", 2, "B")]
    )

    assert status == 1
    error = outcomes["a"]["error"]
    assert outcomes["a"]["status"] == "failed"
    assert error["type"] == "network"
    assert error["message"].startswith(
        "Canvas answered GET /api/v1/courses/1/modules with something that is "
        f"not a module list ({problem}"
    )
    assert outcomes["b"]["status"] == "ok"
    assert canvas.count("POST", "/courses/1/modules") == 0


async def test_items_listed_inside_a_module_are_checked_too(
    canvas: OddCanvas, tmp_path: Path
) -> None:
    """A survey whose module carries items of the wrong shape fails the create."""
    canvas.modules[1] = [{"id": 3, "name": "Old", "items": [{"title": "no id"}]}]

    status, outcomes = await run(canvas, tmp_path, [create("a", 1, "A")])

    assert status == 1
    assert outcomes["a"]["error"]["message"].startswith(
        "Canvas answered GET /api/v1/courses/1/modules with something that is "
        "not an item list (entry 1: no id)"
    )


async def test_a_course_answer_without_an_id_fails_the_sis_lookup(
    canvas: OddCanvas, tmp_path: Path
) -> None:
    """A course named by SIS id whose answer has id "abc" fails, not crashes."""
    canvas.odd["GET /courses/sis_course_id:X"] = odd({"id": "abc"})

    status, outcomes = await run(
        canvas,
        tmp_path,
        [{"id": "a", "op": "module.list", "course": "sis_course_id:X"}],
    )

    assert status == 1
    assert outcomes["a"]["error"] == {
        "type": "network",
        "message": "Canvas answered GET /api/v1/courses/sis_course_id:X with "
        "something that is not a course (id 'abc' is not a whole number above "
        "0); check that the base URL points at Canvas",
    }


async def test_an_update_answer_with_a_bad_id_keeps_the_module_id(
    canvas: OddCanvas, tmp_path: Path
) -> None:
    """An update whose answer has id -5 records the module it was sent to."""
    canvas.odd["PUT /courses/1/modules/7"] = odd({"id": -5})

    status, outcomes = await run(
        canvas,
        tmp_path,
        [
            {
                "id": "a",
                "op": "module.update",
                "course": 1,
                "module": 7,
                "params": {"name": "Seven"},
            }
        ],
    )

    assert status == 0
    assert outcomes["a"]["object_id"] == 7


async def test_an_unforeseen_exception_fails_one_operation_and_the_run_goes_on(
    canvas: OddCanvas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyError inside one operation is its failure (server_error), not a crash."""
    real_update = operations.Sender.update

    async def update(self: operations.Sender, target: operations.Target) -> Any:
        if target.course_id == 1:
            raise KeyError("id")
        return await real_update(self, target)

    monkeypatch.setattr(operations.Sender, "update", update)
    line = {"op": "module.update", "module": 7, "params": {"name": "Seven"}}
    # Debug events are kept whatever level an earlier test configured.
    saved = structlog.get_config()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
    )
    try:
        with capture_logs() as logs:
            status, outcomes = await run(
                canvas,
                tmp_path,
                [{"id": "a", "course": 1, **line}, {"id": "b", "course": 2, **line}],
            )
    finally:
        structlog.configure(**saved)

    assert status == 1
    assert outcomes["a"]["status"] == "failed"
    assert outcomes["a"]["error"] == {
        "type": "server_error",
        "message": "bulkmod could not make sense of Canvas's answers (KeyError); "
        "check that the base URL points at Canvas, and run again",
    }
    assert outcomes["b"]["status"] == "ok"
    raised = [entry for entry in logs if entry["event"] == "operation raised"]
    assert len(raised) == 1
    assert raised[0]["log_level"] == "debug"
    assert isinstance(raised[0]["exc_info"], KeyError)


async def test_an_unforeseen_exception_in_a_fan_out_fails_its_parent(
    canvas: OddCanvas, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TypeError while listing a fan-out's children fails that line alone."""

    async def children(*args: Any) -> Any:
        raise TypeError("'int' object is not subscriptable")

    monkeypatch.setattr(Executor, "_children", children)
    line = {"op": "module.update", "module": "*", "params": {"name": "N"}}

    status, outcomes = await run(
        canvas, tmp_path, [{"id": "a", "course": 1, **line}, create("b", 2, "B")]
    )

    assert status == 1
    assert outcomes["a"]["error"]["type"] == "server_error"
    assert "(TypeError)" in outcomes["a"]["error"]["message"]
    assert outcomes["b"]["status"] == "ok"


# -- rate-limit headers -----------------------------------------------------


class RecordingPacer:
    """A pacer that lets everything go and records what it learnt.

    It reads the header values it is given as the real pacer reads them.
    """

    def __init__(self) -> None:
        self.released: list[tuple[float | None, float | None]] = []

    async def acquire(self) -> None:
        return None

    def release(
        self,
        *,
        cost: str | float | None,
        remaining: str | float | None,
        throttled: bool,
    ) -> None:
        self.released.append(
            (
                quota_number(cost, COST_RANGE),
                quota_number(remaining, REMAINING_RANGE),
            )
        )

    def throttle_delay(self, attempt: int) -> float:
        return 0.0


def quota_headers(cost: str, remaining: str) -> Handler:
    """A handler answering ``{"id": 1}`` with these quota headers."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return json_answer(
            {"id": 1},
            headers={"X-Request-Cost": cost, "X-Rate-Limit-Remaining": remaining},
        )

    return handler


@pytest.mark.parametrize(
    ("cost", "remaining", "seen"),
    [
        ("0.5", "nan", (0.5, None)),
        ("0.5", "inf", (0.5, None)),
        ("0.5", "-inf", (0.5, None)),
        ("0.5", "-1e12", (0.5, -1000.0)),
        ("0.5", "1e12", (0.5, 100_000.0)),
        ("nan", "500", (None, 500.0)),
        ("inf", "500", (None, 500.0)),
        ("1e308", "500", (1000.0, 500.0)),
        ("-3", "500", (0.0, 500.0)),
    ],
)
async def test_quota_headers_are_read_finite_and_clamped(
    canvas: OddCanvas, cost: str, remaining: str, seen: tuple[Any, Any]
) -> None:
    """Non-finite quota values are dropped, absurd ones moved into range.

    The client hands the pacer the header values as they came; what the
    pacer learns from them is checked here.
    """
    canvas.odd["GET /users/self"] = quota_headers(cost, remaining)
    pacer = RecordingPacer()

    async with CanvasClient(canvas.base_url, TOKEN, pacer=pacer) as client:  # type: ignore[arg-type]
        await client.request("GET", "/users/self")

    assert pacer.released == [seen]


@pytest.mark.parametrize(
    ("cost", "remaining"),
    [("0.5", "nan"), ("0.5", "inf"), ("0.5", "-inf"), ("nan", "500"), ("inf", "500")],
)
async def test_non_finite_quota_headers_do_not_upset_the_real_pacer(
    canvas: OddCanvas, cost: str, remaining: str
) -> None:
    """Five requests in a row go through with the real pacer; it ends idle."""
    canvas.odd["GET /users/self"] = quota_headers(cost, remaining)

    async with CanvasClient(canvas.base_url, TOKEN) as client:
        for _ in range(5):
            assert await client.request("GET", "/users/self") == {"id": 1}
        assert client.pacer.in_flight == 0


def _acquire_after(
    cost: float | None, remaining: float | None
) -> tuple[float, dict[str, float]]:
    """Virtual seconds the second request waits after one answer with these."""

    async def main(loop: VirtualLoop) -> tuple[float, dict[str, float]]:
        pacer = Pacer(clock=loop.time)
        await pacer.acquire()
        pacer.release(cost=cost, remaining=remaining, throttled=False)
        start = loop.time()
        await pacer.acquire()
        return loop.time() - start, pacer.snapshot()

    return run_virtual(main)


@pytest.mark.parametrize("remaining", [math.nan, math.inf, -math.inf])
def test_the_pacer_ignores_a_non_finite_remaining(remaining: float) -> None:
    """Remaining nan or ±inf counts as absent: the next request goes at once."""
    waited, state = _acquire_after(None, remaining)

    assert waited == 0.0
    assert "remaining" not in state


@pytest.mark.parametrize("cost", [math.nan, math.inf])
def test_the_pacer_ignores_a_non_finite_cost(cost: float) -> None:
    """Cost nan or inf counts as absent: no mean cost, no wait."""
    waited, state = _acquire_after(cost, 600.0)

    assert waited == 0.0
    assert "cost" not in state


def test_a_hugely_negative_remaining_waits_at_most_max_wait() -> None:
    """Remaining -1e12 is read as -1000: 105 s to room, cut to MAX_WAIT, then go."""
    waited, state = _acquire_after(None, -1e12)

    assert MAX_WAIT == 60.0
    assert waited == pytest.approx(60.0, abs=1e-3)
    assert state["remaining"] == -1000.0


def test_a_huge_cost_is_clamped_and_the_wait_is_finite() -> None:
    """Cost 1e308 is read as 1000: room for 50 + 1000 units at 10/s from 600."""
    waited, state = _acquire_after(1e308, 600.0)

    # (50 + 1000 - 600) / 10 s, plus the pacer's 1 ms of slack.
    assert waited == pytest.approx(45.001, abs=1e-3)
    assert state["cost"] == 1000.0


def test_the_paced_rate_never_falls_below_one_start_per_max_wait() -> None:
    """Cost 1000 and free room -1000 would pace 2.5 / 1000 a second; 1/60 holds."""

    async def main(loop: VirtualLoop) -> float:
        pacer = Pacer(clock=loop.time)
        await pacer.acquire()
        pacer.release(cost=1e308, remaining=-1e12, throttled=False)
        return pacer.snapshot()["rate"]

    assert run_virtual(main) == pytest.approx(1 / 60)


# -- pages and sizes ----------------------------------------------------------


def endless_pages(size: int = 1) -> Handler:
    """A list whose every page links to one more page."""

    async def handler(request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("page", "1"))
        base = f"{request.scheme}://{request.host}{request.path}"
        answer = json_answer([{"id": page, "pad": "x" * size}])
        answer.headers["Link"] = f'<{base}?page={page + 1}&per_page=100>; rel="next"'
        return answer

    return handler


async def test_pages_that_never_end_stop_at_the_page_limit(canvas: OddCanvas) -> None:
    """A list past max_pages pages is refused after exactly that many requests."""
    canvas.odd["GET /courses/1/modules"] = endless_pages()

    async with CanvasClient(canvas.base_url, TOKEN, max_pages=5) as client:
        with pytest.raises(BadAnswerError) as raised:
            await client.list_all("/courses/1/modules")

    assert MAX_PAGES == 10_000
    assert raised.value.retryable is False
    assert raised.value.message.startswith(
        "Canvas's list at /api/v1/courses/1/modules went on past 5 pages"
    )
    assert canvas.count("GET", "/courses/1/modules") == 5


async def test_a_list_past_its_byte_limit_is_refused(canvas: OddCanvas) -> None:
    """Pages of about 1 kB each stop a list capped at 2.5 kB after the third."""
    canvas.odd["GET /courses/1/modules"] = endless_pages(size=1000)

    async with CanvasClient(canvas.base_url, TOKEN, max_list_bytes=2500) as client:
        with pytest.raises(BadAnswerError):
            await client.list_all("/courses/1/modules")

    assert MAX_LIST_BYTES == 256_000_000
    assert canvas.count("GET", "/courses/1/modules") == 3


async def test_a_body_past_the_limit_is_refused_by_its_length(
    canvas: OddCanvas,
) -> None:
    """A 2xx answer declaring 2000 bytes is refused under a 1000-byte cap, once."""
    canvas.odd["GET /users/self"] = odd(b"[" + b"1," * 999 + b"1]")

    async with CanvasClient(canvas.base_url, TOKEN, max_body=1000) as client:
        with pytest.raises(BadAnswerError) as raised:
            await client.request("GET", "/users/self")

    assert MAX_BODY == 64_000_000
    assert raised.value.message == (
        "the answer to GET /api/v1/users/self (200) is larger than 1000 bytes, "
        "more than Canvas sends; check that the base URL points at Canvas"
    )
    assert canvas.count("GET", "/users/self") == 1


async def test_a_body_without_a_length_is_refused_once_past_the_limit(
    canvas: OddCanvas,
) -> None:
    """A chunked answer is read piece by piece and refused past the cap."""

    async def chunked(request: web.Request) -> web.StreamResponse:
        answer = web.StreamResponse(headers={"Content-Type": "application/json"})
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        await answer.write(b"[" + b"1," * 600)
        await answer.write(b"1," * 600 + b"1]")
        await answer.write_eof()
        return answer

    canvas.odd["GET /users/self"] = chunked

    async with CanvasClient(canvas.base_url, TOKEN, max_body=1000) as client:
        with pytest.raises(BadAnswerError):
            await client.request("GET", "/users/self")


async def test_a_body_at_the_limit_is_read(canvas: OddCanvas) -> None:
    """A body of exactly max_body bytes is still an answer."""
    body = b"[" + b"1," * 498 + b"1]"
    assert len(body) == 999
    canvas.odd["GET /users/self"] = odd(body + b" ")

    async with CanvasClient(canvas.base_url, TOKEN, max_body=1000) as client:
        assert len(await client.request("GET", "/users/self")) == 499


async def test_a_huge_error_message_is_cut_to_500_characters(
    canvas: OddCanvas, tmp_path: Path
) -> None:
    """A 400 whose message is 20,000 characters keeps 500 and says it was cut."""
    canvas.odd["PUT /courses/1/modules/7"] = odd({"message": "x" * 20_000}, 400)

    async with CanvasClient(canvas.base_url, TOKEN) as client:
        with pytest.raises(InvalidError) as raised:
            await client.request("PUT", "/courses/1/modules/7")
    status, outcomes = await run(
        canvas,
        tmp_path,
        [{"id": "a", "op": "module.update", "course": 1, "module": 7, "params": {}}],
    )

    said = "x" * 500 + "... [cut: 20000 characters in all]"
    assert raised.value.message == (
        f"Canvas refused the request (400: {said}); correct the line's params "
        "and run again"
    )
    assert status == 1
    assert outcomes["a"]["error"]["message"] == raised.value.message


async def test_a_huge_errors_list_is_cut_too(canvas: OddCanvas) -> None:
    """Canvas's ``errors`` form of 2,000 entries is cut like a message."""
    entries = [{"message": f"bad {n:04d}"} for n in range(2000)]
    canvas.odd["GET /users/self"] = odd({"errors": entries}, 422)

    async with CanvasClient(canvas.base_url, TOKEN) as client:
        with pytest.raises(InvalidError) as raised:
            await client.request("GET", "/users/self")

    # Each entry is "bad NNNN" and "; " between: 10 characters apiece.
    assert "[cut: 19998 characters in all]" in raised.value.message
    assert len(raised.value.message) < 700


async def test_a_list_of_the_wrong_shape_is_not_retried(canvas: OddCanvas) -> None:
    """An answer that is not a list is a BadAnswerError, sent once."""
    canvas.odd["GET /courses/1/modules"] = odd({"id": 1})

    async with CanvasClient(canvas.base_url, TOKEN) as client:
        with pytest.raises(NetworkError) as raised:
            await client.list_all("/courses/1/modules")

    assert isinstance(raised.value, BadAnswerError)
    assert canvas.count("GET", "/courses/1/modules") == 1


# -- the token ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("abc def", "has white space inside it"),
        ("abc\tdef", "has white space inside it"),
        ("abc\x07def", "has characters no Canvas token has"),
        ("abcd\u00e9f", "has characters no Canvas token has"),
    ],
)
def test_a_token_no_canvas_would_issue_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, token: str, said: str
) -> None:
    """CANVAS_TOKEN with white space or odd characters inside: a TargetError."""
    monkeypatch.setenv("CANVAS_TOKEN", token)

    with pytest.raises(TargetError) as raised:
        read_token(None)

    assert str(raised.value).startswith(f"the token in CANVAS_TOKEN {said}")
    assert "abc" not in str(raised.value) and "def" not in str(raised.value)


def test_a_token_file_with_white_space_inside_is_refused(tmp_path: Path) -> None:
    """White space around the token is dropped; inside it, refused."""
    path = tmp_path / "token"
    path.write_text("  7~good  \n", encoding="utf-8")
    assert read_token(path) == "7~good"

    path.write_text("7~good\n7~other\n", encoding="utf-8")
    with pytest.raises(TargetError) as raised:
        read_token(path)
    assert str(raised.value) == (
        f"the token in {path} has white space inside it; a Canvas token is one "
        "word: copy it again, whole"
    )


def test_run_with_a_spaced_token_exits_2_cleanly(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`bulkmod run` with CANVAS_TOKEN='abc def' exits 2 with one line, no trace."""
    job = write_job(tmp_path / "l.jsonl", [create("a", 1, "A")])
    monkeypatch.setenv("CANVAS_TOKEN", "abc def")

    status = main(["run", str(job), "--base-url", "http://127.0.0.1:9"])

    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        "bulkmod: the token in CANVAS_TOKEN has white space inside it; a Canvas "
        "token is one word: copy it again, whole\n"
    )
