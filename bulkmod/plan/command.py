"""``bulkmod plan``: show what a run of a job would do, changing nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import orjson
import structlog

from bulkmod import logs
from bulkmod.client.errors import CanvasError
from bulkmod.client.http import CanvasClient
from bulkmod.job.model import Operation
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import JobSummary, check_job
from bulkmod.plan.fetch import CanvasReader
from bulkmod.plan.render import Where, render_text, to_json
from bulkmod.plan.simulate import Planner, PlanStopped
from bulkmod.target import Target, TargetError, base_url_from, open_target, read_token

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
    parser.add_argument(
        "--base-url",
        help="Canvas origin, e.g. https://school.instructure.com "
        "(default: $CANVAS_BASE_URL; with neither, the embedded sandbox)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="file holding the access token (default: $CANVAS_TOKEN)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http:// to a host that is not loopback",
    )
    parser.add_argument(
        "--sandbox-courses",
        type=int,
        default=None,
        help="courses in the embedded sandbox (default: enough for the job, "
        "at least 50)",
    )
    parser.add_argument(
        "--sandbox-seed-export",
        type=Path,
        help="course export whose content the embedded sandbox's courses get",
    )
    parser.add_argument(
        "--concurrency", type=int, default=20, help="reads in progress (20)"
    )
    parser.add_argument(
        "--max-rate",
        type=float,
        help="ceiling in requests a second, to leave room for other tools",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per request (30)"
    )
    parser.add_argument(
        "--max-retries", type=int, default=5, help="retries of a failed read (5)"
    )
    parser.add_argument("--log-format", choices=("console", "json"), default="console")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )


def main(args: argparse.Namespace) -> int:
    """Run ``bulkmod plan``: print the plan to stdout; return the exit status."""
    if args.concurrency < 1 or args.timeout <= 0 or args.max_retries < 0:
        print(
            "bulkmod: --concurrency must be >= 1, --timeout > 0, --max-retries >= 0",
            file=sys.stderr,
        )
        return EXIT_INVALID
    base_url = base_url_from(args.base_url)
    secrets: list[str] = []
    if base_url is not None:
        try:
            secrets.append(read_token(args.token_file))
        except TargetError as err:
            print(f"bulkmod: {err}", file=sys.stderr)
            return EXIT_INVALID
    logs.configure(fmt=args.log_format, level=args.log_level, secrets=secrets)

    summary = _checked(args.job)
    if summary is None:
        return EXIT_INVALID

    async def go() -> int:
        assert summary is not None
        if base_url is None:
            print(
                "bulkmod: no Canvas named (--base-url or CANVAS_BASE_URL): planning "
                "against the embedded sandbox, whose courses hold no modules",
                file=sys.stderr,
            )
        async with open_target(
            base_url=base_url,
            token_file=args.token_file,
            allow_insecure_http=args.allow_insecure_http,
            sandbox_courses=args.sandbox_courses or max(50, summary.max_course_id),
            sandbox_seed_export=args.sandbox_seed_export,
        ) as target:
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

    try:
        return asyncio.run(go())
    except TargetError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID


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


def _checked(path: Path) -> JobSummary | None:
    """The job's summary, or None after printing why it cannot be planned."""
    try:
        summary = check_job(path)
    except OSError as err:
        print(f"bulkmod: {path}: cannot read the job ({err.strerror})", file=sys.stderr)
        return None
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    if summary.problem_count:
        more = summary.problem_count - len(summary.problems)
        if more > 0:
            print(f"... and {more} more problems", file=sys.stderr)
        print(
            f"bulkmod: {path}: {summary.problem_count} problems; nothing was sent",
            file=sys.stderr,
        )
        return None
    return summary
