"""Canvas's request throttle: a leaky bucket per access token, and request costs.

Canvas keeps, for each client, a ``count`` that leaks at ``outflow`` units a
second. Every request first reserves ``up_front_cost`` (so requests running
at the same time cost quota even when they are cheap), is refused when the
count has reached the high-water mark ``hwm`` after that reservation, and is
settled when it ends: the reservation is given back and its real cost stays.
``X-Rate-Limit-Remaining`` is ``hwm - count`` after settling, so it still
holds the reservations of the client's other requests in flight, and it can
be positive on a refused request because the refusal is refunded too.

Real Canvas measures the cost as CPU plus database seconds; the sandbox has
neither worth measuring, so :func:`request_cost` models it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Throttle", "request_cost"]

#: A plain read: Canvas reports a few hundredths of a second for these.
READ_COST = 0.05
#: Any write: a save and its callbacks.
WRITE_COST = 0.5
#: Publishing or unpublishing cascades to every item and its content.
PUBLISH_COST = 1.0
#: A position change re-saves every module (or shifts every item) after it.
POSITION_COST = 1.0
#: A batch update pays for each module it touches.
BATCH_MODULE_COST = 0.2


@dataclass(slots=True)
class _Bucket:
    count: float
    touched: float


class Throttle:
    """Leaky buckets keyed by client, computed as Canvas computes them.

    ``enabled=False`` behaves like a Canvas without a bucket store: nothing
    is counted, nothing is refused and the remaining quota stays ``hwm``.
    Not thread-safe; the sandbox calls it from one event loop.
    """

    def __init__(
        self,
        *,
        hwm: float = 600.0,
        outflow: float = 10.0,
        up_front_cost: float = 50.0,
        maximum: float = 800.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hwm = hwm
        self.outflow = outflow
        self.up_front_cost = up_front_cost
        self.maximum = maximum
        self.enabled = enabled
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def reserve(self, key: str) -> bool:
        """Leak, add the up-front cost; say whether the request may run."""
        if not self.enabled:
            return True
        count = self._increment(key, self.up_front_cost)
        return count < self.hwm

    def settle(self, key: str, cost: float) -> float:
        """Refund the reservation, keep ``cost``; return the remaining quota.

        Call it once for every :meth:`reserve`, refused requests included.
        """
        if not self.enabled:
            return self.hwm
        count = self._increment(key, cost - self.up_front_cost)
        return self.hwm - count

    def remaining(self, key: str) -> float:
        """Return ``hwm - count`` as of now, leaked, without touching the bucket."""
        bucket = self._buckets.get(key)
        if not self.enabled or bucket is None:
            return self.hwm
        return self.hwm - self._leaked(bucket, self._clock())

    def _increment(self, key: str, amount: float) -> float:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(count=0.0, touched=now)

        # Canvas leaks first, then adds, and only then clamps: a leak larger
        # than the count is partly absorbed by the amount being added.
        count = self._leaked(bucket, now) + amount
        bucket.count = min(max(count, 0.0), self.maximum)
        bucket.touched = now
        return bucket.count

    def _leaked(self, bucket: _Bucket, now: float) -> float:
        if bucket.count <= 0:
            return bucket.count
        loss = self.outflow * (now - bucket.touched)
        return bucket.count - loss if loss > 0 else bucket.count


def request_cost(
    method: str, route: str, params: Mapping[str, Any], fixed: float | None
) -> float:
    """Return the modelled cost of one request; ``fixed`` overrides the model.

    ``route`` is the request's path (a template or the concrete path) and
    ``params`` its parsed parameters. Reads are cheap, writes dearer, and
    publishing and position changes dearer still, as they are on Canvas.
    """
    if fixed is not None:
        return fixed
    if method.upper() in ("GET", "HEAD"):
        return READ_COST

    cost = WRITE_COST
    for wrapper in ("module", "module_item"):
        fields = params.get(wrapper)
        if isinstance(fields, Mapping):
            if "published" in fields:
                cost += PUBLISH_COST
            if "position" in fields:
                cost += POSITION_COST

    if method.upper() == "PUT" and route.rstrip("/").endswith("/modules"):
        # The batch update: publish, unpublish or delete many modules.
        if params.get("event") in ("publish", "unpublish"):
            cost += PUBLISH_COST
        ids = params.get("module_ids")
        if isinstance(ids, list):
            cost += BATCH_MODULE_COST * len(ids)
    return cost
