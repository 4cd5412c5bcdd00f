"""Students' progress through modules: locks, requirements met, completion.

A progression is worked out when it is read, the way Canvas evaluates one:

* a module is ``locked`` while its ``unlock_at`` lies ahead, or while a
  published prerequisite module is not completed (once unlocked it stays so
  until a relock, as in Canvas);
* otherwise it is ``completed`` when every requirement the student can see is
  met (a module without requirements is completed at once), ``started`` when
  some are, and ``unlocked`` when none are;
* in a module with sequential progress, the items after the first one whose
  requirement is unmet are locked.

Requirements are met only by what the sandbox can record: ``must_view`` by
mark read, ``must_mark_done`` by mark done. Submissions and scores do not
exist here, so ``must_submit``, ``min_score``, ``min_percentage`` and
``must_contribute`` stay unmet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bulkmod.sandbox.model_objects import Course, Item, Module, User
from bulkmod.sandbox.model_store import Store, parse_time

#: The action each requirement type is met by.
_MET_BY = {"must_view": "read", "must_mark_done": "done"}


@dataclass
class ModuleProgress:
    """One student's progression through one module."""

    state: str
    completed_at: str | None = None
    #: Item id -> whether its requirement is met.
    completed: dict[int, bool] = field(default_factory=dict)
    #: Items at a higher position than this are locked (sequential progress).
    current_position: int | None = None

    @property
    def locked(self) -> bool:
        """Whether the whole module is locked."""
        return self.state == "locked"


class Progressions:
    """The progressions of one student in one course, evaluated on demand."""

    def __init__(self, store: Store, course: Course, student: User) -> None:
        self._store = store
        self._course = course
        self._student = student
        self._memo: dict[int, ModuleProgress] = {}
        self._visiting: set[int] = set()

    def of(self, module: Module) -> ModuleProgress:
        """The student's progression through ``module``."""
        found = self._memo.get(module.id)
        if found is None:
            found = self._evaluate(module)
            self._memo[module.id] = found
        return found

    def item_locked(self, item: Item) -> bool:
        """Whether the student is locked out of ``item``."""
        progress = self.of(item.module)
        if progress.locked:
            return True
        if progress.current_position is None or item.position is None:
            return False
        return item.position > progress.current_position

    def record(self, item: Item, action: str) -> None:
        """Record ``read`` or ``done`` on an item, if it meets its requirement."""
        requirement = item.requirement
        if requirement is None or _MET_BY.get(requirement["type"]) != action:
            return
        if self.of(item.module).locked:
            return
        key = (self._student.id, item.id)
        self._course.met.setdefault(key, set()).add(requirement["type"])
        self._memo.clear()

    def undo(self, item: Item) -> None:
        """Forget the requirement the student met on ``item``."""
        self._course.met.pop((self._student.id, item.id), None)
        self._memo.clear()

    # evaluation

    def _evaluate(self, module: Module) -> ModuleProgress:
        if not module.published or module.id in self._visiting:
            return ModuleProgress(state="locked")
        self._visiting.add(module.id)
        try:
            if self._is_locked(module):
                return ModuleProgress(state="locked")
            return self._requirements(module)
        finally:
            self._visiting.discard(module.id)

    def _is_locked(self, module: Module) -> bool:
        unlock_at = parse_time(module.unlock_at)
        if unlock_at is not None and unlock_at > self._store.moment():
            return True
        key = (self._student.id, module.id)
        if key in self._course.unlocked:
            return False
        for pre_id in module.prerequisites:
            pre = self._course.modules.get(pre_id)
            # Only published prerequisites hold a student back.
            if pre is None or not pre.published:
                continue
            if self.of(pre).state != "completed":
                return True
        self._course.unlocked.add(key)
        return False

    def _requirements(self, module: Module) -> ModuleProgress:
        items = self._store.visible_items(module, self._student)
        completed: dict[int, bool] = {}
        for item in items:
            if item.requirement is not None:
                completed[item.id] = self._is_met(item)

        met = sum(completed.values())
        if met == len(completed):
            state = "completed"
        elif met:
            state = "started"
        else:
            state = "unlocked"

        key = (self._student.id, module.id)
        if state == "completed":
            stamp = self._course.completed_at.setdefault(key, self._store.now())
        else:
            self._course.completed_at.pop(key, None)
            stamp = None

        current = None
        if module.require_sequential_progress:
            for item in items:
                if item.position is not None:
                    current = item.position
                if not completed.get(item.id, True):
                    break
        return ModuleProgress(state, stamp, completed, current)

    def _is_met(self, item: Item) -> bool:
        assert item.requirement is not None
        done = self._course.met.get((self._student.id, item.id), set())
        kind = item.requirement["type"]
        # Canvas counts a view as done once anything else on the item is met.
        return kind in done or (kind == "must_view" and bool(done))


def relock(course: Course, module: Module) -> None:
    """Lock every student's progression of ``module`` and of its dependents again.

    They are worked out afresh on the next read, so prerequisites added since a
    student started hold them back again.
    """
    affected = {module.id}
    changed = True
    while changed:
        changed = False
        for other in course.modules.values():
            if other.id not in affected and affected & set(other.prerequisites):
                affected.add(other.id)
                changed = True
    course.unlocked = {key for key in course.unlocked if key[1] not in affected}
