"""Before the first write to a real Canvas: say what is about to happen, and ask.

A run against a Canvas whose host is not loopback first prints who the token
belongs to, the Canvas, and what the job will touch (courses, operations,
deletes, ``"*"`` fan-outs, lines acting as another user), then asks for
``yes`` on a terminal; when stdin is not a terminal it needs ``--yes``. A
loopback Canvas (the sandbox) runs without asking, unless ``--confirm``
asks for the same preflight there.

A confirmed run then checks, once per distinct ``as_user`` of the job, that
the token may act as that user (``GET /users/self?as_user_id=X``), and the
engine runs the first course alone before the others (the canary lane; see
:mod:`bulkmod.engine.run`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bulkmod.client.errors import CanvasError
from bulkmod.client.http import CanvasClient
from bulkmod.job.model import Operation
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import JobSummary

#: Distinct ``as_user`` values named in a refusal; the rest are counted.
_USERS_NAMED = 5


@dataclass
class JobScan:
    """What the preflight, the canary and the pilot need to know of a job."""

    #: Operations per course, courses in order of first appearance.
    per_course: dict[str, int] = field(default_factory=dict)
    #: Distinct ``as_user`` values, in order of first appearance.
    as_users: list[str] = field(default_factory=list)

    @property
    def courses(self) -> list[str]:
        """Courses as the job writes them, in order of first appearance."""
        return list(self.per_course)


def scan_job(path: Path) -> JobScan:
    """Read a checked job once for its course order and its ``as_user`` values."""
    scan = JobScan()
    users: dict[str, None] = {}
    for entry in read_operations(path):
        if not isinstance(entry, Operation):
            continue
        scan.per_course[entry.course] = scan.per_course.get(entry.course, 0) + 1
        if entry.as_user is not None:
            users[entry.as_user] = None
    scan.as_users = list(users)
    return scan


def describe(
    job: JobSummary,
    scan: JobScan,
    *,
    who: str,
    base_url: str,
    pilot: int | None,
) -> str:
    """The preflight text: who, where, and what the job will touch."""
    lines = [
        f"bulkmod: about to run {job.path} against {base_url}",
        f"  token of:    {who}",
        f"  operations:  {job.operations} on {job.courses} courses",
        f"  deletes:     {job.deletes} operations delete modules or items",
        f'  fan-outs:    {job.fan_outs} operations act on every module or item ("*")',
        f"  as users:    {job.as_user} operations act as another user "
        f"({len(scan.as_users)} distinct)",
    ]
    if pilot is not None:
        chosen = scan.courses[:pilot]
        operations = sum(scan.per_course[course] for course in chosen)
        lines.append(
            f"  pilot:       only the first {len(chosen)} courses "
            f"({', '.join(chosen[:10])}{', ...' if len(chosen) > 10 else ''}), "
            f"{operations} operations"
        )
    if scan.courses:
        lines.append(
            f"  first:       course {scan.courses[0]} runs alone first; a "
            "permission failure there stops the run before other courses"
        )
    return "\n".join(lines)


async def confirm(text: str, *, yes: bool, stdin: TextIO, stderr: TextIO) -> bool:
    """Show the preflight text and get a yes; answer whether the run may go on.

    ``--yes`` confirms at once. Otherwise a terminal is asked to type
    ``yes``; a stdin that is not a terminal is refused with a message.
    """
    print(text, file=stderr)
    if yes:
        print("bulkmod: confirmed by --yes", file=stderr)
        return True
    if not stdin.isatty():
        print(
            "bulkmod: stdin is not a terminal, so nobody can confirm this run; "
            "pass --yes to run it without asking. Nothing was changed.",
            file=stderr,
        )
        return False
    stderr.write("Type yes to go on: ")
    stderr.flush()
    answer = await asyncio.to_thread(stdin.readline)
    if answer.strip().lower() == "yes":
        return True
    print("bulkmod: not confirmed; nothing was changed", file=stderr)
    return False


async def check_as_users(client: CanvasClient, as_users: list[str]) -> str | None:
    """Check that the token may act as each user; answer what is wrong, or None."""
    refused: list[str] = []
    reason = ""
    for user in as_users:
        try:
            await client.request("GET", "/users/self", as_user=user)
        except CanvasError as err:
            if err.error_type not in ("unauthorized", "not_found"):
                raise
            refused.append(user)
            reason = reason or err.message
    if not refused:
        return None
    named = ", ".join(refused[:_USERS_NAMED])
    more = len(refused) - _USERS_NAMED
    if more > 0:
        named += f" and {more} more"
    return (
        f"the token may not act as user {named} (as_user of the job: {reason}); "
        "nothing was changed. Use an admin token that may act as these users, "
        "or remove as_user from those lines"
    )
