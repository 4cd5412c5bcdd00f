"""A simulated course: its modules and items as a run would leave them.

A :class:`CourseView` starts from what Canvas shows now and takes each write
of the job in turn, following Canvas's rules for positions and prerequisites
(:mod:`bulkmod.rules`), so that a later line's selector, reference or
prerequisite is judged against the course as the run will find it.

Objects a line creates get placeholder ids below zero (Canvas's are
positive), numbered in the order the lines create them. Items of a module are
read only when a line needs them (``items`` is None until then). Publish
states are not kept: no selector depends on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bulkmod import rules

_LEADING_DIGITS = re.compile(r"\d+")


@dataclass(slots=True)
class SimItem:
    """A module item of the simulated course."""

    id: int
    title: str
    type: str
    position: int | None
    module_id: int
    #: Whether it may carry a scoring requirement; None when not known.
    gradable: bool | None
    #: The line that creates it; None for an item Canvas has already.
    line: int | None = None

    def describe(self) -> str:
        """Name the item for a message: its title and where it comes from."""
        if self.line is not None:
            return f"item {self.title!r} (new, line {self.line})"
        return f"item {self.title!r} (id {self.id})"


@dataclass(slots=True)
class SimModule:
    """A module of the simulated course."""

    id: int
    name: str
    position: int
    prerequisites: list[int] = field(default_factory=list)
    #: The line that creates it; None for a module Canvas has already.
    line: int | None = None
    #: Live items by id; None until read from Canvas.
    items: dict[int, SimItem] | None = None

    def describe(self) -> str:
        """Name the module for a message: its name and where it comes from."""
        if self.line is not None:
            return f"module {self.name!r} (new, line {self.line})"
        return f"module {self.name!r} (id {self.id})"

    def live_items(self) -> list[SimItem]:
        """Items in Canvas's order: position (none last), then title."""
        assert self.items is not None
        return sorted(self.items.values(), key=_item_order)


@dataclass(frozen=True, slots=True)
class Drop:
    """A prerequisite that Canvas would silently drop from a module."""

    module: SimModule
    #: The id asked for; None when the value was not an id at all.
    prerequisite: int | None
    #: Why Canvas leaves it out.
    reason: str


