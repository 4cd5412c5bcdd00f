"""Check the ``params`` of one operation and mark the references inside them.

Canvas ignores parameters it does not know, so unknown keys pass; the keys it
does know are checked for type, and each operation's required ones for
presence, so that a job fails here rather than half-way through a run.

Whatever the key, params are held to the shape Canvas reads from a form:

- every name, at every level, is a plain name of letters, digits and ``_``.
  Params are sent as ``module[name]=...``; a bracket in a name would let a
  line write a field it does not appear to (``"published]"`` reads as
  ``module[published]``) past the checks below;
- no string holds a control character (U+0000 to U+001F, tabs and line
  breaks included, and U+007F): no name, title or URL Canvas keeps needs one;
- objects and lists nest at most :data:`MAX_DEPTH` levels, params itself
  being the first: Canvas's own fields nest three at most.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from bulkmod.job.model import ITEM_TYPES, Ref

_BOOLEANS = frozenset(
    {
        "published",
        "new_tab",
        "require_sequential_progress",
        "publish_final_grade",
        "skip_content_tags",
    }
)
_TEXTS = frozenset({"name", "title", "page_url", "search_term"})

#: How deep objects and lists may nest in params, params itself counting as
#: the first level. Canvas's fields need three; the limit leaves room for
#: fields it may add, and keeps every walk over params far from Python's
#: recursion limit (a job line may nest a thousand levels and still parse).
MAX_DEPTH = 16

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Keys whose value is the id of a Canvas object, so ``"@x"`` there is a
#: reference; anywhere else ``"@x"`` is just text (a title may start with @).
_ID_KEYS = frozenset({"content_id", "module_id", "asset_id"})
_MODULE_ID_KEYS = frozenset({"module_id", "prerequisite_module_ids"})
#: The values that may hold something to mark or to report: numbers,
#: booleans and null are kept as they are without a look.
_MARKABLE = (str, dict, list)
#: Keys whose list holds ids, so ``"@x"`` in that list is a reference.
_ID_LIST_KEYS = _ID_KEYS | _MODULE_ID_KEYS

#: The types Canvas's controller accepts; anything else is refused with 400.
COMPLETION_TYPES = (
    "must_view",
    "must_submit",
    "must_contribute",
    "min_score",
    "min_percentage",
    "must_mark_done",
)
#: ``asset_type`` of the item sequence; Canvas compares it case-insensitively.
ASSET_TYPES = (
    "ModuleItem",
    "File",
    "Page",
    "Discussion",
    "Assignment",
    "Quiz",
    "ExternalTool",
)
#: Item types found by ``content_id`` (or a content title looked up by type).
_CONTENT_TYPES = frozenset({"File", "Discussion", "Assignment", "Quiz"})
#: What an item of each type may give to name its content, the first being
#: the one a problem names; a type not here (SubHeader) needs a title.
_ITEM_NEEDS: dict[str, tuple[str, ...]] = {
    "Page": ("page_url", "content"),
    **{kind: ("content_id", "content") for kind in _CONTENT_TYPES},
    "ExternalUrl": ("external_url",),
    "ExternalTool": ("external_url", "content_id", "content"),
}
#: Names met on nearly every line, known to be plain: checked by a set lookup.
_KNOWN_NAMES = (
    _BOOLEANS
    | _TEXTS
    | _ID_KEYS
    | _MODULE_ID_KEYS
    | {
        "type",
        "position",
        "indent",
        "unlock_at",
        "external_url",
        "content",
        "completion_requirement",
        "min_score",
        "min_percentage",
        "asset_type",
        "ref",
    }
)


@dataclass(slots=True)
class ParamCheck:
    """Checked params: the Operation's params, problems and references."""

    params: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    #: ``(target id, field, is a module reference)``.
    refs: list[tuple[str, str, bool]] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        """Record a problem at ``params.<where>``."""
        self.problems.append((f"params.{where}", message))


def check_params(op: str | None, raw: dict[str, Any]) -> ParamCheck:
    """Check ``raw`` (a line's params object) for operation ``op``."""
    check = ParamCheck()
    params = _marked(raw, check)
    check.params = params

    for key, value in params.items():
        check_key = _KEY_CHECKS.get(key)
        if check_key is not None:
            check_key(op, key, value, check)

    if op == "module.create":
        _require_text(params, "name", check)
    elif op == "item.create":
        _check_item_create(params, check)
    elif op == "sequence.get":
        _check_sequence(params, check)
    if "content" in params and op != "item.create":
        check.problem("content", "only item.create looks content up by title")
    return check


def marked_params(raw: dict[str, Any]) -> dict[str, Any]:
    """The params of a line already checked, each reference in them a Ref.

    What :func:`check_params` gives as the Operation's params, for a line
    known to have no problem: nothing is checked that is not on the way.
    """
    return _marked(raw, ParamCheck())


