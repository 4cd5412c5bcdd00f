"""How much the client reads from a server before it stops believing it.

A server that is not Canvas, or one that went wrong, may send a body without
end or pages without end. Canvas's real answers are far below these limits,
so reaching one means the base URL points at something else.
"""

from __future__ import annotations

import aiohttp

#: Largest answer body read, in bytes. Canvas's largest answers (a page of
#: 100 modules with their items) are a few megabytes.
MAX_BODY = 64_000_000

#: Most pages followed for one list: at 100 entries a page, a million
#: entries, far beyond any course. A server whose pages never end stops here.
MAX_PAGES = 10_000

#: Most bytes of answer bodies read for one list, all pages together.
MAX_LIST_BYTES = 256_000_000

#: Bytes read from the connection at a time while an answer is read.
_CHUNK = 256 * 1024


async def read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The answer's body, or None as soon as it proves longer than ``limit``."""
    declared = resp.content_length
    if declared is not None:
        if declared > limit:
            return None
        if "Content-Encoding" not in resp.headers:
            # Not compressed: the body is exactly the declared bytes, known to
            # fit, so it is read in one go.
            return await resp.read()
    chunks: list[bytes] = []
    size = 0
    # Read in pieces: a body without a length (or a compressed one) is only
    # known to be too large once that much of it has come.
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def size_text(count: int) -> str:
    """A byte count for a message: ``1000 bytes``, ``64 MB``."""
    if count < 1_000_000:
        return f"{count} bytes"
    return f"{count / 1_000_000:.0f} MB"
