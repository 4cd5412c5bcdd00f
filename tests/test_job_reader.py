"""Reading a JSON Lines job: each line on its own, as Operation or Problems."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bulkmod.job.model import ByName, Every, Operation, Ref
from bulkmod.job.reader import Problem, read_operations

_TYPES = (
    "File, Page, Discussion, Assignment, Quiz, SubHeader, ExternalUrl, ExternalTool"
)
_ASSETS = "ModuleItem, File, Page, Discussion, Assignment, Quiz, ExternalTool"


def _write(tmp_path: Path, *lines: object, name: str = "job.jsonl") -> Path:
    path = tmp_path / name
    raw = [line if isinstance(line, bytes) else orjson.dumps(line) for line in lines]
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


def _read(tmp_path: Path, *lines: object) -> list[Operation | Problem]:
    return list(read_operations(_write(tmp_path, *lines)))


def _messages(tmp_path: Path, line: object) -> list[tuple[str | None, str]]:
    found = _read(tmp_path, line)
    assert all(isinstance(entry, Problem) for entry in found), found
    return [
        (entry.field, entry.message) for entry in found if isinstance(entry, Problem)
    ]


def test_valid_line_becomes_operation(tmp_path: Path) -> None:
    """A valid line gives an Operation with default id, course as a string."""
    line = {"op": "module.create", "course": 5, "params": {"name": "Week 1"}}
    assert _read(tmp_path, line) == [
        Operation(
            line=1, id="L1", op="module.create", course="5", params={"name": "Week 1"}
        )
    ]


def test_blank_lines_are_counted(tmp_path: Path) -> None:
    """Blank lines are skipped, yet the next line keeps its physical number."""
    line = orjson.dumps({"op": "module.list", "course": "7"})
    path = tmp_path / "job.jsonl"
    path.write_bytes(b"\n   \r\n" + line + b"\r\n\n")
    [operation] = list(read_operations(path))
    assert isinstance(operation, Operation)
    assert (operation.line, operation.id, operation.course) == (3, "L3", "7")


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    """A UTF-8 byte order mark before the first line is not part of the JSON."""
    path = tmp_path / "job.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps({"op": "module.list", "course": 1}))
    [operation] = list(read_operations(path))
    assert isinstance(operation, Operation)


@pytest.mark.parametrize(
    ("course", "expected"),
    [
        (5, "5"),
        ("0042", "42"),
        ("sis_course_id:BIO-101", "sis_course_id:BIO-101"),
        ("sis_integration_id:x.1", "sis_integration_id:x.1"),
        ("lti_context_id:abc", "lti_context_id:abc"),
        ("uuid:Xy12", "uuid:Xy12"),
        ("hex:sis_course_id:42494f2f31", "hex:sis_course_id:42494f2f31"),
        ("sis_course_id:Biología 101", "sis_course_id:Biología 101"),
    ],
)
def test_course_forms(tmp_path: Path, course: object, expected: str) -> None:
    """Courses given as ids or Canvas id forms are kept as Canvas reads them."""
    [operation] = _read(tmp_path, {"op": "module.list", "course": course})
    assert isinstance(operation, Operation)
    assert operation.course == expected


@pytest.mark.parametrize(
    ("course", "message"),
    [
        (0, "must be a positive id of at most 19 digits"),
        ("12345678901234567890", "must be a positive id of at most 19 digits"),
        (True, "must be a number or a string, not a boolean"),
        (
            "BIO-101",
            "'BIO-101' is neither an id nor one of 'hex:sis_course_id:', "
            "'sis_course_id:', 'sis_integration_id:', 'lti_context_id:', 'uuid:' "
            "(for an SIS id write 'sis_course_id:BIO-101')",
        ),
        ("sis_course_id:", "nothing after 'sis_course_id:'"),
        ("sis_course_id:   ", "only whitespace after 'sis_course_id:'"),
        (
            "sis_course_id:a/b",
            "'/' cannot go into a URL path as it is; "
            "write it hex-encoded as 'hex:sis_course_id:<hex>'",
        ),
        (
            "uuid:..",
            "'..' cannot go into a URL path as it is; "
            "write it hex-encoded as 'hex:sis_course_id:<hex>'",
        ),
        ("sis_course_id:a\tb", "must not contain control characters"),
        (
            "hex:sis_course_id:4g",
            "the value of 'hex:sis_course_id:' must be hex digits, two a byte",
        ),
        (
            "hex:sis_course_id:abc",
            "the value of 'hex:sis_course_id:' must be hex digits, two a byte",
        ),
        (
            "hex:sis_course_id:ff",
            "the hex value of 'hex:sis_course_id:' is not UTF-8 text",
        ),
    ],
)
def test_bad_courses(tmp_path: Path, course: object, message: str) -> None:
    """A course that Canvas would not find, or that breaks a path, is named."""
    line = {"op": "module.list", "course": course}
    assert _messages(tmp_path, line) == [("course", message)]


def test_selectors_are_parsed(tmp_path: Path) -> None:
    """Ids, digit strings, references, names, titles and '*' become selectors."""
    lines = [
        {"op": "module.show", "course": 1, "module": "12"},
        {"op": "item.show", "course": 1, "module": "@w1", "item": {"ref": "i1"}},
        {"op": "item.show", "course": 1, "module": {"name": "Week 1"}, "item": 3},
        {"op": "item.update", "course": 1, "module": 4, "item": {"title": "Intro"}},
        {"op": "module.publish", "course": 1, "module": "*"},
    ]
    found = _read(tmp_path, *lines)
    assert [(op.module, op.item) for op in found if isinstance(op, Operation)] == [
        (12, None),
        (Ref("w1"), Ref("i1")),
        (ByName("Week 1"), 3),
        (4, ByName("Intro")),
        (Every(), None),
    ]


def test_references_in_params(tmp_path: Path) -> None:
    """{"ref"} anywhere and "@x" in id fields are references; titles stay text."""
    params = {
        "name": "@home",
        "prerequisite_module_ids": ["@a", {"ref": "b"}, 4],
        "deep": [{"x": {"ref": "c"}}],
    }
    [operation] = _read(
        tmp_path, {"op": "module.create", "course": 1, "params": params}
    )
    assert isinstance(operation, Operation)
    assert operation.params == {
        "name": "@home",
        "prerequisite_module_ids": [Ref("a"), Ref("b"), 4],
        "deep": [{"x": Ref("c")}],
    }
    assert operation.refs() == ["a", "b", "c"]


def test_problem_text() -> None:
    """Problems read file:line: field: message, CSV ones row and column."""
    assert str(Problem("j.jsonl", 41, "params.type", "bad")) == (
        "j.jsonl:41: params.type: bad"
    )
    assert str(Problem("j.jsonl", 2, None, "not JSON")) == "j.jsonl:2: not JSON"
    assert str(Problem("j.csv", 3, "type", "bad")) == "j.csv:row 3: column 'type': bad"
    assert str(Problem("J.CSV", 3, None, "bad")) == "J.CSV:row 3: bad"


def test_line_level_problems(tmp_path: Path) -> None:
    """Bytes that are not UTF-8, text that is not JSON, JSON that is no object."""
    path = _write(tmp_path, b'{"op": "\xff"}', b'{"op": 1,}', b"[1, 2]", b'"x"')
    assert [str(problem) for problem in read_operations(path)] == [
        f"{path}:1: not UTF-8 (byte 0xff at offset 8)",
        f"{path}:2: not JSON: trailing comma is not allowed at column 9",
        f"{path}:3: must be a JSON object, not a list",
        f"{path}:4: must be a JSON object, not a string",
    ]


def test_unknown_op_and_field_suggest(tmp_path: Path) -> None:
    """An unknown op or top-level field is named with the closest known one."""
    line = {"op": "modul.create", "course": 1, "parmas": {"name": "x"}}
    assert _messages(tmp_path, line) == [
        ("parmas", "unknown field (did you mean 'params'?)"),
        ("op", "unknown operation 'modul.create' (did you mean 'module.create'?)"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"course": 1}, [("op", "missing")]),
        ({"op": 3, "course": 1}, [("op", "must be a string, not a number")]),
        (
            {"op": "module.update", "course": 1},
            [("module", "missing (required by module.update)")],
        ),
        (
            {"op": "module.create", "course": 1, "module": 3, "params": {"name": "a"}},
            [("module", "not allowed with module.create")],
        ),
        (
            {"op": "module.show", "course": 1, "module": 2, "item": 3},
            [("item", "not allowed with module.show")],
        ),
        (
            {"op": "item.delete", "course": 1, "module": 2},
            [("item", "missing (required by item.delete)")],
        ),
        (
            {
                "op": "item.create",
                "course": 1,
                "module": "*",
                "params": {"type": "SubHeader", "title": "t"},
            },
            [("module", "'*' is not allowed with item.create; name one module")],
        ),
        (
            {"op": "module.show", "course": 1, "module": "*"},
            [
                (
                    "module",
                    "'*' is not allowed with module.show "
                    "(module.list lists every module)",
                )
            ],
        ),
        (
            {"op": "item.update", "course": 1, "module": "*", "item": "*"},
            [("module", "'*' is not allowed with item.update; name one module")],
        ),
        (
            {"op": "module.show", "course": 1, "module": 0},
            [("module", "must be a positive id of at most 19 digits")],
        ),
        (
            {"op": "module.show", "course": 1, "module": "12345678901234567890"},
            [("module", "must be a positive id of at most 19 digits")],
        ),
        (
            {"op": "module.show", "course": 1, "module": True},
            [("module", "must be an id, not a boolean")],
        ),
        (
            {"op": "module.show", "course": 1, "module": "Week 1"},
            [
                (
                    "module",
                    "'Week 1' is not an id, '@ref', '*' or {\"name\": ...} "
                    '(to select by name, write {"name": "Week 1"})',
                )
            ],
        ),
        (
            {"op": "item.show", "course": 1, "module": 1, "item": {"name": "x"}},
            [("item", 'an object here must be {"title": "..."} or {"ref": "..."}')],
        ),
        (
            {"op": "module.show", "course": 1, "module": {"name": " "}},
            [("module.name", "must be a non-empty string")],
        ),
        (
            {"op": "module.show", "course": 1, "module": "@"},
            [("module", "reference must not be empty")],
        ),
        (
            {"op": "module.show", "course": 1, "module": {"ref": 5}},
            [("module.ref", "a reference must be a string id")],
        ),
    ],
)
def test_shape_and_selector_problems(
    tmp_path: Path, line: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    """Missing, forbidden and mistyped fields are named by field."""
    assert _messages(tmp_path, line) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"type": "Pgae"},
            [
                (
                    "params.type",
                    f"unknown item type 'Pgae' (one of {_TYPES})",
                )
            ],
        ),
        (
            {},
            [
                (
                    "params.type",
                    f"missing (one of {_TYPES})",
                )
            ],
        ),
        (
            {"type": "Page"},
            [("params.page_url", "a Page item needs page_url or content.title")],
        ),
        (
            {"type": "Quiz"},
            [("params.content_id", "a Quiz item needs content_id or content.title")],
        ),
        (
            {"type": "ExternalUrl", "title": "x"},
            [("params.external_url", "an ExternalUrl item needs external_url")],
        ),
        (
            {"type": "ExternalTool"},
            [
                (
                    "params.external_url",
                    "an ExternalTool item needs "
                    "external_url or content_id or content.title",
                )
            ],
        ),
        ({"type": "SubHeader"}, [("params.title", "missing")]),
        ({"type": "SubHeader", "title": ""}, [("params.title", "must not be blank")]),
        (
            {"type": "ExternalUrl", "external_url": "ftp://x"},
            [("params.external_url", "must be an http:// or https:// URL")],
        ),
        (
            {"type": "Page", "content": {"name": "x"}},
            [("params.content", 'must be {"title": "..."}')],
        ),
        (
            {"type": "Page", "page_url": "a", "content": {"title": "A"}},
            [("params.content", "give content or content_id/page_url, not both")],
        ),
        (
            {"type": "File", "content_id": "x"},
            [("params.content_id", "must be a positive id or a reference")],
        ),
        (
            {"type": "SubHeader", "title": "t", "position": 0},
            [("params.position", "must be a whole number of at least 1")],
        ),
        (
            {"type": "SubHeader", "title": "t", "indent": -1},
            [("params.indent", "must be a whole number of at least 0")],
        ),
        (
            {"type": "SubHeader", "title": "t", "new_tab": "yes"},
            [("params.new_tab", "must be true or false")],
        ),
        ({"type": "SubHeader", "title": 5}, [("params.title", "must be a string")]),
        (
            {
                "type": "Assignment",
                "content_id": 3,
                "completion_requirement": {"type": "must_vew"},
            },
            [
                (
                    "params.completion_requirement.type",
                    "unknown completion requirement 'must_vew' "
                    "(did you mean 'must_view'?)",
                )
            ],
        ),
        (
            {
                "type": "Assignment",
                "content_id": 3,
                "completion_requirement": {"type": "min_score"},
            },
            [
                (
                    "params.completion_requirement.min_score",
                    "a number is required with type min_score",
                )
            ],
        ),
        (
            {
                "type": "Assignment",
                "content_id": 3,
                "completion_requirement": {
                    "type": "min_percentage",
                    "min_percentage": 120,
                },
            },
            [("params.completion_requirement.min_percentage", "out of range")],
        ),
        (
            {
                "type": "Assignment",
                "content_id": 3,
                "completion_requirement": "must_view",
            },
            [("params.completion_requirement", "must be an object with a 'type'")],
        ),
    ],
)
def test_item_create_params(
    tmp_path: Path, params: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    """item.create needs a known type and the fields that type needs."""
    line = {"op": "item.create", "course": 1, "module": 2, "params": params}
    assert _messages(tmp_path, line) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"type": "Page", "page_url": "welcome"},
        {"type": "Page", "content": {"title": "Willkommen ✓"}},
        {"type": "Assignment", "content_id": "17"},
        {"type": "Discussion", "content": {"title": "Ask"}, "indent": 1},
        {
            "type": "ExternalUrl",
            "external_url": "https://example.org/x",
            "new_tab": True,
        },
        {"type": "ExternalTool", "content_id": 9},
        {"type": "SubHeader", "title": "第一周", "position": 2},
        {
            "type": "Quiz",
            "content_id": 4,
            "completion_requirement": {"type": "min_score", "min_score": 7.5},
        },
    ],
)
def test_item_create_accepted(tmp_path: Path, params: dict[str, object]) -> None:
    """Each item type with what it needs, in any script, is an Operation."""
    line = {"op": "item.create", "course": 1, "module": 2, "params": params}
    [operation] = _read(tmp_path, line)
    assert isinstance(operation, Operation)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"op": "module.create", "course": 1}, [("params.name", "missing")]),
        (
            {"op": "module.create", "course": 1, "params": []},
            [("params", "must be an object, not a list")],
        ),
        (
            {
                "op": "module.create",
                "course": 1,
                "params": {"name": "a", "prerequisite_module_ids": ""},
            },
            [
                (
                    "params.prerequisite_module_ids",
                    "an empty value is only for module.update; leave it out",
                )
            ],
        ),
        (
            {
                "op": "module.update",
                "course": 1,
                "module": 2,
                "params": {"prerequisite_module_ids": [1, "x"]},
            },
            [
                (
                    "params.prerequisite_module_ids[1]",
                    "must be a module id or a reference",
                )
            ],
        ),
        (
            {
                "op": "module.update",
                "course": 1,
                "module": 2,
                "params": {"unlock_at": "tomorrow"},
            },
            [
                (
                    "params.unlock_at",
                    "must be an ISO-8601 time such as 2025-09-01T08:00:00Z",
                )
            ],
        ),
        (
            {
                "op": "module.update",
                "course": 1,
                "module": 2,
                "params": {"content": {"title": "x"}},
            },
            [("params.content", "only item.create looks content up by title")],
        ),
        (
            {
                "op": "module.update",
                "course": 1,
                "module": 2,
                "params": {"x": {"ref": "a", "b": 1}},
            },
            [("params.x", 'a reference is {"ref": "<id>"} and nothing else')],
        ),
        (
            {"op": "sequence.get", "course": 1},
            [
                (
                    "params.asset_type",
                    f"missing (one of {_ASSETS})",
                ),
                ("params.asset_id", "missing"),
            ],
        ),
        (
            {
                "op": "sequence.get",
                "course": 1,
                "params": {"asset_type": "Wiki", "asset_id": 3},
            },
            [
                (
                    "params.asset_type",
                    f"unknown asset type (one of {_ASSETS})",
                )
            ],
        ),
    ],
)
def test_other_params(
    tmp_path: Path, line: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    """module.create needs a name; params are an object of typed fields."""
    assert _messages(tmp_path, line) == expected


def test_clearing_values_on_update(tmp_path: Path) -> None:
    """Empty prerequisites and a blank requirement are allowed on updates."""
    lines = [
        {
            "op": "module.update",
            "course": 1,
            "module": 2,
            "params": {"prerequisite_module_ids": []},
        },
        {
            "op": "item.update",
            "course": 1,
            "module": 2,
            "item": 3,
            "params": {"completion_requirement": ""},
        },
        {
            "op": "sequence.get",
            "course": 1,
            "params": {"asset_type": "page", "asset_id": "intro"},
        },
    ]
    assert all(isinstance(entry, Operation) for entry in _read(tmp_path, *lines))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "must be a string"),
        ("", "must not be empty"),
        ("a/b", "must not contain '/' (fan-out results are named '<id>/<object id>')"),
        ("@a", "must not start with '@' (that marks a reference)"),
        ("L2", "ids of the form L<number> are reserved (this line's is L1)"),
    ],
)
def test_bad_ids(tmp_path: Path, value: object, message: str) -> None:
    """An id is a plain string and never another line's reserved default."""
    line = {"op": "module.list", "course": 1, "id": value}
    assert _messages(tmp_path, line) == [("id", message)]


