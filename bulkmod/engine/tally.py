"""Counting a run as it goes: what the progress line and the summary show."""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bulkmod.job.model import Operation

#: Example operation ids kept per error group in the summary.
_EXAMPLES = 3

#: Error types that only follow from another failure, or from the run
#: stopping: listed after the root causes, so that a cause stays in view.
KNOCK_ON = ("dependency_failed", "stopped")


@dataclass
class ErrorGroup:
    """Failures that share an error type and message."""

    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Tally:
    """Live counts of a run's outcomes."""

    total: int = 0
    started: float = field(default_factory=time.monotonic)
    #: Outcomes of the job's own operations (fan-out children not included).
    statuses: Counter[str] = field(default_factory=Counter)
    #: Outcomes of fan-out children.
    children: Counter[str] = field(default_factory=Counter)
    by_op: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: dict[tuple[str, str], ErrorGroup] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0
    adopted: int = 0
    #: Creates that took an object the course had before the run
    #: (``--existing adopt``), and creates made beside one (``warn``).
    adopted_existing: int = 0
    beside_existing: int = 0
    resumed: int = 0
    stop_reason: str | None = None
    #: Courses stopped by ``--on-failure skip-course``: course -> the id of
    #: the operation whose failure stopped it.
    halted: dict[str, str] = field(default_factory=dict)
    #: Set when the run ended after the pilot courses (``--pilot``).
    pilot_note: str | None = None

    @property
    def stopped(self) -> bool:
        """Whether the run was told to stop."""
        return self.stop_reason is not None

    @property
    def done(self) -> int:
        """Operations of the job (not fan-out children) that have ended."""
        return self.resumed + self.ended

    ended: int = 0

    def count_resumed(self, op: Operation) -> None:
        """Count an operation an earlier run already did."""
        self.resumed += 1

    def count(self, record: dict[str, Any]) -> None:
        """Count one outcome line."""
        status = record["status"]
        if record["parent"] is None:
            self.statuses[status] += 1
            self.ended += 1
        else:
            self.children[status] += 1
        self.by_op[(record["op"], status)] += 1
        self.requests += record["attempts"]
        self.throttled += record["throttled"]
        if record["adopted"]:
            self.adopted += 1
        # Keys a record has only when they are true.
        if "adopted_existing" in record or "existing" in record:
            self.adopted_existing += bool(record.get("adopted_existing"))
            self.beside_existing += bool(record.get("existing"))
        error = record["error"]
        if error is not None and not _is_fan_out_parent(record):
            group = self.errors.setdefault(
                (error["type"], message_shape(error["message"])), ErrorGroup()
            )
            group.count += 1
            if len(group.examples) < _EXAMPLES:
                group.examples.append(f"{record['id']} (line {record['line']})")

    def ranked_errors(
        self,
    ) -> tuple[list[tuple[tuple[str, str], ErrorGroup]], dict[str, int]]:
        """Root-cause groups, most first; then knock-on counts by error type."""
        roots = [pair for pair in self.errors.items() if pair[0][0] not in KNOCK_ON]
        roots.sort(key=lambda pair: -pair[1].count)
        knock_on = {
            kind: sum(g.count for (k, _), g in self.errors.items() if k == kind)
            for kind in KNOCK_ON
        }
        return roots, {kind: count for kind, count in knock_on.items() if count}

    def rate(self) -> float:
        """Requests a second since the run started."""
        elapsed = time.monotonic() - self.started
        return self.requests / elapsed if elapsed > 0 else 0.0


def _is_fan_out_parent(record: dict[str, Any]) -> bool:
    result = record["result"]
    return (
        isinstance(result, dict) and "children" in result and record["parent"] is None
    )


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"\b\d+\b")


def message_shape(message: str) -> str:
    """A message with its names and numbers blanked, to group alike failures.

    ``no Page titled 'Intro' in course 5`` and ``no Page titled 'Notes' in
    course 9`` are one kind of failure; the examples kept with each group
    name the operations, whose result lines have the full messages.
    """
    return _NUMBER.sub("N", _QUOTED.sub("'…'", message))
