"""Resolving a line against simulated courses: courses, references, selectors.

What a run's resolver does against Canvas, the plan's does against a
:class:`~bulkmod.plan.view.CourseView`: the course id of an SIS form, the
object id behind a reference (and that it is in the same course), the one
module of a name or item of a title, a module or item id (and whether an
earlier line deletes it), and content by title or id. Whatever a run would
fail on raises :class:`Cannot` with the error type the run would record.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from bulkmod import rules
from bulkmod.client.errors import (
    CanvasError,
    NetworkError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
)
from bulkmod.engine.resolve import CONTENT_LISTS
from bulkmod.job.model import ByName, Operation, Ref
from bulkmod.plan.fetch import CanvasReader, Content
from bulkmod.plan.tally import CourseCounts
from bulkmod.plan.view import CourseView, SimItem, SimModule

T = TypeVar("T")


class PlanStopped(Exception):
    """Canvas could not be read (token refused, unreachable): no plan made."""


class Cannot(Exception):
    """This operation (or fan-out child) would fail in a run."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass
class Step:
    """One operation, or one child of a fan-out, being planned."""

    op: Operation
    op_id: str
    view: CourseView
    counts: CourseCounts
    #: For a fan-out child: the module (and item) it stands for.
    module_id: int | None = None
    item_id: int | None = None


