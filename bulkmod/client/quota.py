"""Reading Canvas's quota headers: ``X-Request-Cost``, ``X-Rate-Limit-Remaining``.

A value is not trusted blindly: one that is not a finite number is ignored,
and one outside :data:`COST_RANGE` or :data:`REMAINING_RANGE` is moved to the
nearer end of it.
"""

from __future__ import annotations

import math

#: ``X-Request-Cost`` kept within this range. Canvas charges CPU and database
#: seconds, well under one unit for most requests; its bucket caps at 800.
COST_RANGE = (0.0, 1000.0)
#: ``X-Rate-Limit-Remaining`` kept within this range. Canvas's default bucket
#: gives 600 (700 hosted) and goes down to -200; administrators may raise it.
REMAINING_RANGE = (-1000.0, 100_000.0)


def quota_number(
    value: str | float | None, bounds: tuple[float, float]
) -> float | None:
    """Read a quota header value: None unless a finite number, else clamped.

    ``bounds`` is :data:`COST_RANGE` or :data:`REMAINING_RANGE`.
    """
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    low, high = bounds
    if low <= number <= high:
        # Most values (NaN and infinities fail the comparison).
        return number
    if not math.isfinite(number):
        return None
    return low if number < low else high
