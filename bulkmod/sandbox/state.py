"""The sandbox's Canvas: courses, modules, items, content, users, progressions.

This is the data model behind the sandbox server, with no HTTP in it. Each
action method is one Canvas request made by a ``viewer`` and either answers
the records or JSON Canvas would, or raises :class:`CanvasFailure` carrying
Canvas's status and body. Lists come back whole; the server paginates them.

Not thread-safe: the server calls it from one event loop. Timestamps come
from the ``clock`` given (UTC ``datetime``), so tests can fix time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bulkmod.sandbox import model_items, model_modules, model_sequence
from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_json import (
    content_json,
    item_json,
    module_json,
    progress_json,
)
from bulkmod.sandbox.model_objects import (
    CONTENT_KINDS,
    Content,
    Course,
    Item,
    Module,
    User,
)
from bulkmod.sandbox.model_store import ROLES, Store, parse_id
from bulkmod.sandbox.progressions import Progressions, relock
from bulkmod.sandbox.seed import CourseExportLike, seed

__all__ = ["CanvasFailure", "State", "seed", "CourseExportLike"]

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


class State(Store):
    """Everything the sandbox knows, and every Canvas action on it."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1",
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(base_url, clock=clock)
        self._sis: dict[tuple[str, str], Course] = {}

    # users and tokens

    def add_user(
        self, name: str, *, admin: bool = False, token: str | None = None
    ) -> User:
        """Add a user, reachable by ``token`` when one is given."""
        user = User(id=self.next_id("users"), name=name, admin=admin, token=token)
        self.users[user.id] = user
        if token is not None:
            self.register_token(token, user)
        return user

    def user_for_token(self, token: str) -> User | None:
        """The user a token belongs to, or None."""
        return self.token_user(token)

    def find_user(self, user_id: str) -> User:
        """The user of this id; 404 when there is none."""
        key = parse_id(user_id)
        user = self.users.get(key) if key is not None else None
        if user is None:
            raise CanvasFailure.not_found()
        return user

    # courses, enrolments, content

    def add_course(self, name: str, *, sis_course_id: str | None = None) -> Course:
        """Add an empty course (with a ``uuid`` and ``lti_context_id`` of its own)."""
        course_id = self.next_id("courses")
        course = Course(
            id=course_id,
            name=name,
            sis_course_id=sis_course_id,
            uuid=self.course_uuid(course_id, "uuid"),
            lti_context_id=self.course_uuid(course_id, "lti"),
            content={kind: {} for kind in CONTENT_KINDS},
            created_at=self.now(),
        )
        self.courses[course_id] = course
        self._sis[("uuid", course.uuid)] = course
        self._sis[("lti_context_id", course.lti_context_id)] = course
        if sis_course_id is not None:
            self._sis[("sis_course_id", sis_course_id)] = course
        return course

    def find_course(self, ref: str) -> Course:
        """The course a path names: an id or one of Canvas's id forms; else 404.

        Accepted: ``12``, ``sis_course_id:X``, ``sis_integration_id:X``,
        ``lti_context_id:X``, ``uuid:X`` and ``hex:sis_course_id:<hex>``.
        """
        text = str(ref)
        key = parse_id(text)
        course: Course | None = None
        if key is not None:
            course = self.courses.get(key)
        elif text.startswith("hex:sis_course_id:"):
            try:
                sis = bytes.fromhex(text.removeprefix("hex:sis_course_id:")).decode()
            except ValueError:
                sis = None
            if sis is not None:
                course = self._sis.get(("sis_course_id", sis))
        elif ":" in text:
            form, _, value = text.partition(":")
            course = self._sis.get((form, value))
        if course is None:
            raise CanvasFailure.not_found()
        return course

    def enroll(self, course: Course, user: User, role: str) -> None:
        """Enrol ``user`` as ``teacher`` or ``student``."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        course.roles[user.id] = role

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
        """Add content of ``kind`` to a course.

        ``kind`` is one of ``assignment quiz discussion file page tool``. A
        graded quiz or discussion gets an assignment of the same title behind
        it. A page's slug defaults to its title in lower case with dashes,
        made unique in the course; a tool's URL defaults to one under the
        reserved ``.invalid`` domain.
        """
        if kind not in CONTENT_KINDS:
            raise ValueError(f"kind must be one of {CONTENT_KINDS}, not {kind!r}")
        now = self.now()
        content = Content(
            id=self.next_id(kind),
            course_id=course.id,
            kind=kind,
            title=title,
            published=published,
            points_possible=points_possible,
            created_at=now,
            updated_at=now,
        )
        if kind == "page":
            content.slug = self._unique_slug(course, slug or _slugify(title))
            course.pages_by_slug[content.slug] = content
        if kind == "tool":
            content.url = url or f"https://{_slugify(title) or 'tool'}.invalid/launch"
        if kind == "assignment" and points_possible is None:
            content.points_possible = 10.0
        course.content[kind][content.id] = content
        if graded and kind in ("quiz", "discussion"):
            backing = self.add_content(
                course,
                "assignment",
                title,
                published=published,
                points_possible=points_possible,
            )
            backing.owner = content
            content.assignment = backing
        return content

    def _unique_slug(self, course: Course, slug: str) -> str:
        candidate, n = slug or "page", 1
        while candidate in course.pages_by_slug:
            n += 1
            candidate = f"{slug}-{n}"
        return candidate

    def list_content(self, course: Course, kind: str) -> list[Content]:
        """Not-deleted content of one kind, by id."""
        found = course.content.get(kind, {})
        return [c for _, c in sorted(found.items()) if not c.deleted]

    def content_json(self, content: Content) -> dict[str, Any]:
        """Canvas's JSON of one piece of content, shaped by its kind."""
        return content_json(self, content)

    # modules

    def list_modules(
        self,
        course: Course,
        viewer: User,
        *,
        search_term: str | None = None,
        include_items: bool = False,
        student: User | None = None,
    ) -> list[Module]:
        """Modules shown, by (position, id).

        Without ``include_items`` the search filters names here; with it every
        module comes back and :meth:`searched_module_json` filters each one
        after pagination, as Canvas does.
        """
        return model_modules.list_modules(
            self,
            course,
            viewer,
            search_term=search_term,
            include_items=include_items,
            student=student,
        )

    def get_module(
        self,
        course: Course,
        viewer: User,
        module_id: str,
        *,
        student: User | None = None,
    ) -> Module:
        """One module the viewer (or the student shown) sees; else 404."""
        self.require_read(course, viewer)
        return self.visible_module(course, student or viewer, module_id)

    def create_module(
        self, course: Course, viewer: User, params: dict[str, Any] | None
    ) -> Module:
        """Create a module: always unpublished, at the bottom or at ``position``."""
        return model_modules.create_module(self, course, viewer, params)

    def update_module(
        self, course: Course, viewer: User, module_id: str, params: Any
    ) -> dict[str, Any]:
        """Update a module; answers its JSON with the publish warnings."""
        return model_modules.update_module(self, course, viewer, module_id, params)

    def delete_module(
        self, course: Course, viewer: User, module_id: str
    ) -> dict[str, Any]:
        """Soft-delete a module and its items; answers its JSON."""
        return model_modules.delete_module(self, course, viewer, module_id)

    def relock_module(
        self, course: Course, viewer: User, module_id: str
    ) -> dict[str, Any]:
        """Relock students' progressions of the module and its dependents."""
        module = self.live_module(course, module_id)
        self.require_manage(course, viewer)
        relock(course, module)
        return module_json(self, module, viewer)

    def batch_update(
        self, course: Course, viewer: User, params: dict[str, Any]
    ) -> dict[str, Any]:
        """Publish, unpublish or delete several modules (``event``, ``module_ids``)."""
        return model_modules.batch_update(self, course, viewer, params)

    # items

    def list_items(
        self,
        course: Course,
        viewer: User,
        module_id: str,
        *,
        search_term: str | None = None,
        student: User | None = None,
    ) -> list[Item]:
        """Items of one module shown, by (position, title)."""
        self.require_read(course, viewer)
        term = model_modules.check_search_term(search_term)
        who = student or viewer
        module = self.visible_module(course, who, module_id)
        items = self.visible_items(module, who)
        if term is not None:
            needle = term.lower()
            items = [item for item in items if needle in item.title.lower()]
        return items

    def get_item(
        self,
        course: Course,
        viewer: User,
        module_id: str,
        item_id: str,
        *,
        student: User | None = None,
    ) -> Item:
        """One item of that very module, as shown; else 404."""
        self.require_read(course, viewer)
        return self.visible_item(course, student or viewer, module_id, item_id)

    def create_item(
        self, course: Course, viewer: User, module_id: str, params: Any
    ) -> dict[str, Any]:
        """Create an item; answers its JSON."""
        return model_items.create_item(self, course, viewer, module_id, params)

    def update_item(
        self, course: Course, viewer: User, module_id: str, item_id: str, params: Any
    ) -> dict[str, Any]:
        """Update or move an item; the module in the path is not checked."""
        return model_items.update_item(self, course, viewer, item_id, params)

    def delete_item(
        self, course: Course, viewer: User, module_id: str, item_id: str
    ) -> dict[str, Any]:
        """Soft-delete an item; the module in the path is not checked."""
        return model_items.delete_item(self, course, viewer, item_id)

    def mark_done(
        self, course: Course, viewer: User, module_id: str, item_id: str, done: bool
    ) -> dict[str, Any]:
        """Mark an item done or not done; it counts for students only."""
        self.require_read(course, viewer)
        item = self.visible_item(course, viewer, module_id, item_id)
        if self.is_student(course, viewer):
            progressions = Progressions(self, course, viewer)
            if done:
                progressions.record(item, "done")
            else:
                progressions.undo(item)
        return {"message": "OK"}

    def mark_read(
        self, course: Course, viewer: User, module_id: str, item_id: str
    ) -> dict[str, Any]:
        """Mark an item viewed; 403 when the student is locked out of it."""
        self.require_read(course, viewer)
        item = self.visible_item(course, viewer, module_id, item_id)
        if self.is_student(course, viewer):
            progressions = Progressions(self, course, viewer)
            if progressions.item_locked(item):
                raise CanvasFailure.bad_request("The module item is locked.", 403)
            progressions.record(item, "read")
        return {"message": "OK"}

    def item_sequence(
        self,
        course: Course,
        viewer: User,
        asset_type: str | None,
        asset_id: str | None,
        *,
        student: User | None = None,
    ) -> dict[str, Any]:
        """The items before and after an asset in the course's module sequence."""
        if student is None and self.is_student(course, viewer):
            student = viewer
        return model_sequence.item_sequence(
            self, course, viewer, asset_type, asset_id, student
        )

    def get_progress(self, viewer: User, progress_id: str) -> dict[str, Any]:
        """Canvas's JSON of one Progress record; 404 when unknown."""
        key = parse_id(progress_id)
        progress = self.progresses.get(key) if key is not None else None
        if progress is None:
            raise CanvasFailure.not_found()
        course = self.courses[progress.context_id]
        if progress.user_id != viewer.id and not self.can_manage(course, viewer):
            raise CanvasFailure.unauthorized()
        return progress_json(self, progress)

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
        """Canvas's Module JSON as the viewer (or the student shown) sees it."""
        return module_json(
            self,
            module,
            viewer,
            include_items=include_items,
            include_content_details=include_content_details,
            student=student,
        )

    def searched_module_json(
        self,
        module: Module,
        viewer: User,
        search_term: str,
        *,
        include_content_details: bool = False,
        student: User | None = None,
    ) -> dict[str, Any] | None:
        """Module JSON with items under a ``search_term``; None drops the module."""
        return model_modules.searched_module_json(
            self,
            module,
            viewer,
            search_term,
            include_content_details=include_content_details,
            student=student,
        )

    def item_json(
        self,
        item: Item,
        viewer: User,
        *,
        include_content_details: bool = False,
        student: User | None = None,
    ) -> dict[str, Any]:
        """Canvas's ModuleItem JSON as the viewer (or the student shown) sees it."""
        return item_json(
            self,
            item,
            viewer,
            include_content_details=include_content_details,
            student=student,
        )

    def student_for(
        self, course: Course, viewer: User, student_id: str | None
    ) -> User | None:
        """The student whose progression to show, or None.

        With ``student_id``: that student of the course, if the viewer is
        staff or that very student (else unauthorized). Without: the viewer
        when they are a student of the course.
        """
        if student_id is None:
            return viewer if self.is_student(course, viewer) else None
        key = parse_id(student_id)
        student = self.users.get(key) if key is not None else None
        if student is None or course.roles.get(student.id) != "student":
            raise CanvasFailure.unauthorized()
        if student is not viewer and not self.can_manage(course, viewer):
            raise CanvasFailure.unauthorized()
        return student


def _slugify(title: str) -> str:
    return _SLUG_JUNK.sub("-", title.lower()).strip("-")
