"""The pacer decides as on record, answer after answer.

A seeded random run drives a :class:`Pacer` on a clock of its own: time
jumps, acquires when there is room, releases with every kind of header value
(texts and numbers, missing, not a number, out of range) and a throttled
answer now and then. After each release the decisions are noted: the limit,
the snapshot (rate, remaining, cost, leak), the end of any pause and the
wait for room. ``tests/data/pacer-record.json`` holds, for each seed, the
hash of those notes and the last release's notes in full.

A change to the pacer that is meant to change no decision (a faster way to
the same answer) must leave every seed as recorded. After a change that is
meant, record anew with ``python tests/test_pacing_record.py`` and compare
the last notes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from bulkmod.client import pacing

RECORD = Path(__file__).parent / "data" / "pacer-record.json"
SEEDS = range(40)
STEPS = 2500


class _FreeLimiter:
    """Stands in for the rate limiter: the notes hold the rate itself."""

    def __init__(self, max_rate: float, period: float) -> None:
        self.period = period

    async def acquire(self) -> None:
        return None


def notes(seed: int) -> list[Any]:
    """The pacer's decisions along the run of one seed."""
    rng = random.Random(seed)
    now = [1000.0]
    pacer = pacing.Pacer(
        clock=lambda: now[0],
        rng=random.Random(seed),
        max_rate=rng.choice([None, None, 50.0, 3.0]),
        up_front_cost=rng.choice([50.0, 50.0, 20.0]),
    )
    remaining = top = rng.choice([600.0, 700.0, 100_000.0, 3000.0])
    leak = rng.choice([10.0, 10.0, 100.0, 2.0])
    headers = rng.random() < 0.9
    out: list[Any] = []

    async def drive() -> None:
        nonlocal remaining
        for _ in range(STEPS):
            step = rng.random()
            if step < 0.25:
                passed = rng.choice([0.0, 1e-4, 1e-3, 0.01, 0.05, 0.2, 1.0, 4.0, 12.0])
                now[0] += passed
                # The bucket leaks, up to where it started.
                remaining = min(top, remaining + leak * passed)
            elif step < 0.6:
                if not _paused(pacer, now[0]) and pacer.in_flight < pacer.limit:
                    await pacer.acquire()
                    out.append(["acquire", pacer.in_flight])
            elif pacer.in_flight:
                remaining -= rng.uniform(0, 12)
                cost: Any = rng.choice([rng.uniform(0, 3), rng.uniform(0, 0.05), "0.5"])
                if rng.random() < 0.1:
                    cost = rng.choice(["nan", "-2", "1e9", None, "x", 2])
                left: Any = None
                if headers:
                    left = rng.choice(
                        [remaining, str(round(remaining, 3)), "inf", None, "bad"]
                        + [remaining, remaining]
                    )
                    if isinstance(left, float) and rng.random() < 0.5:
                        left = str(left)
                pacer.release(cost=cost, remaining=left, throttled=rng.random() < 0.04)
                out.append(
                    [
                        "release",
                        pacer.limit,
                        sorted(pacer.snapshot().items()),
                        _pause_end(pacer),
                        _time_to_room(pacer, now[0]),
                    ]
                )

    asyncio.run(drive())
    return out


def _paused(pacer: pacing.Pacer, now: float) -> bool:
    return _pause_end(pacer) > now


def _pause_end(pacer: pacing.Pacer) -> float:
    return float(pacer._pause_until)


def _time_to_room(pacer: pacing.Pacer, now: float) -> float | None:
    return pacer._time_to_room(now)


def _summary(seed: int) -> dict[str, Any]:
    found = notes(seed)
    releases = [note for note in found if note[0] == "release"]
    text = json.dumps(found)
    return {
        "seed": seed,
        "notes": len(found),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "last": json.loads(json.dumps(releases[-1])) if releases else None,
    }


@pytest.fixture(autouse=True)
def _free_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "AsyncLimiter", _FreeLimiter)


def test_every_seed_decides_as_recorded() -> None:
    """The same limit, rate, pause and wait after every answer of every seed."""
    recorded = json.loads(RECORD.read_text())
    differ = [seed for seed in SEEDS if _summary(seed) != recorded[seed]]
    assert not differ, f"seeds deciding otherwise than on record: {differ}"


def test_the_record_sees_the_pacer_at_work() -> None:
    """Throttles, learnt leaks and paced rates all happen in the record."""
    recorded = json.loads(RECORD.read_text())
    lasts = [dict(entry["last"][2]) for entry in recorded if entry["last"]]
    assert sum(entry["notes"] for entry in recorded) > 20 * len(recorded)
    assert any(last["throttled"] > 0 for last in lasts)
    assert any(last.get("outflow", 10.0) != 10.0 for last in lasts)
    assert any("rate" in last for last in lasts)


if __name__ == "__main__":
    pacing.AsyncLimiter = _FreeLimiter  # type: ignore[misc,assignment]
    RECORD.write_text(json.dumps([_summary(seed) for seed in SEEDS], indent=1) + "\n")