def _marked(raw: dict[str, Any], check: ParamCheck) -> dict[str, Any]:
    """A copy of ``raw`` with its references made Refs; known names only."""
    params = {}
    for key, value in raw.items():
        if key in _KNOWN_NAMES or _check_name(key, "params", check):
            if isinstance(value, _MARKABLE):
                module_ref = key in _MODULE_ID_KEYS
                value = _mark_refs(value, key, key, module_ref, check, 2)
            params[key] = value
    return params


def _mark_refs(
    value: Any, where: str, key: str, module_ref: bool, check: ParamCheck, depth: int
) -> Any:
    """Return ``value`` with every reference in it made a :class:`Ref`.

    ``value`` is one of :data:`_MARKABLE`. ``where`` is its path in params
    and ``key`` the last name on that path (``title`` for ``content.title``,
    ``ids`` for ``ids[0]``).
    ``depth`` is the level ``value`` would be at as an object or a list; the
    walk stops at :data:`MAX_DEPTH`, so it never recurses deeper than that.
    On the way, names and strings are held to the shape params must have.
    """
    if isinstance(value, str):
        if not value.isprintable() and _CONTROL.search(value):
            check.problem(where, "must not contain control characters")
        elif value.startswith("@") and key in _ID_KEYS:
            return _make_ref(value[1:], where, module_ref, check)
        return value
    if depth > MAX_DEPTH:
        _too_deep(where, check)
        return value
    if isinstance(value, dict):
        if "ref" in value:
            if len(value) != 1:
                check.problem(where, 'a reference is {"ref": "<id>"} and nothing else')
                return value
            return _make_ref(value["ref"], f"{where}.ref", module_ref, check)
        return {
            inner: _mark_refs(
                item, f"{where}.{inner}", inner, module_ref, check, depth + 1
            )
            if isinstance(item, _MARKABLE)
            else item
            for inner, item in value.items()
            if inner in _KNOWN_NAMES or _check_name(inner, f"params.{where}", check)
        }
    marked = []
    is_id = key in _ID_LIST_KEYS
    for index, item in enumerate(value):
        inner_where = f"{where}[{index}]"
        if is_id and isinstance(item, str) and item.startswith("@"):
            marked.append(_make_ref(item[1:], inner_where, module_ref, check))
            continue
        if isinstance(item, _MARKABLE):
            item = _mark_refs(item, inner_where, key, module_ref, check, depth + 1)
        marked.append(item)
    return marked


def _check_name(name: str, where: str, check: ParamCheck) -> bool:
    """Tell whether ``name`` may be a parameter name; record why not if not."""
    if _PLAIN_NAME.fullmatch(name):
        return True
    if not name:
        message = "a parameter name must not be empty"
    else:
        shown = orjson.dumps(name).decode()[1:-1]
        message = f"'{shown}' is not a parameter name (letters, digits and _ only)"
    check.problems.append((where, message))
    return False


def _too_deep(where: str, check: ParamCheck) -> None:
    # Named once, at the parameter it happens in, however many branches do.
    top = where.split(".", 1)[0].split("[", 1)[0]
    problem = (
        f"params.{top}",
        f"objects and lists nest more than {MAX_DEPTH} levels deep (counting params)",
    )
    if problem not in check.problems:
        check.problems.append(problem)


def _make_ref(target: Any, where: str, module_ref: bool, check: ParamCheck) -> Any:
    # The form of the id itself is checked with every other reference.
    if not isinstance(target, str):
        check.problem(where, "a reference must be a string id")
        return target
    check.refs.append((target, f"params.{where}", module_ref))
    return Ref(target)


