"""The ``bulkmod`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bulkmod import __version__
from bulkmod.commandline import (
    EXIT_INVALID,
    add_canvas_arguments,
    add_pacing_arguments,
    with_target,
)

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
        "--fresh",
        action="store_true",
        help="move an existing results file aside and start over",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="only show what would be done, as bulkmod plan does; send no write",
    )
    add_canvas_arguments(run)
    add_pacing_arguments(run)

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


def _validate(args: argparse.Namespace) -> int:
    from bulkmod.job.validate import run_validate

    return run_validate(args.job, sys.stdout, sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from bulkmod.engine.run import RunSettings, default_results, run_job
    from bulkmod.job.validate import JobSummary
    from bulkmod.target import Target

    settings = RunSettings(
        results=args.results or default_results(args.job),
        concurrency=args.concurrency,
        max_rate=args.max_rate,
        timeout=args.timeout,
        max_retries=args.max_retries,
        fresh=args.fresh,
    )

    async def work(summary: JobSummary, target: Target) -> int:
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

    return with_target(args, work, doing="running")


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
