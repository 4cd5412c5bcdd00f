"""Which Canvas we talk to, and which URLs of it a request may go to.

The base URL is an origin only; plain ``http://`` is refused unless the host is
loopback or the user asked for it, because the token would cross the network
in clear. Paths are built from a fixed template whose parts are each one
percent-encoded segment, so no id, SIS id or name from a job can reach another
path of the API; a next page is followed only on the same origin, in the API.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
import urllib.parse

import yarl

#: Canvas serves its REST API under this prefix of the origin.
API_PREFIX = "/api/v1"

#: Kept unencoded in a path part: Canvas's id forms use ":" (``sis_course_id:X``)
#: and "~" (shard-qualified ids), which ``quote`` already leaves alone.
_SAFE_IN_PART = ":"

_LINK = re.compile(r"<([^>]*)>\s*((?:;[^,;]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s";,]+))""", re.I)


def is_loopback_host(host: str) -> bool:
    """Tell whether ``host`` is literally loopback: localhost, 127.0.0.0/8, ::1."""
    bare = host.strip("[]").lower()
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str, *, allow_insecure_http: bool) -> str:
    """Return the Canvas origin of ``url`` (``scheme://host[:port]``).

    A trailing ``/api/v1`` and ``/`` are tolerated. Raise ``ValueError`` for
    anything else: another scheme or path, a query, a user name or password,
    or plain ``http://`` to a host that is not loopback unless
    ``allow_insecure_http``.
    """
    text = url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"the base URL is not a valid URL ({err})") from None

    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("the base URL must look like https://canvas.example.edu")
    if "@" in parts.netloc:
        # Never echo the URL here: what precedes "@" may be a secret.
        raise ValueError("the base URL must not carry a user name or password")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError("the base URL must not carry a query or fragment")
    path = parts.path.rstrip("/")
    if path not in ("", API_PREFIX):
        raise ValueError(
            f"the base URL must be the Canvas origin, without the path {path!r}"
        )

    host = parts.hostname.lower()
    if scheme == "http" and not allow_insecure_http and not is_loopback_host(host):
        raise ValueError(
            f"refusing plain http:// to {host}: the token would travel "
            "unencrypted; use https:// or pass --allow-insecure-http"
        )
    shown = f"[{host}]" if ":" in host else host
    if port is not None:
        shown = f"{shown}:{port}"
    return f"{scheme}://{shown}"


#: Filled paths and URLs a run keeps ready: those of the courses in
#: progress, many times over.
RECENT_PATHS = 256


def api_path(template: str, **parts: str | int) -> str:
    """Fill ``template`` (``/courses/{course}/modules``) with encoded parts.

    Each part becomes exactly one path segment: "/", "?", "#" and "%" are
    percent-encoded, and an empty part, "." or ".." is refused with
    ``ValueError``. Every placeholder must be given and every part used.
    """
    if not template.startswith("/"):
        raise ValueError(f"a path template starts with '/': {template!r}")

    pieces, fields = _parsed(template)
    out: list[str] = []
    for literal, field, plain in pieces:
        out.append(literal)
        if field is None:
            continue
        if not plain or field not in parts:
            raise ValueError(f"path template {template!r} needs part {field!r}")
        out.append(_segment(field, parts[field]))

    if not fields.issuperset(parts):
        unused = sorted(set(parts) - fields)
        raise ValueError(f"path template {template!r} has no part {unused[0]!r}")
    return "".join(out)


@functools.lru_cache(maxsize=128)
def _parsed(
    template: str,
) -> tuple[tuple[tuple[str, str | None, bool], ...], frozenset[str]]:
    """A template's literals and fields, parsed once: a run fills a few often.

    Each piece is (literal, field or None, whether the field is plain, with
    no format spec or conversion).
    """
    pieces = tuple(
        (literal, field, not spec and not conversion)
        for literal, field, spec, conversion in string.Formatter().parse(template)
    )
    fields = frozenset(field for _, field, _ in pieces if field is not None)
    return pieces, fields


def _segment(field: str, value: str | int) -> str:
    if type(value) is int:
        # Digits and a minus sign need no encoding and are never "." or "..".
        return str(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"path part {field!r} must be a string or an integer")
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"path part {field!r} may not be {text!r}")
    return _quoted(text)


@functools.lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    # A run names the same few courses and ids again and again.
    return urllib.parse.quote(text, safe=_SAFE_IN_PART)


def api_url(base_url: str, path: str, query: list[tuple[str, str]]) -> yarl.URL:
    """Join an origin, ``/api/v1``, an encoded ``path`` and ``query`` pairs.

    Raise ``ValueError`` for a path that does not start with "/", carries a
    query or fragment, or has a "." or ".." segment.
    """
    if not path.startswith("/") or "?" in path or "#" in path or "\\" in path:
        raise ValueError(f"an API path starts with '/' and has no query: {path!r}")
    # Every segment follows a "/": without "/." none can be "." or "..".
    if "/." in path and any(part in (".", "..") for part in path.split("/")):
        raise ValueError(f"an API path has no '.' or '..' segment: {path!r}")

    text = base_url + API_PREFIX + path
    if query:
        text += "?" + urllib.parse.urlencode(query)
    # encoded=True: the path parts are already percent-encoded one by one.
    return yarl.URL(text, encoded=True)


def next_link(links: str) -> str | None:
    """Return the URL of ``rel="next"`` in a Link header value, or None."""
    for match in _LINK.finditer(links):
        target, params = match.group(1), match.group(2)
        for rel in _REL.finditer(params):
            names = (rel.group(1) or rel.group(2) or "").lower().split()
            if "next" in names:
                return target.strip()
    return None


def next_page(current: yarl.URL, links: str, *, as_user: str | None) -> yarl.URL | None:
    """Return the next page after ``current`` named in ``links``, or None.

    The URL is taken as given, resolved against ``current``. Raise
    ``ValueError`` when it leaves the origin of ``current`` or the API.
    """
    target = next_link(links)
    if target is None:
        return None

    following = current.join(yarl.URL(target, encoded=True))
    if following.origin() != current.origin():
        raise ValueError(
            f"Canvas sent the next page of {current.path} to another origin "
            f"({following.origin()})"
        )
    if not following.raw_path.startswith(API_PREFIX + "/"):
        raise ValueError(f"Canvas sent the next page of {current.path} outside the API")
    if as_user is not None and "as_user_id" not in following.query:
        # Pages read as the admin instead of the student would silently differ.
        sep = "&" if following.raw_query_string else "?"
        added = urllib.parse.urlencode([("as_user_id", as_user)])
        following = yarl.URL(f"{following}{sep}{added}", encoded=True)
    return following
