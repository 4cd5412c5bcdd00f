"""Canvas's page numbers, page sizes and Link header."""

from __future__ import annotations

import pytest
import yarl

from bulkmod.sandbox.pagination import InvalidPage, paginate

BASE = "http://127.0.0.1:8080/api/v1/courses/1/modules"
ITEMS = list(range(1, 26))  # 25 things: pages of 10 are 10, 10, 5


def links(header: str) -> list[tuple[str, str]]:
    """Split a Link header into (url, rel) pairs, in order."""
    pairs = []
    for part in header.split(","):
        url, rel = part.split("; ")
        pairs.append((url.strip("<>"), rel.removeprefix('rel="').rstrip('"')))
    return pairs


def test_first_page_defaults_to_ten() -> None:
    """No paging parameters: page 1 of 10; links current, next, first, last."""
    page, header = paginate(yarl.URL(BASE), ITEMS)

    assert page == list(range(1, 11))
    assert links(header) == [
        (f"{BASE}?page=1&per_page=10", "current"),
        (f"{BASE}?page=2&per_page=10", "next"),
        (f"{BASE}?page=1&per_page=10", "first"),
        (f"{BASE}?page=3&per_page=10", "last"),
    ]


def test_middle_page_has_next_and_prev_in_canvas_order() -> None:
    """Page 2 of 3: rels current, next, prev, first, last, joined by bare commas."""
    _, header = paginate(yarl.URL(f"{BASE}?page=2"), ITEMS)

    assert header == (
        f'<{BASE}?page=2&per_page=10>; rel="current",'
        f'<{BASE}?page=3&per_page=10>; rel="next",'
        f'<{BASE}?page=1&per_page=10>; rel="prev",'
        f'<{BASE}?page=1&per_page=10>; rel="first",'
        f'<{BASE}?page=3&per_page=10>; rel="last"'
    )


def test_last_page_is_short_and_has_no_next() -> None:
    """Page 3 holds the last 5 and links no next page."""
    page, header = paginate(yarl.URL(f"{BASE}?page=3"), ITEMS)

    assert page == [21, 22, 23, 24, 25]
    assert [rel for _, rel in links(header)] == ["current", "prev", "first", "last"]


def test_page_past_the_end_is_empty() -> None:
    """Page 9 of 3 is an empty page, not an error."""
    page, header = paginate(yarl.URL(f"{BASE}?page=9"), ITEMS)

    assert page == []
    assert [rel for _, rel in links(header)] == ["current", "prev", "first", "last"]


def test_empty_list_has_one_page() -> None:
    """Nothing to list: page 1 is empty and is also the last page."""
    nothing: list[int] = []
    page, header = paginate(yarl.URL(BASE), nothing)

    assert page == []
    assert [rel for _, rel in links(header)] == ["current", "first", "last"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0", 1), ("-5", 1), ("abc", 1), ("500", 100), ("7", 7), ("12abc", 12)],
)
def test_per_page_is_read_as_an_integer_and_clamped(raw: str, expected: int) -> None:
    """per_page goes through to_i and is clamped to 1..100."""
    _, header = paginate(yarl.URL(BASE).with_query(per_page=raw), list(range(300)))

    assert f"per_page={expected}>" in header


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "1.5", ""])
def test_bad_page_raises_invalid_page(raw: str) -> None:
    """page 0, negative or not an integer is InvalidPage (Canvas's 404)."""
    with pytest.raises(InvalidPage):
        paginate(yarl.URL(BASE).with_query(page=raw), ITEMS)


def test_other_query_parameters_are_kept_sorted_and_escaped() -> None:
    """Other parameters come first, sorted, brackets escaped; page and per_page last."""
    url = yarl.URL(BASE).with_query(
        [
            ("search_term", "week one"),
            ("include[]", "items"),
            ("include[]", "content_details"),
            ("per_page", "5"),
        ]
    )

    _, header = paginate(url, ITEMS)

    first_url = links(header)[0][0]
    assert first_url == (
        f"{BASE}?include%5B%5D=items&include%5B%5D=content_details"
        "&search_term=week+one&page=1&per_page=5"
    )


def test_credentials_are_never_echoed_into_links() -> None:
    """access_token and api_key are dropped from every link."""
    url = yarl.URL(BASE).with_query(access_token="secret-token", api_key="k", x="1")

    _, header = paginate(url, ITEMS)

    assert "secret" not in header
    assert "api_key" not in header
    assert links(header)[0][0] == f"{BASE}?x=1&page=1&per_page=10"
