"""Canvas's page-numbered lists: ``page``/``per_page`` and the ``Link`` header.

``per_page`` defaults to 10 and is read as an integer clamped to 1..100;
``page`` counts from 1, and a page past the end is simply empty. The
``Link`` header names the current, next, prev, first and last pages, in that
order, each URL carrying the request's other query parameters sorted and
escaped as Rails writes them, then ``page`` and ``per_page``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote_plus

import yarl

from bulkmod.sandbox.params import parse_pairs, to_int

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "InvalidPage", "paginate"]

T = TypeVar("T")

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
#: Never echoed into links: the paging itself and credentials.
_DROPPED = frozenset({"page", "per_page", "access_token", "api_key"})
_PAGE = re.compile(r"\d+")


class InvalidPage(Exception):
    """``page`` is not a positive integer; Canvas answers 404."""


def paginate(url: yarl.URL, items: Sequence[T]) -> tuple[list[T], str]:
    """Return the page of ``items`` that ``url`` asks for and its ``Link`` value."""
    page = _page_number(url.query.get("page"))
    per_page = _per_page(url.query.get("per_page"))

    start = (page - 1) * per_page
    chosen = list(items[start : start + per_page])

    last = max(1, -(-len(items) // per_page))
    rels: list[tuple[str, int]] = [("current", page)]
    if page < last:
        rels.append(("next", page + 1))
    if page > 1:
        rels.append(("prev", page - 1))
    rels += [("first", 1), ("last", last)]

    base = _link_base(url)
    links = ",".join(
        f'<{base}page={number}&per_page={per_page}>; rel="{rel}"'
        for rel, number in rels
    )
    return chosen, links


def _page_number(raw: str | None) -> int:
    if raw is None:
        return 1
    if not _PAGE.fullmatch(raw) or int(raw) <= 0:
        raise InvalidPage(raw)
    return int(raw)


def _per_page(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PER_PAGE
    return min(max(to_int(raw), 1), MAX_PER_PAGE)


def _link_base(url: yarl.URL) -> str:
    origin = str(url.with_query(None).with_fragment(None))
    kept = [(name, value) for name, value in url.query.items()]
    params = {
        name: value for name, value in parse_pairs(kept).items() if name not in _DROPPED
    }
    query = _to_query(params, None)
    return f"{origin}?{query}&" if query else f"{origin}?"


def _to_query(value: Any, prefix: str | None) -> str:
    """Write ``value`` as Rails's ``to_query`` does: sorted, brackets escaped."""
    if isinstance(value, Mapping):
        parts = [
            _to_query(child, f"{prefix}[{name}]" if prefix else str(name))
            for name, child in value.items()
        ]
        return "&".join(sorted(part for part in parts if part))
    if isinstance(value, list):
        if not value:
            return _to_query(None, f"{prefix}[]")
        return "&".join(_to_query(child, f"{prefix}[]") for child in value)
    assert prefix is not None
    text = "" if value is None else str(value)
    return f"{quote_plus(prefix, safe='')}={quote_plus(text, safe='')}"
