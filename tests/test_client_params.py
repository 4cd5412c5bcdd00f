"""Encoding nested parameters into Canvas's bracketed form pairs."""

from __future__ import annotations

from typing import Any

import pytest

from bulkmod.client.params import encode
from bulkmod.sandbox.params import parse_pairs, to_bool


def test_module_update_encodes_as_canvas_expects() -> None:
    """Nested object, list and boolean, in key order."""
    params = {
        "module": {"name": "W", "prerequisite_module_ids": [1, 2], "published": True}
    }

    assert encode(params) == [
        ("module[name]", "W"),
        ("module[prerequisite_module_ids][]", "1"),
        ("module[prerequisite_module_ids][]", "2"),
        ("module[published]", "true"),
    ]


def test_empty_list_is_a_blank_value() -> None:
    """[] becomes the bare key with "" so that Canvas clears the list."""
    params: dict[str, Any] = {"module": {"prerequisite_module_ids": []}}

    assert encode(params) == [("module[prerequisite_module_ids]", "")]
    assert parse_pairs(encode(params)) == {"module": {"prerequisite_module_ids": ""}}


def test_none_and_false_and_numbers() -> None:
    """None is empty, False is "false", numbers are their decimal text."""
    params = {"a": None, "b": False, "c": 0, "d": 2.5}

    assert encode(params) == [("a", ""), ("b", "false"), ("c", "0"), ("d", "2.5")]


def test_top_level_list_and_deep_nesting() -> None:
    """module_ids[] at the top level; completion_requirement two levels deep."""
    params = {
        "event": "publish",
        "module_ids": [3, 4],
        "module_item": {
            "completion_requirement": {"type": "min_score", "min_score": 7}
        },
    }

    assert encode(params) == [
        ("event", "publish"),
        ("module_ids[]", "3"),
        ("module_ids[]", "4"),
        ("module_item[completion_requirement][type]", "min_score"),
        ("module_item[completion_requirement][min_score]", "7"),
    ]


def test_list_of_objects() -> None:
    """A list of objects encodes as name[][key] pairs."""
    assert encode({"a": [{"x": 1}, {"x": 2}]}) == [("a[][x]", "1"), ("a[][x]", "2")]


def test_text_is_not_split_into_characters() -> None:
    """A string is one value, brackets and spaces untouched (the form escapes them)."""
    assert encode({"search_term": "a [b]"}) == [("search_term", "a [b]")]


def test_unencodable_value_is_a_type_error() -> None:
    """A value with no form encoding is refused, naming the parameter."""
    with pytest.raises(TypeError, match="module\\[x\\]"):
        encode({"module": {"x": object()}})


def _as_canvas_reads(value: Any) -> Any:
    """What Canvas receives for a value: text, with [] and None blank."""
    if isinstance(value, dict):
        return {key: _as_canvas_reads(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_as_canvas_reads(child) for child in value] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize(
    "params",
    [
        {"module": {"name": "Week 1", "position": 2, "published": False}},
        {"module": {"prerequisite_module_ids": [], "unlock_at": None}},
        {"event": "delete", "module_ids": [10, 11, 12], "async": True},
        {
            "module_item": {
                "type": "Page",
                "page_url": "intro",
                "completion_requirement": {"type": "must_view"},
                "iframe": {"width": 800, "height": 600},
            }
        },
        {"include": ["items", "content_details"], "search_term": "wk"},
    ],
)
def test_round_trip_through_the_sandbox_reader(params: dict[str, Any]) -> None:
    """encode then parse_pairs gives back the params as Canvas reads them."""
    assert parse_pairs(encode(params)) == _as_canvas_reads(params)


def test_booleans_read_back_as_booleans() -> None:
    """true/false as encoded are read by value_to_boolean as True/False."""
    parsed = parse_pairs(encode({"t": True, "f": False}))

    assert to_bool(parsed["t"]) is True
    assert to_bool(parsed["f"]) is False
