"""The scheduler: lanes per course, file order, references, and no hang."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bulkmod.engine.refs import RefTable
from bulkmod.engine.scheduler import Scheduler
from bulkmod.job.model import Operation, Ref

#: Longer than any of these runs takes; a run that reaches it has hung.
HANG = 5.0


def _op(line: int, course: str, *, needs: str | None = None) -> Operation:
    params: dict[str, Any] = {"name": f"Module {line}"}
    if needs is not None:
        params["prerequisite_module_ids"] = [Ref(needs)]
    return Operation(
        line=line, id=f"op{line}", op="module.create", course=course, params=params
    )


async def test_lanes_keep_file_order_and_wait_for_references() -> None:
    """Each course runs in file order; a reference waits for its target."""
    ran: list[str] = []
    refs = RefTable({"op1"})

    async def execute(op: Operation) -> None:
        await asyncio.sleep(0)
        ran.append(op.id)
        refs.settle(op.id, ok=True, object_id=op.line)

    ops = [_op(1, "1"), _op(2, "2", needs="op1"), _op(3, "1"), _op(4, "2")]
    await asyncio.wait_for(
        Scheduler(execute, refs, concurrency=2).run(ops), timeout=HANG
    )

    assert sorted(ran) == ["op1", "op2", "op3", "op4"]
    assert ran.index("op1") < ran.index("op2") < ran.index("op4")
    assert ran.index("op1") < ran.index("op3")


async def test_many_lanes_through_a_small_window() -> None:
    """A window far smaller than the job still runs every operation once."""
    ran: list[str] = []
    referenced = {f"op{line}" for line in range(1, 301, 3)}
    refs = RefTable(referenced)

    async def execute(op: Operation) -> None:
        await asyncio.sleep(0)
        ran.append(op.id)
        refs.settle(op.id, ok=True, object_id=op.line)

    # Lines 1, 4, 7, ... are referenced by the next line, in another course.
    ops = [
        _op(line, str(line % 7), needs=f"op{line - 1}" if line % 3 == 2 else None)
        for line in range(1, 301)
    ]
    scheduler = Scheduler(execute, refs, concurrency=3, window=4)
    await asyncio.wait_for(scheduler.run(ops), timeout=HANG)

    assert sorted(ran) == sorted(op.id for op in ops)


async def test_an_operation_that_raises_ends_the_run_instead_of_hanging() -> None:
    """A lane's error stops the run and comes out of run(), not a silent wait.

    Line 1 raises before it settles; line 2 (another course) refers to it.
    Without care the failed lane vanishes and line 2 waits for ever.
    """
    refs = RefTable({"op1"})
    ran: list[str] = []

    async def execute(op: Operation) -> None:
        await asyncio.sleep(0)
        if op.id == "op1":
            raise OSError("disk full")
        ran.append(op.id)

    ops = [_op(1, "1"), _op(2, "2", needs="op1"), _op(3, "3")]
    scheduler = Scheduler(execute, refs, concurrency=2)
    with pytest.raises(OSError, match="disk full"):
        await asyncio.wait_for(scheduler.run(ops), timeout=HANG)

    assert scheduler.stopping
    assert "op2" not in ran


async def test_an_error_while_the_reader_waits_for_room_ends_the_run() -> None:
    """The reader, blocked on a full window, is released by a lane's error."""
    refs = RefTable({"op1"})

    async def execute(op: Operation) -> None:
        await asyncio.sleep(0)
        if op.id == "op1":
            raise RuntimeError("broken")

    # Window 2: lines 2 and 3 wait on line 1 and fill it; line 4 must wait.
    ops = [
        _op(1, "1"),
        _op(2, "2", needs="op1"),
        _op(3, "3", needs="op1"),
        _op(4, "4"),
    ]
    scheduler = Scheduler(execute, refs, concurrency=1, window=2)
    with pytest.raises(RuntimeError, match="broken"):
        await asyncio.wait_for(scheduler.run(ops), timeout=HANG)
