"""Canvas's rules for modules and items, as pure functions over plain data.

Both the sandbox and the planning tool follow these, so that what ``plan``
predicts is what the sandbox (and Canvas) does:

* positions follow Canvas's ``acts_as_list``: never clamped, never compacted
  by deletes, shifted by ranges on ``insert_at``;
* a prerequisite module must sit at a lower position than the module that
  needs it, or it is silently dropped;
* publishing a module cascades to its items, and an item's publish state
  cascades to the content it links to;
* completion requirement types, and which need a gradable item;
* the names a course export and the API give the same item type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

K = TypeVar("K")

#: Completion requirement types the items API accepts.
REQUIREMENT_TYPES = frozenset(
    {
        "must_view",
        "must_submit",
        "must_contribute",
        "min_score",
        "min_percentage",
        "must_mark_done",
    }
)

#: Requirement types Canvas keeps only on gradable items (others drop them).
SCORING_TYPES = frozenset({"must_submit", "min_score", "min_percentage"})

#: Export (internal class) name -> API item type.
API_TYPE_FOR_EXPORT = {
    "WikiPage": "Page",
    "Quizzes::Quiz": "Quiz",
    "Quiz": "Quiz",
    "DiscussionTopic": "Discussion",
    "Attachment": "File",
    "ContextModuleSubHeader": "SubHeader",
    "ExternalUrl": "ExternalUrl",
    "ContextExternalTool": "ExternalTool",
    "Assignment": "Assignment",
}

#: API item type -> export (internal class) name.
EXPORT_TYPE_FOR_API = {
    "Page": "WikiPage",
    "Quiz": "Quizzes::Quiz",
    "Discussion": "DiscussionTopic",
    "File": "Attachment",
    "SubHeader": "ContextModuleSubHeader",
    "ExternalUrl": "ExternalUrl",
    "ExternalTool": "ContextExternalTool",
    "Assignment": "Assignment",
}

#: API item types that link to content with a publish state of its own;
#: publishing or unpublishing the item does the same to that content.
PUBLISH_CASCADES_TO_CONTENT = frozenset(
    {"Assignment", "Quiz", "Discussion", "Page", "File"}
)

#: API item types that point at no content record.
CONTENTLESS_TYPES = frozenset({"SubHeader", "ExternalUrl"})

#: ``asset_type`` of the item sequence endpoint (lower case) -> API item type;
#: ``ModuleItem`` names the item itself.
SEQUENCE_ASSET_TYPES = {
    "moduleitem": "ModuleItem",
    "file": "File",
    "page": "Page",
    "discussion": "Discussion",
    "assignment": "Assignment",
    "quiz": "Quiz",
    "externaltool": "ExternalTool",
}

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_TRUE_WORDS = frozenset({"1", "true", "t", "on", "yes", "y"})
_ID = re.compile(r"^\d{1,19}$")


def to_i(value: Any) -> int:
    """Read a value as Ruby's ``to_i`` does: leading digits, else 0.

    ``"12abc"`` is 12, ``"abc"`` and ``""`` are 0, ``3.9`` is 3.
    """
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if value is None:
        return 0
    match = _LEADING_INT.match(str(value))
    return int(match.group(1)) if match else 0


def to_f(value: Any) -> float:
    """Read a value as Ruby's ``to_f`` does: a leading number, else 0.0."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    match = re.match(r"\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)", str(value or ""))
    return float(match.group(1)) if match else 0.0


def to_bool(value: Any) -> bool:
    """Read a flag as Canvas's ``value_to_boolean``: "1", "true", "on", "yes"..."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    if value is None:
        return False
    return str(value).strip().lower() in _TRUE_WORDS


def is_blank(value: Any) -> bool:
    """Whether Rails would call the value blank: None, "", whitespace, [], {}."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict | tuple):
        return not value
    return False


def api_ids(values: Iterable[Any]) -> list[int]:
    """Keep the plain numeric ids (1-19 digits) of a list, as integers."""
    kept: list[int] = []
    for value in values:
        text = str(value) if not isinstance(value, bool) else ""
        if _ID.match(text):
            kept.append(int(text))
    return kept


