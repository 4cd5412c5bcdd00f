"""A whole run: from a checked job to its results file and exit status.

Against a Canvas that is not loopback (or with ``--confirm``), the run first
goes through :mod:`bulkmod.preflight`, then runs the job's first course alone
(the canary lane) and stops if the token lacks a permission there, before
the other courses start. ``--pilot N`` runs only the first N courses; the
brakes of :mod:`bulkmod.engine.brakes` stop a run that goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import structlog

from bulkmod import preflight
from bulkmod.client.errors import CanvasError, UnauthorizedError
from bulkmod.client.http import CanvasClient
from bulkmod.engine import progress, summary
from bulkmod.engine.brakes import FailureBrake, FailureLimit, fix_advice
from bulkmod.engine.execute import Executor
from bulkmod.engine.journal import Journal, JournalError, Previous, read_previous
from bulkmod.engine.refs import RefTable
from bulkmod.engine.scheduler import Scheduler
from bulkmod.engine.tally import Tally
from bulkmod.job.model import Operation
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import JobSummary
from bulkmod.preflight import JobScan, scan_job
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
    #: Ask before the first write even on a loopback Canvas (``--confirm``).
    confirm: bool = False
    #: Go on without asking (``--yes``).
    yes: bool = False
    #: Where the confirmation is read from; None is the process's stdin.
    stdin: TextIO | None = None
    #: Run only the job's first N courses (``--pilot N``).
    pilot: int | None = None
    #: Stop the run once this many operations failed (``--max-failures``).
    max_failures: FailureLimit | None = None
    #: ``continue`` or ``skip-course`` (``--on-failure``).
    on_failure: str = "continue"
    #: What a ``module.create`` of a name the course has does (``--existing``).
    existing: str = "warn"


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
        guarded = settings.confirm or not target.loopback
        scan = scan_job(Path(job.path)) if guarded or settings.pilot else None
        if guarded:
            assert scan is not None
            text = preflight.describe(
                job, scan, who=who, base_url=target.base_url, pilot=settings.pilot
            )
            stdin = settings.stdin if settings.stdin is not None else sys.stdin
            if not await preflight.confirm(
                text, yes=settings.yes, stdin=stdin, stderr=sys.stderr
            ):
                return EXIT_INVALID
            try:
                problem = await preflight.check_as_users(client, scan.as_users)
            except CanvasError as err:
                print(f"bulkmod: cannot check as_user: {err.message}", file=sys.stderr)
                return EXIT_STOPPED
            if problem is not None:
                log.error("as_user refused", reason=problem)
                print(f"bulkmod: stopped: {problem}", file=sys.stderr)
                return EXIT_STOPPED
        try:
            journal, resuming = Journal.open(
                settings.results,
                job=job.path,
                job_sha256=job.sha256,
                base_url=target.base_url,
                user=who,
                fresh=settings.fresh or target.embedded,
                operations=job.operations,
            )
        except JournalError as err:
            print(f"bulkmod: {err}", file=sys.stderr)
            return EXIT_INVALID
        plan = _Plan(scan, guarded, settings.pilot)
        try:
            return await _run(
                job, target, settings, client, journal, resuming, who, plan
            )
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
    plan: _Plan,
) -> int:
    previous = read_previous(journal.path, job.referenced) if resuming else None
    with _frozen_heap():
        return await _run_frozen(
            job, target, settings, client, journal, who, plan, previous
        )


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Leave what exists before the run (modules, the job's tables) to itself.

    The garbage collector's full passes would otherwise walk every object of
    the program, again and again, while a long run makes and drops a few
    objects per operation; frozen, they are passed over until the run ends.
    The young objects are looked at less often, too: an operation's objects
    are freed as it ends, and a pass every 700 of them finds nothing to
    free. A program that froze its own heap keeps its collector as it was.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], _YOUNG_PASS), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


#: Objects made (and not yet freed) between two passes over the young ones.
_YOUNG_PASS = 7000


async def _run_frozen(
    job: JobSummary,
    target: Target,
    settings: RunSettings,
    client: CanvasClient,
    journal: Journal,
    who: str,
    plan: _Plan,
    previous: Previous | None,
) -> int:
    refs = RefTable(job.referenced)
    tally = Tally(total=job.operations)
    scheduler: Scheduler

    def stop(reason: str) -> None:
        if tally.stop_reason is None:
            tally.stop_reason = reason
            log.warning("stopping", reason=reason)
        scheduler.stop()
        refs.abandon()

    brake = (
        FailureBrake(settings.max_failures, str(journal.path))
        if settings.max_failures
        else None
    )

    def watch(record: dict[str, Any]) -> None:
        assert brake is not None
        reason = brake.note(record)
        if reason is not None:
            stop(reason)

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
        existing_policy=settings.existing,
        skip_course_on_failure=settings.on_failure == "skip-course",
        on_outcome=watch if brake is not None else None,
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
            await _schedule(scheduler, tally, plan, job, who, stop)
        finally:
            shown.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown

    if plan.pilot is not None and not tally.stopped:
        tally.pilot_note = _pilot_note(plan, tally, str(journal.path))
    print(summary.render(tally, str(journal.path)), file=sys.stderr)
    if tally.stopped:
        return EXIT_STOPPED
    if tally.statuses["failed"] or tally.statuses["skipped"]:
        return EXIT_FAILURES
    return EXIT_OK


@dataclass
class _Plan:
    """Which courses run, and whether the first runs alone (the canary)."""

    scan: JobScan | None
    canary: bool
    pilot: int | None

    def courses(self) -> set[str] | None:
        """The courses that run, or None for all of them."""
        if self.pilot is None or self.scan is None:
            return None
        return set(self.scan.courses[: self.pilot])

    def first(self) -> str | None:
        """The canary course, or None when there is no canary lane."""
        if not self.canary or self.scan is None or not self.scan.courses:
            return None
        return self.scan.courses[0]


async def _schedule(
    scheduler: Scheduler,
    tally: Tally,
    plan: _Plan,
    job: JobSummary,
    who: str,
    stop: Callable[[str], None],
) -> None:
    """Run the job: the canary course alone first, when asked, then the rest."""
    courses = plan.courses()
    first = plan.first()
    if first is None:
        await scheduler.run(_operations(job, courses))
        return

    alone: set[str] = set()
    await scheduler.run(_canary(job, first, alone))
    if tally.stopped:
        return
    refusal = _canary_refusal(tally, first, who)
    if refusal is not None:
        stop(refusal)
        return
    rest = (op for op in _operations(job, courses) if op.id not in alone)
    await scheduler.run(rest)


def _operations(
    job: JobSummary, courses: set[str] | None = None
) -> Iterator[Operation]:
    # The job was checked whole just before: unless the file changed since,
    # its lines are built without being checked again.
    for entry in read_operations(Path(job.path), checked_as=job.identity):
        if isinstance(entry, Operation) and (
            courses is None or entry.course in courses
        ):
            yield entry


def _canary(job: JobSummary, course: str, taken: set[str]) -> Iterator[Operation]:
    """The first course's operations, up to one that needs another course's."""
    for op in _operations(job, {course}):
        if any(needed not in taken for needed in op.refs()):
            # It waits for an operation of another course, which runs later.
            return
        taken.add(op.id)
        yield op


def _canary_refusal(tally: Tally, course: str, who: str) -> str | None:
    """Why the run must stop after the canary course, or None."""
    for (kind, message), group in tally.errors.items():
        if kind == "unauthorized":
            example = group.examples[0] if group.examples else "an operation"
            return (
                f"the token's user, {who}, may not do what the job asks in "
                f"course {course} (the first course, run alone): {example} "
                f"failed: {message}. No other course was started; give the "
                "user that permission, or use another token, then run the same "
                "command again"
            )
    return None


def _pilot_note(plan: _Plan, tally: Tally, results: str) -> str:
    assert plan.scan is not None and plan.pilot is not None
    total = len(plan.scan.courses)
    ran = min(plan.pilot, total)
    if ran >= total:
        return f"pilot: the first {ran} courses are every course of the job"
    bad = tally.statuses["failed"] + tally.statuses["skipped"]
    if bad:
        # A pilot exists to catch a bad job before it reaches every course.
        return (
            f"pilot: ran the first {ran} of {total} courses, and {bad} operations "
            "there did not end ok; deal with them before the other "
            f"{total - ran} courses: "
            + fix_advice(results)
            + " (without --pilot, to do the other courses)"
        )
    return (
        f"pilot: ran the first {ran} of {total} courses; to do the other "
        f"{total - ran}, run the same command without --pilot (it resumes: "
        "what ended ok is not sent again)"
    )


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
