"""Pagination over HTTP: pages, the Link header, and bad page numbers."""

from __future__ import annotations

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig

ADMIN = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(courses=1, throttle=False)


def _add_modules(sandbox: Sandbox, count: int) -> list[int]:
    """Create ``count`` modules named M1.. in course 1; return their ids."""
    state = sandbox.state
    course = state.find_course("1")
    admin = state.user_for_token("sandbox-token")
    assert admin is not None
    return [
        state.create_module(course, admin, {"name": f"M{n}"}).id
        for n in range(1, count + 1)
    ]


async def test_pages_and_link_header(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """25 modules at per_page 10: page 2 holds M11..M20 and links all five rels.

    Other query parameters come first, sorted, brackets escaped; the
    access_token given in the query is left out of the links.
    """
    _add_modules(sandbox, 25)
    base = sandbox.base_url + "/api/v1/courses/1/modules"
    query = "per_page=10&page=2&include[]=items&access_token=sandbox-token"
    async with http.get(f"{base}?{query}") as response:
        assert response.status == 200
        names = [module["name"] for module in await response.json()]
        link = response.headers["Link"]
    assert names == [f"M{n}" for n in range(11, 21)]

    def at(page: int) -> str:
        return f"<{base}?include%5B%5D=items&page={page}&per_page=10>"

    assert link == ",".join(
        [
            f'{at(2)}; rel="current"',
            f'{at(3)}; rel="next"',
            f'{at(1)}; rel="prev"',
            f'{at(1)}; rel="first"',
            f'{at(3)}; rel="last"',
        ]
    )


async def test_following_next_reads_everything(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Following rel="next" at per_page 3 visits 4 pages and every module once."""
    ids = _add_modules(sandbox, 10)
    url: str | None = sandbox.base_url + "/api/v1/courses/1/modules?per_page=3"
    seen: list[int] = []
    pages = 0
    while url is not None:
        async with http.get(url, headers=ADMIN) as response:
            seen += [module["id"] for module in await response.json()]
            next_link = response.links.get("next")
        url = None if next_link is None else str(next_link["url"])
        pages += 1
    assert pages == 4
    assert seen == ids


async def test_page_past_the_end_is_empty(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Page 9 of 3 answers 200 with [] and no rel="next"."""
    _add_modules(sandbox, 3)
    url = sandbox.base_url + "/api/v1/courses/1/modules?page=9"
    async with http.get(url, headers=ADMIN) as response:
        assert response.status == 200
        assert await response.json() == []
        assert "next" not in response.links


@pytest.mark.parametrize("page", ["0", "-1", "abc"])
async def test_invalid_page_is_404(
    sandbox: Sandbox, http: aiohttp.ClientSession, page: str
) -> None:
    """page 0, negative or junk answers Canvas's generic 404 body."""
    url = sandbox.base_url + f"/api/v1/courses/1/modules?page={page}"
    async with http.get(url, headers=ADMIN) as response:
        assert response.status == 404
        assert await response.json() == {
            "errors": [{"message": "An error occurred.", "error_code": "not_found"}]
        }


async def test_items_are_paginated(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """Five sub-headers at per_page 2: page 3 holds the fifth alone."""
    state = sandbox.state
    course = state.find_course("1")
    admin = state.user_for_token("sandbox-token")
    assert admin is not None
    module = state.create_module(course, admin, {"name": "M"})
    for n in range(1, 6):
        fields = {"type": "SubHeader", "title": f"S{n}"}
        state.create_item(course, admin, str(module.id), fields)

    url = sandbox.base_url + f"/api/v1/courses/1/modules/{module.id}/items"
    async with http.get(url + "?per_page=2&page=3", headers=ADMIN) as response:
        assert [item["title"] for item in await response.json()] == ["S5"]
        assert "next" not in response.links
        assert response.links["prev"]["url"].query["page"] == "2"