def test_own_default_id_and_unicode_id(tmp_path: Path) -> None:
    """A line may write its own default id, and ids may be any Unicode."""
    found = _read(
        tmp_path,
        {"op": "module.list", "course": 1, "id": "L1"},
        {"op": "module.list", "course": 1, "id": "Woche 1 · Ü"},
    )
    assert [op.id for op in found if isinstance(op, Operation)] == ["L1", "Woche 1 · Ü"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"after": "a"}, [("after", "must be a list of ids, not a string")]),
        ({"after": ["a", 3]}, [("after[1]", "must be a string id")]),
        ({"after": [""]}, [("after[0]", "reference must not be empty")]),
        ({"id": "me", "after": ["me"]}, [("after[0]", "refers to its own line")]),
        ({"as_user": "bob"}, [("as_user", "must be a user id or 'sis_user_id:<id>'")]),
        ({"as_user": 0}, [("as_user", "must be a user id or 'sis_user_id:<id>'")]),
        (
            {"as_user": "sis_user_id:"},
            [("as_user", "must be a user id or 'sis_user_id:<id>'")],
        ),
    ],
)
def test_after_and_as_user(
    tmp_path: Path, line: dict[str, object], expected: list[tuple[str, str]]
) -> None:
    """after is a list of ids; as_user is a user id or an SIS user id."""
    assert _messages(tmp_path, {"op": "module.list", "course": 1, **line}) == expected


def test_after_and_as_user_accepted(tmp_path: Path) -> None:
    """Valid after lists and as_user forms are kept, duplicates dropped."""
    found = _read(
        tmp_path,
        {"op": "module.list", "course": 1, "id": "a"},
        {"op": "module.list", "course": 1, "after": ["a", "L1", "a"], "as_user": 12},
        {"op": "module.list", "course": 1, "as_user": "sis_user_id:s-1"},
    )
    operations = [op for op in found if isinstance(op, Operation)]
    assert [(op.after, op.as_user) for op in operations] == [
        ((), None),
        (("a", "L1"), "12"),
        ((), "sis_user_id:s-1"),
    ]
