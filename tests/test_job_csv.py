"""CSV jobs: rows become the same Operations as their JSON Lines twins."""

from __future__ import annotations

from pathlib import Path

import orjson

from bulkmod.job.model import ByName, Every, Operation, Ref
from bulkmod.job.reader import Problem, read_operations
from bulkmod.job.validate import check_job

_HEADER = (
    "op,course,module,item,id,after,as_user,name,position,published,"
    "prerequisite_module_ids,type,title,page_url,content_title,content_id,"
    "external_url,new_tab,indent,completion_requirement.type,"
    "completion_requirement.min_score\n"
)
_ROWS = (
    "module.create,5,,,w1,,,Week 1,1,TRUE,,,,,,,,,,,\n"
    'module.create,sis_course_id:BIO-101,,,w2,w1,,"Week 2, ""Cells""",2,,3;@w1'
    ",,,,,,,,,,\n"
    "item.create,5,@w1,,i1,,,,,,,Page,Intro,,Welcome,,,,1,must_view,\n"
    "item.create,5,name:Week 1,,,,,,,,,Assignment,,,,17,,,,min_score,7.5\n"
    "item.create,5,@w1,,,,,,,,,ExternalUrl,Docs,,,,https://example.org/a,true,,,\n"
    "item.update,5,@w1,title:Intro,,w1|i1,,,,false,,,,,,,,,,,\n"
    "item.mark_read,5,@w1,@i1,,,sis_user_id:s1,,,,,,,,,,,,,,\n"
    "module.publish,5,*,,,,,,,,,,,,,,,,,,\n"
    "\n"
    "module.update,5,12,,,,,2024,,,[],,,,,,,,,,\n"
)
_TWIN = [
    None,
    {"op": "module.create", "course": 5, "id": "w1",
     "params": {"name": "Week 1", "position": 1, "published": True}},
    {"op": "module.create", "course": "sis_course_id:BIO-101", "id": "w2",
     "after": ["w1"],
     "params": {"name": 'Week 2, "Cells"', "position": 2,
                "prerequisite_module_ids": [3, {"ref": "w1"}]}},
    {"op": "item.create", "course": "5", "module": {"ref": "w1"}, "id": "i1",
     "params": {"type": "Page", "title": "Intro", "content": {"title": "Welcome"},
                "indent": 1, "completion_requirement": {"type": "must_view"}}},
    {"op": "item.create", "course": 5, "module": {"name": "Week 1"},
     "params": {"type": "Assignment", "content_id": 17,
                "completion_requirement": {"type": "min_score", "min_score": 7.5}}},
    {"op": "item.create", "course": 5, "module": "@w1",
     "params": {"type": "ExternalUrl", "title": "Docs",
                "external_url": "https://example.org/a", "new_tab": True}},
    {"op": "item.update", "course": 5, "module": "@w1", "item": {"title": "Intro"},
     "after": ["w1", "i1"], "params": {"published": False}},
    {"op": "item.mark_read", "course": 5, "module": "@w1", "item": "@i1",
     "as_user": "sis_user_id:s1"},
    {"op": "module.publish", "course": 5, "module": "*"},
    None,
    {"op": "module.update", "course": 5, "module": 12,
     "params": {"name": "2024", "prerequisite_module_ids": []}},
]  # fmt: skip


