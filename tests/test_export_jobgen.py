"""Turning course exports into jobs: lines, ids, dates, course lists."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from bulkmod.export.jobgen import build_job, parse_course_list, parse_shift, write_job
from bulkmod.export.reader import CourseExport, read_export
from bulkmod.job.linecheck import check_line

EXPORTS = Path(__file__).parent / "data" / "course-exports"
WEB = EXPORTS / "web-multimedia-cis300"
HELIUM = EXPORTS / "course-template-helium"
EARTH = EXPORTS / "earth-processes-spcs302"


@pytest.fixture(scope="module")
def web() -> CourseExport:
    return read_export(WEB)


@pytest.fixture(scope="module")
def helium() -> CourseExport:
    return read_export(HELIUM)


def _item(
    line_id: str, module: str, params: dict[str, Any], course: int = 5
) -> dict[str, Any]:
    return {
        "id": line_id,
        "op": "item.create",
        "course": course,
        "module": module,
        "params": params,
    }


def _page(title: str, position: int, slug: str) -> dict[str, Any]:
    # Pages are found by title, like all content; the slug is the export's.
    return _titled("Page", title, position)


def _titled(kind: str, title: str, position: int) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "indent": 0,
        "content": {"title": title},
        "published": True,
    }


def test_helium_job_line_by_line(helium: CourseExport) -> None:
    """The helium template gives modules, then items, then publishing, in order."""
    lines = list(build_job(helium, ["5"]))

    publish = {"published": True, "skip_content_tags": True}
    assert lines == [
        {
            "id": "c5-m1",
            "op": "module.create",
            "course": 5,
            "params": {
                "name": "Course Introduction",
                "require_sequential_progress": False,
            },
        },
        {
            "id": "c5-m2",
            "op": "module.create",
            "course": 5,
            "params": {
                "name": "Week 1",
                "require_sequential_progress": False,
            },
        },
        _item(
            "c5-m1-i1",
            "@c5-m1",
            _page(
                "[T] *Advanced* Course Welcome Page with Masthead Image and Weekly "
                "Accordions",
                1,
                "t-star-advanced-star-course-welcome-page-with-masthead-image-and-"
                "weekly-accordions",
            ),
        ),
        _item(
            "c5-m1-i2",
            "@c5-m1",
            _page("[T] How To Use Canvas", 2, "t-how-to-use-canvas"),
        ),
        _item(
            "c5-m1-i3",
            "@c5-m1",
            _page("[T] Technology Requirements", 3, "t-technology-requirements"),
        ),
        _item(
            "c5-m1-i4",
            "@c5-m1",
            _page("[T] Academic Policies", 4, "t-academic-policies"),
        ),
        _item(
            "c5-m1-i5",
            "@c5-m1",
            _titled("Discussion", "[T] Basic Discussion - Introduce Yourself", 5),
        ),
        _item("c5-m2-i1", "@c5-m2", _page("[T] Week 1 - Home", 1, "t-week-1-home")),
        _item("c5-m2-i2", "@c5-m2", _titled("Assignment", "[T] Basic Assignment", 2)),
        _item(
            "c5-m2-i3",
            "@c5-m2",
            _titled("Assignment", "[T] Advanced Assignment with Rubric", 3),
        ),
        _item(
            "c5-m2-i4",
            "@c5-m2",
            _titled(
                "Discussion",
                "[T] Advanced Discussion with a Video Introduction and Group Work",
                4,
            ),
        ),
        {
            "id": "c5-m1-pub",
            "op": "module.update",
            "course": 5,
            "module": "@c5-m1",
            "params": publish,
        },
        {
            "id": "c5-m2-pub",
            "op": "module.update",
            "course": 5,
            "module": "@c5-m2",
            "params": publish,
        },
    ]


def test_web_line_count(web: CourseExport) -> None:
    """Per course: 15 module creates, 122 item creates, 15 publishes."""
    lines = list(build_job(web, ["1", "2", "3"]))

    assert len(lines) == 3 * (15 + 122 + 15)
    assert [line["op"] for line in lines[:152]] == (
        ["module.create"] * 15 + ["item.create"] * 122 + ["module.update"] * 15
    )
    assert {line["course"] for line in lines[152:304]} == {2}


def test_prerequisites_and_unlock_date(web: CourseExport) -> None:
    """Module 3 refers to module 1 as a prerequisite and keeps its UTC unlock date."""
    lines = {line["id"]: line for line in build_job(web, ["8"])}

    assert lines["c8-m3"]["params"] == {
        "name": "Case Study Solution - release week 2",
        "require_sequential_progress": False,
        "unlock_at": "2022-01-17T16:00:00Z",
        "prerequisite_module_ids": [{"ref": "c8-m1"}],
    }
    assert "prerequisite_module_ids" not in lines["c8-m1"]["params"]


def test_min_score_item(web: CourseExport) -> None:
    """The quiz with a min_score requirement is found by title and keeps the score."""
    lines = {line["id"]: line for line in build_job(web, ["8"])}

    assert lines["c8-m1-i11"] == _item(
        "c8-m1-i11",
        "@c8-m1",
        {
            "type": "Quiz",
            "title": "Getting Started Quiz",
            "indent": 1,
            "content": {"title": "Getting Started Quiz"},
            "completion_requirement": {"type": "min_score", "min_score": 100.0},
            "published": True,
        },
        course=8,
    )


def test_unpublished_external_url(web: CourseExport) -> None:
    """An unpublished external URL asks for published false, new_tab and its URL."""
    lines = {line["id"]: line for line in build_job(web, ["8"])}

    assert lines["c8-m2-i14"]["params"] == {
        "type": "ExternalUrl",
        "title": "Optional Feedback Survey",
        "indent": 1,
        "new_tab": True,
        "external_url": "https://wpcareyschool.qualtrics.com/jfe/form/"
        "SV_09tJIyOYXOeRq5f?week=start+here&Q_JFE=qdg",
        "completion_requirement": {"type": "must_view"},
        "published": False,
    }


def test_sub_header_and_file(web: CourseExport) -> None:
    """A sub-header sends only its title; a file is found by its title."""
    lines = {line["id"]: line for line in build_job(web, ["8"])}

    assert lines["c8-m2-i11"]["params"] == {
        "type": "SubHeader",
        "title": "COMPLETE",
        "indent": 0,
        "published": True,
    }
    assert lines["c8-m8-i7"]["params"] == {
        "type": "File",
        "title": "Layout.mp4",
        "indent": 1,
        "content": {"title": "Layout.mp4"},
        "published": True,
    }


def test_items_in_export_order_without_positions() -> None:
    """Items at export positions 1,3,4,... are appended in that order, no gaps."""
    export = read_export(EARTH)
    items = [
        line
        for line in build_job(export, ["4"])
        if line["op"] == "item.create" and line["module"] == "@c4-m2"
    ]

    assert len(items) == 9
    assert all("position" not in line["params"] for line in items)
    module = export.modules[1]
    assert [line["params"]["title"] for line in items] == [
        item.title for item in sorted(module.items, key=lambda item: item.position)
    ]


def test_references_point_back_and_ids_are_unique(web: CourseExport) -> None:
    """Every id is unique and valid; every reference names an earlier line."""
    courses = ["1", "sis_course_id:BIO 101", "sis_course_id:BIO_101", "uuid:a+b"]
    seen: set[str] = set()

    for line in build_job(web, courses):
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", line["id"])
        assert line["id"] not in seen
        module = line.get("module")
        if module is not None:
            assert module[1:] in seen
        for ref in line["params"].get("prerequisite_module_ids", []):
            assert ref["ref"] in seen
        seen.add(line["id"])

    assert len(seen) == 4 * 152


def test_sis_courses_keep_their_form(helium: CourseExport) -> None:
    """SIS-form courses stay as written; their ids are sanitized and unique."""
    lines = list(build_job(helium, ["sis_course_id:BIO 101", "sis_course_id:BIO_101"]))

    assert lines[0]["course"] == "sis_course_id:BIO 101"
    assert lines[0]["id"] == "csis_course_id_BIO_101-m1"
    assert lines[13]["course"] == "sis_course_id:BIO_101"
    assert lines[13]["id"] == "csis_course_id_BIO_101.2-m1"
    assert lines[14]["params"] == lines[1]["params"]


def test_deterministic_bytes(web: CourseExport) -> None:
    """Two reads and two writes of the same export give the same bytes."""
    first, second = io.BytesIO(), io.BytesIO()

    write_job(build_job(web, ["1", "2"], shift_days=7), first)
    write_job(build_job(read_export(WEB), ["1", "2"], shift_days=7), second)

    assert first.getvalue() == second.getvalue()
    text = first.getvalue()
    assert text.endswith(b"\n")
    assert text.count(b"\n") == 2 * 152
    assert orjson.loads(text.split(b"\n")[0]) == {
        "id": "c1-m1",
        "op": "module.create",
        "course": 1,
        "params": {
            "name": "Welcome and Start Here",
            "require_sequential_progress": False,
        },
    }


@pytest.mark.parametrize(
    ("shift", "unlock"),
    [
        (None, "2022-01-17T16:00:00Z"),
        (0, "2022-01-17T16:00:00Z"),
        (7, "2022-01-24T16:00:00Z"),
        (-17, "2021-12-31T16:00:00Z"),
        (1099, "2025-01-20T16:00:00Z"),
    ],
)
def test_shifted_unlock_dates(
    web: CourseExport, shift: int | None, unlock: str
) -> None:
    """Unlock dates move by whole days and keep their UTC time of day."""
    lines = {line["id"]: line for line in build_job(web, ["1"], shift_days=shift)}

    assert lines["c1-m3"]["params"]["unlock_at"] == unlock


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("+119", 119),
        ("119", 119),
        ("-7", -7),
        # 2022-01-10 -> 2025-01-10 is 365 + 365 + 366 days, then 3 more.
        ("2022-01-10:2025-01-13", 1099),
        # The earliest unlock date of the export is 2022-01-17.
        (":2025-01-13", 1092),
        ("2025-01-13:2024-12-30", -14),
    ],
)
def test_parse_shift(web: CourseExport, spec: str, days: int) -> None:
    """Offsets and FROM:TO date pairs give the days to move by."""
    assert parse_shift(spec, web) == days


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tomorrow", "give FROM:TO"),
        ("2025-13-01:2025-01-01", "'2025-13-01' is not an ISO date"),
        ("2025-01-01:", "'' is not an ISO date"),
    ],
)
def test_parse_shift_errors(web: CourseExport, spec: str, message: str) -> None:
    """A shift that is neither an offset nor two dates is a clear error."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_shift(spec, web)


