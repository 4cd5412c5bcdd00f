"""Walk a job in order against simulated courses and judge each operation.

For each operation the :class:`Planner` does what a run's executor does up to
the point of sending a write: it resolves the course, the module and item
selectors, references, content titles and ``"*"`` fan-outs, but against a
:class:`~bulkmod.plan.view.CourseView` that already holds what earlier lines
would create, rename, move and delete. A write that could be done is then
applied to the view and counted; one that could not becomes a problem, and so
does every later operation that refers to it or names it in ``after``, as a
run would skip them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from bulkmod import rules
from bulkmod.job.model import Every, Operation
from bulkmod.plan.fetch import CanvasReader
from bulkmod.plan.resolve import Cannot, PlanStopped, Resolver, Step
from bulkmod.plan.tally import PlanProblem, PlanResult
from bulkmod.plan.view import Drop, SimItem

__all__ = ["PlanStopped", "Planner"]

#: Operations read ahead of the one being planned, so that reads overlap.
_WINDOW = 5000

#: Module and item fields that a move sets rather than an update.
_PLACE = frozenset({"position", "module_id"})
#: Fields that change nothing by themselves.
_NEUTRAL = frozenset({"published", "skip_content_tags"})


class Planner:
    """Plan a job's operations, one course view per course seen."""

    def __init__(
        self, reader: CanvasReader, referenced: set[str], *, window: int = _WINDOW
    ) -> None:
        self._reader = reader
        self._resolve = Resolver(reader, referenced)
        self._window = window
        self._created = 0
        self.result = PlanResult()

    async def run(self, operations: Iterable[Operation]) -> PlanResult:
        """Plan every operation in order; answer what was found."""
        ahead: deque[Operation] = deque()
        for op in operations:
            self._reader.expect(op)
            ahead.append(op)
            while ahead and (self._reader.busy or len(ahead) >= self._window):
                await self.plan(ahead.popleft())
        while ahead:
            await self.plan(ahead.popleft())
        return self.result

    async def plan(self, op: Operation) -> None:
        """Judge one operation and apply it to its course's view."""
        self.result.operations += 1
        counts = self.result.course(op.course)
        failed = self._resolve.failed_needs(op)
        if failed:
            names = ", ".join(repr(op_id) for op_id in failed)
            self._settle(
                op,
                None,
                Cannot("dependency_failed", f"needs {names}, which cannot be done"),
            )
            return
        try:
            view = await self._resolve.view(op.course)
            counts.course_id = view.course_id
            step = Step(op, op.id, view, counts)
            fans_out = isinstance(op.module, Every) or isinstance(op.item, Every)
            object_id: int | None = None
            if fans_out and op.op not in ("module.publish", "module.unpublish"):
                await self._fan_out(step)
            else:
                object_id = await self._one(step)
        except _Silent:
            self._settle(op, None, None)
            return
        except Cannot as err:
            self._settle(op, None, err)
            return
        self._settle(op, (view.course_id, object_id), None)

    def _settle(
        self, op: Operation, done: tuple[int, int | None] | None, err: Cannot | None
    ) -> None:
        if err is not None:
            self._problem(op, op.id, err.error_type, err.message)
        self._resolve.settle(op.id, done)

    def _problem(self, op: Operation, op_id: str, kind: str, message: str) -> None:
        self.result.problem(PlanProblem(op.line, op_id, op.course, kind, message))

    # fan-out

    async def _fan_out(self, step: Step) -> None:
        """Plan ``"*"`` child by child, as a run does; the parent names none."""
        children = await self._children(step)
        failed = 0
        for module_id, item_id in children:
            child_id = _child_id(step, module_id, item_id)
            child = Step(step.op, child_id, step.view, step.counts, module_id, item_id)
            try:
                await self._one(child)
            except Cannot as err:
                self._problem(step.op, child.op_id, err.error_type, err.message)
                failed += 1
        if failed:
            # Each child was named already; the parent only keeps dependents out.
            raise _Silent()

    async def _children(self, step: Step) -> list[tuple[int, int | None]]:
        op, view = step.op, step.view
        if isinstance(op.module, Every):
            return [(module.id, None) for module in view.live_modules()]
        # Only "item": "*" fans out within one named module.
        module = await self._resolve.load(view, self._resolve.module(step))
        return [(module.id, item.id) for item in module.live_items()]

    # operations

    async def _one(self, step: Step) -> int | None:
        """Judge and apply one operation (or child); answer its object id."""
        name = step.op.op
        if name in ("module.list", "sequence.get"):
            step.counts.reads += 1
            return None
        if name == "module.create":
            return self._create_module(step)
        if name in ("module.publish", "module.unpublish"):
            return self._publish(step)
        if name.startswith("module."):
            return self._module_op(step)
        if name == "item.list":
            await self._resolve.load(step.view, self._resolve.module(step))
            step.counts.reads += 1
            return None
        if name == "item.create":
            return await self._create_item(step)
        return await self._item_op(step)

    def _module_op(self, step: Step) -> int:
        module = self._resolve.module(step)
        name = step.op.op
        if name == "module.show":
            step.counts.reads += 1
        elif name == "module.relock":
            step.counts.other += 1
        elif name == "module.delete":
            step.view.delete_module(module, step.op.line)
            step.counts.modules["delete"] += 1
        else:
            params = self._resolve.params(step.op.params)
            self._dropped(step, step.view.update_module(module, params))
            _count_changes(step.counts.modules, params)
        return module.id

    def _create_module(self, step: Step) -> int:
        params = self._resolve.params(step.op.params)
        name = params.get("name")
        if rules.is_blank(name):
            raise Cannot("invalid_input", "missing module name")
        there = [module.id for module in step.view.named(str(name)) if module.id > 0]
        if there:
            ids = ", ".join(str(module_id) for module_id in there)
            self.result.warning(
                PlanProblem(
                    step.op.line,
                    step.op_id,
                    step.op.course,
                    "exists",
                    f"the course already has a module named {name!r} ({ids}); "
                    "a run creates another unless --existing adopt or skip",
                )
            )
        module_id = self._new_id()
        drops = step.view.create_module(module_id, str(name), step.op.line, params)
        self._dropped(step, drops)
        step.counts.modules["create"] += 1
        # New modules start unpublished; only a publish is one more request.
        if params.get("published") is not None and bool(params["published"]):
            step.counts.modules["publish"] += 1
        return module_id

    def _publish(self, step: Step) -> int | None:
        if isinstance(step.op.module, Every):
            modules = step.view.live_modules()
        else:
            modules = [self._resolve.module(step)]
        event = step.op.op.split(".")[1]
        step.counts.modules[event] += len(modules)
        return modules[0].id if len(modules) == 1 else None

    async def _create_item(self, step: Step) -> int:
        view = step.view
        module = await self._resolve.load(view, self._resolve.module(step))
        params = self._resolve.params(step.op.params)
        title, item_type, gradable = await self._resolve.content(step, params)
        item = SimItem(
            self._new_id(), title, item_type, None, module.id, gradable, step.op.line
        )
        view.create_item(module, item, params.get("position"))
        step.counts.items["create"] += 1
        if params.get("published") is not None:
            event = "publish" if bool(params["published"]) else "unpublish"
            step.counts.items[event] += 1
        self._requirement(step, item, params)
        return item.id

    async def _item_op(self, step: Step) -> int:
        name = step.op.op
        course_wide = name in ("item.update", "item.delete")
        item = await self._resolve.item(step, course_wide=course_wide)
        view = step.view
        if name == "item.delete":
            view.delete_item(item, step.op.line)
            step.counts.items["delete"] += 1
        elif name == "item.update":
            params = self._resolve.params(step.op.params)
            await self._update_item(step, item, params)
            _count_changes(step.counts.items, params)
            self._requirement(step, item, params)
        elif name == "item.show":
            step.counts.reads += 1
        else:
            step.counts.other += 1
        return item.id

    async def _update_item(
        self, step: Step, item: SimItem, params: dict[str, Any]
    ) -> None:
        view = step.view
        raw = params.get("module_id")
        if raw is None or raw is False:
            view.update_item(item, params, None)
            return
        target_id = raw if isinstance(raw, int) else rules.to_i(raw)
        if target_id in view.gone_modules:
            view.move_item_to_gone_module(item, target_id)
            return
        if target_id not in view.modules:
            raise Cannot(
                "invalid_input",
                f"invalid module_id: {view.why_missing('module', target_id)}",
            )
        target = await self._resolve.load(view, view.modules[target_id])
        view.update_item(item, params, target)

    # silent drops

    def _dropped(self, step: Step, drops: list[Drop]) -> None:
        for drop in drops:
            self._problem(
                step.op,
                step.op_id,
                "dropped",
                f"Canvas would drop a prerequisite of {drop.module.describe()}: "
                f"{drop.reason}",
            )

    def _requirement(self, step: Step, item: SimItem, params: dict[str, Any]) -> None:
        wanted = params.get("completion_requirement")
        if not isinstance(wanted, dict) or item.gradable is None:
            return
        kind = str(wanted.get("type"))
        if not rules.requirement_kept(kind, item.gradable):
            self._problem(
                step.op,
                step.op_id,
                "dropped",
                f"Canvas would drop the {kind} completion requirement of "
                f"{item.describe()}: a {item.type} item cannot be graded",
            )

    def _new_id(self) -> int:
        self._created += 1
        return -self._created


class _Silent(Cannot):
    """A fan-out whose children's problems were named one by one."""

    def __init__(self) -> None:
        super().__init__("dependency_failed", "")


def _child_id(step: Step, module_id: int, item_id: int | None) -> str:
    object_id = item_id if item_id is not None else module_id
    if object_id >= 0:
        return f"{step.op.id}/{object_id}"
    # A placeholder: the run names the child by the id Canvas will give it.
    module = step.view.modules[module_id]
    line = module.line
    if item_id is not None and module.items is not None:
        line = module.items[item_id].line
    return f"{step.op.id}/(new, line {line})"


def _count_changes(counts: Counter[str], params: dict[str, Any]) -> None:
    """Count one update under each change it makes."""
    changed = False
    if any(key not in _PLACE | _NEUTRAL for key in params):
        counts["update"] += 1
        changed = True
    if any(params.get(key) not in (None, False) for key in _PLACE):
        counts["move"] += 1
        changed = True
    if params.get("published") is not None:
        counts["publish" if bool(params["published"]) else "unpublish"] += 1
        changed = True
    if not changed:
        counts["update"] += 1
