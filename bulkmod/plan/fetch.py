"""The reads a plan sends to Canvas: each once, started ahead of its use.

A plan walks the job in order, but waiting for one course's modules before
asking for the next would make a plan of a thousand courses slow. So the
planner announces each operation as it reads it (:meth:`CanvasReader.expect`)
and the reader starts that course's reads at once, at most ``concurrency``
at a time; the planner awaits them when it reaches the line. Every request is
a GET sent through the same :class:`~bulkmod.client.http.CanvasClient` that a
run uses, so it is paced the same way, and its answers are checked for the
shape Canvas gives (a bad answer is a clear error, not a crash).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bulkmod.client.http import CanvasClient
from bulkmod.client.urls import api_path
from bulkmod.engine.resolve import CONTENT_LISTS
from bulkmod.job.model import Operation

T = TypeVar("T")

#: What a content list keeps of each entry: title, how an item names it
#: (id, or a page's url), whether it is graded (discussions), and the type
#: the item takes (an assignment behind a quiz gives a quiz item).
Content = tuple[str, int | str, bool, str]

#: Item type -> what an entry of its content list is, for the shape check of
#: the answer (a page is named by its url, the others by an id).
_CONTENT_KINDS = {
    "Assignment": "assignment",
    "Quiz": "quiz",
    "Discussion": "discussion topic",
    "File": "file",
    "Page": "page",
    "ExternalTool": "external tool",
}


class CanvasReader:
    """Start and share the GET requests a plan needs."""

    def __init__(self, client: CanvasClient, *, concurrency: int) -> None:
        self._client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._tasks: dict[tuple[str, ...], asyncio.Task[Any]] = {}
        self._running = 0

    @property
    def busy(self) -> bool:
        """Whether as many reads are under way as may be."""
        return self._running >= self._concurrency

    def expect(self, op: Operation) -> None:
        """Start the reads this operation will need, if not started yet."""
        self._start(("modules", op.course), lambda: self._modules(op.course))
        content = op.params.get("content")
        item_type = op.params.get("type")
        if op.op == "item.create" and isinstance(item_type, str):
            needs_list = isinstance(content, dict) or any(
                key in op.params for key in ("content_id", "page_url")
            )
            if needs_list and item_type in CONTENT_LISTS:
                self._start(
                    ("content", op.course, item_type),
                    lambda: self._content(op.course, item_type),
                )

    async def course_id(self, course: str) -> int:
        """The numeric id of a course as a job writes it."""
        if course.isdigit():
            return int(course)
        return int(await self._get(("course", course), lambda: self._course_id(course)))

    async def modules(self, course: str) -> list[dict[str, Any]]:
        """The course's modules, each with its items when Canvas inlines them."""
        found = await self._get(("modules", course), lambda: self._modules(course))
        # The planner builds its view once; the raw list is no longer needed.
        self._tasks.pop(("modules", course), None)
        return list(found)

    async def items(self, course_id: int, module_id: int) -> list[dict[str, Any]]:
        """Every item of one module (for modules too big to be inlined)."""
        path = api_path(
            "/courses/{course}/modules/{module}/items",
            course=course_id,
            module=module_id,
        )
        async with self._slots:
            return await self._client.list_all(path, kind="item")

    async def content(self, course: str, item_type: str) -> list[Content]:
        """The course's content of the kind an item type links to."""
        key = ("content", course, item_type)
        return list(await self._get(key, lambda: self._content(course, item_type)))

    async def close(self) -> None:
        """Stop the reads still under way (a plan that was stopped)."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    def _start(self, key: tuple[str, ...], make: Callable[[], Awaitable[T]]) -> None:
        if key in self._tasks:
            return

        async def run() -> T:
            return await make()

        task = asyncio.create_task(run())
        self._running += 1
        task.add_done_callback(self._finished)
        self._tasks[key] = task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._running -= 1
        # A read whose line is never reached (its course failed first) must
        # not warn that its error went unread.
        if not task.cancelled():
            task.exception()

    async def _get(self, key: tuple[str, ...], make: Callable[[], Awaitable[T]]) -> T:
        self._start(key, make)
        result: T = await self._tasks[key]
        return result

    async def _course_id(self, course: str) -> int:
        path = api_path("/courses/{course}", course=course)
        async with self._slots:
            answer = await self._client.request("GET", path, kind="course")
        return int(answer["id"])

    async def _modules(self, course: str) -> list[dict[str, Any]]:
        course_id = await self.course_id(course)
        path = api_path("/courses/{course}/modules", course=course_id)
        async with self._slots:
            return await self._client.list_all(
                path, query={"include": ["items"]}, kind="module"
            )

    async def _content(self, course: str, item_type: str) -> list[Content]:
        course_id = await self.course_id(course)
        endpoint, title_field, item_field = CONTENT_LISTS[item_type]
        path = api_path(f"/courses/{{course}}/{endpoint}", course=course_id)
        async with self._slots:
            listed = await self._client.list_all(path, kind=_CONTENT_KINDS[item_type])
        return [
            _content_entry(entry, item_type, title_field, item_field)
            for entry in listed
        ]


def _content_entry(
    entry: dict[str, Any], item_type: str, title_field: str, item_field: str
) -> Content:
    title = str(entry.get(title_field) or "")
    if item_field == "page_url":
        return (title, str(entry.get("url") or ""), False, item_type)
    linked = item_type
    if item_type == "Assignment" and entry.get("quiz_id") is not None:
        linked = "Quiz"
    elif item_type == "Assignment" and entry.get("discussion_topic"):
        linked = "Discussion"
    graded = entry.get("assignment_id") is not None or item_type == "Assignment"
    return (title, int(entry["id"]), graded, linked)
