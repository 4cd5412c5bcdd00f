"""Reading Canvas course exports: the three real ones, zips, and bad files."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from bulkmod.export.reader import CourseExport, ExportError, read_export

EXPORTS = Path(__file__).parent / "data" / "course-exports"
EARTH = EXPORTS / "earth-processes-spcs302"
WEB = EXPORTS / "web-multimedia-cis300"
HELIUM = EXPORTS / "course-template-helium"

META = "course_settings/module_meta.xml"


@pytest.fixture(scope="module")
def web() -> CourseExport:
    return read_export(WEB)


@pytest.fixture
def helium_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "helium"
    shutil.copytree(HELIUM, copy)
    return copy


@pytest.mark.parametrize(
    ("folder", "title", "modules", "items"),
    [
        (EARTH, "[parent] SPCS 302 Earth and Its Processes", 9, 76),
        (WEB, "(Cintana) CIS 300: Web Design and Development", 15, 122),
        (HELIUM, "du-canvas-course-template-helium", 2, 9),
    ],
)
def test_counts_and_title(folder: Path, title: str, modules: int, items: int) -> None:
    """Each export reads to its manifest title, module count and item count."""
    export = read_export(folder)

    assert export.title == title
    assert len(export.modules) == modules
    assert export.item_count == items


def test_module_fields(web: CourseExport) -> None:
    """A module carries title, state, position, flags and unlock date as exported."""
    module = web.modules[2]

    assert module.identifier == "g1c05e00da2a2c51ee3ff6ece32fdebca"
    assert module.title == "Case Study Solution - release week 2"
    assert module.workflow_state == "active"
    assert module.published
    assert module.position == 3
    assert module.require_sequential_progress is False
    assert module.unlock_at == "2022-01-17T16:00:00"
    assert [item.title for item in module.items] == ["Week 1 Case Study Solution"]


def test_prerequisites_are_module_identifiers(web: CourseExport) -> None:
    """Prerequisites are the identifiers of the modules they name."""
    assert web.modules[0].prerequisites == []
    assert web.modules[1].prerequisites == ["g8ada65237181b343b6c9c4127d690dc7"]
    assert web.modules[0].identifier == "g8ada65237181b343b6c9c4127d690dc7"


def test_missing_sequential_flag_reads_false(web: CourseExport) -> None:
    """A module without require_sequential_progress (FAQ) reads as False."""
    faq = web.modules[13]

    assert faq.title == "FAQ"
    assert faq.require_sequential_progress is False


def test_min_score_requirement(web: CourseExport) -> None:
    """A min_score requirement carries its score as a float on the quiz item."""
    quiz = web.modules[0].items[10]

    assert quiz.type == "Quiz"
    assert quiz.title == "Getting Started Quiz"
    assert quiz.content_title == "Getting Started Quiz"
    assert quiz.indent == 1
    assert quiz.completion_requirement == {"type": "min_score", "min_score": 100.0}


def test_unpublished_external_url(web: CourseExport) -> None:
    """An unpublished external URL keeps its URL (entities decoded) and new_tab."""
    survey = web.modules[1].items[13]

    assert survey.type == "ExternalUrl"
    assert survey.title == "Optional Feedback Survey"
    assert survey.workflow_state == "unpublished"
    assert not survey.published
    assert survey.url == (
        "https://wpcareyschool.qualtrics.com/jfe/form/SV_09tJIyOYXOeRq5f"
        "?week=start+here&Q_JFE=qdg"
    )
    assert survey.new_tab is True
    assert survey.position == 14
    assert survey.content_title is None
    assert survey.completion_requirement == {"type": "must_view"}


def test_only_two_items_are_unpublished(web: CourseExport) -> None:
    """The web export has exactly two unpublished items, both surveys."""
    unpublished = [
        (m.position, item.position)
        for m in web.modules
        for item in m.items
        if not item.published
    ]

    assert unpublished == [(2, 14), (4, 12)]


def test_file_item(web: CourseExport) -> None:
    """An Attachment reads as a File found by its title."""
    video = web.modules[7].items[6]

    assert video.type == "File"
    assert video.title == "Layout.mp4"
    assert video.content_title == "Layout.mp4"
    assert video.url is None
    assert video.page_slug is None


def test_sub_header(web: CourseExport) -> None:
    """A sub-header keeps its title verbatim and has no content or slug."""
    header = web.modules[0].items[1]

    assert header.type == "SubHeader"
    assert header.title.startswith(" You must view Steps 1-5  and complete")
    assert header.content_title is None
    assert header.page_slug is None


def test_page_slug_from_manifest() -> None:
    """A page's slug is its wiki_content file name without .html."""
    export = read_export(HELIUM)
    page = export.modules[0].items[1]

    assert page.type == "Page"
    assert page.title == "[T] How To Use Canvas"
    assert page.page_slug == "t-how-to-use-canvas"
    assert export.resources["g5f72dc5767a5e5414d7f1e3a85714d2f"].href == (
        "wiki_content/t-how-to-use-canvas.html"
    )


