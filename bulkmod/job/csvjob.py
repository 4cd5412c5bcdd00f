"""Turn the rows of a CSV job into the objects a JSON Lines job would hold.

A CSV job starts with a header row naming its columns. These columns are the
line's own fields:

- ``op``, ``course``, ``id``, ``as_user``: as in JSON Lines.
- ``module`` and ``item``: a number (an id), ``@ref`` (a reference to an
  earlier operation), ``*`` (every module, or every item of the module),
  ``name:Week 1`` (the module of that name) or ``title:Intro`` (the item of
  that title). Spaces around the name or title are dropped: ``name: Week 1``
  is ``Week 1``, as a module name with spaces at its ends is never what a
  spreadsheet means (a JSON Lines job keeps such a name as written).
- ``after``: ids of earlier operations separated by ``;`` or ``|``.

Every other column is a parameter, named by letters, digits and ``_`` only
(a header such as ``published]`` stops the job). A dotted header such as
``completion_requirement.type`` fills a nested object; ``content_title``
stands for ``content.title`` (the content an ``item.create`` looks up by
title). Values are typed by their parameter: ``true``/``false`` for
``published``, ``new_tab``, ``require_sequential_progress``,
``publish_final_grade`` and ``skip_content_tags``; whole numbers for
``position``, ``indent``, ``content_id``, ``module_id`` and
``requirement_count``; numbers for ``min_score`` and ``min_percentage``;
``prerequisite_module_ids`` holds ids and ``@refs`` separated by ``;`` or
``|`` (``[]`` clears them on ``module.update``). Every other parameter is
text, kept as written, so a module named ``2024`` stays a name.

An empty cell means the field is absent. Rows are named by the physical line
they start on, the header being line 1, so the rows of a CSV job and the
lines of its JSON Lines twin (with one blank first line) get the same
numbers and the same default ids.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

_OWN_FIELDS = frozenset({"op", "course", "module", "item", "id", "after", "as_user"})
_BOOLEANS = frozenset(
    {
        "published",
        "new_tab",
        "require_sequential_progress",
        "publish_final_grade",
        "skip_content_tags",
    }
)
_WHOLE = frozenset(
    {"position", "indent", "content_id", "module_id", "requirement_count"}
)
_NUMBERS = frozenset({"min_score", "min_percentage"})
_LISTS = frozenset({"prerequisite_module_ids"})
#: Headers that stand for a nested parameter of another name.
_ALIASES = {"content_title": ("content", "title")}

_SEPARATORS = re.compile(r"[;|]")
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


@dataclass(slots=True)
class CsvRow:
    """One row: the object its JSON Lines twin would hold, or its problems."""

    #: The physical line the row starts on (a quoted cell may span lines).
    line: int
    end_line: int
    data: dict[str, Any] | None
    #: ``(column, message)``.
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    #: Field path of the JSON object (``params.content.title``) -> header.
    columns: dict[str, str] = field(default_factory=dict)

    def column_for(self, path: str | None) -> str | None:
        """Name the column behind a field path of the JSON object."""
        if path is None:
            return None
        path = re.sub(r"\[[0-9]+\]", "", path)
        probe = path
        while probe:
            if probe in self.columns:
                return self.columns[probe]
            probe = probe.rpartition(".")[0]
        for known, column in self.columns.items():
            if known.startswith(path + "."):
                return column
        return path.removeprefix("params.")


def read_rows(lines: Iterable[str]) -> Iterator[CsvRow]:
    """Yield the rows after the header of a CSV job given as text lines.

    A header that cannot be used gives one row of problems and ends the job.
    """
    # Strict, so that a quote left open fails instead of quietly taking in the
    # rest of the file as one cell.
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    columns: dict[str, str] = {}
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            message = f"not CSV: {error}"
            if "unexpected end of data" in str(error):
                message = "a quoted cell is never closed"
            yield CsvRow(start, reader.line_num, None, [(None, message)])
            continue
        if not any(cell.strip() for cell in cells):
            continue

        if header is None:
            header = [cell.strip() for cell in cells]
            problems = _check_header(header)
            if problems:
                yield CsvRow(start, reader.line_num, None, problems)
                return
            columns = {_path_of(name): name for name in header if name}
            continue

        row = CsvRow(start, reader.line_num, None, columns=columns)
        row.data = _row_object(header, cells, row.problems)
        yield row


def _check_header(header: list[str]) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    for required in ("op", "course"):
        if required not in header:
            problems.append((required, "missing from the header row"))
    seen: set[str] = set()
    for name in header:
        path = _path_of(name)
        if name and path in seen:
            problems.append((name, "appears twice in the header row"))
        seen.add(path)
        if name and name not in _OWN_FIELDS:
            problems.extend(_check_column_name(name))
    return problems


def _check_column_name(name: str) -> list[tuple[str | None, str]]:
    # The parts become parameter names, which the line check holds to plain
    # names too; said here once for the column instead of once a row.
    keys = _ALIASES.get(name, tuple(name.split(".")))
    bad = [key for key in keys if key and not _PLAIN_NAME.fullmatch(key)]
    if not bad:
        return []
    return [(name, f"'{bad[0]}' is not a parameter name (letters, digits and _ only)")]


def _path_of(header: str) -> str:
    if header in _OWN_FIELDS:
        return header
    keys = _ALIASES.get(header, tuple(header.split(".")))
    return "params." + ".".join(keys)


def _row_object(
    header: list[str], cells: list[str], problems: list[tuple[str | None, str]]
) -> dict[str, Any]:
    if len(cells) > len(header):
        extra = [cell for cell in cells[len(header) :] if cell.strip()]
        if extra:
            problems.append(
                (None, f"{len(cells)} cells but {len(header)} columns in the header")
            )

    data: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=False):
        if not cell.strip():
            continue
        if not name:
            problems.append((None, "a value under a column with no name"))
            continue
        if name in _OWN_FIELDS:
            data[name] = _own_field(name, cell.strip(), problems)
            continue
        keys = _ALIASES.get(name, tuple(name.split(".")))
        if not all(keys):
            problems.append((name, "a header may not have an empty part"))
            continue
        _put(
            data.setdefault("params", {}), keys, _typed(keys[-1], cell), name, problems
        )
    return data


def _own_field(name: str, cell: str, problems: list[tuple[str | None, str]]) -> Any:
    if name in ("module", "item"):
        return _selector(name, cell, problems)
    if name == "after":
        return [part.strip() for part in _SEPARATORS.split(cell) if part.strip()]
    return cell


def _selector(name: str, cell: str, problems: list[tuple[str | None, str]]) -> Any:
    key = "name" if name == "module" else "title"
    if cell.isascii() and cell.isdigit():
        return int(cell)
    if cell.startswith(key + ":"):
        return {key: cell[len(key) + 1 :].strip()}
    if cell == "*" or cell.startswith("@"):
        return cell
    problems.append(
        (name, f"'{cell}' is not an id, @ref, * or {key}:<{key}> (write {key}:{cell})")
    )
    return None


def _typed(key: str, cell: str) -> Any:
    text = cell.strip()
    if key in _BOOLEANS and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if key in _WHOLE and _WHOLE_NUMBER.fullmatch(text):
        return int(text)
    if key in _NUMBERS:
        try:
            number = float(text)
        except ValueError:
            return cell
        return int(number) if _WHOLE_NUMBER.fullmatch(text) else number
    if key in _LISTS:
        if text == "[]":
            return []
        parts = [part.strip() for part in _SEPARATORS.split(text) if part.strip()]
        return [int(part) if part.isdigit() else part for part in parts]
    if key in _BOOLEANS | _WHOLE:
        return text
    return cell


def _put(
    params: dict[str, Any],
    keys: tuple[str, ...],
    value: Any,
    column: str,
    problems: list[tuple[str | None, str]],
) -> None:
    target = params
    for key in keys[:-1]:
        inner = target.setdefault(key, {})
        if not isinstance(inner, dict):
            problems.append((column, f"conflicts with the column '{key}'"))
            return
        target = inner
    if keys[-1] in target:
        problems.append((column, "conflicts with another column"))
        return
    target[keys[-1]] = value