def _csv(tmp_path: Path, text: str | bytes, name: str = "job.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _problems(path: Path) -> list[str]:
    return [
        str(problem).removeprefix(f"{path}:") for problem in check_job(path).problems
    ]


def test_csv_and_jsonl_twins_give_the_same_operations(tmp_path: Path) -> None:
    """A CSV job and its JSON Lines twin read as identical Operations."""
    csv_path = _csv(tmp_path, _HEADER + _ROWS)
    jsonl_path = tmp_path / "job.jsonl"
    jsonl_path.write_bytes(
        b"".join(orjson.dumps(line) + b"\n" if line else b"\n" for line in _TWIN)
    )
    from_csv = list(read_operations(csv_path))
    assert all(isinstance(entry, Operation) for entry in from_csv), from_csv
    assert from_csv == list(read_operations(jsonl_path))
    assert check_job(csv_path).problems == []


def test_csv_cells_are_typed(tmp_path: Path) -> None:
    """Cells become ids, references, selectors, booleans and numbers by column."""
    operations = list(read_operations(_csv(tmp_path, _HEADER + _ROWS)))
    first, second, third, fourth = operations[:4]
    assert isinstance(first, Operation) and isinstance(second, Operation)
    assert isinstance(third, Operation) and isinstance(fourth, Operation)
    assert first.params == {"name": "Week 1", "position": 1, "published": True}
    assert second.params["prerequisite_module_ids"] == [3, Ref("w1")]
    assert (third.line, third.module, third.params["indent"]) == (4, Ref("w1"), 1)
    assert fourth.module == ByName("Week 1")
    assert fourth.params["completion_requirement"] == {
        "type": "min_score",
        "min_score": 7.5,
    }
    last = operations[-1]
    assert isinstance(last, Operation)
    assert (last.line, last.id, last.params["name"]) == (11, "L11", "2024")
    assert isinstance(operations[-2], Operation) and operations[-2].module == Every()


def test_rows_are_named_by_their_first_physical_line(tmp_path: Path) -> None:
    """A quoted cell spanning lines moves the next row's number on."""
    text = 'op,course,name\nmodule.create,1,"Week\n1"\n\nmodule.create,1,\n'
    path = _csv(tmp_path, text)
    found = list(read_operations(path))
    # A name may not hold a line break, so the first row has a problem too.
    assert found == [
        Problem(str(path), 2, "name", "must not contain control characters"),
        Problem(str(path), 5, "name", "missing"),
    ]
    assert str(found[1]) == f"{path}:row 5: column 'name': missing"


def test_problems_name_the_column(tmp_path: Path) -> None:
    """Problems in parameters point at the column the value came from."""
    text = (
        "op,course,module,type,page_url,content_title,prerequisite_module_ids,"
        "completion_requirement.type,completion_requirement.min_score,published\n"
        "item.create,1,2,Page,intro,Intro,,,,\n"
        "module.update,1,2,,,,3;x,,,\n"
        "item.update,1,2,,,,,min_score,lots,\n"
        "module.update,1,2,,,,,,,yes\n"
        "item.create,1,2,,,,,,,\n"
        "item.create,1,2,Page,,,,,,\n"
    )
    path = _csv(tmp_path, text)
    assert _problems(path) == [
        "row 2: column 'content_title': give content or content_id/page_url, not both",
        "row 3: column 'prerequisite_module_ids': must be a module id or a reference",
        "row 4: column 'item': missing (required by item.update)",
        "row 4: column 'completion_requirement.min_score': "
        "a number is required with type min_score",
        "row 5: column 'published': must be true or false",
        "row 6: column 'type': missing (one of File, Page, Discussion, Assignment, "
        "Quiz, SubHeader, ExternalUrl, ExternalTool)",
        "row 7: column 'page_url': a Page item needs page_url or content_title",
    ]


def test_selector_cells(tmp_path: Path) -> None:
    """module and item cells take an id, @ref, *, name:... or title:... only."""
    text = (
        "op,course,module,item\n"
        "item.show,1,Week 1,3\n"
        "item.show,1,2,Intro\n"
        "item.list,1,*,\n"
    )
    path = _csv(tmp_path, text)
    assert _problems(path) == [
        "row 2: column 'module': 'Week 1' is not an id, @ref, * or name:<name> "
        "(write name:Week 1)",
        "row 3: column 'item': 'Intro' is not an id, @ref, * or title:<title> "
        "(write title:Intro)",
    ]


def test_reference_problems_name_the_column(tmp_path: Path) -> None:
    """References found wrong across rows are named by column too."""
    text = "op,course,module,after\nmodule.show,1,@w,a;L1\n"
    path = _csv(tmp_path, text)
    assert _problems(path) == [
        "row 2: column 'module': no earlier line has the id 'w'",
        "row 2: column 'after': no earlier line has the id 'a'",
        "row 2: column 'after': line 1 holds no operation",
    ]


def test_header_problems(tmp_path: Path) -> None:
    """A header without op or course, or with a column twice, stops the job."""
    missing = _csv(tmp_path, "op,name\nmodule.create,W\n", name="a.csv")
    twice = _csv(tmp_path, "op,course,name,name\nmodule.create,1,W,V\n", name="b.csv")
    aliased = _csv(tmp_path, "op,course,content_title,content.title\n", name="c.csv")
    assert _problems(missing) == ["row 1: column 'course': missing from the header row"]
    assert _problems(twice) == ["row 1: column 'name': appears twice in the header row"]
    assert _problems(aliased) == [
        "row 1: column 'content.title': appears twice in the header row"
    ]
    summary = check_job(missing)
    assert (summary.lines, summary.operations) == (2, 0)


def test_row_shape_problems(tmp_path: Path) -> None:
    """Extra cells, nested columns in conflict and bad bytes are named by row."""
    text = (
        b"op,course,name,completion_requirement,completion_requirement.type\n"
        b"module.create,1,W,,,surplus\n"
        b"module.create,1,W,,\n"
        b"item.update,1,W,must_view,must_view\n"
        b"module.create,1,\xff,,\n"
        b"module.create,1,W,,,,\n"
    )
    path = _csv(tmp_path, text)
    assert _problems(path) == [
        "row 2: 6 cells but 5 columns in the header",
        "row 4: column 'completion_requirement.type': "
        "conflicts with the column 'completion_requirement'",
        "row 5: not UTF-8 (byte 0xff at offset 16)",
    ]


def test_csv_summary(tmp_path: Path) -> None:
    """A CSV job's summary counts physical lines, header included."""
    path = _csv(tmp_path, _HEADER + _ROWS)
    summary = check_job(path)
    assert (summary.lines, summary.operations, summary.courses) == (11, 9, 2)
    assert summary.referenced == {"w1", "i1"}


def test_broken_quotes(tmp_path: Path) -> None:
    """A quote left open is refused, not read as the rest of the file."""
    stray = _csv(tmp_path, 'op,course,name\nmodule.create,1,"a"b\n', name="a.csv")
    open_quote = _csv(
        tmp_path,
        'op,course,name\nmodule.create,1,"W\nmodule.create,1,V\n',
        name="b.csv",
    )
    assert _problems(stray) == ["row 2: not CSV: ',' expected after '\"'"]
    assert _problems(open_quote) == ["row 2: a quoted cell is never closed"]