def test_empty_new_tab_and_position_gap() -> None:
    """``<new_tab/>`` reads False; item positions keep the export's gaps."""
    export = read_export(EARTH)
    text = export.modules[0].items[6]
    unit1 = export.modules[1]

    assert text.title == "Your Course Text"
    assert text.new_tab is False
    assert [item.position for item in unit1.items] == [1, 3, 4, 5, 6, 7, 8, 9, 10]
    assert unit1.items[0].completion_requirement == {"type": "must_mark_done"}
    assert unit1.items[3].type == "Discussion"
    assert unit1.items[3].completion_requirement == {"type": "must_contribute"}


def test_imscc_zip_at_top(tmp_path: Path) -> None:
    """An .imscc with the files at the top reads like the folder."""
    archive = tmp_path / "helium.imscc"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in HELIUM.rglob("*"):
            if file.is_file():
                zf.write(file, file.relative_to(HELIUM).as_posix())

    assert read_export(archive) == read_export(HELIUM)


def test_imscc_zip_of_folder(tmp_path: Path) -> None:
    """A folder zipped whole (files one level down) reads like the folder."""
    archive = Path(shutil.make_archive(str(tmp_path / "web"), "zip", EXPORTS, WEB.name))
    imscc = archive.rename(archive.with_suffix(".imscc"))

    assert read_export(imscc) == read_export(WEB)


def test_not_a_zip(tmp_path: Path) -> None:
    """A file that is not a zip is refused, naming it."""
    bogus = tmp_path / "course.imscc"
    bogus.write_bytes(b"not a zip")

    with pytest.raises(ExportError, match=r"course\.imscc: not a folder or a readable"):
        read_export(bogus)


def test_missing_path(tmp_path: Path) -> None:
    """A path that does not exist is refused, naming it."""
    with pytest.raises(ExportError, match="nowhere: no such folder"):
        read_export(tmp_path / "nowhere")


def test_missing_module_meta(helium_copy: Path) -> None:
    """An export without module_meta.xml is refused, naming that file."""
    (helium_copy / META).unlink()

    with pytest.raises(ExportError, match=r"module_meta\.xml: missing from the export"):
        read_export(helium_copy)


def test_missing_member_in_zip(tmp_path: Path) -> None:
    """A zip holding only the manifest names the missing module_meta.xml."""
    archive = tmp_path / "bare.imscc"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(HELIUM / "imsmanifest.xml", "imsmanifest.xml")

    with pytest.raises(
        ExportError, match=r"bare\.imscc/course_settings/module_meta\.xml: missing"
    ):
        read_export(archive)


def test_malformed_xml_names_file_and_line(helium_copy: Path) -> None:
    """Broken XML is refused with the file and the line the parser stopped at."""
    meta = helium_copy / META
    lines = meta.read_text(encoding="utf-8").splitlines()
    # Line 4 holds "<title>Course Introduction</title>"; break its end tag.
    lines[3] = lines[3].replace("</title>", "</titel>")
    meta.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(ExportError, match=r"module_meta\.xml:4: malformed XML"):
        read_export(helium_copy)


def test_doctype_refused(helium_copy: Path) -> None:
    """A DOCTYPE with entities is refused before any entity is expanded."""
    meta = helium_copy / META
    meta.write_bytes(
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE modules [\n<!ENTITY a "aaaaaaaaaa">\n'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
        b"<modules>&b;</modules>\n"
    )

    with pytest.raises(ExportError, match=r"module_meta\.xml:2: holds a DOCTYPE"):
        read_export(helium_copy)


def test_doctype_refused_in_utf16(helium_copy: Path) -> None:
    """A DOCTYPE is found in a UTF-16 manifest too, where bytes would hide it."""
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE m SYSTEM "x">\n<m/>'
    (helium_copy / "imsmanifest.xml").write_bytes(text.encode("utf-16"))

    with pytest.raises(ExportError, match=r"imsmanifest\.xml:2: holds a DOCTYPE"):
        read_export(helium_copy)


def test_unknown_content_type(helium_copy: Path) -> None:
    """An item type the Modules API cannot create is refused, naming the item."""
    meta = helium_copy / META
    text = meta.read_text(encoding="utf-8")
    meta.write_text(
        text.replace("<content_type>Assignment<", "<content_type>Lti::Gadget<", 1),
        encoding="utf-8",
    )

    with pytest.raises(
        ExportError, match=r"item gb11686d7724a5397448bce5cd168f8d2: content type"
    ):
        read_export(helium_copy)


def test_bad_position(helium_copy: Path) -> None:
    """A position that is not a whole number is refused, naming the module."""
    meta = helium_copy / META
    text = meta.read_text(encoding="utf-8")
    meta.write_text(
        text.replace(
            "<position>2</position>\n    <require",
            "<position>two</position>\n    <require",
        ),
        encoding="utf-8",
    )

    with pytest.raises(
        ExportError, match=r"module gf1e4a57507ba75119e9a7915ce1540ea: position 'two'"
    ):
        read_export(helium_copy)
