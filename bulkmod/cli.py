"""The ``bulkmod`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bulkmod import __version__, logs

#: Exit status when the job or the command line is invalid (nothing sent).
EXIT_INVALID = 2

_RUN_EXAMPLE = """\
examples:
  bulkmod run jobs/term-start.jsonl
      run on the embedded sandbox (no Canvas named): safe to try anything
  CANVAS_BASE_URL=https://school.instructure.com CANVAS_TOKEN=... \\
  bulkmod run relock.jsonl --concurrency 10
      run against a real Canvas; results go to relock.jsonl.results.jsonl;
      the same command again resumes where it stopped

exit status: 0 all ok, 1 some failed or skipped, 2 invalid job or command
line (nothing sent), 3 stopped with results kept (token refused, Canvas
unreachable, Ctrl-C)
"""

_VALIDATE_EXAMPLE = """\
example:
  bulkmod validate jobs/term-start.jsonl
      prints file:line: field: message for each problem; exit 0 or 2
"""

_EXPORT_EXAMPLE = """\
examples:
  bulkmod from-export jobs/exports/web-multimedia-cis300 --courses 1-50 \\
      -o term-start.jsonl
  bulkmod from-export course.imscc --courses @shells.txt --shift-dates +119
"""


def _add_canvas_flags(parser: argparse.ArgumentParser) -> None:
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
        "at least 50)",
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bulkmod",
        description="Apply bulk changes to Canvas course modules and module "
        "items across many courses, from a job file.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="run a job file",
        description="Run a job's operations against Canvas (or the embedded "
        "sandbox) under Canvas's rate limit, writing one result line per "
        "operation.",
        epilog=_RUN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("job", type=Path, help="the job file (.jsonl or .csv)")
    run.add_argument(
        "--results", type=Path, help="results file (default: JOB.results.jsonl)"
    )
    run.add_argument(
        "--concurrency", type=int, default=20, help="courses in progress (20)"
    )
    run.add_argument(
        "--max-rate",
        type=float,
        help="ceiling in requests a second, to leave room for other tools",
    )
    run.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per request (30)"
    )
    run.add_argument(
        "--max-retries",
        type=int,
        default=5,
        help="retries of a failed request (5)",
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="move an existing results file aside and start over",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="only show what would be done, as bulkmod plan does; send no write",
    )
    _add_canvas_flags(run)

    validate = commands.add_parser(
        "validate",
        help="check a job file, sending nothing",
        description="Check every line of a job without sending anything.",
        epilog=_VALIDATE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("job", type=Path)

    export = commands.add_parser(
        "from-export",
        help="turn a course export into a term-start job",
        description="Write a job that builds the module structure of a Canvas "
        "course export (folder or .imscc) in each listed course.",
        epilog=_EXPORT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("export", type=Path, help="export folder or .imscc file")
    export.add_argument(
        "--courses",
        required=True,
        help="ids and ranges (1-200,305), SIS forms (sis_course_id:X), or "
        "@file with one course per line",
    )
    export.add_argument("-o", "--output", type=Path, help="job file (default: stdout)")
    export.add_argument(
        "--shift-dates",
        help="move unlock dates: FROM:TO (ISO dates) or an offset in days (+119)",
    )

    from bulkmod import report, retry
    from bulkmod.plan import command as plan

    for name, module in (("plan", plan), ("report", report), ("retry", retry)):
        sub = commands.add_parser(
            name,
            help=module.HELP,
            description=module.DESCRIPTION,
            epilog=module.EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)

    commands.add_parser(
        "sandbox",
        help="serve the Canvas sandbox (see bulkmod sandbox --help)",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``bulkmod`` command; return its exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        from bulkmod.sandbox.cli import main as sandbox_main

        return sandbox_main(args_list[1:])
    args = _parser().parse_args(args_list)
    from bulkmod import report, retry
    from bulkmod.plan import command as plan

    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "plan": plan.main,
        "run": _run,
        "validate": _validate,
        "from-export": _from_export,
        "report": report.main,
        "retry": retry.main,
    }
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("bulkmod: interrupted", file=sys.stderr)
        return 3


def _check(path: Path) -> tuple[int, object]:
    from bulkmod.job.validate import check_job

    try:
        summary = check_job(path)
    except OSError as err:
        print(f"bulkmod: {path}: cannot read the job ({err.strerror})", file=sys.stderr)
        return EXIT_INVALID, None
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
        return EXIT_INVALID, summary
    return 0, summary


def _validate(args: argparse.Namespace) -> int:
    from bulkmod.job.validate import run_validate

    return run_validate(args.job, sys.stdout, sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from bulkmod.engine.run import RunSettings, default_results, run_job
    from bulkmod.job.validate import JobSummary
    from bulkmod.target import TargetError, base_url_from, open_target

    if args.concurrency < 1 or args.timeout <= 0 or args.max_retries < 0:
        print(
            "bulkmod: --concurrency must be >= 1, --timeout > 0, --max-retries >= 0",
            file=sys.stderr,
        )
        return EXIT_INVALID
    base_url = base_url_from(args.base_url)
    token_secret = []
    if base_url is not None:
        from bulkmod.target import read_token

        try:
            token_secret.append(read_token(args.token_file))
        except TargetError as err:
            print(f"bulkmod: {err}", file=sys.stderr)
            return EXIT_INVALID
    logs.configure(fmt=args.log_format, level=args.log_level, secrets=token_secret)

    status, summary = _check(args.job)
    if status:
        return status
    assert isinstance(summary, JobSummary)

    settings = RunSettings(
        results=args.results or default_results(args.job),
        concurrency=args.concurrency,
        max_rate=args.max_rate,
        timeout=args.timeout,
        max_retries=args.max_retries,
        fresh=args.fresh,
    )

    async def go() -> int:
        if base_url is None:
            print(
                "bulkmod: no Canvas named (--base-url or CANVAS_BASE_URL): running "
                "on the embedded sandbox, a simulated Canvas that lives only for "
                "this run",
                file=sys.stderr,
            )
        async with open_target(
            base_url=base_url,
            token_file=args.token_file,
            allow_insecure_http=args.allow_insecure_http,
            sandbox_courses=args.sandbox_courses or max(50, summary.max_course_id),
            sandbox_seed_export=args.sandbox_seed_export,
        ) as target:
            if args.dry_run:
                from bulkmod.plan.command import plan_job

                return await plan_job(
                    summary,
                    target,
                    fmt="text",
                    out=sys.stdout,
                    concurrency=args.concurrency,
                    max_rate=args.max_rate,
                    timeout=args.timeout,
                    max_retries=args.max_retries,
                )
            return await run_job(summary, target, settings)

    try:
        return asyncio.run(go())
    except TargetError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID


def _from_export(args: argparse.Namespace) -> int:
    from bulkmod.export.jobgen import (
        build_job,
        parse_course_list,
        parse_shift,
        write_job,
    )
    from bulkmod.export.reader import read_export

    try:
        export = read_export(args.export)
        courses = parse_course_list(args.courses)
        shift = parse_shift(args.shift_dates, export) if args.shift_dates else None
    except (ValueError, OSError) as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID
    lines = build_job(export, courses, shift_days=shift)
    if args.output is None:
        write_job(lines, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        with args.output.open("wb") as out:
            write_job(lines, out)
    return 0
