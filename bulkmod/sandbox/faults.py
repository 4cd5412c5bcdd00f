"""Injected trouble: server errors and dropped connections, repeatably random.

A failed request answers 500 with Canvas's error body and changes nothing. A
dropped request is carried out, then its connection is closed without an
answer, so that the client cannot tell whether its change was made: the case
that makes creates unsafe to send again. Both draw from one seeded random
stream, so a run with the same seed and the same request order meets the
same faults.
"""

from __future__ import annotations

import enum
import random
from typing import Any


class Fault(enum.Enum):
    """What happens to one request."""

    NONE = "none"
    FAIL = "fail"
    DROP = "drop"


class Faults:
    """Decide, request by request, which fault to inject."""

    def __init__(
        self, *, fail_rate: float = 0.0, drop_rate: float = 0.0, seed: int | None = None
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0 or not 0.0 <= drop_rate <= 1.0:
            raise ValueError("fail and drop rates are fractions between 0 and 1")
        if fail_rate + drop_rate > 1.0:
            raise ValueError("fail rate and drop rate together may not exceed 1")
        self.fail_rate = fail_rate
        self.drop_rate = drop_rate
        self._random = random.Random(seed)

    @property
    def active(self) -> bool:
        """Whether any fault can happen at all."""
        return self.fail_rate > 0.0 or self.drop_rate > 0.0

    def draw(self) -> Fault:
        """Return the fault for the next request."""
        if not self.active:
            return Fault.NONE
        roll = self._random.random()
        if roll < self.fail_rate:
            return Fault.FAIL
        if roll < self.fail_rate + self.drop_rate:
            return Fault.DROP
        return Fault.NONE


def server_error_body(report_id: int) -> dict[str, Any]:
    """Return Canvas's body for an unhandled error."""
    error = {"message": "An error occurred.", "error_code": "internal_server_error"}
    return {"errors": [error], "error_report_id": report_id}
