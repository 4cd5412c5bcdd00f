"""The ``bulkmod`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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

  bulkmod run term-start.jsonl --pilot 3 --max-failures 5% \\
      --on-failure skip-course --existing skip
      try the first 3 courses of the job; then the same command without
      --pilot does the rest

safety brakes: against a Canvas whose host is not loopback, run first
prints who the token belongs to, the Canvas, and what the job touches
(courses, operations, deletes, "*" fan-outs, as_user lines), and asks you to
type yes (--yes when stdin is not a terminal; without it the run is refused,
exit 2). It checks that the token may act as every as_user of the job, and
runs the first course alone before the others: a permission failure there
stops the run (exit 3) before any other course is touched. --confirm asks
the same on a loopback Canvas (the sandbox).

exit status: 0 all ok, 1 some failed or skipped, 2 invalid job or command
line, or not confirmed (nothing sent), 3 stopped with results kept (token
refused, Canvas unreachable, a permission failure in the first course,
--max-failures reached, Ctrl-C)
"""

_UNDO_EXAMPLE = """\
example:
  bulkmod undo term-start.jsonl.results.jsonl -o undo.jsonl
  bulkmod plan undo.jsonl && bulkmod run undo.jsonl
      undo.jsonl takes the run back, last change first; what cannot be
      undone is listed on stderr, and the deleted objects are written to
      undo.jsonl.deleted.jsonl

exit status: 0 the undo job was written; 2 nothing written (unreadable or
not a results file)
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
    _add_brake_arguments(run)
    add_canvas_arguments(run)
    add_pacing_arguments(run)

    undo = commands.add_parser(
        "undo",
        help="write a job that takes a run back",
        description="Write a job that takes back what a run did, last change "
        "first: it deletes the modules and items the run created and sets "
        "back the values its updates, moves and publishes replaced. Deletes "
        "are not undone (the deleted objects are listed, and written to "
        "JOB.deleted.jsonl), nor are relocks, done/undone, mark_read and "
        "reads (listed). A module taken with --existing adopt is left as it "
        "is.",
        epilog=_UNDO_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    undo.add_argument("results", type=Path, help="the results file of the run")
    undo.add_argument(
        "-o", "--output", type=Path, required=True, help="the undo job to write"
    )

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
        "undo": _undo,
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
    from bulkmod.engine.brakes import parse_failure_limit
    from bulkmod.engine.run import RunSettings, default_results, run_job
    from bulkmod.job.validate import JobSummary
    from bulkmod.target import Target

    try:
        limit = parse_failure_limit(args.max_failures) if args.max_failures else None
    except ValueError as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID
    if args.pilot is not None and args.pilot < 1:
        print("bulkmod: --pilot must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    settings = RunSettings(
        results=args.results or default_results(args.job),
        concurrency=args.concurrency,
        max_rate=args.max_rate,
        timeout=args.timeout,
        max_retries=args.max_retries,
        fresh=args.fresh,
        confirm=args.confirm,
        yes=args.yes,
        pilot=args.pilot,
        max_failures=limit,
        on_failure=args.on_failure,
        existing=args.existing,
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


def _add_brake_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the safety brakes (see README, "Safety brakes")."""
    from bulkmod.engine.brakes import ON_FAILURE
    from bulkmod.engine.existing import EXISTING

    parser.add_argument(
        "--yes",
        action="store_true",
        help="confirm the run without being asked (needed against a Canvas "
        "that is not loopback when stdin is not a terminal)",
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="ask for confirmation, check as_user and run the first course "
        "alone even on a loopback Canvas (the sandbox), as on a real one",
    )
    parser.add_argument(
        "--pilot",
        type=int,
        metavar="N",
        help="run only the first N courses of the job (in order of first "
        "appearance); the same command without --pilot then does the rest",
    )
    parser.add_argument(
        "--max-failures",
        metavar="N|P%",
        help="stop the run (exit 3, results kept) once N operations failed, "
        "or P percent of those ended so far (judged after 20)",
    )
    parser.add_argument(
        "--on-failure",
        choices=ON_FAILURE,
        default="continue",
        help="skip-course: after an operation of a course failed, record the "
        "course's later operations skipped (stopped) instead of sending them "
        "(default: continue)",
    )
    parser.add_argument(
        "--existing",
        choices=EXISTING,
        default="warn",
        help="when module.create names a module the course already had: warn "
        "(create it, note the existing ids in the result; default), adopt "
        "(take the existing module), skip (record it skipped, conflict), "
        "duplicate (create it silently)",
    )


def _undo(args: argparse.Namespace) -> int:
    from bulkmod.undo import run_undo

    return run_undo(args.results, args.output, sys.stderr)


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
        lines = build_job(export, courses, shift_days=shift)
    except (ValueError, OSError) as err:
        print(f"bulkmod: {err}", file=sys.stderr)
        return EXIT_INVALID
    written = 0

    def counting(lines: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        nonlocal written
        for line in lines:
            written += 1
            yield line

    if args.output is None:
        write_job(counting(lines), sys.stdout.buffer)
        sys.stdout.flush()
    else:
        with args.output.open("wb") as out:
            write_job(counting(lines), out)
    items = sum(len(module.items) for module in export.modules)
    shifted = f", unlock dates moved {shift:+d} days" if shift else ""
    print(
        f"bulkmod: wrote {written} operations: {len(export.modules)} modules and "
        f"{items} items in each of {len(courses)} courses{shifted}, to "
        f"{args.output or 'stdout'}",
        file=sys.stderr,
    )
    return 0
