"""The shape params must have whatever their keys: depth, names, strings, links."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from bulkmod.job.linecheck import check_line
from bulkmod.job.model import ByName, Operation
from bulkmod.job.params import MAX_DEPTH
from bulkmod.job.reader import read_operations
from bulkmod.job.validate import check_job, run_validate

TOO_DEEP = "objects and lists nest more than 16 levels deep (counting params)"
CONTROL = "must not contain control characters"
NOT_HTTP = "must be an http:// or https:// URL"


def _nested(levels: int, opening: str, closing: str) -> str:
    """JSON text of ``levels`` nested objects or lists around a 1.

    Written as text: orjson refuses to write what nests this deep.
    """
    return opening * levels + "1" + closing * levels


def _deep_line(value: str) -> bytes:
    return (
        b'{"op": "module.create", "course": 1, "params": {"name": "A", "x": '
        + value.encode()
        + b"}}\n"
    )


def _problems(params: dict[str, Any], op: str = "module.update") -> list[Any]:
    line: dict[str, Any] = {"op": op, "course": 1, "params": params}
    if op != "module.create":
        line["module"] = 1
    return check_line(orjson.loads(orjson.dumps(line)), 1).problems


@pytest.mark.parametrize(
    ("value", "levels"),
    [
        (_nested(495, '{"a": ', "}"), "495 objects"),
        (_nested(990, "[", "]"), "990 lists"),
        (_nested(1000, '{"a": ', "}"), "1000 objects"),
    ],
)
def test_deep_params_are_a_problem_not_a_crash(
    tmp_path: Path, value: str, levels: str
) -> None:
    """Params nested up to what JSON parsing allows give exit 2 and file:line."""
    job = tmp_path / "deep.jsonl"
    job.write_bytes(_deep_line(value))
    out, err = io.StringIO(), io.StringIO()

    status = run_validate(job, out, err)

    assert status == 2, levels
    assert out.getvalue() == f"{job}:1: params.x: {TOO_DEEP}\n"


def test_depth_limit_counts_params_as_the_first_level() -> None:
    """Fifteen objects inside params make 16 levels: allowed; sixteen are not."""
    assert MAX_DEPTH == 16
    fifteen = orjson.loads(_nested(15, '{"a": ', "}"))
    sixteen = orjson.loads(_nested(16, "[", "]"))

    assert _problems({"x": fifteen}) == []
    assert _problems({"x": sixteen}) == [("params.x", TOO_DEEP)]


def test_depth_is_named_once_per_parameter() -> None:
    """Many branches too deep in one parameter make one problem."""
    deep = orjson.loads(_nested(20, "[", "]"))

    assert _problems({"x": [deep, deep, {"b": deep}]}) == [("params.x", TOO_DEEP)]


def test_bracketed_and_empty_names_are_refused() -> None:
    """Names that would turn into other Canvas fields on the wire are refused."""
    params = {"published]": "yes", "name][x": 1, "": 1, "published": True}

    assert _problems(params) == [
        ("params", "'published]' is not a parameter name (letters, digits and _ only)"),
        ("params", "'name][x' is not a parameter name (letters, digits and _ only)"),
        ("params", "a parameter name must not be empty"),
    ]


def test_names_are_checked_at_every_level() -> None:
    """A bad name inside a nested object is named with its object's path."""
    params = {
        "type": "SubHeader",
        "title": "T",
        "iframe": {"width": 5, "height]": 5, "x": [{"a\nb": 1}]},
    }

    assert _problems(params, "item.create") == [
        (
            "params.iframe",
            "'height]' is not a parameter name (letters, digits and _ only)",
        ),
        (
            "params.iframe.x[0]",
            "'a\\nb' is not a parameter name (letters, digits and _ only)",
        ),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": "a\u0000b"}, "params.name"),
        ({"name": "Week\t1"}, "params.name"),
        ({"name": "Week 1\n"}, "params.name"),
        ({"name": "W\x7f"}, "params.name"),
        ({"name": "W", "content": {"title": "\x1f"}}, "params.content.title"),
        ({"name": "W", "search_term": ["ok", "a\rb"]}, "params.search_term[1]"),
    ],
)
def test_control_characters_in_strings_are_refused(
    params: dict[str, Any], field: str
) -> None:
    """No string in params may hold U+0000-U+001F or U+007F, tab and newline too."""
    assert (field, CONTROL) in _problems(params)


def test_other_characters_are_kept() -> None:
    """Accents, emoji joined by U+200D, no-break spaces and CJK are text."""
    name = "Week 1 \u2713 caf\u00e9\u00a0\U0001f469\u200d\U0001f4bb \u7b2c\u4e00\u5468"

    assert _problems({"name": name}) == []


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<p>x</p>",
        "ftp://example.edu/a",
        "https://",
        "example.edu/page",
        "//example.edu/page",
    ],
)
def test_external_urls_must_be_http(url: str) -> None:
    """An ExternalUrl link is http(s) with a host, or a problem."""
    params = {"type": "ExternalUrl", "title": "Link", "external_url": url}

    assert _problems(params, "item.create") == [("params.external_url", NOT_HTTP)]


@pytest.mark.parametrize(
    "url", ["https://example.edu/a?b=c", "http://10.0.0.1:8080/", "HTTPS://EXAMPLE.EDU"]
)
def test_http_urls_pass(url: str) -> None:
    """http and https links with a host are accepted, the scheme in any case."""
    params = {"type": "ExternalUrl", "title": "Link", "external_url": url}

    assert _problems(params, "item.create") == []


def test_csv_header_names_must_be_plain(tmp_path: Path) -> None:
    """A CSV column that is not a plain parameter name stops the job at row 1."""
    job = tmp_path / "job.csv"
    job.write_text(
        "op,course,module,published],iframe.wi dth\nmodule.update,1,1,yes,3\n",
        encoding="utf-8",
    )

    problems = [str(problem) for problem in check_job(job).problems]

    assert problems == [
        f"{job}:row 1: column 'published]': "
        "'published]' is not a parameter name (letters, digits and _ only)",
        f"{job}:row 1: column 'iframe.wi dth': "
        "'wi dth' is not a parameter name (letters, digits and _ only)",
    ]


def test_csv_selector_cells_drop_spaces_around_the_name(tmp_path: Path) -> None:
    """``name: Week 1 `` selects the module named ``Week 1``; title: likewise."""
    job = tmp_path / "job.csv"
    job.write_text(
        "op,course,module,item\n"
        "module.publish,1,name: Week 1 ,\n"
        'item.show,1,name:Week 2,"title:  Intro\t"\n'
        "module.publish,1,name:   ,\n",
        encoding="utf-8",
    )

    found = list(read_operations(job))

    assert isinstance(found[0], Operation) and found[0].module == ByName("Week 1")
    assert isinstance(found[1], Operation) and found[1].item == ByName("Intro")
    assert [str(problem) for problem in found[2:]] == [
        f"{job}:row 4: column 'module': must be a non-empty string"
    ]
