"""The errors a Canvas request can end in, and how an answer maps to one.

Every error says what happened and what to do next, whether sending the
request again may help (``retryable``) and which result error type it is::

    CanvasError                  any failed request
    ├── ThrottledError           throttled          Canvas kept refusing for quota
    ├── UnauthorizedError        unauthorized       401/403; token_rejected stops a run
    ├── NotFoundError            not_found          404
    ├── InvalidError             invalid_input      400/422, other 4xx, 403 with
    │                                               a {"message"} guard answer
    ├── ConflictError            conflict           409, or a selector matched many
    ├── ServerError              server_error       5xx; keeps Retry-After
    └── NetworkError             network            no usable answer: refused,
        │                                           reset, dropped, timed out,
        │                                           not JSON, redirected
        └── BadAnswerError       network            an answer Canvas would not
                                                    give: wrong JSON shape, bad
                                                    id, too large, endless pages

Status trouble (an answer Canvas meant) and transport trouble (no answer, or
one Canvas did not write) are never mixed: the second is always a
``NetworkError``, whatever status a proxy put on it.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

#: Canvas's throttle answers carry this text (403 on older Canvas, 429 newer).
_THROTTLE_TEXT = "rate limit exceeded"

#: Messages Canvas gives when the access token itself is refused.
_TOKEN_REFUSED = re.compile(r"\b(invalid|expired|revoked) access token", re.I)

_TAG = re.compile(r"<[^>]*>")

#: How much of a body that is not Canvas JSON is quoted back to the user.
_QUOTE_LIMIT = 200

#: How much of the words of Canvas's error body is kept in a message: enough
#: for any message Canvas writes, not a whole document a proxy sent.
MESSAGE_LIMIT = 500


class CanvasError(Exception):
    """A Canvas request that did not succeed."""

    error_type: str = "server_error"
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        if retryable is not None:
            self.retryable = retryable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, {self.message!r})"


class ThrottledError(CanvasError):
    """Canvas refused the request to protect the token's quota, again and again."""

    error_type = "throttled"
    retryable = True


class UnauthorizedError(CanvasError):
    """Canvas refused the caller: the token itself, or this one action."""

    error_type = "unauthorized"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        token_rejected: bool = False,
    ) -> None:
        super().__init__(message, status=status, body=body)
        #: The token was refused (invalid, expired, revoked, absent): stop the run.
        self.token_rejected = token_rejected


class NotFoundError(CanvasError):
    """The course, module or item does not exist or is hidden from the caller."""

    error_type = "not_found"


class InvalidError(CanvasError):
    """Canvas refused the request as it was written."""

    error_type = "invalid_input"


class ConflictError(CanvasError):
    """The request clashes with the state of Canvas, or a selector is ambiguous."""

    error_type = "conflict"


class ServerError(CanvasError):
    """Canvas failed to answer the request (5xx)."""

    error_type = "server_error"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body)
        #: Seconds Canvas asked us to wait before sending again, if it said.
        self.retry_after = retry_after


class NetworkError(CanvasError):
    """No usable answer came back; the request may or may not have run."""

    error_type = "network"
    retryable = True


class BadAnswerError(NetworkError):
    """An answer came back that Canvas would not give; sending again won't help.

    The request may have run all the same (a create whose answer lacked its
    id may have made the object), so it is treated as a lost answer.
    """

    retryable = False


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return the value of header ``name`` in any letter case, or None."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def is_throttle_answer(status: int, body_text: str) -> bool:
    """Tell whether an answer is Canvas refusing for quota (429, or 403 saying so)."""
    if status == 429:
        return True
    return status == 403 and _THROTTLE_TEXT in body_text.lower()


