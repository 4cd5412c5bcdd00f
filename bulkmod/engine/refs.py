"""What later operations need to know of earlier ones.

Only operations that a later line refers to (by reference or ``after``) are
kept here, so a run's memory grows with the references of a job, not with its
length. Each entry starts pending when its line is read and settles once:
ok with the id of the object the operation created or acted on, or failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


class _Entry:
    """One referenced operation: pending until it settles, then its outcome."""

    __slots__ = ("ok", "object_id", "course_id", "waiters")

    def __init__(self) -> None:
        self.ok: bool | None = None
        self.object_id: int | None = None
        self.course_id: int | None = None
        #: Futures of those waiting for it; made only when someone waits, as
        #: most references are settled before the line that needs them runs.
        self.waiters: list[asyncio.Future[None]] | None = None

    @property
    def settled(self) -> bool:
        return self.ok is not None

    def finish(self, ok: bool) -> None:
        self.ok = ok
        waiters, self.waiters = self.waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)


class RefTable:
    """Outcomes of the referenced operations, awaited by those that need them."""

    def __init__(self, referenced: set[str]) -> None:
        self._referenced = referenced
        self._entries: dict[str, _Entry] = {}

    def wanted(self, op_id: str) -> bool:
        """Whether a later line refers to this operation."""
        return op_id in self._referenced

    def declare(self, op_id: str) -> None:
        """Note that a referenced operation has been read and will settle."""
        if op_id in self._referenced and op_id not in self._entries:
            self._entries[op_id] = _Entry()

    def settle(
        self,
        op_id: str,
        *,
        ok: bool,
        object_id: int | None = None,
        course_id: int | None = None,
    ) -> None:
        """Record the outcome of a referenced operation and wake its waiters."""
        if op_id not in self._referenced:
            return
        entry = self._entries.get(op_id)
        if entry is None:
            entry = self._entries[op_id] = _Entry()
        entry.object_id, entry.course_id = object_id, course_id
        entry.finish(ok)

    def abandon(self) -> None:
        """Settle every entry still pending as failed, waking its waiters.

        For a run that stops: operations it will not run must not leave
        others (of other lanes, through ``after``) waiting for ever.
        """
        for entry in self._entries.values():
            if not entry.settled:
                entry.finish(False)

    def ready(self, op_ids: Sequence[str]) -> bool:
        """Whether every one of these operations has settled."""
        # Most lines need nothing: no generator for them.
        return not op_ids or all(self._settled(op_id) for op_id in op_ids)

    async def wait(self, op_ids: Sequence[str]) -> list[str]:
        """Wait for these operations to settle; return the ones that failed."""
        failed = []
        for op_id in op_ids:
            entry = self._entries.get(op_id)
            if entry is None:
                # Never read in this run: its line was invalid or the run
                # stopped before it; either way it did not succeed.
                failed.append(op_id)
                continue
            if not entry.settled:
                waiter = asyncio.get_running_loop().create_future()
                if entry.waiters is None:
                    entry.waiters = []
                entry.waiters.append(waiter)
                await waiter
            if not entry.ok:
                failed.append(op_id)
        return failed

    def object_id(self, op_id: str) -> int | None:
        """The id of the object a settled, successful operation produced."""
        entry = self._entries.get(op_id)
        return None if entry is None else entry.object_id

    def _settled(self, op_id: str) -> bool:
        entry = self._entries.get(op_id)
        return entry is None or entry.settled