# positions


def next_position(positions: Iterable[int | None]) -> int:
    """Where a row with no position goes: one past the highest, or 1."""
    highest = max((p for p in positions if p is not None), default=None)
    return 1 if highest is None else highest + 1


def insert_at(
    positions: Mapping[K, int | None], key: K, target: int
) -> dict[K, int | None]:
    """Move ``key`` to ``target`` among ``positions``; answer the changed rows.

    Rows between the old and the new place shift by one toward the gap.
    ``key`` absent or at None is "not in the list": every row at or after
    ``target`` moves down one. ``target`` is never clamped.
    """
    current = positions.get(key)
    changes: dict[K, int | None] = {}
    if current is None:
        for other, pos in positions.items():
            if other != key and pos is not None and pos >= target:
                changes[other] = pos + 1
    elif target < current:
        for other, pos in positions.items():
            if other != key and pos is not None and target <= pos <= current - 1:
                changes[other] = pos + 1
    elif target > current:
        for other, pos in positions.items():
            if other != key and pos is not None and current + 1 <= pos <= target:
                changes[other] = pos - 1
    else:
        return {}
    changes[key] = target
    return changes


def remove_from_list(positions: Mapping[K, int | None], key: K) -> dict[K, int | None]:
    """Take ``key`` out of the list: later rows move up one, ``key`` gets None."""
    current = positions.get(key)
    changes: dict[K, int | None] = {key: None}
    if current is None:
        return changes
    for other, pos in positions.items():
        if other != key and pos is not None and pos > current:
            changes[other] = pos - 1
    return changes


def place_new_item(
    live_positions: Mapping[K, int | None], requested: int | None
) -> tuple[int, dict[K, int | None]]:
    """Where a new item goes, and the live items that shift to make room.

    A requested slot that is taken pushes every live item at or after it down
    one; a free slot (even past the end) is kept as a gap; no request appends.
    """
    if requested is None:
        return next_position(live_positions.values()), {}
    taken = any(pos == requested for pos in live_positions.values())
    if not taken:
        return requested, {}
    shifts: dict[K, int | None] = {
        key: pos + 1
        for key, pos in live_positions.items()
        if pos is not None and pos >= requested
    }
    return requested, shifts


# prerequisites


def valid_prerequisites(
    prerequisites: Iterable[int], positions: Mapping[int, int], own_position: int
) -> list[int]:
    """Keep the prerequisites that sit before the module, in order.

    ``positions`` holds the course's not-deleted modules. A module missing
    from it counts as position 0, as Canvas does, so it survives on any
    module at a positive position (and is hidden when shown).
    """
    return [pre for pre in prerequisites if positions.get(pre, 0) < own_position]


# completion requirements


def is_gradable(item_type: str, content_has_assignment: bool) -> bool:
    """Whether an item can carry a scoring completion requirement.

    Assignments and quizzes always can; a discussion only when it is graded.
    """
    if item_type in ("Assignment", "Quiz"):
        return True
    return item_type == "Discussion" and content_has_assignment


def normalise_requirement(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A requirement as Canvas stores it: type, plus its float threshold."""
    kind = raw.get("type")
    stored: dict[str, Any] = {"type": kind}
    for threshold in ("min_score", "min_percentage"):
        if kind == threshold and raw.get(threshold) not in (None, ""):
            stored[threshold] = to_f(raw[threshold])
    return stored


def requirement_kept(kind: str, gradable: bool) -> bool:
    """Whether Canvas keeps a requirement of ``kind`` on such an item."""
    if kind in SCORING_TYPES:
        return gradable
    return kind in REQUIREMENT_TYPES


def requirement_type(requirement_count: int | None, has_requirements: bool) -> str:
    """``"one"`` when one of several requirements suffices, else ``"all"``."""
    return "one" if has_requirements and requirement_count == 1 else "all"
