"""Brakes: stopping a run that goes wrong, and not leaving a course half-built.

``--max-failures N`` stops the run once N operations have failed;
``--max-failures P%`` once P percent of the operations ended so far have
failed, judged only after :data:`SHARE_AFTER` of them ended (a share of the
first few says little). Fan-out children count one by one; the line that
closes a fan-out does not count again.

``--on-failure skip-course`` records every later operation of a course whose
operation failed as ``skipped`` (error type ``stopped``), instead of sending
it; the default, ``continue``, runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Outcomes that must have ended before a share limit is judged.
SHARE_AFTER = 20

#: The choices of ``--on-failure``.
ON_FAILURE = ("continue", "skip-course")


@dataclass(frozen=True)
class FailureLimit:
    """How many failures stop a run: a count, or a share of what ended."""

    count: int | None = None
    #: A fraction in (0, 1].
    share: float | None = None

    def __str__(self) -> str:
        if self.share is not None:
            return f"{self.share * 100:g}%"
        return str(self.count)


def parse_failure_limit(text: str) -> FailureLimit:
    """Read ``--max-failures``: ``N`` (at least 1) or ``P%`` (0 < P <= 100)."""
    spec = text.strip()
    try:
        if spec.endswith("%"):
            percent = float(spec[:-1])
            if not 0 < percent <= 100:
                raise ValueError
            return FailureLimit(share=percent / 100)
        count = int(spec)
        if count < 1:
            raise ValueError
        return FailureLimit(count=count)
    except ValueError:
        raise ValueError(
            f"--max-failures {text!r}: give a count of at least 1 (10) or a "
            "percentage of the operations ended so far (5%)"
        ) from None


class FailureBrake:
    """Count failed outcomes; say why the run must stop once the limit is met."""

    def __init__(self, limit: FailureLimit, results: str = "RESULTS") -> None:
        self.limit = limit
        self.results = results
        self.failed = 0
        self.ended = 0

    def note(self, record: dict[str, Any]) -> str | None:
        """Count one outcome line; answer a stop reason when the limit is met."""
        if _closes_fan_out(record):
            return None
        self.ended += 1
        if record["status"] == "failed":
            self.failed += 1
        elif not self.failed:
            return None
        limit = self.limit
        # A share is judged at every outcome: the failures before the first
        # SHARE_AFTER outcomes count once that many have ended.
        if limit.count is not None and self.failed >= limit.count:
            return (
                f"{self.failed} operations failed (--max-failures {limit}); "
                + self._advice()
            )
        if (
            limit.share is not None
            and self.ended >= SHARE_AFTER
            and self.failed >= limit.share * self.ended
        ):
            return (
                f"{self.failed} of {self.ended} operations ended so far failed "
                f"(--max-failures {limit}); " + self._advice()
            )
        return None

    def _advice(self) -> str:
        return fix_advice(self.results)


def fix_advice(results: str) -> str:
    """How to go on after failures, without doing anything twice."""
    # Running the same command again sends the failed lines unchanged: right
    # when the cause was in Canvas, useless when the lines are wrong. A retry
    # job holds the failed lines and every line not yet run, so it replaces
    # the original job; running both would do the rest twice.
    return (
        f"see why with 'bulkmod report {results}'. If the cause is in Canvas "
        "(a permission, missing content), fix it there and run the same "
        "command again: it resumes and sends the failed lines again. If the "
        f"lines are wrong, 'bulkmod retry {results} -o rest.jsonl' writes "
        "them and every line not yet run to a new job: fix them there and run "
        "rest.jsonl instead of this job from then on"
    )


def _closes_fan_out(record: dict[str, Any]) -> bool:
    result = record.get("result")
    return (
        record.get("parent") is None
        and isinstance(result, dict)
        and "children" in result
        and "failed" in result
    )
