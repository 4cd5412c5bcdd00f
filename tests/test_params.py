"""Reading request parameters as Canvas reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bulkmod.sandbox.params import (
    InvalidParams,
    parse_pairs,
    read_params,
    to_bool,
    to_int,
)


def test_brackets_nest() -> None:
    """module[name]=W becomes {"module": {"name": "W"}}."""
    assert parse_pairs([("module[name]", "W"), ("module[position]", "2")]) == {
        "module": {"name": "W", "position": "2"}
    }


def test_empty_brackets_append() -> None:
    """module_ids[]=1&module_ids[]=2 becomes a list in order."""
    assert parse_pairs([("module_ids[]", "1"), ("module_ids[]", "2")]) == {
        "module_ids": ["1", "2"]
    }


def test_deep_nesting_with_a_list_at_the_end() -> None:
    """a[b][c][]=1&a[b][c][]=2&a[b][d]=x nests three levels."""
    pairs = [("a[b][c][]", "1"), ("a[b][c][]", "2"), ("a[b][d]", "x")]

    assert parse_pairs(pairs) == {"a": {"b": {"c": ["1", "2"], "d": "x"}}}


def test_repeated_plain_key_keeps_the_last() -> None:
    """event=publish&event=delete reads as delete."""
    assert parse_pairs([("event", "publish"), ("event", "delete")]) == {
        "event": "delete"
    }


def test_list_of_objects() -> None:
    """a[][x]=1&a[][y]=2&a[][x]=3: a name repeating starts the next object."""
    pairs = [("a[][x]", "1"), ("a[][y]", "2"), ("a[][x]", "3")]

    assert parse_pairs(pairs) == {"a": [{"x": "1", "y": "2"}, {"x": "3"}]}


def test_blank_list_value_stays_a_blank_string() -> None:
    """module[prerequisite_module_ids]= (blank) is kept as "" so Canvas clears."""
    assert parse_pairs([("module[prerequisite_module_ids]", "")]) == {
        "module": {"prerequisite_module_ids": ""}
    }


def test_empty_list_member_is_an_empty_string() -> None:
    """ids[]= with no value is a one-element list holding ""."""
    assert parse_pairs([("ids[]", "")]) == {"ids": [""]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("t", True),
        ("y", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("no", False),
        ("", False),
        ("abc", False),
        ("2", True),
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (None, False),
    ],
)
def test_to_bool_matches_canvas(value: Any, expected: bool) -> None:
    """value_to_boolean: known words, else the leading integer is non-zero."""
    assert to_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12abc", 12),
        ("abc", 0),
        ("", 0),
        ("  7", 7),
        ("-3", -3),
        ("+4x", 4),
        ("1_000", 1000),
        ("3.9", 3),
        (5, 5),
        (2.7, 2),
        (None, 0),
    ],
)
def test_to_int_matches_ruby(value: Any, expected: int) -> None:
    """Ruby to_i: leading integer, else 0."""
    assert to_int(value) == expected


Echo = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    """A loopback server that answers with the parameters it read."""

    async def handler(request: web.Request) -> web.Response:
        try:
            return web.json_response(await read_params(request))
        except InvalidParams:
            return web.json_response({"invalid": True}, status=400)

    app = web.Application()
    app.router.add_route("*", "/echo", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    async with aiohttp.ClientSession() as session:

        async def call(method: str, query: str = "", **kwargs: Any) -> dict[str, Any]:
            url = f"http://127.0.0.1:{port}/echo{query}"
            async with session.request(method, url, **kwargs) as response:
                result: dict[str, Any] = await response.json()
                return result

        yield call
    await runner.cleanup()


async def test_read_params_form_body_and_query(echo: Echo) -> None:
    """A form body nests its brackets and is merged with the query string."""
    body = [("module[name]", "W"), ("module[prerequisite_module_ids][]", "4")]

    result = await echo("POST", "?include[]=items", data=body)

    assert result == {
        "include": ["items"],
        "module": {"name": "W", "prerequisite_module_ids": ["4"]},
    }


async def test_read_params_json_body(echo: Echo) -> None:
    """A JSON object body is taken as it is, booleans and numbers kept."""
    body = {"module": {"name": "W", "published": True, "position": 2}}

    result = await echo("PUT", json=body)

    assert result == body


async def test_read_params_multipart_body(echo: Echo) -> None:
    """A multipart body reads like a form."""
    form = aiohttp.FormData()
    form.add_field("module_item[title]", "T")
    form.add_field("module_item[type]", "SubHeader")
    form.add_fields(("x", "y"))

    result = await echo("POST", data=form())

    assert result == {"module_item": {"title": "T", "type": "SubHeader"}, "x": "y"}


async def test_read_params_query_wins_at_the_top_level(echo: Echo) -> None:
    """As in Rails, a name in both the query and the body takes the query's value."""
    result = await echo("PUT", "?event=delete", data={"event": "publish", "a": "1"})

    assert result == {"event": "delete", "a": "1"}


async def test_read_params_bad_json_is_invalid(echo: Echo) -> None:
    """A body that claims JSON but does not parse raises InvalidParams."""
    result = await echo(
        "POST", data=b"{nope", headers={"Content-Type": "application/json"}
    )

    assert result == {"invalid": True}


async def test_read_params_get_without_body(echo: Echo) -> None:
    """A GET has only its query string."""
    assert await echo("GET", "?page=2&per_page=5") == {"page": "2", "per_page": "5"}
