"""``bulkmod plan``: show what a run of a job would do, changing nothing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import orjson
import structlog

from bulkmod.client.errors import CanvasError
from bulkmod.client.http import CanvasClient
from bulkmod.commandline import (
    add_canvas_arguments,
    add_pacing_arguments,
    with_target,
)
from bulkmod.job.model import Operation
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import JobSummary
from bulkmod.plan.fetch import CanvasReader
from bulkmod.plan.render import Where, render_text, to_json
from bulkmod.plan.simulate import Planner, PlanStopped
from bulkmod.target import Target

log = structlog.get_logger("bulkmod.plan")

#: Exit statuses: as ``run``'s, where 1 means "something cannot be done".
EXIT_OK, EXIT_PROBLEMS, EXIT_INVALID, EXIT_STOPPED = 0, 1, 2, 3

HELP = "show what a run would do, sending only reads"

DESCRIPTION = """\
Show what 'bulkmod run JOB' would do, without changing anything: every
selector, reference, content title and '*' fan-out is resolved against the
course as Canvas shows it now, plus what the earlier lines of the job would
create, rename, move or delete. Only GET requests are sent, paced as a run
paces them.

For each course, and in total, it counts the modules and items a run would
create, update, move, publish, unpublish and delete, and it lists what cannot
be done as written: a name or title that matches nothing or several objects,
content not found by title, an id that is not in the course (or that an
earlier line deletes), a reference to an operation that cannot be done, and
a prerequisite or completion requirement that Canvas would silently drop
(a prerequisite must come before its module).

Limits: each course is read once, and the plan assumes nothing else changes
it before the run. Operations with as_user are judged as the token's own user
sees the course. Publishing is counted as asked, whether or not the module is
published already, and not where it cascades to items. A new item title also
renames the item's content in Canvas; a later content lookup by title in the
plan still sees the old title.
"""

EPILOG = """\
examples:
  CANVAS_BASE_URL=https://school.instructure.com CANVAS_TOKEN=... \\
  bulkmod plan term-start.jsonl
      a table per course and in total, then the problems
  bulkmod plan term-start.jsonl --format json | jq .totals
      one JSON object: courses, totals, problems (line, id, type, message)
  bulkmod plan jobs/term-start.jsonl
      no Canvas named: plans against the embedded sandbox's empty courses

exit status: 0 every operation can be done, 1 some cannot (listed), 2 the job
or the command line is invalid (nothing was sent), 3 Canvas could not be read
(token refused, unreachable)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``plan``'s arguments: the job, the output format, the Canvas."""
    parser.add_argument("job", type=Path, help="the job file (.jsonl or .csv)")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="a table for people (text) or one JSON object (json)",
    )
    add_canvas_arguments(parser)
    add_pacing_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Run ``bulkmod plan``: print the plan to stdout; return the exit status."""

    async def work(summary: JobSummary, target: Target) -> int:
        return await plan_job(
            summary,
            target,
            fmt=args.format,
            out=sys.stdout,
            concurrency=args.concurrency,
            max_rate=args.max_rate,
            timeout=args.timeout,
            max_retries=args.max_retries,
        )

    return with_target(args, work, doing="planning")


async def plan_job(
    summary: JobSummary,
    target: Target,
    *,
    fmt: str,
    out: TextIO,
    concurrency: int = 20,
    max_rate: float | None = None,
    timeout: float = 30.0,
    max_retries: int = 5,
) -> int:
    """Plan a checked job against a Canvas, write the plan to ``out``.

    ``fmt`` is ``"text"`` or ``"json"``. Answer 0 when every operation can be
    done, 1 when some cannot, 3 when Canvas could not be read (the reason is
    printed to stderr and no plan is written).
    """
    async with CanvasClient(
        target.base_url,
        target.token,
        timeout=timeout,
        max_retries=max_retries,
        max_rate=max_rate,
        allow_insecure_http=True,
    ) as client:
        try:
            await client.request("GET", "/users/self")
        except CanvasError as err:
            print(f"bulkmod: cannot read Canvas: {err.message}", file=sys.stderr)
            return EXIT_STOPPED
        reader = CanvasReader(client, concurrency=concurrency)
        planner = Planner(reader, summary.referenced)
        log.info(
            "plan starting",
            job=summary.path,
            operations=summary.operations,
            courses=summary.courses,
            canvas=target.base_url,
        )
        try:
            result = await planner.run(_operations(Path(summary.path)))
        except PlanStopped as err:
            print(
                f"bulkmod: plan stopped, Canvas could not be read: {err}",
                file=sys.stderr,
            )
            return EXIT_STOPPED
        finally:
            await reader.close()

    where = Where(summary.path, target.base_url, target.embedded)
    if fmt == "json":
        out.write(orjson.dumps(to_json(result, where)).decode() + "\n")
    else:
        out.write(render_text(result, where))
    out.flush()
    log.info("plan done", operations=result.operations, problems=result.problem_count)
    return EXIT_PROBLEMS if result.problem_count else EXIT_OK


def _operations(path: Path) -> Iterator[Operation]:
    # The job was checked whole already: every entry is an operation.
    for entry in read_operations(path):
        if isinstance(entry, Operation):
            yield entry
