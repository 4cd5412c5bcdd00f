"""The sandbox's tables, id sequences, lookups and permission checks.

Every table has its own id sequence that only grows, as Canvas's do. Lookups
raise :class:`CanvasFailure` the way Canvas answers: a missing, foreign,
deleted or hidden record is 404; a user without the right is unauthorized.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime

from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_objects import (
    Content,
    Course,
    Item,
    Module,
    Progress,
    User,
)

_ID = re.compile(r"^\d{1,19}$")
ROLES = ("teacher", "student")


def parse_id(value: object) -> int | None:
    """A plain Canvas id (1-19 digits) as an int, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value) if value is not None else ""
    return int(text) if _ID.match(text) else None


def iso(moment: datetime) -> str:
    """An ISO-8601 UTC timestamp ending in ``Z``, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    """Read an ISO-8601 timestamp; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _item_order(item: Item) -> tuple[bool, int, str]:
    # Canvas orders items by position (nulls last), then title.
    return (item.position is None, item.position or 0, item.title)


def _module_order(module: Module) -> tuple[int, int]:
    return (module.position, module.id)


class Store:
    """Tables of users, courses, content, modules, items and progress."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1",
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url
        self._clock = clock or (lambda: datetime.now(UTC))
        self.users: dict[int, User] = {}
        self.courses: dict[int, Course] = {}
        self.modules: dict[int, Module] = {}
        self.items: dict[int, Item] = {}
        self.progresses: dict[int, Progress] = {}
        self._tokens: dict[str, User] = {}
        self._sequences: dict[str, int] = {}

    # ids and time

    def next_id(self, table: str) -> int:
        """The next id of ``table``: one past the last one handed out."""
        value = self._sequences.get(table, 0) + 1
        self._sequences[table] = value
        return value

    def moment(self) -> datetime:
        """The current time, from the store's clock."""
        return self._clock()

    def now(self) -> str:
        """The current time as Canvas writes it."""
        return iso(self._clock())

    def api_url(self, path: str) -> str:
        """An absolute ``/api/v1`` URL on this sandbox."""
        return f"{self.base_url.rstrip('/')}/api/v1{path}"

    def web_url(self, path: str) -> str:
        """An absolute web (non-API) URL on this sandbox."""
        return f"{self.base_url.rstrip('/')}{path}"

    # users, tokens, courses

    def register_token(self, token: str, user: User) -> None:
        """Let ``token`` stand for ``user``."""
        self._tokens[token] = user

    def token_user(self, token: str) -> User | None:
        """The user a token stands for."""
        return self._tokens.get(token)

    @staticmethod
    def course_uuid(course_id: int, salt: str) -> str:
        """A stable 40-character id for a course (``uuid``, ``lti_context_id``)."""
        return hashlib.sha1(f"{salt}:{course_id}".encode()).hexdigest()

    # permissions

    def role(self, course: Course, user: User) -> str | None:
        """``admin``, ``teacher``, ``student`` or None for this course."""
        if user.admin:
            return "admin"
        return course.roles.get(user.id)

    def can_manage(self, course: Course, user: User) -> bool:
        """Whether the user may change the course's modules and see all of them."""
        return self.role(course, user) in ("admin", "teacher")

    def is_student(self, course: Course, user: User) -> bool:
        """Whether the user takes part in the course as a student."""
        return not user.admin and course.roles.get(user.id) == "student"

    def require_read(self, course: Course, user: User) -> None:
        """Unauthorized unless the user may read the course."""
        if self.role(course, user) is None:
            raise CanvasFailure.unauthorized()

    def require_manage(self, course: Course, user: User) -> None:
        """Unauthorized unless the user may edit the course's content."""
        if not self.can_manage(course, user):
            raise CanvasFailure.unauthorized()

    # modules

    def live_modules(self, course: Course) -> list[Module]:
        """The course's not-deleted modules by (position, id)."""
        live = [m for m in course.modules.values() if m.workflow_state != "deleted"]
        live.sort(key=_module_order)
        return live

    def visible_modules(self, course: Course, who: User) -> list[Module]:
        """Modules ``who`` sees: all live ones for staff, published for others."""
        live = self.live_modules(course)
        if self.can_manage(course, who):
            return live
        return [m for m in live if m.workflow_state == "active"]

    def live_module(self, course: Course, module_id: object) -> Module:
        """A not-deleted module of the course; 404 otherwise."""
        module = self._module(course, module_id)
        if module is None or module.deleted:
            raise CanvasFailure.not_found()
        return module

    def visible_module(self, course: Course, who: User, module_id: object) -> Module:
        """A module of the course that ``who`` sees; 404 otherwise."""
        module = self.live_module(course, module_id)
        if not module.published and not self.can_manage(course, who):
            raise CanvasFailure.not_found()
        return module

    def any_module(self, course: Course, module_id: object) -> Module | None:
        """A module of the course, deleted or not, or None."""
        return self._module(course, module_id)

    def _module(self, course: Course, module_id: object) -> Module | None:
        key = parse_id(module_id)
        return course.modules.get(key) if key is not None else None

    def module_positions(self, course: Course) -> dict[int, int]:
        """Module id -> position, over the course's not-deleted modules."""
        return {
            m.id: m.position
            for m in course.modules.values()
            if m.workflow_state != "deleted"
        }

    # items

    def live_items(self, module: Module) -> list[Item]:
        """The module's not-deleted items by (position, title)."""
        live = module.live_items()
        live.sort(key=_item_order)
        return live

    def visible_items(self, module: Module, who: User) -> list[Item]:
        """Items of the module that ``who`` sees, by (position, title)."""
        course = self.courses[module.course_id]
        live = self.live_items(module)
        if self.can_manage(course, who):
            return live
        return [item for item in live if item.workflow_state == "active"]

    def live_item(self, course: Course, item_id: object) -> Item:
        """A not-deleted item anywhere in the course; 404 otherwise."""
        key = parse_id(item_id)
        item = course.items.get(key) if key is not None else None
        if item is None or item.deleted:
            raise CanvasFailure.not_found()
        return item

    def visible_item(
        self, course: Course, who: User, module_id: object, item_id: object
    ) -> Item:
        """An item of that very module that ``who`` sees; 404 otherwise."""
        module = self.visible_module(course, who, module_id)
        item = self.live_item(course, item_id)
        if item.module is not module:
            raise CanvasFailure.not_found()
        if not item.published and not self.can_manage(course, who):
            raise CanvasFailure.not_found()
        return item

    # content

    def find_content(
        self, course: Course, kind: str, content_id: object
    ) -> Content | None:
        """Not-deleted content of ``kind`` in the course, or None."""
        key = parse_id(content_id)
        if key is None:
            return None
        content = course.content.get(kind, {}).get(key)
        if content is None or content.deleted:
            return None
        return content
