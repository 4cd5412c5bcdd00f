"""The Pacer against the sandbox's bucket, on a virtual clock.

Every test runs on an event loop whose clock jumps straight to the next timer
instead of sleeping, so seconds of traffic take milliseconds and no result
depends on the speed of the machine.
"""

from __future__ import annotations

import asyncio
import random
import selectors
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from bulkmod.client.pacing import BLIND_LIMIT, MIN_PAUSE, Pacer
from bulkmod.sandbox.throttle import Throttle

T = TypeVar("T")


class _JumpingSelector:
    """A selector that, asked to wait, moves the loop's clock instead."""

    def __init__(self, loop: VirtualLoop, real: selectors.BaseSelector) -> None:
        self._loop = loop
        self._real = real

    def select(self, timeout: float | None = None) -> Any:
        if timeout is None:
            raise RuntimeError("nothing is scheduled: the test would hang")
        # A real clock moves a little between polls too; without that, a timer
        # set a rounding error ahead of now (aiolimiter does) never comes due.
        self._loop.now += max(timeout, 1e-7)
        return self._real.select(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        real: selectors.BaseSelector = getattr(self, "_selector")  # noqa: B009
        setattr(self, "_selector", _JumpingSelector(self, real))  # noqa: B010

    def time(self) -> float:
        return self.now


def run(main: Callable[[VirtualLoop], Awaitable[T]]) -> T:
    """Run ``main`` to completion on a fresh virtual loop."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


def make_pacer(loop: VirtualLoop, **kwargs: Any) -> Pacer:
    return Pacer(clock=loop.time, rng=random.Random(7), **kwargs)


# -- the in-flight cap ---------------------------------------------------


def test_first_request_probes_alone() -> None:
    """Before any answer only one request runs; the second waits for it."""

    async def main(loop: VirtualLoop) -> tuple[int, float]:
        pacer = make_pacer(loop)
        await pacer.acquire()
        limit = pacer.limit

        async def answer_later() -> None:
            await asyncio.sleep(0.25)
            pacer.release(cost=0.01, remaining=599.99, throttled=False)

        asyncio.ensure_future(answer_later())
        await pacer.acquire()
        return limit, loop.time()

    limit, started = run(main)
    assert limit == 1
    assert started == pytest.approx(0.25, abs=1e-4)


def test_limit_from_an_empty_bucket_is_eleven() -> None:
    """Remaining 599.99 with nothing running: room for 11 x 50 = 550 < 600."""

    async def main(loop: VirtualLoop) -> int:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=0.01, remaining=599.99, throttled=False)
        return pacer.limit

    assert run(main) == 11


def test_limit_at_hwm_700_is_thirteen() -> None:
    """Remaining 699.9: 13 x 50 = 650 fits below 700, 14 x 50 does not."""

    async def main(loop: VirtualLoop) -> int:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=0.1, remaining=699.9, throttled=False)
        return pacer.limit

    assert run(main) == 13


def test_remaining_counts_the_other_requests_running() -> None:
    """3 others running, remaining 449.99 = 600 - 150 - 0.01: still 11 in all."""

    async def main(loop: VirtualLoop) -> tuple[int, int]:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=0.01, remaining=599.99, throttled=False)
        for _ in range(4):
            await pacer.acquire()
        pacer.release(cost=0.01, remaining=449.98, throttled=False)
        return pacer.in_flight, pacer.limit

    assert run(main) == (3, 11)


def test_a_fuller_bucket_lowers_the_limit() -> None:
    """Remaining 310, nothing running: count 290 + 6 x 50 = 590 < 600, so 6 may run."""

    async def main(loop: VirtualLoop) -> int:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=1.0, remaining=310.0, throttled=False)
        return pacer.limit

    assert run(main) == 6


def test_an_answer_that_missed_our_newest_requests_is_not_trusted() -> None:
    """An answer overstating the room by 50 right after a true one changes nothing.

    The first answer implies 599.99 of free room. The second, 1 ms later,
    reports 150 with 10 running (650: it was computed before our newest
    request reached Canvas); the pacer keeps 11, not 12.
    """

    async def main(loop: VirtualLoop) -> int:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=0.01, remaining=599.99, throttled=False)
        for _ in range(12):
            if pacer.in_flight < pacer.limit:
                await pacer.acquire()
        pacer.release(cost=0.01, remaining=99.98, throttled=False)
        loop.now += 0.001
        pacer.release(cost=0.01, remaining=149.97, throttled=False)
        return pacer.limit

    assert run(main) == 11


def test_a_full_bucket_waits_for_the_leak() -> None:
    """Remaining 20: one more needs 50 + 1; at 10 a second that is 3.1 s away."""

    async def main(loop: VirtualLoop) -> tuple[int, float]:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=1.0, remaining=20.0, throttled=False)
        limit = pacer.limit
        await pacer.acquire()
        return limit, loop.time()

    limit, started = run(main)
    assert limit == 0
    assert started == pytest.approx(3.1, abs=0.01)


def test_without_headers_a_fixed_limit() -> None:
    """No throttle headers: 1 probe, then a fixed limit, unpaced."""

    async def main(loop: VirtualLoop) -> tuple[int, int, dict[str, float]]:
        pacer = make_pacer(loop)
        first = pacer.limit
        await pacer.acquire()
        pacer.release(cost=None, remaining=None, throttled=False)
        for _ in range(BLIND_LIMIT):
            await pacer.acquire()
        return first, pacer.limit, pacer.snapshot()

    first, limit, snapshot = run(main)
    assert (first, limit) == (1, BLIND_LIMIT)
    assert snapshot == {"limit": 10.0, "in_flight": 10.0, "throttled": 0.0}


def test_max_rate_is_a_hard_ceiling() -> None:
    """max_rate 5 without headers: 21 starts take at least 20 / 5 = 4 seconds."""

    async def main(loop: VirtualLoop) -> float:
        pacer = make_pacer(loop, max_rate=5.0)
        for _ in range(21):
            await pacer.acquire()
            pacer.release(cost=None, remaining=None, throttled=False)
        return loop.time()

    assert run(main) == pytest.approx(4.0, abs=0.01)


def test_max_rate_caps_the_learnt_rate() -> None:
    """A roomy bucket would allow thousands a second; max_rate 2 still rules."""

    async def main(loop: VirtualLoop) -> float:
        pacer = make_pacer(loop, max_rate=2.0)
        for _ in range(11):
            await pacer.acquire()
            pacer.release(cost=0.01, remaining=599.99, throttled=False)
        return pacer.snapshot()["rate"]

    assert run(main) == 2.0


def test_release_without_acquire_is_an_error() -> None:
    """A release with nothing running is a bug in the caller."""
    pacer = Pacer()
    with pytest.raises(RuntimeError):
        pacer.release(cost=None, remaining=None, throttled=False)


def test_bad_max_rate_is_refused() -> None:
    """max_rate must be positive."""
    with pytest.raises(ValueError, match="max_rate"):
        Pacer(max_rate=0)


# -- throttled answers ---------------------------------------------------


def test_throttle_pauses_every_request() -> None:
    """After a throttled answer no request starts before the pause ends."""

    async def main(loop: VirtualLoop) -> tuple[float, float]:
        pacer = make_pacer(loop)
        await pacer.acquire()
        pacer.release(cost=0.01, remaining=599.99, throttled=False)
        await pacer.acquire()
        await pacer.acquire()
        pacer.release(cost=None, remaining=48.0, throttled=True)
        throttled_at = loop.time()
        await pacer.acquire()
        return throttled_at, loop.time()

    throttled_at, started = run(main)
    assert started - throttled_at >= MIN_PAUSE


def test_throttle_halves_the_rate_and_it_recovers() -> None:
    """The paced rate halves on a throttle and climbs back with good answers."""

    async def main(loop: VirtualLoop) -> list[float]:
        pacer = make_pacer(loop)
        rates = []
        await pacer.acquire()
        pacer.release(cost=2.0, remaining=300.0, throttled=False)
        rates.append(pacer.snapshot()["rate"])
        await pacer.acquire()
        pacer.release(cost=None, remaining=290.0, throttled=True)
        rates.append(pacer.snapshot()["rate"])
        for _ in range(30):
            await pacer.acquire()
            pacer.release(cost=2.0, remaining=300.0, throttled=False)
        rates.append(pacer.snapshot()["rate"])
        return rates

    before, after, recovered = run(main)
    assert after <= before * 0.6
    assert recovered >= before * 0.8


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 0.5, 1.0), (2, 1.0, 2.0), (4, 4.0, 8.0), (30, 30.0, 60.0)],
)
def test_throttle_delay_doubles_with_jitter_and_is_capped(
    attempt: int, low: float, high: float
) -> None:
    """Delay is 2^(attempt-1) s capped at 60, times a jitter in [0.5, 1]."""
    pacer = Pacer(rng=random.Random(attempt))
    delays = [pacer.throttle_delay(attempt) for _ in range(50)]

    assert all(low <= delay <= high for delay in delays)
    assert len(set(delays)) > 1


# -- against the bucket ---------------------------------------------------


@dataclass
class Bench:
    """A token's traffic against the sandbox's bucket, with network delays."""

    latency: float
    cost: float
    outflow: float = 10.0
    hwm: float = 600.0
    requests: int = 1000
    workers: int = 40
    seed: int = 1
    finished: list[float] = field(default_factory=list)
    throttled: int = 0
    running: int = 0
    peak: int = 0


async def drive(loop: VirtualLoop, bench: Bench) -> Pacer:
    """Send ``bench.requests`` requests through a pacer, as the client would."""
    throttle = Throttle(hwm=bench.hwm, outflow=bench.outflow, clock=loop.time)
    pacer = make_pacer(loop)
    rng = random.Random(bench.seed)
    left = bench.requests

    async def one() -> None:
        attempt = 0
        while True:
            await pacer.acquire()
            await asyncio.sleep(rng.uniform(0.0002, 0.002))
            if throttle.reserve("t"):
                bench.running += 1
                bench.peak = max(bench.peak, bench.running)
                await asyncio.sleep(bench.latency * rng.uniform(0.9, 1.1))
                bench.running -= 1
                remaining, ok = throttle.settle("t", bench.cost), True
            else:
                remaining, ok = throttle.settle("t", 0.0), False
            await asyncio.sleep(rng.uniform(0.0002, 0.002))
            pacer.release(
                cost=bench.cost if ok else None, remaining=remaining, throttled=not ok
            )
            if ok:
                bench.finished.append(loop.time())
                return
            bench.throttled += 1
            attempt += 1
            await asyncio.sleep(pacer.throttle_delay(attempt))

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(bench.workers)))
    return pacer


def test_latency_bound_keeps_eleven_running() -> None:
    """100 ms answers, tiny cost: >= 90% of 11 / 0.1 s = 99 a second, < 1% throttled."""
    bench = Bench(latency=0.1, cost=0.01, requests=2000)

    run(lambda loop: drive(loop, bench))

    rate = len(bench.finished) / bench.finished[-1]
    assert rate >= 0.9 * 11 / 0.1
    assert bench.throttled < 0.01 * bench.requests


@pytest.mark.parametrize("latency", [0.005, 0.1])
def test_drain_bound_settles_at_outflow_over_cost(latency: float) -> None:
    """Cost 2, leak 100 a second: once the room is spent, >= 90% of 50 a second."""
    bench = Bench(latency=latency, cost=2.0, outflow=100.0, requests=1500)

    pacer = run(lambda loop: drive(loop, bench))

    # The first ~300 requests (600 units of room) run early; judge the rest.
    tail = bench.finished[500:]
    rate = (len(tail) - 1) / (tail[-1] - tail[0])
    assert rate >= 0.9 * 100.0 / 2.0
    assert bench.throttled < 0.02 * bench.requests
    assert 50.0 <= pacer.snapshot()["outflow"] <= 100.0


def test_hosted_hwm_700_allows_thirteen() -> None:
    """hwm 700: the pacer learns the larger bucket and keeps 13 running."""
    bench = Bench(latency=0.1, cost=0.01, hwm=700.0, requests=1500)

    run(lambda loop: drive(loop, bench))

    rate = len(bench.finished) / bench.finished[-1]
    assert rate >= 0.9 * 13 / 0.1
    assert bench.throttled < 0.01 * bench.requests
