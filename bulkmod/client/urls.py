"""Which Canvas we talk to, and how a request path is built safely.

The base URL is an origin only; plain ``http://`` is refused unless the host is
loopback or the user asked for it, because the token would cross the network
in clear. Paths are built from a fixed template whose parts are each one
percent-encoded segment, so no id, SIS id or name from a job can reach another
path of the API.
"""

from __future__ import annotations

import ipaddress
import string
import urllib.parse

#: Canvas serves its REST API under this prefix of the origin.
API_PREFIX = "/api/v1"

#: Kept unencoded in a path part: Canvas's id forms use ":" (``sis_course_id:X``)
#: and "~" (shard-qualified ids), which ``quote`` already leaves alone.
_SAFE_IN_PART = ":"


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


def api_path(template: str, **parts: str | int) -> str:
    """Fill ``template`` (``/courses/{course}/modules``) with encoded parts.

    Each part becomes exactly one path segment: "/", "?", "#" and "%" are
    percent-encoded, and an empty part, "." or ".." is refused with
    ``ValueError``. Every placeholder must be given and every part used.
    """
    if not template.startswith("/"):
        raise ValueError(f"a path template starts with '/': {template!r}")

    pieces: list[str] = []
    used: set[str] = set()
    for literal, field, spec, conversion in string.Formatter().parse(template):
        pieces.append(literal)
        if field is None:
            continue
        if spec or conversion or field not in parts:
            raise ValueError(f"path template {template!r} needs part {field!r}")
        pieces.append(_segment(field, parts[field]))
        used.add(field)

    unused = sorted(set(parts) - used)
    if unused:
        raise ValueError(f"path template {template!r} has no part {unused[0]!r}")
    return "".join(pieces)


def _segment(field: str, value: str | int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"path part {field!r} must be a string or an integer")
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"path part {field!r} may not be {text!r}")
    return urllib.parse.quote(text, safe=_SAFE_IN_PART)