class CourseView:
    """The modules and items of one course as the job so far leaves them."""

    def __init__(self, course_id: int, modules: list[dict[str, Any]]) -> None:
        self.course_id = course_id
        self.modules: dict[int, SimModule] = {}
        #: Ids the job deletes -> the deleting line and what was deleted.
        self.gone_modules: dict[int, tuple[int, str]] = {}
        self.gone_items: dict[int, tuple[int, str]] = {}
        for raw in modules:
            module = SimModule(
                id=int(raw["id"]),
                name=str(raw.get("name") or ""),
                position=rules.to_i(raw.get("position")),
                prerequisites=[int(p) for p in raw.get("prerequisite_module_ids", [])],
            )
            if isinstance(raw.get("items"), list):
                self.fill_items(module, raw["items"])
            self.modules[module.id] = module

    # reading

    def live_modules(self) -> list[SimModule]:
        """Modules in Canvas's order: position, then id (new ones last)."""
        return sorted(self.modules.values(), key=_module_order)

    def positions(self) -> dict[int, int]:
        """Module id -> position, for the course's live modules."""
        return {module.id: module.position for module in self.modules.values()}

    def named(self, name: str) -> list[SimModule]:
        """Live modules of exactly this name, in order."""
        return [module for module in self.live_modules() if module.name == name]

    def fill_items(self, module: SimModule, raw_items: list[dict[str, Any]]) -> None:
        """Give a module the items Canvas listed for it."""
        module.items = {}
        for raw in raw_items:
            item_type = str(raw.get("type") or "")
            item = SimItem(
                id=int(raw["id"]),
                title=str(raw.get("title") or ""),
                type=item_type,
                position=None if raw.get("position") is None else int(raw["position"]),
                module_id=module.id,
                gradable=_gradable_by_type(item_type),
            )
            module.items[item.id] = item

    def find_item(self, item_id: int) -> SimItem | None:
        """A live item anywhere in the course (every module's items read)."""
        for module in self.modules.values():
            if module.items is not None and item_id in module.items:
                return module.items[item_id]
        return None

    def existing(
        self, raw_ids: list[Any]
    ) -> tuple[list[int], list[tuple[int | None, str]]]:
        """Prerequisite ids Canvas keeps as modules of the course, and the rest.

        Canvas reads each id's leading digits and keeps the course's live
        modules, once each; placeholder ids of new modules are taken as given.
        The rest come with the reason they are left out.
        """
        kept: list[int] = []
        missing: list[tuple[int | None, str]] = []
        for raw in raw_ids:
            if isinstance(raw, int) and not isinstance(raw, bool):
                wanted: int | None = raw
            else:
                match = _LEADING_DIGITS.match(str(raw))
                wanted = int(match.group()) if match else None
            if wanted is not None and wanted in self.modules:
                if wanted not in kept:
                    kept.append(wanted)
                continue
            missing.append((wanted, self.why_missing("module", wanted, raw)))
        return kept, missing

    def why_missing(self, kind: str, wanted: int | None, raw: Any = None) -> str:
        """Why no live module (or item) of this id is in the course."""
        if wanted is None:
            return f"{raw!r} is not an id"
        gone = self.gone_modules if kind == "module" else self.gone_items
        if wanted in gone:
            line, what = gone[wanted]
            return f"{what} is deleted by line {line}"
        if wanted < 0:
            return f"that {kind} is created in another course"
        return f"there is no live {kind} {wanted} in course {self.course_id}"

    # modules

    def create_module(
        self, module_id: int, name: str, line: int, params: dict[str, Any]
    ) -> list[Drop]:
        """Add a module at the bottom, then move it if asked; answer the drops."""
        module = SimModule(
            id=module_id,
            name=name,
            position=rules.next_position(self.positions().values()),
            line=line,
            items={},
        )
        missing: list[tuple[int | None, str]] = []
        if "prerequisite_module_ids" in params:
            module.prerequisites, missing = self.existing(
                _as_list(params["prerequisite_module_ids"])
            )
        self.modules[module.id] = module
        return self._settle(module, params, missing)

    def update_module(self, module: SimModule, params: dict[str, Any]) -> list[Drop]:
        """Rename, set prerequisites, move; answer the prerequisites dropped."""
        if "name" in params:
            module.name = "" if params["name"] is None else str(params["name"])
        missing: list[tuple[int | None, str]] = []
        if "prerequisite_module_ids" in params:
            raw = params["prerequisite_module_ids"]
            if rules.is_blank(raw):
                module.prerequisites = []
            else:
                module.prerequisites, missing = self.existing(_as_list(raw))
        return self._settle(module, params, missing)

    def _settle(
        self,
        module: SimModule,
        params: dict[str, Any],
        missing: list[tuple[int | None, str]],
    ) -> list[Drop]:
        # Canvas validates the prerequisites on save, at the module's place
        # before any move; a move then re-saves every module of the course.
        found = [Drop(module, wanted, why) for wanted, why in missing]
        found += self._revalidate([module])
        raw = params.get("position")
        if raw is None or raw is False:
            return found
        positions: dict[int, int | None] = dict(self.positions())
        for module_id, position in rules.insert_at(
            positions, module.id, rules.to_i(raw)
        ).items():
            assert position is not None
            self.modules[module_id].position = position
        return found + self._revalidate(self.live_modules())

    def _revalidate(self, modules: list[SimModule]) -> list[Drop]:
        positions = self.positions()
        drops: list[Drop] = []
        for module in modules:
            kept = rules.valid_prerequisites(
                module.prerequisites, positions, module.position
            )
            for lost in module.prerequisites:
                if lost not in kept:
                    drops.append(
                        Drop(module, lost, self._not_before(lost, module, positions))
                    )
            module.prerequisites = kept
        return drops

    def _not_before(
        self, lost: int, module: SimModule, positions: dict[int, int]
    ) -> str:
        other = self.modules[lost]
        return (
            f"{other.describe()} would be at position {positions[lost]}, which "
            f"is not before the module's position {module.position}"
        )

    def delete_module(self, module: SimModule, line: int) -> None:
        """Soft-delete a module and its items; others keep their positions."""
        del self.modules[module.id]
        self.gone_modules[module.id] = (line, module.describe())
        for item in (module.items or {}).values():
            self.gone_items[item.id] = (line, item.describe())

    # items

    def create_item(self, module: SimModule, item: SimItem, raw_position: Any) -> None:
        """Add an item: a taken slot shifts the rest down, a free one is kept."""
        assert module.items is not None
        live: dict[int, int | None] = {i.id: i.position for i in module.items.values()}
        requested = rules.to_i(raw_position) if not rules.is_blank(raw_position) else 0
        position, shifts = rules.place_new_item(
            live, requested if requested > 0 else None
        )
        self._apply(module, shifts)
        item.position = position
        item.module_id = module.id
        module.items[item.id] = item
        if raw_position is not None and raw_position is not False:
            self._insert(module, item, raw_position)

    def update_item(
        self, item: SimItem, params: dict[str, Any], target: SimModule | None
    ) -> None:
        """Retitle, move to ``target`` (when given) and reposition an item."""
        if params.get("title") is not None:
            item.title = str(params["title"])
        source = self.modules[item.module_id]
        if target is not None and target.id != source.id:
            assert source.items is not None and target.items is not None
            positions = {i.id: i.position for i in source.items.values()}
            self._apply(source, rules.remove_from_list(positions, item.id))
            del source.items[item.id]
            target.items[item.id] = item
            item.module_id = target.id
        raw = params.get("position")
        if raw is not None and raw is not False:
            self._insert(self.modules[item.module_id], item, raw)

    def move_item_to_gone_module(self, item: SimItem, module_id: int) -> None:
        """Canvas lets an item move into a deleted module: it is then hidden."""
        source = self.modules[item.module_id]
        assert source.items is not None
        positions = {i.id: i.position for i in source.items.values()}
        self._apply(source, rules.remove_from_list(positions, item.id))
        del source.items[item.id]
        line, what = self.gone_modules[module_id]
        self.gone_items[item.id] = (line, f"{item.describe()}, moved into {what},")

    def delete_item(self, item: SimItem, line: int) -> None:
        """Soft-delete an item; the others keep their positions."""
        items = self.modules[item.module_id].items
        assert items is not None
        del items[item.id]
        self.gone_items[item.id] = (line, item.describe())

    def _insert(self, module: SimModule, item: SimItem, raw: Any) -> None:
        assert module.items is not None
        positions = {i.id: i.position for i in module.items.values()}
        self._apply(module, rules.insert_at(positions, item.id, rules.to_i(raw)))

    @staticmethod
    def _apply(module: SimModule, changes: dict[int, int | None]) -> None:
        assert module.items is not None
        for item_id, position in changes.items():
            module.items[item_id].position = position


def _module_order(module: SimModule) -> tuple[int, int, int]:
    # New modules get ids above every existing one in Canvas: sort them last
    # among equal positions, in the order they are created.
    return (module.position, module.id < 0, abs(module.id))


def _item_order(item: SimItem) -> tuple[bool, int, str]:
    return (item.position is None, item.position or 0, item.title)


def _gradable_by_type(item_type: str) -> bool | None:
    if item_type in ("Assignment", "Quiz"):
        return True
    if item_type == "Discussion":
        # Only a graded discussion can be; the item list does not say.
        return None
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