def parse_retry_after(
    value: str | None, *, now: Callable[[], float] = time.time
) -> float | None:
    """Read a Retry-After value (seconds or an HTTP date) as seconds from now."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())


def parse_body(body_text: str) -> Any:
    """Parse an answer body as JSON; give the text back when it is not JSON."""
    if not body_text.strip():
        return None
    try:
        return orjson.loads(body_text)
    except orjson.JSONDecodeError:
        return body_text


def canvas_message(body: Any) -> str:
    """Pull the human words out of any of Canvas's error body shapes.

    Words past :data:`MESSAGE_LIMIT` characters are cut, and the cut is said.
    """
    return cut(_words(body), MESSAGE_LIMIT)


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a note that it was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [cut: {len(text)} characters in all]"


def _words(body: Any) -> str:
    if isinstance(body, str):
        # Gateways answer with HTML pages: keep their words, not their markup.
        text = " ".join(_TAG.sub(" ", body).split())
        return text[:_QUOTE_LIMIT]
    if not isinstance(body, dict):
        return ""
    for key in ("message", "error"):
        if isinstance(body.get(key), str):
            return str(body[key])
    errors = body.get("errors")
    if isinstance(errors, list):
        return "; ".join(_entry_message(entry) for entry in errors if entry)
    if isinstance(errors, dict):
        parts = []
        for attribute, entries in errors.items():
            listed = entries if isinstance(entries, list) else [entries]
            for entry in listed:
                parts.append(f"{attribute}: {_entry_message(entry)}")
        return "; ".join(parts)
    return ""


def _entry_message(entry: Any) -> str:
    if isinstance(entry, dict) and "message" in entry:
        return str(entry["message"])
    return str(entry)


def error_from_answer(
    status: int, headers: Mapping[str, str], body_text: str
) -> CanvasError:
    """Turn an answer that is not a success into the error it means."""
    body = parse_body(body_text)
    said = canvas_message(body)
    quoted = f": {said}" if said else ""

    if is_throttle_answer(status, body_text):
        return ThrottledError(
            f"Canvas throttled the request ({status}{quoted}); lower "
            "--concurrency or --max-rate, or run again later",
            status=status,
            body=body,
        )
    if status >= 500:
        return ServerError(
            f"Canvas failed with {status}{quoted}; run again later, and tell "
            "the Canvas administrators if it persists",
            status=status,
            body=body,
            retry_after=parse_retry_after(header(headers, "Retry-After")),
        )
    if 300 <= status < 400:
        return NetworkError(
            f"Canvas answered {status}, a redirect; check that the base URL is "
            "the Canvas origin itself (https://canvas.example.edu)",
            status=status,
            body=body,
            retryable=False,
        )
    if status == 401 and header(headers, "WWW-Authenticate") is not None:
        return _token_rejected(status, body, quoted)
    if status < 300 or not isinstance(body, dict):
        # A proxy or gateway spoke, not Canvas. Only a 2xx (whose request may
        # have run) or a 408 is worth sending again; a 4xx page will repeat.
        return NetworkError(
            f"an answer with status {status} that Canvas did not write came "
            f"back{quoted}; check the network or proxy between here and Canvas",
            status=status,
            body=body,
            retryable=status < 300 or status == 408,
        )
    return _client_error(status, body, quoted)


def _client_error(status: int, body: dict[str, Any], quoted: str) -> CanvasError:
    if status in (401, 403) and _TOKEN_REFUSED.search(canvas_message(body)):
        return _token_rejected(status, body, quoted)
    if status in (401, 403) and not isinstance(body.get("message"), str):
        return UnauthorizedError(
            f"Canvas refused this action ({status}{quoted}); the token's user "
            "lacks permission for it in this course",
            status=status,
            body=body,
        )
    if status == 404:
        return NotFoundError(
            f"Canvas found nothing there (404{quoted}); check the course, "
            "module and item ids",
            status=status,
            body=body,
        )
    if status == 409:
        return ConflictError(
            f"Canvas reported a conflict (409{quoted}); look at the course in "
            "Canvas and run again",
            status=status,
            body=body,
        )
    return InvalidError(
        f"Canvas refused the request ({status}{quoted}); correct the line's "
        "params and run again",
        status=status,
        body=body,
    )


def _token_rejected(status: int, body: Any, quoted: str) -> UnauthorizedError:
    return UnauthorizedError(
        f"Canvas rejected the access token ({status}{quoted}); give a valid "
        "token in CANVAS_TOKEN or --token-file and run again",
        status=status,
        body=body,
        token_rejected=True,
    )
