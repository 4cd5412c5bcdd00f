"""The few lines a run prints when it ends."""

from __future__ import annotations

import time

from bulkmod.engine.tally import Tally

#: Error groups listed in the summary; the results file has them all.
_GROUPS_SHOWN = 10

#: Courses stopped by a failure that the summary names; the results file has
#: them all.
_HALTED_SHOWN = 50


def render(tally: Tally, results: str) -> str:
    """The end-of-run summary: counts, failures by error, time and rate."""
    elapsed = time.monotonic() - tally.started
    statuses = ", ".join(
        f"{tally.statuses[name]} {name}" for name in ("ok", "failed", "skipped")
    )
    lines = [f"bulkmod: {tally.ended} operations ended ({statuses})"]
    if tally.children:
        fanned = ", ".join(
            f"{tally.children[name]} {name}" for name in ("ok", "failed", "skipped")
        )
        lines.append(f"  fan-out children: {fanned}")
    if tally.resumed:
        lines.append(
            f"  {tally.resumed} already done by an earlier run, not sent again"
        )
    ops = sorted({op for op, _ in tally.by_op})
    if ops:
        lines.append("  by operation (children included):")
    for op in ops:
        parts = [
            f"{tally.by_op[(op, name)]} {name}"
            for name in ("ok", "failed", "skipped")
            if tally.by_op[(op, name)]
        ]
        lines.append(f"    {op:<17} {', '.join(parts)}")
    if tally.errors:
        lines.extend(_failures(tally))
    if tally.halted:
        lines.append(
            f"courses stopped after a failure (--on-failure skip-course): "
            f"{len(tally.halted)}; their later operations were not sent"
        )
        for course, op_id in list(tally.halted.items())[:_HALTED_SHOWN]:
            lines.append(f"  course {course}: after {op_id} failed")
        if len(tally.halted) > _HALTED_SHOWN:
            lines.append(f"  ... {len(tally.halted) - _HALTED_SHOWN} more courses")
    rate = tally.requests / elapsed if elapsed > 0 else 0.0
    lines.append(
        f"{tally.requests} requests in {elapsed:.1f} s ({rate:.1f}/s), "
        f"{tally.throttled} throttled, {tally.adopted} adopted after a lost answer"
    )
    if tally.adopted_existing or tally.beside_existing:
        lines.append(
            f"{tally.adopted_existing} adopted from the course as it was "
            f"(--existing adopt), {tally.beside_existing} created beside one of "
            "the same name (--existing warn)"
        )
    if tally.stop_reason:
        lines.append(f"stopped: {tally.stop_reason}")
    if tally.pilot_note:
        lines.append(tally.pilot_note)
    lines.append(f"results: {results}")
    return "\n".join(lines)


def _failures(tally: Tally) -> list[str]:
    """Failures by error: root causes first, then what followed from them."""
    roots, knock_on = tally.ranked_errors()
    lines = ["failures by error:"]
    for (kind, message), group in roots[:_GROUPS_SHOWN]:
        lines.append(f"  {group.count:>6} {kind}: {message}")
        lines.append(f"         e.g. {', '.join(group.examples)}")
    if len(roots) > _GROUPS_SHOWN:
        lines.append(f"  ... {len(roots) - _GROUPS_SHOWN} more kinds of error")
    if knock_on:
        counts = ", ".join(f"{count} {kind}" for kind, count in knock_on.items())
        lines.append(f"  and, following from those or from the stop: {counts}")
    return lines