def test_parse_shift_without_dates_in_export(helium: CourseExport) -> None:
    """An empty FROM needs unlock dates in the export to take the start from."""
    with pytest.raises(ValueError, match="no unlock dates"):
        parse_shift(":2025-01-13", helium)


@pytest.mark.parametrize(
    ("spec", "courses"),
    [
        ("1-3,305", ["1", "2", "3", "305"]),
        (" 7 , 10 - 11 ", ["7", "10", "11"]),
        ("007", ["7"]),
        ("1-3,2,1", ["1", "2", "3"]),
        ("sis_course_id:BIO-101,4", ["sis_course_id:BIO-101", "4"]),
        ("hex:sis_course_id:42494f", ["hex:sis_course_id:42494f"]),
        ("5-5", ["5"]),
    ],
)
def test_course_list(spec: str, courses: list[str]) -> None:
    """Ids, ranges and id forms give the courses in order, each once."""
    assert parse_course_list(spec) == courses


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1-x", "entry '1-x': not a course id"),
        ("5-1", "entry '5-1': the range runs backwards; write 1-5"),
        ("1,,2", "entry '': empty entry"),
        ("0", "entry '0': course ids start at 1"),
        ("0-3", "entry '0-3': course ids start at 1"),
        ("", "entry '': empty entry"),
        ("sis:BIO", "entry 'sis:BIO': 'sis:BIO' is neither an id nor one of"),
        ("sis_course_id: ", "entry 'sis_course_id:': nothing after 'sis_course_id:'"),
        ("uuid:a/b", "entry 'uuid:a/b': '/' cannot go into a URL path"),
        ("1-200000", "entry '1-200000': the range holds more than 100000"),
        ("@", "'@' must be followed by the name of a file"),
    ],
)
def test_course_list_errors(spec: str, message: str) -> None:
    """A bad entry is a ValueError naming it."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_course_list(spec)


def test_course_file(tmp_path: Path) -> None:
    """@file reads one course per line, skipping blanks and comments, from base."""
    (tmp_path / "spring.txt").write_text(
        "# spring shells\n101\n\n  sis_course_id:BIO-101  \n# 999\n200-202\n101\n",
        encoding="utf-8",
    )

    courses = parse_course_list("@spring.txt", base=tmp_path)

    assert courses == ["101", "sis_course_id:BIO-101", "200", "201", "202"]


def test_course_file_error_names_line(tmp_path: Path) -> None:
    """A bad line of a course file is named by file and line number."""
    listing = tmp_path / "bad.txt"
    listing.write_text("1\n# two\nBIO-101\n", encoding="utf-8")

    with pytest.raises(ValueError, match=re.escape(f"{listing}:3: 'BIO-101'")):
        parse_course_list(f"@{listing}")


def test_course_file_missing(tmp_path: Path) -> None:
    """A course file that cannot be read is named."""
    with pytest.raises(ValueError, match="nope.txt: cannot read the course list"):
        parse_course_list("@nope.txt", base=tmp_path)


def test_course_file_empty(tmp_path: Path) -> None:
    """A course file with only comments is an empty list, which is refused."""
    (tmp_path / "empty.txt").write_text("# nothing yet\n", encoding="utf-8")

    with pytest.raises(ValueError, match="the course list is empty"):
        parse_course_list("@empty.txt", base=tmp_path)


@pytest.mark.parametrize("folder", [WEB, EARTH, HELIUM])
def test_every_line_passes_the_job_check(folder: Path) -> None:
    """Each generated line, as JSON, is a valid job line with no problems."""
    export = read_export(folder)
    courses = ["1", "sis_course_id:BIO 101"]

    for number, line in enumerate(build_job(export, courses), start=1):
        checked = check_line(orjson.loads(orjson.dumps(line)), number)
        assert checked.problems == [], (line["id"], checked.problems)
