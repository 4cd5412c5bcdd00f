"""What the benchmarks share: a sandbox process, job files, measured runs.

Every benchmark runs the sandbox as its own process (``python -m bulkmod
sandbox --port 0``, first stdout line its URL) on 127.0.0.1 only, and runs
each client it measures as a child process, so that the CPU time and the
peak memory of one child can be read from ``os.wait4`` alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TOKEN = "bench-token"

#: Canvas's throttle as the sandbox applies it by default: 11 requests of
#: 50 units reserved each fit under the 600 high-water mark (the 12th reaches
#: it and is refused).
IN_FLIGHT_LIMIT = 11
#: Units a job can bank before the leak sets the pace: a request is refused
#: once the bucket reaches 600 with its own 50 reserved, so 550.
HEADROOM = 550.0


def machine() -> str:
    """Describe this machine in one short phrase: cores, CPU, Python, date."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores {cpu}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


# -- the sandbox process ------------------------------------------------------


@contextlib.contextmanager
def sandbox(*flags: str, courses: int = 50) -> Iterator[str]:
    """Run ``bulkmod sandbox`` with ``flags``; yield its base URL; stop it."""
    with sandbox_process(*flags, courses=courses) as (url, _pid):
        yield url


def cpu_seconds(pid: int) -> float:
    """User plus system seconds a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def sandbox_process(*flags: str, courses: int = 50) -> Iterator[tuple[str, int]]:
    """Like :func:`sandbox`, yielding the base URL and the process id."""
    command = [
        PYTHON,
        "-m",
        "bulkmod",
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--token",
        TOKEN,
        "--courses",
        str(courses),
        *flags,
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the sandbox did not start: {url!r}")
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- job files ----------------------------------------------------------------


def module_job(path: Path, courses: int, per_course: int, first: int = 1) -> int:
    """Write a job creating ``per_course`` modules in each course; return ops.

    Lines go course after course in turns (module 1 of every course, then
    module 2, ...), as a job generated over many course shells would, so
    that every lane has work from the start.
    """
    with path.open("wb") as out:
        for k in range(1, per_course + 1):
            for course in range(first, first + courses):
                line = {"op": "module.create", "course": course}
                line["params"] = {"name": f"Module {k}"}
                out.write(orjson.dumps(line) + b"\n")
    return courses * per_course


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary folder for jobs and results, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bulkmod-bench-") as name:
        yield Path(name)


# -- measured child processes -------------------------------------------------


@dataclass
class Measured:
    """One child process: wall time, CPU seconds, peak RSS, exit status."""

    wall: float
    user: float
    sys: float
    max_rss_mb: float
    status: int
    #: Whatever the caller read from the child's results afterwards.
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        """User plus system seconds."""
        return self.user + self.sys


def measure(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    stdout: int | None = subprocess.DEVNULL,
) -> Measured:
    """Run ``command`` to the end and return what it cost (``os.wait4``)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise TimeoutError(f"{command[:4]} ran longer than {timeout:g} s")
        time.sleep(0.005)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        status=proc.returncode,
    )


def bulkmod_run(
    url: str, job: Path, results: Path, *flags: str, timeout: float = 600.0
) -> Measured:
    """Run ``bulkmod run JOB`` against ``url``; read its results into extra."""
    if results.exists():
        results.unlink()
    measured = measure(
        [
            PYTHON,
            "-m",
            "bulkmod",
            "run",
            str(job),
            "--results",
            str(results),
            "--log-level",
            "error",
            *flags,
        ],
        env={"CANVAS_BASE_URL": url, "CANVAS_TOKEN": TOKEN},
        timeout=timeout,
    )
    measured.extra = read_results(results)
    return measured


def read_results(path: Path) -> dict[str, float]:
    """Count a results file's outcomes, requests and throttled answers."""
    counts = {"ops": 0.0, "ok": 0.0, "failed": 0.0, "requests": 0.0}
    counts["throttled"] = 0.0
    with path.open("rb") as lines:
        for raw in lines:
            line = orjson.loads(raw)
            status = line.get("status")
            if status is None:
                continue
            counts["ops"] += 1
            counts["ok" if status == "ok" else "failed"] += 1
            counts["requests"] += line.get("attempts") or 0
            counts["throttled"] += line.get("throttled") or 0
    return counts


# -- figures ------------------------------------------------------------------


def spread(values: Sequence[float], digits: int = 2) -> str:
    """``median (min-max, n)`` of ``values``, rounded to ``digits``."""
    med = statistics.median(values)
    return (
        f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f}, "
        f"n={len(values)})"
    )


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


