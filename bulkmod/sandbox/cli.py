"""``bulkmod sandbox``: serve the sandbox until SIGINT or SIGTERM.

The first line on stdout is the base URL, flushed at once, so that a script
can start the sandbox and read where it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from bulkmod.export.reader import ExportError
from bulkmod.sandbox.seed import STUDENT_TOKENS, TEACHER_TOKEN
from bulkmod.sandbox.server import SandboxConfig, serve_sandbox

_DESCRIPTION = "Serve a local stand-in for Canvas's Modules API until stopped."

_EPILOG = """\
what it holds:
  courses 1..N, named "Course <id>", with sis_course_id "SIS-<id>", no
  modules, and this published content in each: assignments "Assignment 1..3",
  graded quizzes "Quiz 1..2", discussions "Discussion 1" and (graded)
  "Discussion 2", pages "Page 1..3" (slugs page-1..page-3), files
  file-1.pdf and file-2.pdf, and the external tool "Tool 1". List them with
  GET /api/v1/courses/<id>/assignments (and pages, quizzes,
  discussion_topics, files, external_tools). With --seed-export, every course
  also gets the content the export's items point at, titled as in the export
  (pages keep their slugs), but not its modules.

users and tokens:
  user 1, the admin, uses --token (default "sandbox-token"): it may act in
  every course, and as any user with as_user_id.
  user 2, a teacher in every course, uses "{teacher}".
  users 3..5, students in every course, use these tokens in turn:
    {students}.

throttle:
  Canvas's leaky bucket per access token: each request reserves
  --up-front-cost, is refused (403, or 429 with --throttle-status 429) when
  the bucket reaches --throttle-hwm, and leaks at --throttle-outflow units a
  second. Every answer carries X-Rate-Limit-Remaining and, unless throttled,
  X-Request-Cost.

faults:
  --fail-rate answers 500 without making the change; --drop-rate makes the
  change, then closes the connection without answering. --random-seed makes
  both repeatable.

The server speaks plain HTTP, is meant for 127.0.0.1, keeps everything in
memory and forgets it when stopped.

examples:
  bulkmod sandbox --courses 50 --seed-export jobs/exports/web-multimedia-cis300
      serve 50 courses holding that export's content; the first line printed
      is the base URL, e.g. http://127.0.0.1:8000; then, elsewhere:
      CANVAS_BASE_URL=http://127.0.0.1:8000 CANVAS_TOKEN=sandbox-token \\
      bulkmod run jobs/term-start.jsonl
  bulkmod sandbox --port 8001 --fail-rate 0.05 --drop-rate 0.05 --random-seed 1
      a Canvas that fails now and then, to watch a run cope
"""


def main(argv: list[str] | None = None) -> int:
    """Serve the sandbox as the command line asks; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = _config(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        asyncio.run(_serve(config))
    except KeyboardInterrupt:
        pass
    except (ExportError, OSError) as error:
        # A bad export or a port already taken: nothing was served.
        print(f"bulkmod sandbox: {error}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of ``bulkmod sandbox``'s flags."""
    parser = argparse.ArgumentParser(
        prog="bulkmod sandbox",
        description=_DESCRIPTION,
        epilog=_EPILOG.format(
            teacher=TEACHER_TOKEN,
            students=", ".join(f'"{token}"' for token in STUDENT_TOKENS),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    add("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    add("--courses", type=int, default=3, metavar="N", help="courses 1..N (3)")
    add(
        "--seed-export",
        type=Path,
        metavar="DIR",
        help="course export (folder or .imscc) whose content every course gets",
    )
    add("--token", default="sandbox-token", help="the admin's access token")
    add("--throttle-hwm", type=float, default=600.0, help="high-water mark (600)")
    add(
        "--throttle-outflow",
        type=float,
        default=10.0,
        help="units the bucket leaks a second (10)",
    )
    add(
        "--up-front-cost",
        type=float,
        default=50.0,
        help="units reserved by each request while it runs (50)",
    )
    add(
        "--request-cost",
        type=float,
        help="a fixed cost for every request instead of the built-in model",
    )
    add(
        "--no-throttle",
        action="store_true",
        help="never refuse a request (the headers are still sent)",
    )
    add(
        "--throttle-status",
        type=int,
        choices=(403, 429),
        default=403,
        help="status of throttled answers (403)",
    )
    add(
        "--auth-error-status",
        type=int,
        choices=(401, 403),
        default=401,
        help="status of 'user not authorized' answers (401)",
    )
    add("--latency-ms", type=float, default=0.0, help="delay of every answer")
    add("--fail-rate", type=float, default=0.0, help="fraction answered 500")
    add("--drop-rate", type=float, default=0.0, help="fraction dropped after acting")
    add("--random-seed", type=int, help="seed of the fault injection")
    return parser


def _config(args: argparse.Namespace) -> SandboxConfig:
    if args.courses < 0:
        raise ValueError("--courses may not be negative")
    for name in ("fail_rate", "drop_rate"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1")
    return SandboxConfig(
        host=args.host,
        port=args.port,
        courses=args.courses,
        seed_export=args.seed_export,
        token=args.token,
        throttle_hwm=args.throttle_hwm,
        throttle_outflow=args.throttle_outflow,
        up_front_cost=args.up_front_cost,
        request_cost=args.request_cost,
        throttle=not args.no_throttle,
        throttle_status=args.throttle_status,
        auth_error_status=args.auth_error_status,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        drop_rate=args.drop_rate,
        random_seed=args.random_seed,
    )


async def _serve(config: SandboxConfig) -> None:
    """Serve until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with serve_sandbox(config) as sandbox:
            sys.stdout.write(sandbox.base_url + "\n")
            sys.stdout.flush()
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
