"""Turning what a line says into what Canvas needs: ids, selectors, content.

A line may name its course by an SIS form, its module by name or reference,
its item by title, and its content by title. Each is resolved when the
operation runs, against the course as it is then, through a
:class:`CourseContext` that keeps what one course lane has learned (its
numeric id, its content lists, the highest ids it has seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bulkmod.client.errors import ConflictError, NotFoundError
from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.urls import api_path
from bulkmod.engine.refs import RefTable
from bulkmod.job.model import ByName, Every, Ref, Selector

#: Item type -> (list endpoint, title field, how the item points at it).
CONTENT_LISTS: dict[str, tuple[str, str, str]] = {
    "Assignment": ("assignments", "name", "content_id"),
    "Quiz": ("quizzes", "title", "content_id"),
    "Discussion": ("discussion_topics", "title", "content_id"),
    "File": ("files", "display_name", "content_id"),
    "Page": ("pages", "title", "page_url"),
    "ExternalTool": ("external_tools", "name", "content_id"),
}

#: Item type -> what its content is called in a message about its list.
_CONTENT_KINDS = {
    "Assignment": "assignment",
    "Quiz": "quiz",
    "Discussion": "discussion topic",
    "File": "file",
    "Page": "page",
    "ExternalTool": "external tool",
}


@dataclass(slots=True)
class CourseContext:
    """What a lane knows of its course while it runs."""

    course: str
    course_id: int | None = None
    #: Content fetched for title lookups, by item type: each title with the
    #: ids (page urls for pages) of the content of that title. Only these are
    #: kept, not the lists Canvas sent, so a context stays small.
    content: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    #: The highest module and item ids known to exist in the course; every
    #: object created from now on has a higher id (Canvas ids only grow).
    module_floor: int | None = None
    item_floor: int | None = None
    #: The course's modules before this run's first create in it, by id
    #: (kept true through this run's deletes and renames).
    modules_before: dict[int, dict[str, Any]] | None = None


class Resolver:
    """Resolve a line's course, selectors, references and content titles."""

    def __init__(self, client: CanvasClient, refs: RefTable) -> None:
        self._client = client
        self._refs = refs

    async def course_id(
        self, ctx: CourseContext, stats: Stats, as_user: str | None
    ) -> int:
        """The numeric id of the lane's course (one request for an SIS form)."""
        if ctx.course_id is None:
            if ctx.course.isdigit():
                ctx.course_id = int(ctx.course)
            else:
                path = api_path("/courses/{course}", course=ctx.course)
                course = await self._client.request(
                    "GET", path, as_user=as_user, stats=stats, kind="course"
                )
                ctx.course_id = int(course["id"])
        return ctx.course_id

    def reference(self, ref: Ref) -> int:
        """The object id an earlier, successful operation produced."""
        value = self._refs.object_id(ref.op_id)
        if value is None:
            raise NotFoundError(
                f"operation {ref.op_id!r} produced no object id to refer to"
            )
        return value

    def params(self, value: Any) -> Any:
        """A copy of ``value`` with every reference replaced by its object id."""
        if isinstance(value, Ref):
            return self.reference(value)
        if isinstance(value, dict):
            return {key: self.params(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [self.params(inner) for inner in value]
        return value

    async def modules(
        self, course_id: int, selector: Selector, stats: Stats, as_user: str | None
    ) -> list[int]:
        """Module ids a selector stands for (many only for ``"*"``)."""
        path = api_path("/courses/{course}/modules", course=course_id)
        where = f"course {course_id}"
        return await self._select(selector, path, "module", where, stats, as_user)

    async def items(
        self,
        course_id: int,
        module_id: int,
        selector: Selector,
        stats: Stats,
        as_user: str | None,
    ) -> list[int]:
        """Item ids a selector stands for, within one module."""
        path = api_path(
            "/courses/{course}/modules/{module}/items",
            course=course_id,
            module=module_id,
        )
        where = f"module {module_id}"
        return await self._select(selector, path, "item", where, stats, as_user)

    async def _select(
        self,
        selector: Selector,
        path: str,
        kind: str,
        where: str,
        stats: Stats,
        as_user: str | None,
    ) -> list[int]:
        """Ids a selector stands for among the list at ``path``.

        An id or a reference needs no request; a name (a title, for items)
        or ``"*"`` reads the list as it is now.
        """
        if isinstance(selector, int):
            return [selector]
        if isinstance(selector, Ref):
            return [self.reference(selector)]
        found = await self._client.list_all(
            path, as_user=as_user, stats=stats, kind=kind
        )
        if isinstance(selector, Every):
            return [int(entry["id"]) for entry in found]
        assert isinstance(selector, ByName)
        field_name = "name" if kind == "module" else "title"
        return [_one(found, field_name, selector.value, kind, where)]

    async def content(
        self,
        ctx: CourseContext,
        course_id: int,
        item_type: str,
        title: str,
        stats: Stats,
        as_user: str | None,
    ) -> tuple[str, Any]:
        """Find content by title: the item field to set and its value."""
        if item_type not in CONTENT_LISTS:
            raise NotFoundError(f"items of type {item_type} point at no content")
        endpoint, title_field, item_field = CONTENT_LISTS[item_type]
        titles = ctx.content.get(item_type)
        if titles is None:
            path = api_path(f"/courses/{{course}}/{endpoint}", course=course_id)
            listed = await self._client.list_all(
                path, as_user=as_user, stats=stats, kind=_CONTENT_KINDS[item_type]
            )
            titles = _titles(listed, title_field, item_field)
            ctx.content[item_type] = titles
        found = titles.get(title)
        if not found:
            raise NotFoundError(
                f"no {item_type} titled {title!r} in course {course_id}"
            )
        if len(found) > 1:
            raise _ambiguous(found, item_type, title, f"course {course_id}")
        if item_field == "page_url":
            return item_field, found[0]
        return item_field, int(found[0])


def _titles(
    listed: list[dict[str, Any]], title_field: str, item_field: str
) -> dict[str, list[Any]]:
    """Index content by title: its ids, or its urls for pages."""
    key = "url" if item_field == "page_url" else "id"
    titles: dict[str, list[Any]] = {}
    for entry in listed:
        title = entry.get(title_field)
        if isinstance(title, str):
            titles.setdefault(title, []).append(entry.get(key))
    return titles


def _ambiguous(found: list[Any], what: str, wanted: str, where: str) -> ConflictError:
    ids = ", ".join(str(value) for value in found)
    return ConflictError(
        f"{len(found)} of {what} titled {wanted!r} in {where} ({ids}); "
        "name one by id instead"
    )


def _pick(
    listed: list[dict[str, Any]], field_name: str, wanted: str, what: str, where: str
) -> dict[str, Any]:
    matches = [entry for entry in listed if entry.get(field_name) == wanted]
    if not matches:
        raise NotFoundError(f"no {what} titled {wanted!r} in {where}")
    if len(matches) > 1:
        raise _ambiguous([entry.get("id") for entry in matches], what, wanted, where)
    return matches[0]


def _one(
    listed: list[dict[str, Any]], field_name: str, wanted: str, what: str, where: str
) -> int:
    return int(_pick(listed, field_name, wanted, what, where)["id"])
