"""Checking that an answer has the shape Canvas gives before it is read.

A module, item or course in Canvas's JSON is an object whose ``id`` is a
whole number above zero. Anything else in a success answer means the base
URL points at something that is not Canvas, or a proxy spoilt the answer: a
:class:`~bulkmod.client.errors.BadAnswerError` says which request and what
was wrong. Each check is a few comparisons; nothing is copied.
"""

from __future__ import annotations

from typing import Any

from bulkmod.client.errors import BadAnswerError
from bulkmod.client.urls import API_PREFIX

#: The field that names an entry of a list, where it is not ``id``: Canvas
#: names a page by its ``url``.
_NAMING_FIELD = {"page": "url"}


def canvas_id(value: Any) -> int | None:
    """``value`` if it is a Canvas id (an int above 0, not a bool), else None."""
    # type() rather than isinstance(): True is an int to isinstance.
    if type(value) is int and value > 0:
        return value
    return None


def where(method: str, path: str) -> str:
    """Name a request for a message: ``GET /api/v1/courses/1/modules``."""
    if not path.startswith(API_PREFIX + "/"):
        path = API_PREFIX + path
    return f"{method} {path}"


def checked_object(answer: Any, kind: str, method: str, path: str) -> dict[str, Any]:
    """``answer`` if it is a JSON object with a Canvas ``id``.

    ``kind`` names what was expected ("module"), ``method`` and ``path`` the
    request it answered. Raise :class:`BadAnswerError` otherwise.
    """
    if not isinstance(answer, dict):
        problem = f"{_json_kind(answer)}, not an object"
    elif canvas_id(answer.get("id")) is None:
        problem = _id_problem(answer)
    else:
        return answer
    raise _bad(f"{method} {path}", kind, problem)


def checked_entries(listed: Any, kind: str, request: str) -> list[dict[str, Any]]:
    """``listed`` if it is a list of JSON objects, each named as ``kind`` is.

    Entries are named by a Canvas ``id``, pages by a non-empty ``url``.
    Raise :class:`BadAnswerError` otherwise.
    """
    if not isinstance(listed, list):
        raise _bad(request, f"{kind} list", f"{_json_kind(listed)}, not a list")
    naming = _NAMING_FIELD.get(kind, "id")
    for number, entry in enumerate(listed, start=1):
        if not isinstance(entry, dict):
            problem = f"entry {number} is {_json_kind(entry)}, not an object"
            raise _bad(request, f"{kind} list", problem)
        if naming == "id":
            if canvas_id(entry.get("id")) is None:
                problem = f"entry {number}: {_id_problem(entry)}"
                raise _bad(request, f"{kind} list", problem)
        elif not isinstance(entry.get(naming), str) or not entry[naming]:
            problem = f"entry {number} has no {naming}"
            raise _bad(request, f"{kind} list", problem)
    return listed


def _bad(request: str, kind: str, problem: str) -> BadAnswerError:
    article = "an" if kind[0] in "aeiou" else "a"
    return BadAnswerError(
        f"Canvas answered {request} with something that is not {article} {kind} "
        f"({problem}); check that the base URL points at Canvas"
    )


def _id_problem(entry: dict[str, Any]) -> str:
    if "id" not in entry:
        return "no id"
    shown = repr(entry["id"])
    if len(shown) > 40:
        shown = shown[:40] + "..."
    return f"id {shown} is not a whole number above 0"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an object"
