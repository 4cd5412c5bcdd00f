"""Check one decoded line of a job on its own and build its Operation.

Everything that can be said about a line without looking at other lines is
said here: its shape, the type of every field, the course and id forms, the
fields its operation requires or forbids, and its params. What needs other
lines (references, duplicate ids) is left to the whole-job check, which gets
the references this line makes in :attr:`LineCheck.refs`.
"""

from __future__ import annotations

import difflib
import enum
import re
from dataclasses import dataclass, field
from typing import Any

from bulkmod.job.model import OPS, ByName, Every, Operation, Ref, Selector
from bulkmod.job.params import ParamCheck, check_params

#: The fields a line may carry; anything else is most likely a typo.
TOP_FIELDS = ("op", "course", "module", "item", "params", "id", "after", "as_user")
_TOP_FIELD_SET = frozenset(TOP_FIELDS)

#: Canvas's id forms for a course, as ``api_find`` reads them.
COURSE_FORMS = (
    "hex:sis_course_id:",
    "sis_course_id:",
    "sis_integration_id:",
    "lti_context_id:",
    "uuid:",
)
_USER_FORM = "sis_user_id:"

#: Canvas's own id pattern: one to nineteen digits.
_ID_DIGITS = re.compile(r"[0-9]{1,19}")
_DEFAULT_ID = re.compile(r"L[0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
#: A course id form goes into a URL path: these would change which path it is.
_PATH_LIKE = ("/", "..", "?", "#", "%")

_MODULE_OPS = frozenset(
    name for name in OPS if name.startswith("module.") and name != "module.list"
)
_ITEM_OPS = frozenset(
    name for name in OPS if name.startswith("item.") and name != "item.list"
)
#: ``"module": "*"`` means "do this to every module": sensible for these.
_MODULE_FAN_OUT = frozenset(
    {
        "module.update",
        "module.delete",
        "module.relock",
        "module.publish",
        "module.unpublish",
        "item.list",
    }
)
#: ``"item": "*"`` means "do this to every item of the module".
_ITEM_FAN_OUT = frozenset(
    {"item.update", "item.delete", "item.done", "item.undone", "item.mark_read"}
)


class Kind(enum.IntEnum):
    """What a line's operation acts on, as a reference to it would see it."""

    #: A blank line, or no line at all.
    NONE = 0
    #: A line with problems: nothing may refer to it.
    INVALID = 1
    #: A list or a sequence: no single object to refer to.
    OTHER = 2
    MODULE = 3
    ITEM = 4
    #: A ``"*"`` operation: many objects, so none to refer to.
    FAN_OUT = 5


#: What each operation acts on, as a reference to its line would see it.
_OP_KINDS = {
    name: Kind.MODULE
    if name in _MODULE_OPS
    else Kind.ITEM
    if name in _ITEM_OPS
    else Kind.OTHER
    for name in OPS
}


@dataclass(frozen=True, slots=True)
class RefUse:
    """One place where a line names an earlier operation."""

    target: str
    field: str
    #: The kind of operation the reference needs; None accepts any one object.
    want: Kind | None
    #: An ``after`` entry: only the outcome matters, any valid line will do.
    after: bool = False


@dataclass(slots=True)
class LineCheck:
    """What one line is: its operation, or its problems, and what it refers to."""

    line: int
    operation: Operation | None = None
    #: ``(field, message)``; field is a dotted path such as ``params.type``.
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    #: The line's ``id`` when it is written validly, even on a line with problems.
    declared_id: str | None = None
    #: What the line's operation acts on; :attr:`Kind.INVALID` while the
    #: line has problems.
    kind: Kind = Kind.INVALID
    course: str | None = None
    refs: list[RefUse] = field(default_factory=list)
    #: The operation's name, and whether it runs as another user: set with
    #: :attr:`kind`, whether or not the Operation itself was built.
    op: str | None = None
    as_user: bool = False


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest choice, or nothing."""
    by_case = {choice.lower(): choice for choice in choices}
    close = [by_case[word.lower()]] if word.lower() in by_case else []
    close = close or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_op_id(value: Any) -> str | None:
    """Say what is wrong with an operation id as written, or None."""
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be empty"
    if "/" in value:
        return "must not contain '/' (fan-out results are named '<id>/<object id>')"
    if value.startswith("@"):
        return "must not start with '@' (that marks a reference)"
    # Every control character is unprintable: most ids need no search.
    if not value.isprintable() and _CONTROL.search(value):
        return "must not contain control characters"
    return None


def is_default_id(value: str) -> bool:
    """Tell whether ``value`` has the reserved form ``L<digits>``."""
    return value.startswith("L") and _DEFAULT_ID.fullmatch(value) is not None


def check_line(obj: Any, line: int, *, build: bool = True) -> LineCheck:
    """Check one decoded line and build its Operation when it has no problems.

    With ``build`` false the Operation is not built (a check of a whole job
    needs only what the line is, not the object to run).
    """
    result = LineCheck(line)
    if not isinstance(obj, dict):
        result.problems.append((None, f"must be a JSON object, not {_kind_of(obj)}"))
        return result

    for key in obj:
        if key not in _TOP_FIELD_SET:
            hint = suggest(key, TOP_FIELDS)
            result.problems.append((key, f"unknown field{hint}"))

    own_id = _check_id(obj, result)
    op = _check_op(obj, result)
    course = _check_course(obj.get("course"), result)
    module, item = _check_selectors(obj, op, result)
    params = _check_params(obj, op, result)
    after = _check_after(obj.get("after"), own_id, result)
    as_user = _check_as_user(obj.get("as_user"), result)

    # Only well-formed references to other lines go on to the whole-job check,
    # so that each wrong reference is named once.
    references = result.refs
    if references:
        result.refs = []
    for use in references:
        problem = check_op_id(use.target)
        if problem is not None:
            result.problems.append((use.field, f"reference {problem}"))
        elif use.target == own_id:
            result.problems.append((use.field, "refers to its own line"))
        else:
            result.refs.append(use)

    if result.problems or op is None or course is None:
        return result

    result.kind = _kind_for(op, module, item)
    result.op = op
    result.as_user = as_user is not None
    if build:
        # In the order of Operation's fields (line, id, op, course, module,
        # item, params, after, as_user): a call by keyword costs more than the
        # checks of a short line.
        result.operation = Operation(
            line, own_id, op, course, module, item, params, after, as_user
        )
    return result


def without_at(entry: str) -> str:
    """An id as a reference or ``after`` writes it, without its ``@``."""
    return entry[1:] if entry.startswith("@") else entry


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _kind_for(op: str, module: Selector | None, item: Selector | None) -> Kind:
    if isinstance(module, Every) or isinstance(item, Every):
        return Kind.FAN_OUT
    return _OP_KINDS[op]


def _check_id(obj: dict[str, Any], result: LineCheck) -> str:
    default = f"L{result.line}"
    if "id" not in obj:
        return default
    value = obj["id"]
    problem = check_op_id(value)
    if problem is None and is_default_id(value) and value != default:
        problem = f"ids of the form L<number> are reserved (this line's is {default})"
    if problem is not None:
        result.problems.append(("id", problem))
        return default
    result.declared_id = value
    return str(value)


def _check_op(obj: dict[str, Any], result: LineCheck) -> str | None:
    if "op" not in obj:
        result.problems.append(("op", "missing"))
        return None
    op = obj["op"]
    if not isinstance(op, str):
        result.problems.append(("op", f"must be a string, not {_kind_of(op)}"))
        return None
    if op not in OPS:
        hint = suggest(op, list(OPS))
        result.problems.append(("op", f"unknown operation '{op}'{hint}"))
        return None
    return op


def _check_course(value: Any, result: LineCheck) -> str | None:
    course, problem = parse_course(value)
    if problem is not None:
        result.problems.append(("course", problem))
    result.course = course
    return course


def parse_course(value: Any) -> tuple[str | None, str | None]:
    """Return the course as Canvas reads it in a path, or what is wrong with it."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0 or value >= 10**19:
            return None, "must be a positive id of at most 19 digits"
        return str(value), None
    if not isinstance(value, str):
        if value is None:
            return None, "missing"
        if isinstance(value, float):
            return None, "must be a whole number or a string"
        return None, f"must be a number or a string, not {_kind_of(value)}"
    if value.isascii() and value.isdigit():
        if not _ID_DIGITS.fullmatch(value) or int(value) == 0:
            return None, "must be a positive id of at most 19 digits"
        return str(int(value)), None
    for form in COURSE_FORMS:
        if value.startswith(form):
            problem = _check_id_form(form, value[len(form) :])
            return (None, problem) if problem else (value, None)
    hint = ""
    if value.strip() and not _CONTROL.search(value):
        hint = f" (for an SIS id write 'sis_course_id:{value}')"
    forms = ", ".join(f"'{form}'" for form in COURSE_FORMS)
    return None, f"'{value}' is neither an id nor one of {forms}{hint}"


def _check_id_form(form: str, rest: str) -> str | None:
    if not rest:
        return f"nothing after '{form}'"
    if not rest.strip():
        return f"only whitespace after '{form}'"
    if rest != rest.strip():
        return f"spaces around the id after '{form}'"
    if not rest.isprintable() and _CONTROL.search(rest):
        return "must not contain control characters"
    if form.startswith("hex:"):
        if not _HEX.fullmatch(rest):
            return "the value of 'hex:sis_course_id:' must be hex digits, two a byte"
        try:
            bytes.fromhex(rest).decode("utf-8")
        except UnicodeDecodeError:
            return "the hex value of 'hex:sis_course_id:' is not UTF-8 text"
        return None
    for bad in _PATH_LIKE:
        if bad in rest:
            return (
                f"'{bad}' cannot go into a URL path as it is; "
                "write it hex-encoded as 'hex:sis_course_id:<hex>'"
            )
    return None


def _check_selectors(
    obj: dict[str, Any], op: str | None, result: LineCheck
) -> tuple[Selector | None, Selector | None]:
    spec = OPS.get(op) if op else None
    needs_module, needs_item = (
        (spec.needs_module, spec.needs_item) if spec else (None, None)
    )
    module = _check_selector(obj.get("module"), "module", needs_module, op, result)
    item = _check_selector(obj.get("item"), "item", needs_item, op, result)
    # No operation allows "*" for both, so a line fans out at most once.
    return module, item


#: For ``module`` and ``item``: the kind a reference there must name, the
#: key that selects by name, and the operations that may take ``"*"``.
_SELECTOR_RULES = {
    "module": (Kind.MODULE, "name", _MODULE_FAN_OUT),
    "item": (Kind.ITEM, "title", _ITEM_FAN_OUT),
}


def _check_selector(
    value: Any, name: str, needed: bool | None, op: str | None, result: LineCheck
) -> Selector | None:
    """Check the line's ``module`` or ``item`` (``name``) and return it parsed.

    ``needed`` tells whether the operation requires the field; it is None
    when the operation is not known, and then neither its absence nor its
    presence is a problem.
    """
    if value is None:
        if needed:
            result.problems.append((name, f"missing (required by {op})"))
        return None
    if needed is False:
        result.problems.append((name, f"not allowed with {op}"))
    want, key, fan = _SELECTOR_RULES[name]
    selector = _parse_selector(name, value, key, result)
    if isinstance(selector, Ref):
        result.refs.append(RefUse(selector.op_id, name, want))
    elif isinstance(selector, Every) and op and needed and op not in fan:
        result.problems.append((name, _no_fan_out(name, op)))
    return selector


def _no_fan_out(name: str, op: str) -> str:
    if op == "module.show":
        return "'*' is not allowed with module.show (module.list lists every module)"
    if op == "item.show":
        return "'*' is not allowed with item.show (item.list lists every item)"
    return f"'*' is not allowed with {op}; name one {name}"


def _parse_selector(
    name: str, value: Any, key: str, result: LineCheck
) -> Selector | None:
    if isinstance(value, bool):
        result.problems.append((name, "must be an id, not a boolean"))
        return None
    if isinstance(value, int):
        if value <= 0 or value >= 10**19:
            result.problems.append((name, "must be a positive id of at most 19 digits"))
            return None
        return value
    if isinstance(value, str):
        if value == "*":
            return Every()
        if value.startswith("@"):
            return _parse_ref(name, value[1:], result)
        if value.isascii() and value.isdigit():
            if _ID_DIGITS.fullmatch(value) and int(value) > 0:
                return int(value)
            result.problems.append((name, "must be a positive id of at most 19 digits"))
            return None
        result.problems.append(
            (
                name,
                f"'{value}' is not an id, '@ref', '*' or "
                f'{{"{key}": ...}} (to select by {key}, write {{"{key}": "{value}"}})',
            )
        )
        return None
    if isinstance(value, dict):
        if len(value) == 1 and "ref" in value:
            return _parse_ref(f"{name}.ref", value["ref"], result)
        if len(value) == 1 and key in value:
            text = value[key]
            if not isinstance(text, str) or not text.strip():
                result.problems.append((f"{name}.{key}", "must be a non-empty string"))
                return None
            return ByName(text)
        wanted = f'{{"{key}": "..."}} or {{"ref": "..."}}'
        result.problems.append((name, f"an object here must be {wanted}"))
        return None
    result.problems.append((name, f"must be an id, not {_kind_of(value)}"))
    return None


def _parse_ref(where: str, target: Any, result: LineCheck) -> Ref | None:
    # The form of the id is checked with every other reference.
    if not isinstance(target, str):
        result.problems.append((where, "a reference must be a string id"))
        return None
    return Ref(target)


def _check_params(
    obj: dict[str, Any], op: str | None, result: LineCheck
) -> dict[str, Any]:
    if "params" not in obj:
        raw: Any = {}
    else:
        raw = obj["params"]
        if not isinstance(raw, dict):
            result.problems.append(
                ("params", f"must be an object, not {_kind_of(raw)}")
            )
            return {}
    checked: ParamCheck = check_params(op, raw)
    result.problems.extend(checked.problems)
    for target, where, module_ref in checked.refs:
        result.refs.append(RefUse(target, where, Kind.MODULE if module_ref else None))
    return checked.params


def _check_after(value: Any, own_id: str, result: LineCheck) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        result.problems.append(
            ("after", f"must be a list of ids, not {_kind_of(value)}")
        )
        return ()
    after: list[str] = []
    for index, entry in enumerate(value):
        where = f"after[{index}]"
        if not isinstance(entry, str):
            result.problems.append((where, "must be a string id"))
            continue
        entry = without_at(entry)
        result.refs.append(RefUse(entry, where, None, after=True))
        after.append(entry)
    return tuple(dict.fromkeys(after))


def _check_as_user(value: Any, result: LineCheck) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**19:
        return str(value)
    if isinstance(value, str) and _ID_DIGITS.fullmatch(value) and int(value) > 0:
        return str(int(value))
    if isinstance(value, str) and value.startswith(_USER_FORM):
        rest = value[len(_USER_FORM) :]
        # Sent as a query parameter, so only emptiness and control characters
        # can go wrong here.
        if rest.strip() and not _CONTROL.search(rest):
            return value
    result.problems.append(("as_user", "must be a user id or 'sis_user_id:<id>'"))
    return None
