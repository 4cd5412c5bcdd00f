"""Who the pacer wakes when room comes free, and what a cancelled acquire leaves.

Each test runs on a real event loop and bounds every wait, so a waiter that
is never woken fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from bulkmod.client import pacing
from bulkmod.client.pacing import Pacer


def answer(pacer: Pacer) -> None:
    """Release one request with an answer that leaves room for exactly one."""
    pacer.release(cost=1.0, remaining=100.0, throttled=False)


def make_pacer() -> Pacer:
    return Pacer(rng=random.Random(7))


async def settle() -> None:
    """Let every ready task run until it waits."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_room_for_one() -> None:
    """The answer the other tests use leaves room for one request, no more."""
    pacer = make_pacer()
    await pacer.acquire()
    answer(pacer)
    assert pacer.limit == 1


async def test_waiters_go_one_after_another() -> None:
    """With room for one at a time, every waiter gets its turn."""
    pacer = make_pacer()
    await pacer.acquire()
    order: list[int] = []

    async def one(number: int) -> None:
        await pacer.acquire()
        order.append(number)
        await asyncio.sleep(0.01)
        answer(pacer)

    tasks = [asyncio.create_task(one(number)) for number in range(4)]
    await settle()
    answer(pacer)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert sorted(order) == [0, 1, 2, 3]


async def test_a_cancelled_waiter_still_waiting_is_passed_over() -> None:
    """An acquire cancelled while it waits takes no room from the next one."""
    pacer = make_pacer()
    await pacer.acquire()
    first = asyncio.create_task(pacer.acquire())
    second = asyncio.create_task(pacer.acquire())
    await settle()
    first.cancel()
    await settle()
    answer(pacer)
    await asyncio.wait_for(second, 5)
    assert pacer.in_flight == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_woken_waiter_cancelled_passes_the_room_on() -> None:
    """An acquire woken for the room and then cancelled leaves the room to others.

    The release wakes the first waiter only; it is cancelled before it runs
    (its lane stopped, its caller's time ran out). Nothing of the token is
    running any more and there is room for one, so the second waiter must go.
    """
    pacer = make_pacer()
    await pacer.acquire()
    first = asyncio.create_task(pacer.acquire())
    second = asyncio.create_task(pacer.acquire())
    await settle()
    answer(pacer)
    first.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(second), 5)
    finally:
        second.cancel()
    assert pacer.in_flight == 1
    assert pacer.limit == 1


async def test_a_caller_deadline_when_woken_leaves_no_sleeper() -> None:
    """A caller whose deadline falls as its acquire is woken strands no one.

    Two acquires wait behind one request. The first is bounded by its caller
    (``asyncio.timeout_at``), and the answer that makes room comes at that
    very moment: the first gives up, so the second must go.
    """
    pacer = make_pacer()
    await pacer.acquire()
    loop = asyncio.get_running_loop()
    when = loop.time() + 0.05
    loop.call_at(when, answer, pacer)

    async def bounded() -> bool:
        try:
            async with asyncio.timeout_at(when):
                await pacer.acquire()
        except TimeoutError:
            return False
        return True

    first = asyncio.create_task(bounded())
    second = asyncio.create_task(pacer.acquire())
    await settle()
    if await asyncio.wait_for(first, 5):
        # It got the room after all: hand it back so the other may go.
        answer(pacer)
    try:
        await asyncio.wait_for(asyncio.shield(second), 5)
    finally:
        second.cancel()
    assert pacer.in_flight == 1


async def test_a_throttle_pause_does_not_count_toward_the_longest_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past a pause, an acquire still waits the whole MAX_WAIT for room.

    The pause after a throttled answer says nothing about the bucket's room;
    the one request sent blind after MAX_WAIT with nothing running must not
    go early by the length of the pause.
    """
    monkeypatch.setattr(pacing, "MAX_WAIT", 0.4)
    monkeypatch.setattr(pacing, "MIN_PAUSE", 0.3)
    monkeypatch.setattr(pacing, "MAX_PAUSE", 0.3)
    pacer = make_pacer()
    await pacer.acquire()
    # Throttled, and the bucket over its mark: no room for a long while.
    pacer.release(cost="1", remaining="-100", throttled=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(pacer.acquire(), 5)
    waited = loop.time() - started
    assert waited >= 0.3 + 0.4 - 0.02
