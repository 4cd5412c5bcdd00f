"""The scheduler's window: the reader waits for room and is always let go."""

from __future__ import annotations

import asyncio

from bulkmod.engine.refs import RefTable
from bulkmod.engine.scheduler import Scheduler
from bulkmod.job.model import Operation

HANG = 5.0


def _op(line: int, course: str) -> Operation:
    return Operation(
        line=line,
        id=f"op{line}",
        op="module.create",
        course=course,
        params={"name": f"Module {line}"},
    )


async def test_stop_lets_a_reader_waiting_for_room_go() -> None:
    """A stop while the window is full ends the run once the running line ends."""
    refs = RefTable(set())
    release = asyncio.Event()
    ran: list[str] = []
    scheduler: Scheduler

    async def execute(op: Operation) -> None:
        ran.append(op.id)
        if op.line == 1:
            await release.wait()
        refs.settle(op.id, ok=True, object_id=op.line)

    scheduler = Scheduler(execute, refs, concurrency=1, window=2)
    ops = (_op(line, "1") for line in range(1, 50))
    running = asyncio.create_task(scheduler.run(ops))
    for _ in range(10):
        await asyncio.sleep(0)
    assert ran == ["op1"]
    scheduler.stop()
    release.set()
    await asyncio.wait_for(running, HANG)
    assert ran == ["op1"]


async def test_stop_with_every_held_line_running_waits_for_them() -> None:
    """With nothing held but lines running, a stop ends when they end."""
    refs = RefTable(set())
    release = asyncio.Event()
    ran: list[str] = []

    async def execute(op: Operation) -> None:
        ran.append(op.id)
        await release.wait()
        refs.settle(op.id, ok=True, object_id=op.line)

    scheduler = Scheduler(execute, refs, concurrency=2, window=2)
    ops = (_op(line, str(line)) for line in range(1, 50))
    running = asyncio.create_task(scheduler.run(ops))
    for _ in range(10):
        await asyncio.sleep(0)
    assert sorted(ran) == ["op1", "op2"]
    scheduler.stop()
    release.set()
    await asyncio.wait_for(running, HANG)
    assert sorted(ran) == ["op1", "op2"]


async def test_a_full_window_refills_as_lines_end() -> None:
    """Lines ending one by one each let the reader read one more."""
    refs = RefTable(set())
    ran: list[str] = []

    async def execute(op: Operation) -> None:
        await asyncio.sleep(0.001)
        ran.append(op.id)
        refs.settle(op.id, ok=True, object_id=op.line)

    scheduler = Scheduler(execute, refs, concurrency=3, window=3)
    ops = [_op(line, str(line % 5)) for line in range(1, 200)]
    await asyncio.wait_for(scheduler.run(ops), HANG)
    assert sorted(ran) == sorted(op.id for op in ops)


async def test_the_run_can_be_cancelled_while_the_reader_waits() -> None:
    """Cancelling a run whose reader waits for room ends it, lanes and all."""
    refs = RefTable(set())

    async def execute(op: Operation) -> None:
        await asyncio.sleep(3600)

    scheduler = Scheduler(execute, refs, concurrency=1, window=1)
    running = asyncio.create_task(scheduler.run(_op(n, "1") for n in range(1, 9)))
    for _ in range(10):
        await asyncio.sleep(0)
    running.cancel()
    done, _ = await asyncio.wait([running], timeout=HANG)
    assert done and running.cancelled()
