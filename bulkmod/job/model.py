"""What one line of a job means: the operation table and the parsed operation.

Every operation names a Canvas request. The table below is the single place
that says which request, which fields a line must carry, under which key
Canvas wraps the parameters (``module[name]``), and how safe the request is to
send again after its answer was lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Safety(enum.Enum):
    """How an operation may be sent again after its answer was lost."""

    #: A read: send it again.
    READ = "read"
    #: Sets a value; sending it twice leaves Canvas as sending it once.
    REPEATABLE = "repeatable"
    #: Removes something; a 404 after a lost answer means it was done.
    DELETE = "delete"
    #: Creates something; look in Canvas before sending it again.
    CREATE = "create"


@dataclass(frozen=True, slots=True)
class OpSpec:
    """The Canvas request behind one operation name."""

    name: str
    method: str
    #: Path under ``/api/v1`` with ``{course}``, ``{module}`` and ``{item}``.
    path: str
    #: Parameters are wrapped under this key (``module`` -> ``module[name]``).
    wrapper: str | None
    safety: Safety
    needs_module: bool
    needs_item: bool
    #: The answer is a list and every page is followed.
    lists: bool = False
    #: What the operation acts on: ``module``, ``item``, ``sequence``...
    kind: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", self.name.split(".", 1)[0])


_COURSE = "/courses/{course}"
_MODULES = _COURSE + "/modules"
_MODULE = _MODULES + "/{module}"
_ITEMS = _MODULE + "/items"
_ITEM = _ITEMS + "/{item}"

_SPECS = [
    OpSpec("module.list", "GET", _MODULES, None, Safety.READ, False, False, True),
    OpSpec("module.show", "GET", _MODULE, None, Safety.READ, True, False),
    OpSpec("module.create", "POST", _MODULES, "module", Safety.CREATE, False, False),
    OpSpec("module.update", "PUT", _MODULE, "module", Safety.REPEATABLE, True, False),
    OpSpec("module.delete", "DELETE", _MODULE, None, Safety.DELETE, True, False),
    OpSpec(
        "module.relock",
        "PUT",
        _MODULE + "/relock",
        None,
        Safety.REPEATABLE,
        True,
        False,
    ),
    OpSpec("module.publish", "PUT", _MODULES, None, Safety.REPEATABLE, True, False),
    OpSpec("module.unpublish", "PUT", _MODULES, None, Safety.REPEATABLE, True, False),
    OpSpec("item.list", "GET", _ITEMS, None, Safety.READ, True, False, True),
    OpSpec("item.show", "GET", _ITEM, None, Safety.READ, True, True),
    OpSpec("item.create", "POST", _ITEMS, "module_item", Safety.CREATE, True, False),
    OpSpec("item.update", "PUT", _ITEM, "module_item", Safety.REPEATABLE, True, True),
    OpSpec("item.delete", "DELETE", _ITEM, None, Safety.DELETE, True, True),
    OpSpec("item.done", "PUT", _ITEM + "/done", None, Safety.REPEATABLE, True, True),
    OpSpec(
        "item.undone", "DELETE", _ITEM + "/done", None, Safety.REPEATABLE, True, True
    ),
    OpSpec(
        "item.mark_read",
        "POST",
        _ITEM + "/mark_read",
        None,
        Safety.REPEATABLE,
        True,
        True,
    ),
    OpSpec(
        "sequence.get",
        "GET",
        _COURSE + "/module_item_sequence",
        None,
        Safety.READ,
        False,
        False,
    ),
]

#: Operation name -> its Canvas request.
OPS: dict[str, OpSpec] = {spec.name: spec for spec in _SPECS}

#: Item types Canvas accepts in ``module_item[type]``.
ITEM_TYPES = (
    "File",
    "Page",
    "Discussion",
    "Assignment",
    "Quiz",
    "SubHeader",
    "ExternalUrl",
    "ExternalTool",
)


@dataclass(frozen=True, slots=True)
class Ref:
    """The id of the object that an earlier operation created or acted on."""

    op_id: str


@dataclass(frozen=True, slots=True)
class ByName:
    """The one not-deleted module of this name (or item of this title)."""

    value: str


@dataclass(frozen=True, slots=True)
class Every:
    """``"*"``: every module of the course, or every item of the module."""


#: How a line names a module or an item.
Selector = int | Ref | ByName | Every


@dataclass(slots=True)
class Operation:
    """One line of a job, checked and parsed; not to be changed once built.

    ``params`` is the line's ``params`` object as written, except that every
    ``{"ref": "x"}`` and ``"@x"`` inside it is a :class:`Ref`. ``course`` is
    the course as Canvas reads it in a path: digits, or an id form such as
    ``sis_course_id:BIO-101``.

    Not a frozen dataclass, though it is used as one: a run builds one for
    every line, and a frozen one costs four times as much to build.
    """

    line: int
    id: str
    op: str
    course: str
    module: Selector | None = None
    item: Selector | None = None
    params: dict[str, Any] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    as_user: str | None = None
    #: Ids of the earlier operations this one needs (references and
    #: ``after``), worked out once: a run asks for every line.
    needs: tuple[str, ...] = field(init=False, repr=False, compare=False)
    #: The Canvas request behind this operation.
    spec: OpSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.spec = OPS[self.op]
        found: list[str] = []
        if isinstance(self.module, Ref):
            found.append(self.module.op_id)
        if isinstance(self.item, Ref):
            found.append(self.item.op_id)
        if self.params:
            _collect_refs(self.params, found)
        found.extend(self.after)
        # Most lines need nothing: no need to drop repeats then.
        self.needs = tuple(dict.fromkeys(found)) if found else ()

    def refs(self) -> list[str]:
        """Ids of the earlier operations this one needs: references and ``after``."""
        return list(self.needs)


#: Types whose values never are nor hold a :class:`Ref`: most values of params.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _collect_refs(value: Any, found: list[str]) -> None:
    if isinstance(value, Ref):
        found.append(value.op_id)
    elif isinstance(value, dict | list):
        inners = value.values() if isinstance(value, dict) else value
        for inner in inners:
            if type(inner) not in _PLAIN_TYPES:
                _collect_refs(inner, found)