class Resolver:
    """Resolve lines against the course views, reading Canvas as needed."""

    def __init__(self, reader: CanvasReader, referenced: set[str]) -> None:
        self._reader = reader
        self._referenced = referenced
        self._views: dict[int, CourseView] = {}
        self._course_ids: dict[str, int] = {}
        self._broken: dict[str, Cannot] = {}
        #: Referenced operations that can be done -> (course id, object id).
        self._done: dict[str, tuple[int, int | None]] = {}
        #: Referenced operations that cannot be done.
        self._failed: set[str] = set()

    def failed_needs(self, op: Operation) -> list[str]:
        """The operations this one needs that cannot be done."""
        return [op_id for op_id in op.refs() if op_id in self._failed]

    def settle(self, op_id: str, done: tuple[int, int | None] | None) -> None:
        """Record whether a referenced operation can be done, and its object."""
        if op_id not in self._referenced:
            return
        if done is None:
            self._failed.add(op_id)
        else:
            self._done[op_id] = done

    # courses and reads

    async def view(self, course: str) -> CourseView:
        """The view of a course as written, read from Canvas the first time."""
        if course in self._broken:
            raise self._broken[course]
        course_id = self._course_ids.get(course)
        if course_id is not None:
            return self._views[course_id]
        try:
            course_id = await self.read(self._reader.course_id(course))
            modules = await self.read(self._reader.modules(course))
        except Cannot as err:
            broken = Cannot(err.error_type, f"course {course}: {err.message}")
            self._broken[course] = broken
            raise broken from None
        self._course_ids[course] = course_id
        if course_id not in self._views:
            self._views[course_id] = CourseView(course_id, modules)
        return self._views[course_id]

    async def read(self, pending: Awaitable[T]) -> T:
        """Await a read; a failure stops the plan or fails the line, as a run."""
        try:
            return await pending
        except CanvasError as err:
            if _stops(err):
                raise PlanStopped(err.message) from None
            raise Cannot(err.error_type, err.message) from None

    async def load(self, view: CourseView, module: SimModule) -> SimModule:
        """The module, with its items read if Canvas did not inline them."""
        if module.items is None:
            raw = await self.read(self._reader.items(view.course_id, module.id))
            view.fill_items(module, raw)
        return module

    async def load_all(self, view: CourseView) -> None:
        """Read the items of every module (for a course-wide item lookup)."""
        for module in view.live_modules():
            await self.load(view, module)

    def ref(self, ref: Ref) -> tuple[int, int]:
        """The course and object id an earlier operation would produce."""
        done = self._done.get(ref.op_id)
        if done is None:
            raise Cannot("dependency_failed", f"needs {ref.op_id!r}, which is not run")
        course_id, object_id = done
        if object_id is None:
            raise Cannot(
                "not_found",
                f"operation {ref.op_id!r} produces no object id to refer to",
            )
        return course_id, object_id

    def same_course(self, ref: Ref, view: CourseView) -> int:
        """The object id of a reference that must be in the line's course."""
        course_id, object_id = self.ref(ref)
        if course_id != view.course_id:
            raise Cannot(
                "not_found",
                f"{ref.op_id!r} acts on course {course_id}, not on course "
                f"{view.course_id}",
            )
        return object_id

    def params(self, value: Any) -> Any:
        """A copy of ``value`` with every reference replaced by its object id."""
        if isinstance(value, Ref):
            return self.ref(value)[1]
        if isinstance(value, dict):
            return {key: self.params(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.params(inner) for inner in value]
        return value

    def module(self, step: Step) -> SimModule:
        """The live module a step names."""
        view, selector = step.view, step.op.module
        if step.module_id is not None:
            return view.modules[step.module_id]
        if isinstance(selector, ByName):
            found = view.named(selector.value)
            where = f"course {view.course_id}"
            return _one(found, "module", f"named {selector.value!r}", where)
        if isinstance(selector, Ref):
            wanted = self.same_course(selector, view)
        else:
            assert isinstance(selector, int)
            wanted = selector
        if wanted not in view.modules:
            raise Cannot("not_found", view.why_missing("module", wanted))
        return view.modules[wanted]

    async def item(self, step: Step, *, course_wide: bool) -> SimItem:
        """The item a step acts on; update and delete find it course-wide."""
        view, selector = step.view, step.op.item
        if step.item_id is not None:
            module = await self.load(view, self.module(step))
            assert module.items is not None
            return module.items[step.item_id]
        if isinstance(selector, ByName):
            module = await self.load(view, self.module(step))
            found = [i for i in module.live_items() if i.title == selector.value]
            return _one(found, "item", f"titled {selector.value!r}", module.describe())
        if isinstance(selector, Ref):
            wanted = self.same_course(selector, view)
        else:
            assert isinstance(selector, int)
            wanted = selector
        if course_wide:
            # Canvas ignores the path's module here; a name must still match.
            if isinstance(step.op.module, ByName):
                self.module(step)
            await self.load_all(view)
            item = view.find_item(wanted)
        else:
            module = await self.load(view, self.module(step))
            assert module.items is not None
            item = module.items.get(wanted)
        if item is None:
            raise Cannot("not_found", view.why_missing("item", wanted))
        return item

    async def content(
        self, step: Step, params: dict[str, Any]
    ) -> tuple[str, str, bool | None]:
        """A new item's title, type and gradability, from the content it links."""
        item_type = str(params.get("type") or "")
        title = params.get("title")
        if item_type not in CONTENT_LISTS:
            return (
                ("No title" if rules.is_blank(title) else str(title)),
                item_type,
                False,
            )
        entry = await self._find_content(step, item_type, params)
        if item_type == "ExternalTool":
            fallback = entry[0] if entry is not None else "No title"
            return (fallback if rules.is_blank(title) else str(title)), item_type, False
        assert entry is not None
        content_title, _, graded, linked = entry
        shown = content_title if title is None else str(title)
        return shown, linked, rules.is_gradable(linked, graded)

    async def _find_content(
        self, step: Step, item_type: str, params: dict[str, Any]
    ) -> Content | None:
        course_id = step.view.course_id
        content = params.get("content")
        if isinstance(content, dict) and "title" in content:
            listed = await self.read(self._reader.content(step.op.course, item_type))
            wanted = str(content["title"])
            found = [entry for entry in listed if entry[0] == wanted]
            where = f"course {course_id}"
            return _one(found, item_type, f"titled {wanted!r}", where)
        key = "page_url" if item_type == "Page" else "content_id"
        if params.get(key) is None:
            # An external tool may name none: Canvas then links a placeholder.
            return None
        listed = await self.read(self._reader.content(step.op.course, item_type))
        wanted_id = str(params[key]) if key == "page_url" else rules.to_i(params[key])
        for entry in listed:
            if entry[1] == wanted_id:
                return entry
        if item_type == "ExternalTool":
            return None
        what = f"page {wanted_id!r}" if key == "page_url" else f"id {wanted_id}"
        raise Cannot(
            "invalid_input", f"no {item_type} with {what} in course {course_id}"
        )


def _one(found: list[T], what: str, how: str, where: str) -> T:
    if not found:
        raise Cannot("not_found", f"no {what} {how} in {where}")
    if len(found) > 1:
        which = ", ".join(_ident(entry) for entry in found)
        raise Cannot(
            "conflict",
            f"{len(found)} {what}s {how} in {where} ({which}); name one by id "
            "or reference",
        )
    return found[0]


def _ident(entry: object) -> str:
    if isinstance(entry, SimModule | SimItem):
        return f"new, line {entry.line}" if entry.line is not None else str(entry.id)
    assert isinstance(entry, tuple)
    return str(entry[1])


def _stops(err: CanvasError) -> bool:
    if isinstance(err, UnauthorizedError):
        return err.token_rejected
    return isinstance(err, NetworkError | ServerError | ThrottledError)
