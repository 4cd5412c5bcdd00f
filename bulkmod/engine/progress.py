"""The live progress line on a terminal: done of total, failures, rate, time left."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TextIO

from bulkmod.engine.tally import Tally

#: Seconds between redraws; often enough to feel live, rarely enough to cost
#: nothing.
_EVERY = 0.5


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def line(tally: Tally) -> str:
    """The progress line for the run so far."""
    elapsed = time.monotonic() - tally.started
    done = tally.done
    ops_rate = tally.ended / elapsed if elapsed > 0 else 0.0
    left = max(tally.total - done, 0)
    eta = _clock(left / ops_rate) if ops_rate > 0 else "--:--"
    failed = tally.statuses["failed"]
    skipped = tally.statuses["skipped"]
    return (
        f"{done}/{tally.total} operations  failed {failed}  skipped {skipped}  "
        f"{tally.rate():.1f} req/s  throttled {tally.throttled}  "
        f"elapsed {_clock(elapsed)}  left {eta}"
    )


async def show(tally: Tally, stream: TextIO | None = None) -> None:
    """Redraw the progress line until cancelled; nothing when not a terminal."""
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        return
    try:
        while True:
            out.write("\r\x1b[2K" + line(tally))
            out.flush()
            await asyncio.sleep(_EVERY)
    finally:
        out.write("\r\x1b[2K")
        out.flush()
