"""The end-of-run summary: root causes in view, existing objects counted."""

from __future__ import annotations

from typing import Any

from bulkmod.engine import summary
from bulkmod.engine.tally import Tally


def outcome(op_id: str, status: str, **fields: Any) -> dict[str, Any]:
    """An outcome line with the fields the tally reads."""
    record: dict[str, Any] = {
        "id": op_id,
        "line": 1,
        "op": "item.create",
        "parent": None,
        "status": status,
        "attempts": 1,
        "throttled": 0,
        "adopted": False,
        "result": None,
        "error": None,
    }
    record.update(fields)
    return record


def test_root_cause_stays_in_view_under_many_knock_on_groups() -> None:
    """12 dependency_failed messages, each twice, and one not_found.

    The not_found is listed; the 24 skips and 3 stopped fold into one line,
    and no "more kinds of error" line hides anything.
    """
    tally = Tally()
    for n in range(12):
        for copy in range(2):
            error = {"type": "dependency_failed", "message": f"needs w{n}"}
            tally.count(outcome(f"d{n}-{copy}", "skipped", error=error))
    for n in range(3):
        error = {"type": "stopped", "message": "not sent"}
        tally.count(outcome(f"s{n}", "skipped", error=error))
    tally.count(
        outcome("w0", "failed", error={"type": "not_found", "message": "no module 9"})
    )

    lines = summary.render(tally, "r.jsonl").splitlines()
    start = lines.index("failures by error:")
    assert lines[start + 1 : start + 4] == [
        "       1 not_found: no module N",
        "         e.g. w0 (line 1)",
        "  and, following from those or from the stop: 24 dependency_failed, 3 stopped",
    ]
    assert not any("more kinds of error" in line for line in lines)


def test_failures_alike_but_for_names_are_one_group() -> None:
    """Missing content of 30 titles is one line with its count and examples."""
    tally = Tally()
    for n in range(30):
        message = f"no Page titled 'Page {n}' in course {n + 1}"
        tally.count(
            outcome(f"p{n}", "failed", error={"type": "not_found", "message": message})
        )
    lines = summary.render(tally, "r.jsonl").splitlines()
    start = lines.index("failures by error:")
    assert lines[start + 1 : start + 3] == [
        "      30 not_found: no Page titled '…' in course N",
        "         e.g. p0 (line 1), p1 (line 1), p2 (line 1)",
    ]


def test_existing_objects_are_counted() -> None:
    """Two adopted from the course, one created beside a namesake."""
    tally = Tally()
    tally.count(outcome("a", "ok", adopted_existing=True))
    tally.count(outcome("b", "ok", adopted_existing=True))
    tally.count(outcome("c", "ok", existing=[3]))
    tally.count(outcome("d", "ok"))

    assert (
        "2 adopted from the course as it was (--existing adopt), 1 created beside "
        "one of the same name (--existing warn)"
    ) in summary.render(tally, "r.jsonl").splitlines()