# -- bulkmod and today's scripts under one throttle ---------------------------


@dataclass
class Compared:
    """Runs of each client against fresh sandboxes with the same flags.

    Each :class:`Measured` has ``extra`` with ``requests`` (all requests
    sent, ``/users/self`` included), ``throttled``, ``ok`` and ``failed``
    operations, and ``net`` (wall seconds less the start-up, measured as the
    wall time of a one-operation job just before, on the same sandbox).
    """

    bulkmod: list[Measured] = field(default_factory=list)
    serial: list[Measured] = field(default_factory=list)
    pool: list[Measured] = field(default_factory=list)


def compare_under_throttle(
    flags: Sequence[str],
    *,
    courses: int,
    per_course: int,
    runs: int,
    serial_runs: int,
    pool_runs: int,
) -> Compared:
    """Run the same module-creating job with bulkmod and with canvasapi."""
    compared = Compared()
    with workdir() as tmp:
        job, one = tmp / "job.jsonl", tmp / "one.jsonl"
        module_job(job, courses, per_course)
        module_job(one, 1, 1, first=courses + 1)
        for _ in range(runs):
            with sandbox(*flags, courses=courses + 1) as url:
                start = bulkmod_run(url, one, tmp / "one.results.jsonl")
                time.sleep(1.0)  # let the one-operation job's cost leak away
                run = bulkmod_run(url, job, tmp / "job.results.jsonl")
            run.extra["requests"] += 1  # GET /users/self, not in any result
            run.extra["net"] = run.wall - start.wall
            compared.bulkmod.append(run)
        for how, count, into in (
            ("serial", serial_runs, compared.serial),
            ("pool", pool_runs, compared.pool),
        ):
            for _ in range(count):
                with sandbox(*flags, courses=courses + 1) as url:
                    start = _today(how, url, 1, 1, tmp)
                    time.sleep(1.0)
                    into.append(_today(how, url, courses, per_course, tmp))
                into[-1].extra["net"] = into[-1].wall - start.wall
    return compared


def _today(how: str, url: str, courses: int, per_course: int, tmp: Path) -> Measured:
    counts = tmp / "today.json"
    script = str(ROOT / "benchmarks" / "today.py")
    run = measure(
        [PYTHON, script, how, url, str(courses), str(per_course), str(counts)]
    )
    run.extra = {
        key: float(value) for key, value in orjson.loads(counts.read_bytes()).items()
    }
    return run


def describe(name: str, runs: Sequence[Measured], best: float | None) -> str:
    """One client's figures: net time, share of the best, throttled, failed."""
    if not runs:
        return f"{name}: not run"
    nets = [run.extra["net"] for run in runs]
    throttled = [100 * run.extra["throttled"] / run.extra["requests"] for run in runs]
    failed = [run.extra["failed"] for run in runs]
    text = f"{name} {spread(nets)} s"
    if best is not None:
        text += f" = {100 * best / median(nets):.0f}% of best"
    return (
        f"{text}, throttled {spread(throttled, 1)}% of "
        f"{median([run.extra['requests'] for run in runs]):.0f} requests, "
        f"failed ops {spread(failed, 0)}"
    )


def throttle_args(doc: str, serial_runs: int) -> argparse.Namespace:
    """The flags the two throttle-bound benchmarks share."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    parser.add_argument("--courses", type=int, default=50)
    parser.add_argument("--per-course", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serial-runs", type=int, default=serial_runs)
    parser.add_argument("--pool-runs", type=int, default=3)
    return parser.parse_args()


def compare_from(flags: list[str], args: argparse.Namespace) -> Compared:
    """Run bulkmod and today's scripts on a sandbox with ``flags``."""
    return compare_under_throttle(
        flags,
        courses=args.courses,
        per_course=args.per_course,
        runs=args.runs,
        serial_runs=args.serial_runs,
        pool_runs=args.pool_runs,
    )


def throttle_line(
    title: str, args: argparse.Namespace, best: float, compared: Compared
) -> str:
    """The one line a throttle-bound benchmark prints."""
    ops = args.courses * args.per_course
    described = (
        describe("bulkmod", compared.bulkmod, best),
        describe("canvasapi loop", compared.serial, None),
        describe("canvasapi 30 threads", compared.pool, None),
    )
    return (
        f"{title}: {ops} module.create in {args.courses} courses, "
        f"best {best:.2f} s | " + " | ".join(described) + f" | {machine()}"
    )
