"""What each operation sends to Canvas, once its targets are known.

Each function here takes one operation whose course, module and item are
already numeric ids and returns a :class:`Done`: Canvas's answer and the id of
the object the operation produced or acted on. Creates go through
:mod:`bulkmod.engine.recovery` when an answer is lost.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bulkmod.client.errors import NetworkError, NotFoundError, ServerError
from bulkmod.client.http import CanvasClient, Stats
from bulkmod.client.shapes import canvas_id
from bulkmod.client.urls import RECENT_PATHS, api_path
from bulkmod.engine.before import cascades, fields_to_record, item_states
from bulkmod.job.model import Operation, Safety


@dataclass(slots=True)
class Done:
    """An operation that succeeded."""

    result: Any
    object_id: int | None
    adopted: bool = False
    #: Extra result fields: ``before`` (values an update replaced),
    #: ``steps`` (requests beyond the first, such as a publish after a create).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Target:
    """An operation with every id resolved, ready to send."""

    op: Operation
    op_id: str
    course_id: int
    module_id: int | None
    item_id: int | None
    params: dict[str, Any]
    stats: Stats

    def path(self) -> str:
        """The operation's Canvas path with its ids filled in."""
        return _filled(self.op.spec.path, self.course_id, self.module_id, self.item_id)


@functools.lru_cache(maxsize=RECENT_PATHS)
def _filled(template: str, course: int, module: int | None, item: int | None) -> str:
    # A lane sends many operations to the same few paths.
    parts: dict[str, int] = {"course": course}
    if module is not None:
        parts["module"] = module
    if item is not None:
        parts["item"] = item
    return api_path(template, **parts)


#: Writes an intent line to the journal before a risky request is sent.
NoteIntent = Callable[[Target, dict[str, Any]], None]


class Sender:
    """Send the request of each operation, with the retries each one allows."""

    def __init__(
        self,
        client: CanvasClient,
        note_intent: NoteIntent,
        *,
        max_retries: int,
        sleep: Callable[[float], Awaitable[None]],
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._note_intent = note_intent
        self._max_retries = max_retries
        self._sleep = sleep
        self._timeout = timeout
        self._clock = clock

    async def read(self, target: Target) -> Done:
        """A read: one object, or every page of a list."""
        query = target.params or None
        if target.op.spec.lists:
            listed = await self._client.list_all(
                target.path(),
                query=query,
                as_user=target.op.as_user,
                stats=target.stats,
            )
            return Done(listed, None)
        answer = await self._client.request(
            "GET",
            target.path(),
            query=query,
            as_user=target.op.as_user,
            stats=target.stats,
        )
        return Done(answer, _id_of(answer, target))

    async def update(self, target: Target) -> Done:
        """A change to a value: safe to send again, so retried plainly."""
        spec = target.op.spec
        form = {spec.wrapper: target.params} if spec.wrapper else target.params or None
        before = None
        if spec.wrapper and target.params:
            shown = await self._client.request(
                "GET",
                target.path(),
                as_user=target.op.as_user,
                stats=target.stats,
                kind=_kind(target),
            )
            keys = fields_to_record(spec.name, target.params)
            before = {key: shown.get(key) for key in keys if key in shown}
            if "completion_requirement" in keys and spec.name == "item.update":
                # Canvas leaves the key out when the item has none: record
                # that, so an undo removes the one this update sets.
                before.setdefault("completion_requirement", None)
            if spec.name == "module.update" and cascades(target.params):
                assert target.module_id is not None
                before["items"] = await item_states(
                    self._client,
                    target.course_id,
                    [target.module_id],
                    target.stats,
                    target.op.as_user,
                )
        answer = await self._client.request(
            spec.method,
            target.path(),
            form=form,
            as_user=target.op.as_user,
            stats=target.stats,
        )
        done = Done(answer, _id_of(answer, target))
        if before is not None:
            done.extra["before"] = before
        return done

    async def delete(self, target: Target, *, sent_before: bool) -> Done:
        """A delete: a 404 once a first attempt may have landed means done."""
        self._note_intent(target, {"kind": "delete"})
        uncertain = sent_before
        for attempt in range(self._max_retries + 1):
            try:
                answer = await self._client.request(
                    "DELETE",
                    target.path(),
                    as_user=target.op.as_user,
                    retry=False,
                    stats=target.stats,
                )
                return Done(answer, _id_of(answer, target))
            except NotFoundError:
                if not uncertain:
                    raise
                return Done(None, _id_of(None, target), extra={"already_deleted": True})
            except (ServerError, NetworkError) as err:
                if attempt >= self._max_retries or not err.retryable:
                    raise
                uncertain = True
                await self._sleep(_backoff(attempt, err))
        raise AssertionError("unreachable")

    async def create(
        self,
        target: Target,
        floor: int,
        find: Callable[[], Awaitable[dict[str, Any] | None]],
        *,
        look_first: bool,
    ) -> Done:
        """A create: never sent again before looking whether it landed."""
        spec = target.op.spec
        assert spec.safety is Safety.CREATE and spec.wrapper is not None
        self._note_intent(
            target,
            {"kind": spec.kind, "floor": floor, "module_id": target.module_id},
        )
        look = look_first
        for attempt in range(self._max_retries + 1):
            if look:
                found = await find()
                if found is not None:
                    return Done(found, found["id"], adopted=True)
            sent = self._clock()
            try:
                answer = await self._client.request(
                    "POST",
                    target.path(),
                    form={spec.wrapper: target.params},
                    as_user=target.op.as_user,
                    retry=False,
                    stats=target.stats,
                    kind=_kind(target),
                )
                return Done(answer, answer["id"])
            except (ServerError, NetworkError) as err:
                # An answer that could not be read is not sent again, nor
                # looked for now: the intent stays open and a rerun looks.
                if attempt >= self._max_retries or not err.retryable:
                    raise
                look = True
                wait = _backoff(attempt, err)
                if self._clock() - sent >= self._timeout * _TIMED_OUT:
                    # No answer in time: Canvas may still be making it, and a
                    # look now would miss it. Give it as long again to land.
                    wait = max(wait, min(self._timeout, _LANDING_WAIT_CAP))
                await self._sleep(wait)
        raise AssertionError("unreachable")


#: Seconds before the first re-send of a create or delete; doubled each time
#: up to the cap. Short, since a lost answer is usually one bad moment.
BACKOFF_FIRST = 0.5
_BACKOFF_CAP = 30.0
_RETRY_AFTER_CAP = 60.0

#: A failed attempt that took this share of the timeout or more timed out.
_TIMED_OUT = 0.9

#: Longest wait for a timed-out create to land before looking for it.
_LANDING_WAIT_CAP = 60.0


def _kind(target: Target) -> str:
    """What an operation's answer is: "module" or "item"."""
    return target.op.spec.kind


def _id_of(answer: Any, target: Target) -> int | None:
    if isinstance(answer, dict):
        found = canvas_id(answer.get("id"))
        if found is not None:
            return found
    if target.item_id is not None:
        return target.item_id
    return target.module_id


def _backoff(attempt: int, err: Exception) -> float:
    """Seconds to wait before trying again: Retry-After, else exponential."""
    retry_after = getattr(err, "retry_after", None)
    if isinstance(retry_after, (int, float)) and retry_after > 0:
        return float(min(retry_after, _RETRY_AFTER_CAP))
    return float(min(BACKOFF_FIRST * 2**attempt, _BACKOFF_CAP))
