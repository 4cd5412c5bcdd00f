"""What the commands that talk to Canvas share: flags, the job check, the target.

``run`` and ``plan`` both take a job, name a Canvas (or fall back to the
embedded sandbox), pace their requests and log the same way; this module is
the one place where that is said.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bulkmod import logs
from bulkmod.job.validate import JobSummary, check_job, counted
from bulkmod.target import Target, TargetError, base_url_from, open_target, read_token

#: Exit status when the job or the command line is invalid (nothing sent).
EXIT_INVALID = 2

#: Courses the embedded sandbox gets at least, when the job names fewer.
SANDBOX_COURSES = 50


def add_canvas_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that name the Canvas, the token, the sandbox and the logs."""
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
        help="allow plain http:// to a host that is not loopback (the token "
        "would cross the network in clear)",
    )
    parser.add_argument(
        "--sandbox-courses",
        type=int,
        default=None,
        help="courses in the embedded sandbox (default: enough for the job, "
        f"at least {SANDBOX_COURSES})",
    )
    parser.add_argument(
        "--sandbox-seed-export",
        type=Path,
        help="course export whose content the embedded sandbox's courses get",
    )
    parser.add_argument("--log-format", choices=("console", "json"), default="console")
    parser.add_argument(
        "--log-level", choices=("debug", "info", "warning", "error"), default="info"
    )


def add_pacing_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags that bound how hard a command drives Canvas."""
    parser.add_argument(
        "--concurrency", type=int, default=20, help="courses in progress (20)"
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
        "--max-retries", type=int, default=5, help="retries of a failed request (5)"
    )


def checked_job(path: Path) -> JobSummary | None:
    """The job's summary, or None after printing every problem to stderr."""
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
            f"bulkmod: {path}: {counted(summary.problem_count, 'problem')}; "
            "nothing was sent",
            file=sys.stderr,
        )
        return None
    return summary


def with_target(
    args: argparse.Namespace,
    work: Callable[[JobSummary, Target], Awaitable[int]],
    *,
    doing: str,
) -> int:
    """Check the job, open the Canvas the flags name, and run ``work`` on both.

    Return ``work``'s exit status, or 2 when the flags, the token or the job
    are not usable (nothing is sent then). ``doing`` completes the sentence
    said when the embedded sandbox stands in for Canvas.
    """
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

    summary = checked_job(args.job)
    if summary is None:
        return EXIT_INVALID

    async def go(summary: JobSummary) -> int:
        if base_url is None:
            print(
                "bulkmod: no Canvas named (--base-url or CANVAS_BASE_URL): "
                f"{doing} on the embedded sandbox, a simulated Canvas that lives "
                "only for this command",
                file=sys.stderr,
            )
        courses = args.sandbox_courses or max(SANDBOX_COURSES, summary.max_course_id)
        async with open_target(
            base_url=base_url,
            token_file=args.token_file,
            allow_insecure_http=args.allow_insecure_http,
            sandbox_courses=courses,
            sandbox_seed_export=args.sandbox_seed_export,
        ) as target:
            return await work(summary, target)

    try:
        return asyncio.run(go(summary))
    except TargetError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID
