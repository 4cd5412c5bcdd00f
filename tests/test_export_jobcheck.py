"""from-export refuses, before writing anything, a job that would not validate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bulkmod.export.jobgen import build_job, write_job
from bulkmod.export.reader import ExportError, read_export

_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="m" xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1">
  <resources/>
</manifest>
"""
_META = """<?xml version="1.0" encoding="UTF-8"?>
<modules xmlns="http://canvas.instructure.com/xsd/cccv1p0">
{modules}
</modules>
"""


def _module(identifier: str, title: str, *items: str) -> str:
    return (
        f'<module identifier="{identifier}"><title>{title}</title>'
        "<workflow_state>active</workflow_state>"
        f"<items>{''.join(items)}</items></module>"
    )


def _item(identifier: str, kind: str, title: str, url: str = "") -> str:
    link = f"<url>{url}</url>" if url else ""
    return (
        f'<item identifier="{identifier}"><content_type>{kind}</content_type>'
        f"<title>{title}</title>{link}</item>"
    )


def _export(tmp_path: Path, *modules: str) -> Path:
    folder = tmp_path / "export"
    (folder / "course_settings").mkdir(parents=True)
    (folder / "imsmanifest.xml").write_text(_MANIFEST, encoding="utf-8")
    (folder / "course_settings" / "module_meta.xml").write_text(
        _META.format(modules="\n".join(modules)), encoding="utf-8"
    )
    return folder


def _refusal(folder: Path, courses: list[str] | None = None) -> str:
    export = read_export(folder)
    with pytest.raises(ExportError) as caught:
        build_job(export, courses or ["1", "2"])
    return str(caught.value)


def test_empty_title_and_javascript_link_are_refused(tmp_path: Path) -> None:
    """Each line's own problem is named by its module or item, nothing else."""
    folder = _export(
        tmp_path,
        _module(
            "g1",
            "",
            _item("i1", "ExternalUrl", "Click", "javascript:alert(1)"),
            _item("i2", "ContextModuleSubHeader", "Fine"),
        ),
        _module("g2", "Week 2", _item("i3", "ContextModuleSubHeader", "")),
    )

    message = _refusal(folder)

    assert message == (
        "the job from this export would not validate (3 problems); nothing was "
        "written. Fix these in the course, export it again:\n"
        "  module 1 '' (g1): params.name: must not be blank\n"
        "  item 1 'Click' (i1) of module 1 '' (g1): params.external_url: "
        "must be an http:// or https:// URL\n"
        "  item 1 '' (i3) of module 2 'Week 2' (g2): params.title: "
        "must not be blank"
    )


def test_control_character_in_a_title_is_refused(tmp_path: Path) -> None:
    """A tab in an exported title is named escaped, with the problem."""
    folder = _export(
        tmp_path, _module("g1", "Week&#9;1", _item("i1", "ContextModuleSubHeader", "S"))
    )

    message = _refusal(folder)

    assert message.endswith(
        "\n  module 1 'Week\\t1' (g1): params.name: must not contain control characters"
    )


def test_many_problems_are_counted_past_the_first_twenty(tmp_path: Path) -> None:
    """Twenty-five blank module names: twenty named, five counted."""
    modules = [_module(f"g{n}", "") for n in range(1, 26)]

    message = _refusal(_export(tmp_path, *modules))

    lines = message.splitlines()
    assert "(25 problems)" in lines[0]
    assert lines[1] == "  module 1 '' (g1): params.name: must not be blank"
    assert lines[20] == "  module 20 '' (g20): params.name: must not be blank"
    assert lines[21:] == ["  and 5 more"]


def test_export_without_modules_is_an_error(tmp_path: Path) -> None:
    """No modules in module_meta.xml: refused, not an empty job."""
    folder = _export(tmp_path)

    message = _refusal(folder)

    assert message == (
        "the export 'export' has no modules (course_settings/module_meta.xml "
        "lists none); a job from it would build nothing, so none was written"
    )


def test_refusal_comes_before_any_line(tmp_path: Path) -> None:
    """build_job checks when called, so a caller has written nothing yet."""
    folder = _export(tmp_path, _module("g1", ""))
    export = read_export(folder)
    out = tmp_path / "job.jsonl"

    with pytest.raises(ExportError):
        lines = build_job(export, ["1"])
        with out.open("wb") as handle:
            write_job(lines, handle)

    assert not out.exists()


def test_valid_export_still_builds(tmp_path: Path) -> None:
    """A good export gives its lines: module, item, publishing, per course."""
    folder = _export(
        tmp_path,
        _module(
            "g1",
            "Week 1",
            _item("i1", "ExternalUrl", "Site", "https://example.edu/"),
        ),
    )

    ids = [line["id"] for line in build_job(read_export(folder), ["7", "8"])]

    assert ids == ["c7-m1", "c7-m1-i1", "c7-m1-pub", "c8-m1", "c8-m1-i1", "c8-m1-pub"]


@pytest.mark.parametrize(
    ("course", "message"),
    [
        ("0", "course '0': must be a positive id of at most 19 digits"),
        ("sis_course_id:a/b", "course 'sis_course_id:a/b': '/' cannot go"),
    ],
)
def test_every_course_is_checked(tmp_path: Path, course: str, message: str) -> None:
    """A course after the first is held to the job's rule for courses too."""
    export = read_export(_export(tmp_path, _module("g1", "Week 1")))

    with pytest.raises(ValueError, match=re.escape(message)):
        build_job(export, ["1", course])


def test_shift_past_the_calendar_is_a_value_error(tmp_path: Path) -> None:
    """A shift that leaves the calendar is a ValueError, not an OverflowError."""
    module = _module("g1", "Week 1").replace(
        "</title>", "</title><unlock_at>9999-12-01T00:00:00</unlock_at>"
    )
    export = read_export(_export(tmp_path, module))

    with pytest.raises(ValueError, match="shifted by 60 days is past the calendar"):
        build_job(export, ["1"], shift_days=60)
