"""A whole run: from a checked job to its results file and exit status."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from bulkmod.client.errors import CanvasError, UnauthorizedError
from bulkmod.client.http import CanvasClient
from bulkmod.engine import progress, summary
from bulkmod.engine.execute import Executor
from bulkmod.engine.journal import Journal, JournalError, read_previous
from bulkmod.engine.refs import RefTable
from bulkmod.engine.scheduler import Scheduler
from bulkmod.engine.tally import Tally
from bulkmod.job.model import Operation
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import JobSummary
from bulkmod.target import Target

log = structlog.get_logger("bulkmod.run")

#: Exit statuses, as the command line documents them.
EXIT_OK, EXIT_FAILURES, EXIT_INVALID, EXIT_STOPPED = 0, 1, 2, 3


@dataclass
class RunSettings:
    """How to run: the knobs of ``bulkmod run``."""

    results: Path
    concurrency: int = 20
    max_rate: float | None = None
    timeout: float = 30.0
    max_retries: int = 5
    fresh: bool = False
    #: Seconds of nothing but network failures before the run stops.
    outage_limit: float = 300.0
    show_progress: bool = True


def default_results(job: Path) -> Path:
    """Where results go unless ``--results`` says: ``JOB.results.jsonl``."""
    return job.with_name(job.name + ".results.jsonl")


async def run_job(job: JobSummary, target: Target, settings: RunSettings) -> int:
    """Run a checked job against a Canvas; return the exit status."""
    async with CanvasClient(
        target.base_url,
        target.token,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
        max_rate=settings.max_rate,
        allow_insecure_http=True,
    ) as client:
        try:
            user = await client.request("GET", "/users/self")
        except UnauthorizedError as err:
            log.error("token refused", error=err.message)
            print(f"bulkmod: Canvas refused the token: {err.message}", file=sys.stderr)
            return EXIT_STOPPED
        except CanvasError as err:
            print(f"bulkmod: cannot reach Canvas: {err.message}", file=sys.stderr)
            return EXIT_STOPPED
        who = _who(user)
        try:
            journal, resuming = Journal.open(
                settings.results,
                job=job.path,
                job_sha256=job.sha256,
                base_url=target.base_url,
                user=who,
                fresh=settings.fresh or target.embedded,
            )
        except JournalError as err:
            print(f"bulkmod: {err}", file=sys.stderr)
            return EXIT_INVALID
        try:
            return await _run(job, target, settings, client, journal, resuming, who)
        finally:
            journal.close()


async def _run(
    job: JobSummary,
    target: Target,
    settings: RunSettings,
    client: CanvasClient,
    journal: Journal,
    resuming: bool,
    who: str,
) -> int:
    previous = read_previous(journal.path, job.referenced) if resuming else None
    refs = RefTable(job.referenced)
    tally = Tally(total=job.operations)
    scheduler: Scheduler

    def stop(reason: str) -> None:
        if tally.stop_reason is None:
            tally.stop_reason = reason
            log.warning("stopping", reason=reason)
        scheduler.stop()
        refs.abandon()

    executor = Executor(
        client,
        journal,
        refs,
        tally,
        previous=previous,
        stop_run=stop,
        max_retries=settings.max_retries,
        outage_limit=settings.outage_limit,
        sleep=asyncio.sleep,
        timeout=settings.timeout,
    )
    scheduler = Scheduler(executor, refs, concurrency=settings.concurrency)
    log.info(
        "run starting",
        job=job.path,
        operations=job.operations,
        courses=job.courses,
        canvas=target.base_url,
        embedded_sandbox=target.embedded,
        user=who,
        resumed_outcomes=previous.outcomes if previous else 0,
        results=str(journal.path),
    )

    loop = asyncio.get_running_loop()
    with _interrupts(loop, lambda: stop("interrupted (Ctrl-C)")):
        shown = asyncio.create_task(
            progress.show(tally) if settings.show_progress else asyncio.sleep(0)
        )
        try:
            await scheduler.run(_operations(Path(job.path)))
        finally:
            shown.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown

    print(summary.render(tally, str(journal.path)), file=sys.stderr)
    if tally.stopped:
        return EXIT_STOPPED
    if tally.statuses["failed"] or tally.statuses["skipped"]:
        return EXIT_FAILURES
    return EXIT_OK


def _operations(path: Path) -> Iterator[Operation]:
    for entry in read_operations(path):
        if isinstance(entry, Operation):
            yield entry


def _who(user: Any) -> str:
    if isinstance(user, dict):
        return f"{user.get('name', '?')} (id {user.get('id', '?')})"
    return "unknown user"


@contextlib.contextmanager
def _interrupts(loop: asyncio.AbstractEventLoop, on_interrupt: Any) -> Iterator[None]:
    """Turn the first Ctrl-C (or SIGTERM) into a clean stop of the run."""
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_interrupt)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
