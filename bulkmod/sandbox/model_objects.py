"""The records the sandbox keeps: users, courses, content, modules, items.

They are plain mutable dataclasses; the rules that change them live in the
model modules beside this one. Internal ``workflow_state`` values are Canvas's
own: ``active``, ``unpublished`` and ``deleted``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Content kinds a course holds, and the item type each backs.
CONTENT_KINDS = ("assignment", "quiz", "discussion", "file", "page", "tool")


@dataclass(eq=False)
class User:
    """A Canvas user; ``admin`` may do anything in every course."""

    id: int
    name: str
    admin: bool = False
    token: str | None = field(default=None, repr=False)


@dataclass(eq=False)
class Content:
    """An assignment, quiz, discussion, file, page or external tool."""

    id: int
    course_id: int
    kind: str
    title: str
    published: bool = True
    #: Page slug (``page_url``); pages only.
    slug: str | None = None
    #: Launch URL; tools only.
    url: str | None = None
    deleted: bool = False
    #: The assignment behind a graded quiz or discussion.
    assignment: Content | None = None
    #: The quiz or discussion an assignment stands behind.
    owner: Content | None = None
    points_possible: float | None = None
    #: Students have submitted: Canvas then refuses to unpublish it.
    has_submissions: bool = False
    #: Items that link to this content, deleted ones included.
    items: list[Item] = field(default_factory=list, repr=False)
    created_at: str = ""
    updated_at: str = ""

    def linked(self) -> Content:
        """The record items link to: the quiz or discussion an assignment backs."""
        return self.owner if self.owner is not None else self


@dataclass(eq=False)
class Item:
    """A module item (Canvas's content tag)."""

    id: int
    course_id: int
    module: Module
    #: The API type name: ``Page``, ``Quiz``, ``SubHeader``...
    type: str
    title: str
    position: int | None
    indent: int = 0
    workflow_state: str = "unpublished"
    content: Content | None = None
    external_url: str | None = None
    new_tab: bool = False
    #: ``{"type": ..., "min_score": ...}`` or None.
    requirement: dict[str, Any] | None = None
    created_at: str = ""
    updated_at: str = ""

    @property
    def deleted(self) -> bool:
        """Whether the item was soft-deleted."""
        return self.workflow_state == "deleted"

    @property
    def published(self) -> bool:
        """Whether the item is published (``active``)."""
        return self.workflow_state == "active"


@dataclass(eq=False)
class Module:
    """A context module of a course."""

    id: int
    course_id: int
    name: str
    position: int
    workflow_state: str = "unpublished"
    unlock_at: str | None = None
    require_sequential_progress: bool = False
    publish_final_grade: bool = False
    #: Ids of modules that must be completed first.
    prerequisites: list[int] = field(default_factory=list)
    #: Every item ever placed here, deleted ones included (Canvas's list scope).
    items: list[Item] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    deleted_at: str | None = None

    @property
    def deleted(self) -> bool:
        """Whether the module was soft-deleted."""
        return self.workflow_state == "deleted"

    @property
    def published(self) -> bool:
        """Whether the module is published (``active``)."""
        return self.workflow_state == "active"

    def live_items(self) -> list[Item]:
        """Items that are not deleted, in storage order."""
        return [item for item in self.items if item.workflow_state != "deleted"]


@dataclass(eq=False)
class Course:
    """A course with its enrolments, content, modules and progressions."""

    id: int
    name: str
    sis_course_id: str | None = None
    sis_integration_id: str | None = None
    lti_context_id: str = ""
    uuid: str = ""
    #: user id -> ``teacher`` or ``student``.
    roles: dict[int, str] = field(default_factory=dict)
    #: kind -> content id -> content.
    content: dict[str, dict[int, Content]] = field(default_factory=dict)
    modules: dict[int, Module] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    #: (student id, item id) -> requirement types the student has met.
    met: dict[tuple[int, int], set[str]] = field(default_factory=dict)
    #: (student id, module id) pairs whose prerequisites were once satisfied;
    #: Canvas keeps such a progression unlocked until a relock.
    unlocked: set[tuple[int, int]] = field(default_factory=set)
    #: (student id, module id) -> when the student completed the module.
    completed_at: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Page slug -> page, for ``page_url`` lookups.
    pages_by_slug: dict[str, Content] = field(default_factory=dict)
    created_at: str = ""


@dataclass(eq=False)
class Progress:
    """A Canvas Progress record of a background job."""

    id: int
    context_id: int
    user_id: int
    tag: str
    workflow_state: str = "queued"
    completion: float = 0.0
    message: str | None = None
    results: dict[str, Any] | None = None
    created_at: str = ""
    updated_at: str = ""
