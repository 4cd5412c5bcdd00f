"""Request parameters as Canvas (Rails and Rack) reads them.

Form fields carry their structure in brackets: ``module[name]=W`` is
``{"module": {"name": "W"}}`` and ``module_ids[]=1&module_ids[]=2`` is
``{"module_ids": ["1", "2"]}``. A JSON object body is taken as it is. Values
are then read loosely, as Canvas reads them: :func:`to_bool` and
:func:`to_int`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

__all__ = ["InvalidParams", "parse_pairs", "read_params", "to_bool", "to_int"]

_TRUE = frozenset({"yes", "y", "true", "t", "on", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "off", "0"})
_LEADING_INT = re.compile(r"\s*([+-]?\d+(?:_\d+)*)")


class InvalidParams(ValueError):
    """The body could not be read (bad JSON); Canvas answers 400."""


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``(name, value)`` form pairs the way Rack does.

    ``a[b][c]=v`` nests, ``a[]=v`` appends, ``a[][b]=v`` builds a list of
    objects, and a repeated plain name keeps its last value. Where a name is
    used both as a value and as a container, the later pair wins.
    """
    params: dict[str, Any] = {}
    for name, value in pairs:
        _store(params, name, value)
    return params


def _store(params: dict[str, Any], name: str, value: Any) -> None:
    key, after = _split(name)
    if not key:
        return

    if after == "":
        params[key] = value
    elif after == "[]":
        current = params.get(key)
        if not isinstance(current, list):
            current = params[key] = []
        current.append(value)
    elif after.startswith("[]"):
        child = after[2:]
        items = params.get(key)
        if not isinstance(items, list):
            items = params[key] = []
        # "a[][x]=1&a[][y]=2" fills one object until a name repeats.
        child_key, _ = _split(child)
        last = items[-1] if items else None
        if isinstance(last, dict) and child_key not in last:
            _store(last, child, value)
        else:
            fresh: dict[str, Any] = {}
            _store(fresh, child, value)
            items.append(fresh)
    else:
        nested = params.get(key)
        if not isinstance(nested, dict):
            nested = params[key] = {}
        _store(nested, after, value)


def _split(name: str) -> tuple[str, str]:
    """Split ``a[b][c]`` into ``a`` and ``[b][c]``, ``[b][c]`` into ``b``, ``[c]``."""
    if name.startswith("["):
        end = name.find("]", 1)
        if end < 0:
            return name, ""
        return name[1:end], name[end + 1 :]
    start = name.find("[")
    if start <= 0:
        return name, ""
    return name[:start], name[start:]


async def read_params(request: web.Request) -> dict[str, Any]:
    """Return the query string and the body's parameters as one dict.

    The body may be form-urlencoded, multipart or a JSON object (any other
    JSON value lands under ``_json``, as in Rails). As in Rails, a top-level
    name given in both places takes its value from the query string.
    Raises :class:`InvalidParams` for a JSON body that does not parse.
    """
    body: dict[str, Any] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            body = _json_body(await request.read())
        elif request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            body = parse_pairs(
                (name, value) for name, value in form.items() if isinstance(value, str)
            )

    query = parse_pairs(request.query.items())
    return {**body, **query}


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidParams("the JSON body could not be parsed") from error
    if isinstance(value, dict):
        return value
    return {"_json": value}


def to_bool(value: Any) -> bool:
    """Read a parameter as a boolean, as Canvas's ``value_to_boolean`` does.

    ``yes y true t on 1`` are true and ``no n false f off 0`` false in any
    case; other text counts by its leading integer (``"2"`` is true, ``"x"``
    false); a missing value, a list or an object is false.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int):
        text = str(value).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return to_int(value) != 0
    return False


def to_int(value: Any) -> int:
    """Read a parameter as Ruby's ``to_i``: ``"12abc"`` is 12, ``"abc"`` is 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        match = _LEADING_INT.match(value)
        return int(match.group(1).replace("_", "")) if match else 0
    return 0
