"""Content found by title: one list per course and type, kept as ids only."""

from __future__ import annotations

from typing import Any

import pytest

from bulkmod.client.errors import ConflictError, NotFoundError
from bulkmod.client.http import CanvasClient, Stats
from bulkmod.engine.refs import RefTable
from bulkmod.engine.resolve import CourseContext, Resolver

LISTS: dict[str, list[dict[str, Any]]] = {
    "/courses/5/assignments": [
        {"id": 11, "name": "Essay", "description": "<p>long</p>" * 50},
        {"id": 12, "name": "Quiz night"},
        {"id": 13, "name": "Twice"},
        {"id": 14, "name": "Twice"},
    ],
    "/courses/5/pages": [
        {"page_id": 3, "url": "welcome", "title": "Welcome", "body": "x" * 500},
    ],
}


class _Lists:
    """Answers ``list_all`` from :data:`LISTS`, counting the requests."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def list_all(self, path: str, **_: Any) -> list[dict[str, Any]]:
        self.asked.append(path)
        return LISTS[path]


def _resolver(lists: _Lists) -> Resolver:
    client: CanvasClient = lists  # type: ignore[assignment]
    return Resolver(client, RefTable(set()))


async def test_titles_give_ids_and_page_urls_from_one_list_each() -> None:
    """An assignment title gives its id, a page title its url; each list once."""
    lists = _Lists()
    resolver = _resolver(lists)
    ctx = CourseContext("5", course_id=5)

    essay = await resolver.content(ctx, 5, "Assignment", "Essay", Stats(), None)
    night = await resolver.content(ctx, 5, "Assignment", "Quiz night", Stats(), None)
    page = await resolver.content(ctx, 5, "Page", "Welcome", Stats(), None)

    assert essay == ("content_id", 11)
    assert night == ("content_id", 12)
    assert page == ("page_url", "welcome")
    assert lists.asked == [
        "/courses/5/assignments",
        "/courses/5/pages",
    ]


async def test_the_context_keeps_titles_and_ids_not_canvas_answers() -> None:
    """What stays in a course's context is title -> ids, nothing of the bodies."""
    resolver = _resolver(_Lists())
    ctx = CourseContext("5", course_id=5)

    await resolver.content(ctx, 5, "Assignment", "Essay", Stats(), None)
    await resolver.content(ctx, 5, "Page", "Welcome", Stats(), None)

    assert ctx.content == {
        "Assignment": {"Essay": [11], "Quiz night": [12], "Twice": [13, 14]},
        "Page": {"Welcome": ["welcome"]},
    }


async def test_a_missing_or_shared_title_is_refused_with_the_ids() -> None:
    """No match is not found; two matches is a conflict naming both ids."""
    resolver = _resolver(_Lists())
    ctx = CourseContext("5", course_id=5)

    with pytest.raises(NotFoundError, match="no Assignment titled 'Nope'"):
        await resolver.content(ctx, 5, "Assignment", "Nope", Stats(), None)
    with pytest.raises(ConflictError, match=r"2 of Assignment titled 'Twice'.*13, 14"):
        await resolver.content(ctx, 5, "Assignment", "Twice", Stats(), None)
