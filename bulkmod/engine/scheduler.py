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

An error that escapes an operation (the executor turns Canvas's refusals into
outcomes; what escapes is a fault of the run itself, such as a results file
that cannot be written) stops the run and comes out of :meth:`Scheduler.run`:
the operations that wait for the failed one are released, not left waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from bulkmod.engine.refs import RefTable
from bulkmod.job.model import Operation

Execute = Callable[[Operation], Awaitable[None]]

#: While every slot is taken, the reader lets lanes run once per this many
#: lines: often enough that answers are read while a long file is, rarely
#: enough to cost nothing.
YIELD_EVERY = 64


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
        self._concurrency = concurrency
        #: Lanes holding a slot.
        self._busy = 0
        #: Operations read and not yet finished (the window taken), and the
        #: most there may be; the reader alone waits for room, on this future.
        self._held = 0
        self._window = max(window, concurrency)
        self._room: asyncio.Future[None] | None = None
        self._lanes: dict[str, deque[Operation]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._error: BaseException | None = None

    def stop(self) -> None:
        """Start no further operation; those running finish their request."""
        self._stopping = True
        for lane in self._lanes.values():
            held = len(lane)
            lane.clear()
            for _ in range(held):
                self._free_room()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping

    async def run(self, operations: Iterable[Operation]) -> None:
        """Run every operation; return when all lanes are empty.

        Raise the first error that escaped an operation, once the operations
        running when it happened have finished.
        """
        try:
            for count, op in enumerate(operations, 1):
                if self._stopping:
                    break
                if self._held >= self._window:
                    await self._wait_room()
                self._held += 1
                if self._stopping:
                    break
                self._refs.declare(op.id)
                lane = self._lanes.get(op.course)
                if lane is None:
                    lane = self._lanes[op.course] = deque()
                    # The lane takes itself out of _tasks as it ends: a done
                    # callback would cost the loop one more turn per lane.
                    self._tasks.add(asyncio.create_task(self._drain(op.course, lane)))
                lane.append(op)
                if count % YIELD_EVERY == 0 or (
                    self._held >= self._concurrency and self._busy < self._concurrency
                ):
                    # With a slot free, held lines may start now; with none, a
                    # yield starts nothing and only costs a turn of the loop.
                    # Until enough lines are held to fill every slot, reading
                    # on is better: the lanes then start together, in one turn
                    # of the loop, instead of one line per turn.
                    await asyncio.sleep(0)
            while self._tasks:
                running = list(self._tasks)
                await asyncio.gather(*running)
                # A lane cancelled before it began never took itself out.
                self._tasks.difference_update(running)
        except BaseException:
            self.stop()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            raise
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def _drain(self, course: str, lane: deque[Operation]) -> None:
        try:
            while lane:
                needs = lane[0].needs
                if not self._refs.ready(needs):
                    await self._refs.wait(needs)
                async with self._slots:
                    self._busy += 1
                    try:
                        while lane and self._refs.ready(lane[0].needs):
                            op = lane.popleft()
                            try:
                                await self._execute(op)
                            finally:
                                self._free_room()
                    finally:
                        self._busy -= 1
        except Exception as err:
            # The failed operation never settles: stop, release whatever waits
            # for it, and let run() raise this once the others have finished.
            if self._error is None:
                self._error = err
            self.stop()
            self._refs.abandon()
        finally:
            if self._lanes.get(course) is lane:
                del self._lanes[course]
            for _ in range(len(lane)):
                self._free_room()
            lane.clear()
            self._tasks.discard(asyncio.current_task())

    async def _wait_room(self) -> None:
        while self._held >= self._window:
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    def _free_room(self) -> None:
        self._held -= 1
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
