"""The one HTTP client bulkmod uses to talk to Canvas (real or sandbox).

It sends each request under the token's pacer, re-sends throttled requests
(a throttled request did not run), re-sends server and network failures with
backoff when the caller allows it, follows pages of list answers, and turns
every other answer into an error of :mod:`bulkmod.client.errors`.

What a server may send is bounded: an answer body of more than
:data:`MAX_BODY` bytes, a list of more than :data:`MAX_PAGES` pages or
:data:`MAX_LIST_BYTES` bytes in all, is refused with a
:class:`~bulkmod.client.errors.BadAnswerError`, and so is an answer whose
shape is not the one asked for (see :mod:`bulkmod.client.shapes`).

The access token lives only in the Authorization header: never in a URL, a
log event, a repr or an error message.
"""

from __future__ import annotations

import asyncio
import functools
import random
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import structlog
import yarl
from multidict import CIMultiDictProxy

from bulkmod import __version__
from bulkmod.client.errors import (
    BadAnswerError,
    CanvasError,
    NetworkError,
    ServerError,
    ThrottledError,
    error_from_answer,
    is_throttle_answer,
)
from bulkmod.client.limits import (
    MAX_BODY,
    MAX_LIST_BYTES,
    MAX_PAGES,
    read_capped,
    size_text,
)
from bulkmod.client.pacing import Pacer
from bulkmod.client.params import encode
from bulkmod.client.quota import COST_RANGE, REMAINING_RANGE, quota_number
from bulkmod.client.shapes import checked_entries, checked_object
from bulkmod.client.urls import (
    RECENT_PATHS,
    api_url,
    next_page,
    normalize_base_url,
)
from bulkmod.logs import debug_enabled

_log = structlog.get_logger("bulkmod.client")

USER_AGENT = f"bulkmod/{__version__} (aiohttp/{aiohttp.__version__})"

#: Canvas's largest page; fewer pages means fewer requests against the quota.
PER_PAGE = 100

#: Connections kept to Canvas. The throttle allows about a dozen requests in
#: flight per token, so this only bounds what several pacers could ask for.
_CONNECTION_LIMIT = 32

#: Backoff before re-sending a server or network failure: first wait, ceiling.
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 60.0

#: Retry-After is honoured up to this many seconds; past it we try earlier.
_RETRY_AFTER_CAP = 300.0

#: Throttled answers tolerated for one request before giving up. Generous,
#: since a throttled request did not run and the pacer slows every request.
DEFAULT_MAX_THROTTLED = 50


@dataclass(slots=True)
class Stats:
    """Counts for one logical operation; the client adds to it per answer."""

    #: Requests sent (every attempt, throttled ones included).
    attempts: int = 0
    #: Answers that were throttled.
    throttled: int = 0
    #: HTTP status of the last answer received, None while none came.
    last_status: int | None = None


@dataclass(slots=True)
class _Answer:
    body: Any
    #: The answer's headers.
    headers: CIMultiDictProxy[str]
    #: Bytes of the body as it came.
    size: int


