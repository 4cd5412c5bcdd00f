"""Running one operation from its line to its result.

The executor is what a lane calls for each of its operations: it skips what an
earlier run already did, skips what depends on a failure, resolves the
course, selectors, references and content, fans ``"*"`` out into children,
sends the request through :class:`~bulkmod.engine.operations.Sender` (creates
through :class:`~bulkmod.engine.creates.Creator`), and writes the outcome
line. With ``--on-failure skip-course`` it records the later operations of a
course whose operation failed as skipped instead of sending them.

An exception nobody foresaw inside one operation (an answer of a shape no
check caught, say) fails that operation alone, as ``server_error``; the run
goes on with the others.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from bulkmod.client.errors import (
    BadAnswerError,
    CanvasError,
    NetworkError,
    NotFoundError,
    UnauthorizedError,
)
from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.urls import api_path
from bulkmod.engine import before, existing
from bulkmod.engine.creates import Creator, Skipped
from bulkmod.engine.journal import Journal, Previous, utc_now
from bulkmod.engine.operations import Done, Sender, Target
from bulkmod.engine.refs import RefTable
from bulkmod.engine.resolve import CourseContext, Resolver
from bulkmod.engine.tally import Tally
from bulkmod.job.model import Every, Operation, Safety
from bulkmod.logs import debug_enabled

log = structlog.get_logger("bulkmod.run")

#: Course contexts kept, the most recently used: well above the lanes that
#: run at once, so a course keeps its context while its lane runs. A job that
#: comes back to a course after this many others lists its modules (and any
#: content it names by title) again; a context holds only ids by name, so
#: this many stay small.
_CONTEXTS_KEPT = 100

#: Called when the run must stop: the reason, said to the user.
StopRun = Callable[[str], None]


class StepError(Exception):
    """An operation failed for a reason of ours, not an answer of Canvas."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class Executor:
    """Run operations and record their outcomes."""

    def __init__(
        self,
        client: CanvasClient,
        journal: Journal,
        refs: RefTable,
        tally: Tally,
        *,
        previous: Previous | None,
        stop_run: StopRun,
        max_retries: int,
        outage_limit: float,
        sleep: Callable[[float], Awaitable[None]],
        timeout: float = 30.0,
        existing_policy: str = "warn",
        skip_course_on_failure: bool = False,
        on_outcome: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._client = client
        self._journal = journal
        self._refs = refs
        self._tally = tally
        self._previous = previous or Previous()
        self._stop_run = stop_run
        self._outage_limit = outage_limit
        self._outage_since: float | None = None
        self._resolver = Resolver(client, refs)
        self._sender = Sender(
            client,
            self._note_intent,
            max_retries=max_retries,
            sleep=sleep,
            timeout=timeout,
        )
        self._creator = Creator(
            client,
            self._sender,
            self._resolver,
            self._previous,
            existing_policy=existing_policy,
        )
        self._skip_course = skip_course_on_failure
        self._on_outcome = on_outcome
        self._contexts: OrderedDict[str, CourseContext] = OrderedDict()
        # Asked once, not per operation: the log level is set before a run.
        self._debug = debug_enabled()

    async def __call__(self, op: Operation) -> None:
        """Run one operation of the job (a lane calls this)."""
        if op.id in self._previous.ok:
            self._tally.count_resumed(op)
            value = self._previous.values.get(op.id)
            object_id, course_id = value if value else (None, None)
            self._refs.settle(op.id, ok=True, object_id=object_id, course_id=course_id)
            return

        halted_by = self._tally.halted.get(op.course)
        if halted_by is not None:
            self._finish(
                op,
                op.id,
                None,
                "skipped",
                Stats(),
                time.monotonic(),
                error=(
                    "stopped",
                    f"not sent: {halted_by} failed in this course "
                    "(--on-failure skip-course)",
                ),
            )
            return

        needs = op.needs
        failed = await self._refs.wait(needs) if needs else None
        if failed:
            names = ", ".join(failed)
            self._finish(
                op,
                op.id,
                None,
                "skipped",
                Stats(),
                time.monotonic(),
                error=("dependency_failed", f"needs {names}, which did not succeed"),
            )
            return

        ctx = self._context(op.course)
        fans_out = isinstance(op.module, Every) or isinstance(op.item, Every)
        if fans_out and op.op not in ("module.publish", "module.unpublish"):
            await self._fan_out(op, ctx)
            return
        await self._run_one(op, ctx, parent=None)

    def _context(self, course: str) -> CourseContext:
        contexts = self._contexts
        ctx = contexts.get(course)
        if ctx is not None:
            contexts.move_to_end(course)
            return ctx
        ctx = contexts[course] = CourseContext(course)
        while len(contexts) > _CONTEXTS_KEPT:
            contexts.popitem(last=False)
        return ctx

    async def _run_one(
        self,
        op: Operation,
        ctx: CourseContext,
        *,
        parent: str | None,
        module_id: int | None = None,
        item_id: int | None = None,
        op_id: str | None = None,
    ) -> str | None:
        """Run one operation or fan-out child; answer its error type, or None."""
        op_id = op_id or op.id
        stats = Stats()
        started = time.monotonic()
        course_id = ctx.course_id
        try:
            if course_id is None:
                course_id = await self._resolver.course_id(ctx, stats, op.as_user)
            if self._looks_up(op, module_id, item_id):
                target = await self._target(
                    op, op_id, course_id, module_id, item_id, stats
                )
            else:
                target = Target(
                    op, op_id, course_id, module_id, item_id, self._params(op), stats
                )
            done = await self._dispatch(target, ctx)
        except Exception as err:
            status, error = self._failure(op_id, err)
            self._finish(
                op,
                op_id,
                course_id,
                status,
                stats,
                started,
                parent=parent,
                error=error,
            )
            return error[0]
        self._outage_since = None
        touched = target.module_id
        known = ctx.modules_before
        if known and touched is not None and touched in known:
            # A change to a module the course had before the run.
            existing.note_change(known, op.op, touched, target.params, target.item_id)
        self._finish(
            op, op_id, course_id, "ok", stats, started, parent=parent, done=done
        )
        return None

    def _failure(self, op_id: str, err: Exception) -> tuple[str, tuple[str, str]]:
        """The status and error an operation ends with when ``err`` stopped it.

        Anything unforeseen fails this operation only, not the whole run.
        """
        if isinstance(err, Skipped):
            return "skipped", (err.error_type, err.message)
        if isinstance(err, (CanvasError, StepError)):
            self._on_failure(err)
            return "failed", (err.error_type, err.message)
        return "failed", _unforeseen(op_id, err)

    @staticmethod
    def _looks_up(op: Operation, module_id: int | None, item_id: int | None) -> bool:
        """Whether the operation's module or item is to be looked up first."""
        spec = op.spec
        return (module_id is None and op.module is not None and spec.needs_module) or (
            item_id is None and op.item is not None and spec.needs_item
        )

    def _params(self, op: Operation) -> dict[str, Any]:
        # Params are only read from here on (a create copies what it changes),
        # so a line that refers to nothing shares its own.
        return self._resolver.params(op.params) if op.needs else op.params

    async def _target(
        self,
        op: Operation,
        op_id: str,
        course_id: int,
        module_id: int | None,
        item_id: int | None,
        stats: Stats,
    ) -> Target:
        """The target, its module and item looked up by name or reference."""
        spec = op.spec
        if module_id is None and op.module is not None and spec.needs_module:
            if op.op in ("module.publish", "module.unpublish"):
                ids = await self._resolver.modules(
                    course_id, op.module, stats, op.as_user
                )
                params = {**self._resolver.params(op.params), "module_ids": ids}
                return Target(op, op_id, course_id, None, None, params, stats)
            (module_id,) = await self._resolver.modules(
                course_id, op.module, stats, op.as_user
            )
        if item_id is None and op.item is not None and spec.needs_item:
            assert module_id is not None
            (item_id,) = await self._resolver.items(
                course_id, module_id, op.item, stats, op.as_user
            )
        return Target(op, op_id, course_id, module_id, item_id, self._params(op), stats)

    def _dispatch(self, target: Target, ctx: CourseContext) -> Awaitable[Done]:
        """The request of the operation, to await (handed on, not awaited here)."""
        op = target.op
        safety = op.spec.safety
        if op.op in ("module.publish", "module.unpublish"):
            return self._batch(target)
        if safety is Safety.READ:
            return self._sender.read(target)
        if safety is Safety.DELETE:
            sent_before = target.op_id in self._previous.pending
            return self._sender.delete(target, sent_before=sent_before)
        if safety is Safety.CREATE:
            return self._creator.create(target, ctx)
        return self._sender.update(target)

    async def _batch(self, target: Target) -> Done:
        """Publish or unpublish through Canvas's batch endpoint, one request."""
        event = "publish" if target.op.op == "module.publish" else "unpublish"
        form = {"event": event, **target.params}
        if not form["module_ids"]:
            return Done({"completed": [], "progress": None}, None)
        ids = form["module_ids"]
        replaced = await before.publish_states(
            self._client,
            target.course_id,
            ids,
            target.stats,
            target.op.as_user,
            with_items=before.cascades({"published": True, **target.params}),
        )
        path = api_path("/courses/{course}/modules", course=target.course_id)
        answer = await self._client.request(
            "PUT", path, form=form, as_user=target.op.as_user, stats=target.stats
        )
        return Done(
            answer, ids[0] if len(ids) == 1 else None, extra={"before": replaced}
        )

    async def _fan_out(self, op: Operation, ctx: CourseContext) -> None:
        """Run ``"*"`` as one child per module or item, then the parent's line."""
        stats = Stats()
        started = time.monotonic()
        try:
            course_id = await self._resolver.course_id(ctx, stats, op.as_user)
            pairs = await self._children(op, course_id, stats)
        except Exception as err:
            status, error = self._failure(op.id, err)
            self._finish(op, op.id, ctx.course_id, status, stats, started, error=error)
            return

        failed = stopped = 0
        cause = "dependency_failed"
        for module_id, item_id in pairs:
            child_id = f"{op.id}/{item_id if item_id is not None else module_id}"
            if child_id in self._previous.ok:
                continue
            if self._tally.stopped:
                # Every child that did not succeed gets a line saying why.
                self._finish(
                    op,
                    child_id,
                    course_id,
                    "skipped",
                    Stats(),
                    time.monotonic(),
                    parent=op.id,
                    error=("stopped", "not sent: the run stopped before it ran"),
                )
                stopped += 1
                continue
            error_type = await self._run_one(
                op,
                ctx,
                parent=op.id,
                module_id=module_id,
                item_id=item_id,
                op_id=child_id,
            )
            if error_type is not None:
                if not failed:
                    cause = error_type
                failed += 1
        self._close_fan_out(
            op, course_id, stats, started, len(pairs), failed, stopped, cause
        )

    def _close_fan_out(
        self,
        op: Operation,
        course_id: int,
        stats: Stats,
        started: float,
        children: int,
        failed: int,
        stopped: int,
        cause: str,
    ) -> None:
        """Write the parent's line, which sums up its children.

        A parent that failed takes the error type of its first failed child,
        so that a report files it with the cause, not as a knock-on.
        """
        result = {"children": children, "failed": failed + stopped}
        if not failed and not stopped:
            self._finish(op, op.id, course_id, "ok", stats, started, result=result)
            return
        parts = []
        if failed:
            parts.append(f"{failed} of {_children(children)} did not succeed")
        if stopped:
            parts.append(f"the run stopped before {_children(stopped)} ran")
        self._finish(
            op,
            op.id,
            course_id,
            "failed" if failed else "skipped",
            stats,
            started,
            error=(cause if failed else "stopped", "; ".join(parts)),
            result=result,
        )

    async def _children(
        self, op: Operation, course_id: int, stats: Stats
    ) -> list[tuple[int, int | None]]:
        assert op.module is not None
        modules = await self._resolver.modules(course_id, op.module, stats, op.as_user)
        if op.item is None or not op.spec.needs_item:
            return [(module_id, None) for module_id in modules]
        pairs: list[tuple[int, int | None]] = []
        for module_id in modules:
            items = await self._resolver.items(
                course_id, module_id, op.item, stats, op.as_user
            )
            pairs.extend((module_id, item_id) for item_id in items)
        return pairs

    def _note_intent(self, target: Target, details: dict[str, Any]) -> None:
        self._journal.write(
            {
                "intent": target.op_id,
                "line": target.op.line,
                "course_id": target.course_id,
                **details,
                "at": utc_now(),
            }
        )

    def _on_failure(self, err: Exception) -> None:
        if isinstance(err, UnauthorizedError) and err.token_rejected:
            self._stop_run(
                "Canvas refused the access token "
                f"({err.message}); give a valid token and run the same command "
                "again to finish the job"
            )
            return
        # A bad answer is still an answer: Canvas (or something) is reachable.
        if isinstance(err, NetworkError) and not isinstance(err, BadAnswerError):
            now = time.monotonic()
            if self._outage_since is None:
                self._outage_since = now
            elif now - self._outage_since > self._outage_limit:
                self._stop_run(
                    f"Canvas has been unreachable for over {self._outage_limit:.0f} s; "
                    "run the same command again when it is back"
                )
        elif not isinstance(err, NotFoundError):
            self._outage_since = None

    def _finish(
        self,
        op: Operation,
        op_id: str,
        course_id: int | None,
        status: str,
        stats: Stats,
        started: float,
        *,
        parent: str | None = None,
        done: Done | None = None,
        error: tuple[str, str] | None = None,
        result: Any = None,
    ) -> None:
        """Write the outcome line, settle references, count it."""
        record: dict[str, Any] = {
            "line": op.line,
            "id": op_id,
            "op": op.op,
            "course": op.course,
            "course_id": course_id,
            "parent": parent,
            "status": status,
            "http_status": stats.last_status,
            "attempts": stats.attempts,
            "throttled": stats.throttled,
            "adopted": bool(done and done.adopted),
            "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
            "finished_at": utc_now(),
            "object_id": done.object_id if done else None,
            "result": done.result if done else result,
            "error": {"type": error[0], "message": error[1]} if error else None,
        }
        if done and done.extra:
            record.update(done.extra)
        self._journal.write(record)
        if parent is None:
            self._refs.settle(
                op_id,
                ok=status == "ok",
                object_id=done.object_id if done else None,
                course_id=course_id,
            )
        self._tally.count(record)
        if (
            self._skip_course
            and status == "failed"
            and parent is None
            and op.course not in self._tally.halted
        ):
            self._tally.halted[op.course] = op_id
        if self._on_outcome is not None:
            self._on_outcome(record)
        if self._debug:
            log.debug(
                "operation",
                op_id=op_id,
                op=op.op,
                course=op.course,
                status=status,
                attempt=stats.attempts,
            )


def _children(count: int) -> str:
    return f"{count} child" if count == 1 else f"{count} children"


def _unforeseen(op_id: str, err: Exception) -> tuple[str, str]:
    """The error of an operation that raised what no code of ours expected."""
    log.debug("operation raised", op_id=op_id, error=type(err).__name__, exc_info=err)
    return (
        "server_error",
        f"bulkmod could not make sense of Canvas's answers ({type(err).__name__}); "
        "check that the base URL points at Canvas, and run again",
    )
