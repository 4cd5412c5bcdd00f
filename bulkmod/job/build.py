"""Build the Operation of a job line already checked, without checking it.

A run reads its job twice: the whole-job check reads every line first, and
nothing is sent unless all of them are good; the run then reads the job
again as it goes. While the file is still the one checked, its lines need
no second check, only to be built: :func:`build_checked` builds the very
Operation :func:`~bulkmod.job.linecheck.check_line` builds for a line with
no problem, at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any

from bulkmod.job.linecheck import TOP_FIELDS, without_at
from bulkmod.job.model import OPS, ByName, Every, Operation, Ref
from bulkmod.job.params import marked_params

_TOP_FIELD_SET = frozenset(TOP_FIELDS)

#: Types of param values that are never references nor hold one.
_SCALARS = frozenset({int, float, bool, type(None)})


def build_checked(obj: Any, line: int) -> Operation | None:
    """Build the Operation of a line already checked, without checking it.

    For a line that the check found no problem with: the same Operation
    :func:`~bulkmod.job.linecheck.check_line` builds. A value of a type no
    valid line has makes the answer None: the line is then to be checked.
    """
    if type(obj) is not dict or not obj.keys() <= _TOP_FIELD_SET:
        return None
    op = obj.get("op")
    course = obj.get("course")
    if type(op) is not str or op not in OPS:
        return None
    if type(course) is int:
        course = str(course)
    elif type(course) is not str:
        return None
    elif course.isascii() and course.isdigit():
        course = str(int(course))
    module = obj.get("module")
    if module is not None:
        module = _checked_selector(module, "name")
    item = obj.get("item")
    if item is not None:
        item = _checked_selector(item, "title")
    raw = obj.get("params", {})
    after = obj.get("after", ())
    as_user = obj.get("as_user")
    if module is _UNBUILT or item is _UNBUILT or type(raw) is not dict:
        return None
    if type(after) is not tuple:
        if type(after) is not list or not all(type(each) is str for each in after):
            return None
        after = tuple(dict.fromkeys(without_at(each) for each in after))
    if as_user is not None:
        if type(as_user) is int or (
            type(as_user) is str and as_user.isascii() and as_user.isdigit()
        ):
            as_user = str(int(as_user))
        elif type(as_user) is not str:
            return None
    params = dict(raw) if _plain(raw) else marked_params(raw)
    own_id = str(obj["id"]) if "id" in obj else f"L{line}"
    return Operation(line, own_id, op, course, module, item, params, after, as_user)


#: A selector :func:`build_checked` leaves to the check.
_UNBUILT = object()


def _checked_selector(value: Any, key: str) -> Any:
    """A checked line's ``module`` or ``item`` parsed, or :data:`_UNBUILT`."""
    kind = type(value)
    if kind is int:
        return value
    if kind is str:
        if value == "*":
            return Every()
        if value.startswith("@"):
            return Ref(value[1:])
        return int(value) if value.isascii() and value.isdigit() else _UNBUILT
    if kind is dict and len(value) == 1:
        if type(value.get("ref")) is str:
            return Ref(value["ref"])
        if type(value.get(key)) is str:
            return ByName(value[key])
    return _UNBUILT


def _plain(params: dict[str, Any]) -> bool:
    """Whether no value of ``params`` is or holds a reference."""
    for value in params.values():
        kind = type(value)
        if kind is str:
            if value.startswith("@"):
                return False
        elif kind not in _SCALARS:
            return False
    return True
