"""Refuse to write a job from an export when ``bulkmod validate`` would refuse it.

An export can hold what no job line may: a module with an empty title, an
item whose link is ``javascript:``, a name with a control character. Such a
job would be written, then refused whole by ``validate`` and ``run``; it is
better refused here, before anything is written, naming the module or item
of the export to fix.

The lines are checked by the job's own rules (each line, then references and
ids across lines), as the reader of the written job will check them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from bulkmod.export.reader import ExportError
from bulkmod.job.linecheck import check_line
from bulkmod.job.validate import check_objects

#: Problems named in the error; the rest are counted. An export that has more
#: is usually one mistake repeated (every title empty), and the first few say
#: what it is.
MAX_NAMED = 20


def refuse_invalid(lines: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Raise :class:`ExportError` if any of ``lines`` would not validate.

    ``lines`` are ``(what, line)``: the job lines of one course, each with the
    export's module or item it comes from, as the error names it.
    """
    described = list(lines)
    # As the reader of the written job sees them: through JSON.
    decoded = [orjson.loads(orjson.dumps(line)) for _, line in described]
    summary = check_objects(decoded, "<job>")
    if summary.ok:
        return

    # A line's own problems say what to fix; the lines that refer to it only
    # echo them ("has problems of its own"), so they are named only when no
    # line has problems of its own.
    problems = [
        (number, where, message)
        for number, obj in enumerate(decoded, start=1)
        for where, message in check_line(obj, number).problems
    ]
    count = len(problems)
    if not problems:
        problems = [(p.line, p.field, p.message) for p in summary.problems]
        count = summary.problem_count

    named = []
    for number, field, message in problems[:MAX_NAMED]:
        where = f"{field}: " if field else ""
        named.append(f"  {described[number - 1][0]}: {where}{message}")
    if count > len(named):
        named.append(f"  and {count - len(named)} more")
    noun = "problem" if count == 1 else "problems"
    raise ExportError(
        f"the job from this export would not validate ({count} {noun}); "
        "nothing was written. Fix these in the course, export it again:\n"
        + "\n".join(named)
    )


def shown(text: str) -> str:
    """Quote a title for a message, with control characters escaped."""
    return "'" + orjson.dumps(text).decode()[1:-1] + "'"
