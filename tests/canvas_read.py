"""Reading a course back over the API, the way an admin would check a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import orjson


async def get_all(
    session: aiohttp.ClientSession, base_url: str, token: str, path: str
) -> list[Any]:
    """Every page of a list, following the Link header."""
    url: str | None = f"{base_url}/api/v1{path}"
    sep = "&" if "?" in path else "?"
    url = f"{url}{sep}per_page=100"
    found: list[Any] = []
    headers = {"Authorization": f"Bearer {token}"}
    while url:
        async with session.get(url, headers=headers) as answer:
            assert answer.status == 200, await answer.text()
            found.extend(await answer.json())
            url = answer.links.get("next", {}).get("url")  # type: ignore[assignment]
            url = str(url) if url else None
    return found


async def course_structure(
    session: aiohttp.ClientSession, base_url: str, token: str, course: int | str
) -> list[dict[str, Any]]:
    """Modules in order, each with its items in order, as Canvas shows them."""
    modules = await get_all(session, base_url, token, f"/courses/{course}/modules")
    for module in modules:
        module["items"] = await get_all(
            session, base_url, token, f"/courses/{course}/modules/{module['id']}/items"
        )
    return modules


def write_job(path: Path, lines: list[dict[str, Any]]) -> Path:
    """Write a JSONL job file."""
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def read_results(path: Path) -> list[dict[str, Any]]:
    """The outcome lines of a results file (header and intents left out)."""
    records = [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw]
    return [record for record in records if "status" in record]