class CanvasClient:
    """Send requests to one Canvas with one access token.

    Use as ``async with CanvasClient(url, token) as client``, or call
    :meth:`close` when done. Not thread-safe: use it from one event loop.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_rate: float | None = None,
        allow_insecure_http: bool = False,
        pacer: Pacer | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        max_throttled: int = DEFAULT_MAX_THROTTLED,
        max_body: int = MAX_BODY,
        max_pages: int = MAX_PAGES,
        max_list_bytes: int = MAX_LIST_BYTES,
    ) -> None:
        if not token or any(c.isspace() for c in token):
            raise ValueError("the access token is empty or has white space in it")
        if timeout <= 0 or max_retries < 0 or max_throttled < 0:
            raise ValueError("timeout must be positive and retry limits not negative")
        if min(max_body, max_pages, max_list_bytes) < 1:
            raise ValueError("the limits on answer sizes and pages must be positive")

        self._base_url = normalize_base_url(
            base_url, allow_insecure_http=allow_insecure_http
        )
        self._token = token
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_throttled = max_throttled
        self._max_body = max_body
        self._max_pages = max_pages
        self._max_list_bytes = max_list_bytes
        self._pacer = (
            pacer if pacer is not None else Pacer(max_rate=max_rate, sleep=sleep)
        )
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._debug = False

    def __repr__(self) -> str:
        return f"CanvasClient({self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The Canvas origin requests go to."""
        return self._base_url

    @property
    def pacer(self) -> Pacer:
        """The pacer that keeps this token under Canvas's throttle."""
        return self._pacer

    async def __aenter__(self) -> CanvasClient:
        self._open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections; the client may not be used afterwards."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        as_user: str | None = None,
        retry: bool = True,
        stats: Stats | None = None,
        kind: str | None = None,
    ) -> Any:
        """Send one request to ``path`` under ``/api/v1``; return its JSON answer.

        ``form`` is sent form-encoded in Canvas's bracket form, ``query`` in
        the URL, ``as_user`` as ``as_user_id``. Throttled answers are always
        sent again; server and network failures only when ``retry`` is true
        (up to ``max_retries``). Raise a :class:`CanvasError` otherwise. With
        ``kind`` ("module"), the answer must be a JSON object with a Canvas
        id, else :class:`BadAnswerError` (not sent again: it may have run).
        """
        url = self._url(path, query, as_user)
        data = _form_body(form)
        answer = await self._send(method, url, data, retry=retry, stats=stats)
        if kind is not None:
            return checked_object(answer.body, kind, method, url.path)
        return answer.body

    async def list_all(
        self,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        as_user: str | None = None,
        stats: Stats | None = None,
        kind: str | None = None,
    ) -> list[Any]:
        """GET every page of the list at ``path`` and return them joined.

        Pages are followed through ``Link: rel="next"`` as Canvas gives them;
        a next page on another origin, or outside the API, is refused, and so
        is a list past ``max_pages`` pages or ``max_list_bytes`` bytes. With
        ``kind`` ("module"), every entry must be a JSON object with a Canvas
        id (a page: with a ``url``), else :class:`BadAnswerError`.
        """
        asked = dict(query or {})
        asked["per_page"] = PER_PAGE
        url = self._url(path, asked, as_user)
        seen = {str(url)}
        items: list[Any] = []
        pages = 0
        size = 0

        while True:
            answer = await self._send("GET", url, None, retry=True, stats=stats)
            if kind is not None:
                checked_entries(answer.body, kind, f"GET {url.path}")
            elif not isinstance(answer.body, list):
                raise BadAnswerError(
                    f"Canvas answered GET {url.path} with something other than "
                    "a list; check that the base URL points at Canvas",
                    body=answer.body,
                )
            items.extend(answer.body)
            pages += 1
            size += answer.size

            try:
                links = ",".join(answer.headers.getall("Link", []))
                following = next_page(url, links, as_user=as_user)
            except ValueError as err:
                raise NetworkError(
                    f"{err}; refusing to send the token there", retryable=False
                ) from None
            if following is None:
                return items
            if pages >= self._max_pages or size > self._max_list_bytes:
                raise BadAnswerError(
                    f"Canvas's list at {url.path} went on past {pages} pages "
                    f"({size_text(size)}), more than any course holds; check that "
                    "the base URL points at Canvas"
                )
            if str(following) in seen:
                raise NetworkError(
                    f"Canvas's pages of {url.path} lead back to a page already "
                    "read; run again later",
                    retryable=False,
                )
            seen.add(str(following))
            url = following

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Asked once, not per request: the log level is set before a run.
            self._debug = debug_enabled()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=_CONNECTION_LIMIT),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Accept": "application/json",
                    "User-Agent": USER_AGENT,
                },
            )
            # aiohttp silently re-sends a GET, PUT or DELETE once when the
            # connection drops. That request would pass the pacer and the
            # stats unseen, and a DELETE sent twice answers 404 for a delete
            # that worked: every re-send must be ours, so turn it off.
            self._session._retry_connection = False
        return self._session

    def _url(
        self, path: str, query: dict[str, Any] | None, as_user: str | None
    ) -> yarl.URL:
        if not query and as_user is None:
            return _plain_url(self._base_url, path)
        pairs = encode(query) if query else []
        if as_user is not None:
            pairs.append(("as_user_id", str(as_user)))
        return api_url(self._base_url, path, pairs)

    async def _send(
        self,
        method: str,
        url: yarl.URL,
        data: bytes | None,
        *,
        retry: bool,
        stats: Stats | None,
    ) -> _Answer:
        throttled = 0
        failures = 0
        while True:
            try:
                return await self._attempt(
                    method, url, data, stats, throttled + failures
                )
            except ThrottledError as err:
                throttled += 1
                if throttled > self._max_throttled:
                    raise self._scrubbed(_gave_up(err, throttled)) from None
                delay = self._pacer.throttle_delay(throttled)
                _log.warning(
                    "canvas.throttled",
                    method=method,
                    path=url.path,
                    status=err.status,
                    attempt=throttled,
                    delay=round(delay, 3),
                )
            except (ServerError, NetworkError) as err:
                if not retry or not err.retryable or failures >= self._max_retries:
                    raise self._scrubbed(err) from None
                failures += 1
                delay = self._backoff(failures, getattr(err, "retry_after", None))
                _log.warning(
                    "canvas.retry",
                    method=method,
                    path=url.path,
                    status=err.status,
                    error=err.error_type,
                    attempt=failures,
                    delay=round(delay, 3),
                )
            except CanvasError as err:
                raise self._scrubbed(err) from None
            await self._sleep(delay)

    async def _attempt(
        self,
        method: str,
        url: yarl.URL,
        data: bytes | None,
        stats: Stats | None,
        attempt: int,
    ) -> _Answer:
        session = self._session
        if session is None:
            session = self._open()
        await self._pacer.acquire()
        if stats is not None:
            stats.attempts += 1

        released = False
        try:
            status, headers, raw = await self._exchange(session, method, url, data)
            # Only an answer that is not a success is read as text: a
            # success is parsed as JSON from its bytes.
            ok = 200 <= status < 300
            text = "" if ok else raw.decode("utf-8", errors="replace")
            cost = headers.get("X-Request-Cost")
            remaining = headers.get("X-Rate-Limit-Remaining")
            throttled = not ok and is_throttle_answer(status, text)
            # Counted as released before the call: should it fail, releasing
            # once more below would count a request that is not running.
            released = True
            self._pacer.release(cost=cost, remaining=remaining, throttled=throttled)
        except NetworkError as err:
            _log.debug(
                "canvas.request",
                method=method,
                path=url.path,
                status=None,
                error=err.error_type,
                attempt=attempt + 1,
            )
            raise
        finally:
            if not released:
                self._pacer.release(cost=None, remaining=None, throttled=False)

        if stats is not None:
            stats.last_status = status
            stats.throttled += int(throttled)
        if self._debug:
            _log.debug(
                "canvas.request",
                method=method,
                path=url.path,
                status=status,
                cost=quota_number(cost, COST_RANGE),
                remaining=quota_number(remaining, REMAINING_RANGE),
                attempt=attempt + 1,
            )

        if not ok:
            raise error_from_answer(status, headers, text)
        return _Answer(_json_body(method, url, status, raw), headers, len(raw))

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: yarl.URL,
        data: bytes | None,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=_FORM_HEADERS if data is not None else None,
                # A redirect could carry the token elsewhere; it is an error.
                allow_redirects=False,
            ) as resp:
                raw = await read_capped(resp, self._max_body)
                if raw is None:
                    raise self._too_large(method, url, resp.status)
                return resp.status, resp.headers, raw
        except TimeoutError:
            raise NetworkError(
                f"Canvas did not answer {method} {url.path} within "
                f"{self._timeout:g} s; raise --timeout or run again later"
            ) from None
        except aiohttp.ClientError as err:
            raise _transport_error(method, url, err) from None

    def _too_large(self, method: str, url: yarl.URL, status: int) -> BadAnswerError:
        return BadAnswerError(
            f"the answer to {method} {url.path} ({status}) is larger than "
            f"{size_text(self._max_body)}, more than Canvas sends; check that the "
            "base URL points at Canvas",
            status=status,
        )

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0 ** min(failures - 1, 16))
        # Jitter keeps many lanes that failed together from coming back together.
        delay = ceiling * (0.5 + self._rng.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, _RETRY_AFTER_CAP))
        return delay

    def _scrubbed(self, err: CanvasError) -> CanvasError:
        # Canvas never echoes the token, but a proxy page or an OS message
        # might: the user must never see it in a message.
        if self._token in err.message:
            err.message = err.message.replace(self._token, "[token]")
            err.args = (err.message,)
        return err


