"""Pacing one access token's requests under Canvas's request throttle.

Canvas keeps a leaky bucket per token: each request reserves 50 units while
it runs and is refused when the bucket would reach the high-water mark, and
the bucket leaks a fixed number of units a second. Every answer reports
``X-Rate-Limit-Remaining`` (the room left, after the reservations of the
token's other requests still running) and ``X-Request-Cost``.

The :class:`Pacer` reads both and bounds two things:

- how many requests run at once. ``remaining + 50 * running`` is the room
  the bucket would have with nothing running; call it the *free* room. One
  more request may start while ``free > 50 * (running + 1)``. An answer
  computed just before our newest requests reached Canvas overstates the
  free room, so the pacer trusts the lowest value seen over a short window,
  each older value grown by the leak since it was seen and reduced by the
  costs reported since.
- how fast requests start (an :class:`aiolimiter.AsyncLimiter`): the leak
  divided by the mean cost, plus a share of the free room that is not needed
  for the requests running, so that spare room is spent and then the rate
  settles where the bucket stays level. The leak is learnt from how the free
  room, with the costs added back, grows over time.

A throttled answer pauses every request of the token, halves the rate, and
the rate recovers step by step with each answer that was not throttled.
Without the headers (a Canvas without the throttle) the pacer keeps a fixed
number of requests running and paces only to ``max_rate``.

Header values are read through :func:`~bulkmod.client.quota.quota_number`,
not trusted blindly. Whatever the headers said, one request waits
at most :data:`MAX_WAIT` seconds for room while none of the token's requests
is running, and the paced rate never falls below one start per
:data:`MAX_WAIT` seconds (unless ``max_rate`` asks for slower).

The pacer belongs to one event loop and is not thread-safe. Its waits use
the loop's clock; ``clock`` must agree with it (the default does).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter

from bulkmod.client.quota import COST_RANGE, REMAINING_RANGE, quota_number

__all__ = ["Pacer"]

#: Requests running at once when Canvas sends no throttle headers.
BLIND_LIMIT = 10
#: Canvas's default leak, units a second, until the real one is learnt.
DEFAULT_OUTFLOW = 10.0
#: Seconds over which answers are compared to catch one that was computed
#: before our newest requests reached Canvas (it overstates the room).
TRUST_WINDOW = 0.5
#: Seconds of history for learning the leak, and the least span to learn from.
OUTFLOW_HISTORY = 10.0
OUTFLOW_MIN_SPAN = 3.0
#: Learn from only this share of the measured leak: too high a guess
#: throttles, too low a guess only leaves the bucket a little emptier.
OUTFLOW_TRUST = 0.9
#: Spare room is spent over this many seconds on top of the leak.
SPEND_SECONDS = 2.0
#: Throttle pause: at least this long, doubling per throttle in a row, capped.
MIN_PAUSE = 0.5
MAX_PAUSE = 30.0
#: Backoff of one throttled request before it is sent again.
RETRY_BASE = 1.0
RETRY_CAP = 60.0
#: Each throttle halves the rate down to this share; each answer that was
#: not throttled gives back this much of it.
SLOWEST = 1 / 16
RECOVERY_STEP = 0.05
#: The paced rate is renewed only when it moves by more than this share.
RATE_HYSTERESIS = 0.2
#: Starts a second from which nothing is paced: one start per 10 us is
#: faster than one request can be sent, so such a rate holds nothing back.
UNPACED_RATE = 100_000.0
#: Longest wait for room while nothing is running: past it one request goes,
#: and its answer tells the pacer afresh what the bucket holds. Canvas's own
#: bucket empties from full in 60 s at its default leak.
MAX_WAIT = 60.0


class Pacer:
    """Keeps a token's requests under Canvas's throttle."""

    def __init__(
        self,
        *,
        max_rate: float | None = None,
        up_front_cost: float = 50.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_rate is not None and max_rate <= 0:
            raise ValueError("max_rate must be a positive number of requests a second")
        self._max_rate = max_rate
        self._up = up_front_cost
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

        self._in_flight = 0
        self._answers = 0
        self._headers_seen = False
        self._remaining: float | None = None
        self._mean_cost: float | None = None
        self._outflow = DEFAULT_OUTFLOW
        self._outflow_learnt_at = -math.inf
        #: No leak can be learnt before then (the history is too short).
        self._learn_from = -math.inf

        self._costs = 0.0
        #: (when, key) of the answers that may yet be the lowest, keys rising;
        #: see :meth:`_lowest_recent`.
        self._lowest: deque[tuple[float, float]] = deque()
        self._lowest_outflow = self._outflow
        #: (when, free room plus all costs so far) of the answers of the last
        #: :data:`OUTFLOW_HISTORY` seconds: grows at the leak rate.
        self._history: deque[tuple[float, float]] = deque()
        self._idle_free = 0.0
        self._ceiling = 0.0

        self._pause_until = -math.inf
        self._streak = 0
        self._slow = 1.0
        self._throttled = 0

        self._rate: float | None = None
        self._limiter: AsyncLimiter | None = None
        self._set_rate(max_rate)
        #: Acquires waiting for room, first come first woken.
        self._waiting: deque[asyncio.Future[None]] = deque()
        #: The limit as of the last answer: a floor of the limit until the
        #: next one, since the room only grows with the leak in between.
        self._sure_limit = 0

    # -- the contract ---------------------------------------------------

    async def acquire(self) -> None:
        """Wait until one more request may be sent, then count it as running."""
        now = self._clock()
        if self._pause_until > now:
            await self._wait_pause()
            now = self._clock()
        if self._limiter is not None:
            await self._limiter.acquire()
            now = self._clock()
        # Most acquires find room at once: asked here, before any wait.
        if now >= self._pause_until and (
            self._in_flight < self._sure_limit or self._in_flight < self._limit_at(now)
        ):
            self._in_flight += 1
            return

        started = now
        while True:
            now = self._clock()
            if now < self._pause_until:
                await self._wait_pause()
                continue
            if self._in_flight < self._limit_at(now):
                break
            waited = now - started
            if self._in_flight == 0 and waited >= MAX_WAIT:
                # Headers that promise no room in any sane time are wrong or
                # stale; a request of its own is the way to learn better.
                break
            wait = self._time_to_room(now)
            if self._in_flight == 0:
                wait = min(MAX_WAIT if wait is None else wait, MAX_WAIT - waited)
            await self._wait_room(wait)

        self._in_flight += 1

    def release(
        self,
        *,
        cost: str | float | None,
        remaining: str | float | None,
        throttled: bool,
    ) -> None:
        """Count one request as finished and learn from its answer's headers.

        ``cost`` and ``remaining`` are ``X-Request-Cost`` and
        ``X-Rate-Limit-Remaining`` (None when absent, or when the request
        failed without an answer); each is read through :func:`quota_number`.
        """
        if self._in_flight <= 0:
            raise RuntimeError("release() without a matching acquire()")
        self._in_flight -= 1
        spent = quota_number(cost, COST_RANGE)
        left = quota_number(remaining, REMAINING_RANGE)
        self._answers += 1
        now = self._clock()

        if spent is not None and not throttled:
            # Costs so far, and their moving mean.
            self._costs += spent
            mean = self._mean_cost
            self._mean_cost = spent if mean is None else mean + 0.2 * (spent - mean)
        free = None
        if left is not None:
            self._headers_seen = True
            self._remaining = left
            free = self._observe(now, left)

        if throttled:
            self._on_throttle(now, left)
        elif self._slow < 1.0 or self._streak:
            self._streak = 0
            self._slow = min(1.0, self._slow + RECOVERY_STEP)

        self._retune(now, free)
        # Until the next answer, the room only grows with the leak.
        if free is None:
            self._sure_limit = self._limit_at(now)
        else:
            margin = self._mean_cost or 0.0
            self._sure_limit = max(0, math.ceil((free - margin) / self._up) - 1)
        if self._waiting:
            self._wake()

    def throttle_delay(self, attempt: int) -> float:
        """Return the seconds to wait before sending a throttled request again.

        Doubles with each ``attempt`` (1 for the first throttle), capped, and
        jittered so that requests throttled together do not return together.
        """
        base = min(RETRY_CAP, RETRY_BASE * 2.0 ** (max(attempt, 1) - 1))
        return base * self._rng.uniform(0.5, 1.0)

    @property
    def in_flight(self) -> int:
        """Requests acquired and not yet released."""
        return self._in_flight

    @property
    def limit(self) -> int:
        """How many requests may run at once right now."""
        return self._limit_at(self._clock())

    def snapshot(self) -> dict[str, float]:
        """Return the pacer's state for progress display and logs.

        Always ``limit``, ``in_flight`` and ``throttled`` (answers so far);
        ``rate`` (paced starts a second), ``remaining``, ``cost`` (mean) and
        ``outflow`` (learnt leak) once known.
        """
        state = {
            "limit": float(self.limit),
            "in_flight": float(self._in_flight),
            "throttled": float(self._throttled),
        }
        if self._rate is not None:
            state["rate"] = self._rate
        if self._remaining is not None:
            state["remaining"] = self._remaining
        if self._mean_cost is not None:
            state["cost"] = self._mean_cost
        if self._headers_seen:
            state["outflow"] = self._outflow
        return state

    # -- how many may run -------------------------------------------------

    def _limit_at(self, now: float) -> int:
        if not self._headers_seen:
            # Nothing known yet: one request finds out what the bucket holds.
            return BLIND_LIMIT if self._answers else 1
        free = self._free_at(now)
        return max(0, math.ceil((free - (self._mean_cost or 0.0)) / self._up) - 1)

    def _free_at(self, now: float) -> float:
        """The free room now: the lowest of the recent answers, leak added."""
        # Between answers the room grows by the leak, but not beyond what has
        # been seen, lest an idle spell open the gates too wide.
        return min(self._lowest_recent(now), self._ceiling)

    def _margin(self) -> float:
        return self._mean_cost or 0.0

    def _time_to_room(self, now: float) -> float | None:
        """Seconds until the leak makes room for one more, if it ever will."""
        if not self._headers_seen:
            return None
        needed = self._up * (self._in_flight + 1) + self._margin()
        if needed >= self._ceiling:
            return None
        missing = needed - self._free_at(now)
        return max(missing, 0.0) / self._outflow + 1e-3

    def _observe(self, now: float, remaining: float) -> float:
        """Learn from one answer's room; answer the free room now (_free_at)."""
        # Called for every answer: written out in one piece, with the
        # lookups it repeats made once.
        up = self._up
        free = remaining + up * self._in_flight
        value = free + self._costs
        history = self._history
        history.append((now, value))
        while now - history[0][0] > OUTFLOW_HISTORY:
            history.popleft()
        outflow = self._outflow
        lowest = self._lowest
        if self._lowest_outflow != outflow:
            self._rebuild_lowest()
        else:
            # As _push_lowest does.
            key = value - outflow * now
            while lowest and lowest[-1][1] >= key:
                lowest.pop()
            lowest.append((now, key))
        # Never empty: the answer just added is the newest.
        while now - lowest[0][0] > TRUST_WINDOW:
            lowest.popleft()

        if self._in_flight == 0:
            # Nothing of ours is running, so no reservation can be missing:
            # this much room is certainly there once the bucket has leaked.
            self._idle_free = max(self._idle_free, free)
        # As _lowest_recent gives it, the queue being keyed by this leak.
        recent = lowest[0][1] + outflow * now - self._costs
        margin = self._mean_cost or 0.0
        ceiling = self._ceiling = max(recent, self._idle_free, 2 * up + margin)

        if now >= self._learn_from and now - self._outflow_learnt_at >= TRUST_WINDOW:
            self._learn_outflow(now)
            return self._free_at(now)
        return recent if recent < ceiling else ceiling

    def _lowest_recent(self, now: float) -> float:
        """The lowest recent answer's free room, grown by the leak since.

        An answer seen at ``at`` with free room ``free`` and costs ``c`` so far
        is worth ``free + outflow * (now - at) - (costs - c)`` now, that is
        ``key + outflow * now - costs`` with ``key = free + c - outflow * at``.
        Only the key differs between answers, so the lowest is the answer of
        the lowest key: a queue of rising keys keeps it at its front in O(1)
        per answer. Keys depend on the leak, so the queue is rebuilt when the
        leak is learnt afresh (at most once per :data:`TRUST_WINDOW`). The
        pacer's clock never goes back, so ``now - at`` is never negative.
        """
        if not self._lowest:
            return math.inf
        if self._lowest_outflow != self._outflow:
            self._rebuild_lowest()
        return self._lowest[0][1] + self._outflow * now - self._costs

    def _push_lowest(self, at: float, free_and_costs: float) -> None:
        key = free_and_costs - self._outflow * at
        lowest = self._lowest
        # An older answer of a key as high is never the lowest again: it
        # leaves the window before this one.
        while lowest and lowest[-1][1] >= key:
            lowest.pop()
        lowest.append((at, key))

    def _rebuild_lowest(self) -> None:
        """Key the answers of the last :data:`TRUST_WINDOW` by the new leak."""
        self._lowest_outflow = self._outflow
        self._lowest.clear()
        if not self._history:
            return
        last = self._history[-1][0]
        recent = itertools.takewhile(
            lambda sample: last - sample[0] <= TRUST_WINDOW, reversed(self._history)
        )
        for at, free_and_costs in reversed(list(recent)):
            self._push_lowest(at, free_and_costs)

    # -- how fast they start --------------------------------------------

    def _learn_outflow(self, now: float) -> None:
        """Fit the leak to the lower edge of free room plus costs over time.

        Answers that overstate the room sit above that edge, so the lowest
        point near each end of the history is used. Called at most once per
        :data:`TRUST_WINDOW`.
        """
        samples = self._history
        start, end = samples[0][0], samples[-1][0]
        if end - start < OUTFLOW_MIN_SPAN:
            # The history only grows longer: no use asking before it can be
            # long enough (a hair earlier, lest rounding skip the moment).
            self._learn_from = start + OUTFLOW_MIN_SPAN * (1 - 1e-9)
            return
        # Only the first and last second are read, not the whole history.
        early = min(
            itertools.takewhile(lambda s: s[0] <= start + 1.0, samples), key=_second
        )
        late = min(
            itertools.takewhile(lambda s: s[0] >= end - 1.0, reversed(samples)),
            key=_second_then_first,
        )
        span = late[0] - early[0]
        if span < OUTFLOW_MIN_SPAN / 2:
            return
        measured = max(0.0, (late[1] - early[1]) / span) * OUTFLOW_TRUST
        self._outflow = max(1.0, self._outflow + 0.3 * (measured - self._outflow))
        self._outflow_learnt_at = now

    def _retune(self, now: float, free: float | None = None) -> None:
        """Renew the paced rate; ``free`` is :meth:`_free_at` if known."""
        rate: float | None = None
        mean = self._mean_cost
        if self._headers_seen and mean is not None:
            if free is None:
                free = self._free_at(now)
            outflow = self._outflow
            spare = free - self._up * (self._in_flight + 1)
            units = max(outflow + spare / SPEND_SECONDS, outflow / 4)
            rate = max(units / max(mean, 1e-3) * self._slow, 1 / MAX_WAIT)
        if self._max_rate is not None:
            rate = self._max_rate if rate is None else min(rate, self._max_rate)

        current = self._rate
        if rate is None or current is None:
            if rate != current:
                self._set_rate(rate)
        elif abs(rate - current) > RATE_HYSTERESIS * current:
            self._set_rate(rate)

    def _set_rate(self, rate: float | None) -> None:
        self._rate = rate
        # One start per period: spare room is spent through a high rate,
        # not through a burst that could outrun the answers. A period shorter
        # than sending a request takes spaces nothing, and is not kept.
        if rate is None or rate >= UNPACED_RATE:
            self._limiter = None
        else:
            self._limiter = AsyncLimiter(1, 1 / rate)

    # -- throttled answers ----------------------------------------------

    def _on_throttle(self, now: float, remaining: float | None) -> None:
        self._throttled += 1
        self._streak += 1
        self._slow = max(SLOWEST, self._slow / 2)

        wait = MIN_PAUSE
        if remaining is not None:
            needed = self._up * (self._in_flight + 1) + self._margin()
            missing = needed - (remaining + self._up * self._in_flight)
            wait = max(wait, missing / self._outflow)
        wait *= 2.0 ** (self._streak - 1) * self._rng.uniform(1.0, 1.25)
        self._pause_until = max(self._pause_until, now + min(wait, MAX_PAUSE))

    # -- waiting --------------------------------------------------------

    async def _wait_pause(self) -> None:
        while (left := self._pause_until - self._clock()) > 0:
            await self._sleep(left)

    async def _wait_room(self, timeout: float | None) -> None:
        """Wait until a release wakes this waiter, or ``timeout`` passes."""
        waiting = self._waiting
        while waiting and waiting[0].done():
            waiting.popleft()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        waiting.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _end, waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Woken, then cancelled before it could take the room: the
                # wake goes on to another waiter, or it would be lost.
                self._wake()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        # As many waiters as there is room for look again, and always one:
        # it works out afresh how long to wait. Waking them all would have
        # all but a few go back to waiting, each a turn of the loop.
        waiting = self._waiting
        if not waiting:
            return
        room = max(1, self._limit_at(self._clock()) - self._in_flight)
        while room and waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1


def _end(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _second(sample: tuple[float, float]) -> float:
    return sample[1]


def _second_then_first(sample: tuple[float, float]) -> tuple[float, float]:
    # Of equal values, the earliest (read from the end, min keeps the first).
    return sample[1], sample[0]
