"""Lanes: one queue of operations per course, many courses at once.

Canvas computes positions read-then-write without locks, so two writes to one
course at the same time can leave duplicate or gapped positions. The
scheduler therefore runs the operations of one course (its lane) one at a
time, in file order, and runs up to ``concurrency`` lanes side by side.

The job is streamed: at most ``window`` operations are held in lanes at once,
and the reader waits for room. A lane whose next operation waits for an
operation of another course gives up its place while it waits; since
references only point to earlier lines, the earliest held operation can
always run, so the window never deadlocks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from bulkmod.engine.refs import RefTable
from bulkmod.job.model import Operation

Execute = Callable[[Operation], Awaitable[None]]


class Scheduler:
    """Feed operations into course lanes and run them."""

    def __init__(
        self,
        execute: Execute,
        refs: RefTable,
        *,
        concurrency: int,
        window: int = 5000,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._execute = execute
        self._refs = refs
        self._slots = asyncio.Semaphore(concurrency)
        self._room = asyncio.Semaphore(max(window, concurrency))
        self._lanes: dict[str, deque[Operation]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    def stop(self) -> None:
        """Start no further operation; those running finish their request."""
        self._stopping = True
        for lane in self._lanes.values():
            held = len(lane)
            lane.clear()
            for _ in range(held):
                self._room.release()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping

    async def run(self, operations: Iterable[Operation]) -> None:
        """Run every operation; return when all lanes are empty."""
        try:
            for op in operations:
                if self._stopping:
                    break
                await self._room.acquire()
                if self._stopping:
                    break
                self._refs.declare(op.id)
                lane = self._lanes.get(op.course)
                if lane is None:
                    lane = self._lanes[op.course] = deque()
                    task = asyncio.create_task(self._drain(op.course, lane))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                lane.append(op)
                # Let lanes start while a long stretch of the file is read.
                await asyncio.sleep(0)
            while self._tasks:
                await asyncio.gather(*list(self._tasks))
        except BaseException:
            self.stop()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            raise

    async def _drain(self, course: str, lane: deque[Operation]) -> None:
        try:
            while lane:
                needs = lane[0].refs()
                if not self._refs.ready(needs):
                    await self._refs.wait(needs)
                async with self._slots:
                    while lane and self._refs.ready(lane[0].refs()):
                        op = lane.popleft()
                        try:
                            await self._execute(op)
                        finally:
                            self._room.release()
        finally:
            if self._lanes.get(course) is lane:
                del self._lanes[course]
            for _ in range(len(lane)):
                self._room.release()
            lane.clear()