def _check_boolean(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not isinstance(value, bool):
        check.problem(key, "must be true or false")


def _check_text(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not isinstance(value, str):
        check.problem(key, "must be a string")


def _check_position(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not _is_int(value) or value < 1:
        check.problem(key, "must be a whole number of at least 1")


def _check_indent(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not _is_int(value) or value < 0:
        check.problem(key, "must be a whole number of at least 0")


def _check_object_id(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not isinstance(value, Ref) and _id_of(value) is None:
        check.problem(key, "must be a positive id or a reference")


def _check_asset_id(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not isinstance(value, Ref | str) and _id_of(value) is None:
        check.problem(key, "must be an id, a page url or a reference")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _id_of(value: Any) -> int | None:
    if _is_int(value) and 0 < value < 10**19:
        return int(value)
    digits = isinstance(value, str) and value.isascii() and value.isdigit()
    if digits and len(value) <= 19 and int(value) > 0:
        return int(value)
    return None


def _check_prerequisites(
    op: str | None, where: str, value: Any, check: ParamCheck
) -> None:
    if value == "" or value == []:
        if op == "module.create":
            # Canvas answers 500 to an empty value on create; leaving the key
            # out means the same thing.
            check.problem(
                where, "an empty value is only for module.update; leave it out"
            )
        return
    if not isinstance(value, list):
        check.problem(where, "must be a list of module ids or references")
        return
    for index, entry in enumerate(value):
        if not isinstance(entry, Ref) and _id_of(entry) is None:
            check.problem(f"{where}[{index}]", "must be a module id or a reference")


def _check_completion(
    op: str | None, where: str, value: Any, check: ParamCheck
) -> None:
    if value == "" and op == "item.update":
        return  # Canvas reads a blank requirement as "remove it".
    if not isinstance(value, dict):
        check.problem(where, "must be an object with a 'type'")
        return
    for key in value:
        if key not in ("type", "min_score", "min_percentage"):
            check.problem(f"{where}.{key}", "unknown field (type, min_score, ...)")
    kind = value.get("type")
    if kind is None:
        check.problem(f"{where}.type", "missing")
        return
    if kind not in COMPLETION_TYPES:
        close = difflib.get_close_matches(str(kind), COMPLETION_TYPES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else ""
        hint = f" ({hint or 'one of ' + ', '.join(COMPLETION_TYPES)})"
        check.problem(f"{where}.type", f"unknown completion requirement '{kind}'{hint}")
        return
    if kind in ("min_score", "min_percentage"):
        amount = value.get(kind)
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            check.problem(f"{where}.{kind}", f"a number is required with type {kind}")
        elif amount < 0 or (kind == "min_percentage" and amount > 100):
            check.problem(f"{where}.{kind}", "out of range")


def _check_content(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if not isinstance(value, dict) or len(value) != 1 or "title" not in value:
        check.problem("content", 'must be {"title": "..."}')
    elif not isinstance(value["title"], str) or not value["title"].strip():
        check.problem("content.title", "must be a non-empty string")


def _check_time(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if value is None:
        return
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
            return
        except ValueError:
            pass
    check.problem(key, "must be an ISO-8601 time such as 2025-09-01T08:00:00Z")


def _check_url(op: str | None, key: str, value: Any, check: ParamCheck) -> None:
    if isinstance(value, str):
        parts = urlsplit(value)
        if parts.scheme in ("http", "https") and parts.netloc:
            return
    check.problem(key, "must be an http:// or https:// URL")


#: The check of each key whose value Canvas reads in a known way; it is
#: called with the operation, the key, the value and the check to report to.
_KEY_CHECKS: dict[str, Callable[[str | None, str, Any, ParamCheck], None]] = {
    **{key: _check_boolean for key in _BOOLEANS},
    **{key: _check_text for key in _TEXTS},
    "position": _check_position,
    "indent": _check_indent,
    "content_id": _check_object_id,
    "module_id": _check_object_id,
    "asset_id": _check_asset_id,
    "prerequisite_module_ids": _check_prerequisites,
    "completion_requirement": _check_completion,
    "content": _check_content,
    "unlock_at": _check_time,
    "external_url": _check_url,
}


def _require_text(params: dict[str, Any], key: str, check: ParamCheck) -> None:
    value = params.get(key)
    if value is None:
        check.problem(key, "missing")
    elif isinstance(value, str) and not value.strip():
        check.problem(key, "must not be blank")


def _check_item_create(params: dict[str, Any], check: ParamCheck) -> None:
    kind = params.get("type")
    if kind is None:
        check.problem("type", "missing (one of " + ", ".join(ITEM_TYPES) + ")")
        return
    if kind not in ITEM_TYPES:
        names = ", ".join(ITEM_TYPES)
        check.problem("type", f"unknown item type '{kind}' (one of {names})")
        return

    given = params.keys()
    if "content" in given and not given.isdisjoint(("content_id", "page_url")):
        check.problem("content", "give content or content_id/page_url, not both")

    needs = _ITEM_NEEDS.get(kind)
    if needs is None:
        _require_text(params, "title", check)
        return
    if given.isdisjoint(needs):
        wanted = " or ".join(
            "content.title" if key == "content" else key for key in needs
        )
        article = "an" if kind[0] in "AEIOU" else "a"
        check.problem(needs[0], f"{article} {kind} item needs {wanted}")


def _check_sequence(params: dict[str, Any], check: ParamCheck) -> None:
    kind = params.get("asset_type")
    if kind is None:
        check.problem("asset_type", "missing (one of " + ", ".join(ASSET_TYPES) + ")")
    elif not isinstance(kind, str) or kind.lower() not in {
        name.lower() for name in ASSET_TYPES
    }:
        check.problem(
            "asset_type", f"unknown asset type (one of {', '.join(ASSET_TYPES)})"
        )
    if "asset_id" not in params:
        check.problem("asset_id", "missing")