_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@functools.lru_cache(maxsize=RECENT_PATHS)
def _plain_url(base_url: str, path: str) -> yarl.URL:
    # A URL is a value that never changes, and a lane sends many requests to
    # the same few paths: each is checked and parsed once.
    return api_url(base_url, path, [])


def _form_body(form: dict[str, Any] | None) -> bytes | None:
    if not form:
        return None
    # As urllib.parse.urlencode writes the pairs, with each name and value
    # quoted once: a job repeats the same few names and values many times.
    quoted = _quoted_short
    plus = urllib.parse.quote_plus
    return "&".join(
        [
            f"{quoted(name) if len(name) <= _CACHED_TEXT else plus(name)}="
            f"{quoted(value) if len(value) <= _CACHED_TEXT else plus(value)}"
            for name, value in encode(form)
        ]
    ).encode("ascii")


#: Longest name or value whose quoted form is kept: names and titles, not
#: whole texts, so the cache stays a few hundred kilobytes at most.
_CACHED_TEXT = 128


@functools.lru_cache(maxsize=2048)
def _quoted_short(text: str) -> str:
    return urllib.parse.quote_plus(text)


def _json_body(method: str, url: yarl.URL, status: int, raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        if not raw.strip():
            return None
        raise NetworkError(
            f"the answer to {method} {url.path} ({status}) was not JSON; check "
            "that the base URL points at Canvas and not at a login page or proxy",
            status=status,
        ) from None


def _transport_error(
    method: str, url: yarl.URL, err: aiohttp.ClientError
) -> NetworkError:
    kind = type(err).__name__
    if isinstance(
        err, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError
    ):
        return NetworkError(
            f"the TLS certificate of {url.host} could not be verified ({kind}); "
            "check the base URL",
            retryable=False,
        )
    if isinstance(err, aiohttp.ClientConnectorError):
        return NetworkError(
            f"could not connect to {url.host} ({kind}); check the base URL and "
            "the network, or run again later"
        )
    return NetworkError(
        f"the connection broke during {method} {url.path} ({kind}); run again "
        "later if it persists"
    )


def _gave_up(err: ThrottledError, tries: int) -> ThrottledError:
    return ThrottledError(
        f"Canvas throttled the request {tries} times in a row ({err.status}); "
        "lower --concurrency or --max-rate, or run again later",
        status=err.status,
        body=err.body,
    )
