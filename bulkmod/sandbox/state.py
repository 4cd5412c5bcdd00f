"""The sandbox's Canvas: courses, modules, items, content, users, progressions.

This is the data model behind the sandbox server, with no HTTP in it. Each
method is one Canvas action taken by a ``viewer`` and either answers the
records or JSON Canvas would, or raises :class:`CanvasFailure` with Canvas's
status and body. Not thread-safe: the server calls it from one event loop.
"""

from __future__ import annotations

from typing import Any

from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_objects import Content, Course, Item, Module, User

__all__ = ["CanvasFailure", "State", "seed"]


class State:
    """Everything the sandbox knows; every Canvas action on it."""

    def __init__(self, base_url: str = "http://127.0.0.1") -> None:
        self.base_url = base_url

    # users and tokens

    def add_user(
        self, name: str, *, admin: bool = False, token: str | None = None
    ) -> User:
        """Add a user, reachable by ``token`` when one is given."""
        raise NotImplementedError

    def user_for_token(self, token: str) -> User | None:
        """The user a token belongs to, or None."""
        raise NotImplementedError

    def find_user(self, user_id: str) -> User:
        """The user of this id; 404 when there is none."""
        raise NotImplementedError

    # courses, enrolments, content

    def add_course(self, name: str, *, sis_course_id: str | None = None) -> Course:
        """Add an empty course."""
        raise NotImplementedError

    def find_course(self, ref: str) -> Course:
        """The course a path names: an id or one of Canvas's id forms."""
        raise NotImplementedError

    def enroll(self, course: Course, user: User, role: str) -> None:
        """Enrol ``user`` as ``teacher`` or ``student``."""
        raise NotImplementedError

    def add_content(
        self,
        course: Course,
        kind: str,
        title: str,
        *,
        published: bool = True,
        slug: str | None = None,
        url: str | None = None,
        graded: bool = False,
        points_possible: float | None = None,
    ) -> Content:
        """Add content of ``kind`` to a course."""
        raise NotImplementedError

    def list_content(self, course: Course, kind: str) -> list[Content]:
        """Not-deleted content of one kind, by id."""
        raise NotImplementedError

    def content_json(self, content: Content) -> dict[str, Any]:
        """Canvas's JSON of one piece of content."""
        raise NotImplementedError

    # modules

    def list_modules(
        self,
        course: Course,
        viewer: User,
        *,
        search_term: str | None = None,
        include_items: bool = False,
    ) -> list[Module]:
        """Modules the viewer sees, by (position, id)."""
        raise NotImplementedError

    def get_module(self, course: Course, viewer: User, module_id: str) -> Module:
        """One module the viewer sees."""
        raise NotImplementedError

    def create_module(
        self, course: Course, viewer: User, params: dict[str, Any] | None
    ) -> Module:
        """Create a module (always unpublished)."""
        raise NotImplementedError

    def update_module(
        self, course: Course, viewer: User, module_id: str, params: Any
    ) -> dict[str, Any]:
        """Update a module; answers its JSON with the publish warnings."""
        raise NotImplementedError

    def delete_module(
        self, course: Course, viewer: User, module_id: str
    ) -> dict[str, Any]:
        """Soft-delete a module and its items; answers its JSON."""
        raise NotImplementedError

    def relock_module(
        self, course: Course, viewer: User, module_id: str
    ) -> dict[str, Any]:
        """Relock the module's progressions; answers its JSON."""
        raise NotImplementedError

    def batch_update(
        self, course: Course, viewer: User, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Publish, unpublish or delete several modules at once."""
        raise NotImplementedError

    # items

    def list_items(
        self,
        course: Course,
        viewer: User,
        module_id: str,
        *,
        search_term: str | None = None,
    ) -> list[Item]:
        """Items of one module the viewer sees, by (position, title)."""
        raise NotImplementedError

    def get_item(
        self, course: Course, viewer: User, module_id: str, item_id: str
    ) -> Item:
        """One item of that module the viewer sees."""
        raise NotImplementedError

    def create_item(
        self, course: Course, viewer: User, module_id: str, params: Any
    ) -> dict[str, Any]:
        """Create an item; answers its JSON."""
        raise NotImplementedError

    def update_item(
        self, course: Course, viewer: User, module_id: str, item_id: str, params: Any
    ) -> dict[str, Any]:
        """Update (or move) an item; answers its JSON."""
        raise NotImplementedError

    def delete_item(
        self, course: Course, viewer: User, module_id: str, item_id: str
    ) -> dict[str, Any]:
        """Soft-delete an item; answers its JSON."""
        raise NotImplementedError

    def mark_done(
        self, course: Course, viewer: User, module_id: str, item_id: str, done: bool
    ) -> dict[str, Any]:
        """Mark an item done or not done for the viewer."""
        raise NotImplementedError

    def mark_read(
        self, course: Course, viewer: User, module_id: str, item_id: str
    ) -> dict[str, Any]:
        """Mark an item viewed by the viewer."""
        raise NotImplementedError

    def item_sequence(
        self, course: Course, viewer: User, asset_type: str | None, asset_id: str | None
    ) -> dict[str, Any]:
        """The items before and after an asset in the course's module sequence."""
        raise NotImplementedError

    def get_progress(self, viewer: User, progress_id: str) -> dict[str, Any]:
        """Canvas's JSON of one Progress record."""
        raise NotImplementedError

    # JSON

    def module_json(
        self,
        module: Module,
        viewer: User,
        *,
        include_items: bool = False,
        include_content_details: bool = False,
        student: User | None = None,
    ) -> dict[str, Any]:
        """Canvas's Module JSON as the viewer sees it."""
        raise NotImplementedError

    def item_json(
        self,
        item: Item,
        viewer: User,
        *,
        include_content_details: bool = False,
        student: User | None = None,
    ) -> dict[str, Any]:
        """Canvas's ModuleItem JSON as the viewer sees it."""
        raise NotImplementedError

    def student_for(
        self, course: Course, viewer: User, student_id: str | None
    ) -> User | None:
        """The student whose progression to show, or None."""
        raise NotImplementedError


def seed(state: State, *, courses: int, export: Any | None, admin_token: str) -> None:
    """Fill a state with users, courses and content (see ``sandbox.seed``)."""
    raise NotImplementedError
