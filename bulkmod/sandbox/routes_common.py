"""What every sandbox handler shares: its context, the caller, JSON answers.

The middleware in :mod:`bulkmod.sandbox.app` authenticates each request and
reads its parameters once; handlers find the acting user, the parameters and
the sandbox's records here, and answer through :func:`json_response` and
:func:`paginated`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from aiohttp import web

from bulkmod.sandbox.auth import TokenRevocations, token_hash
from bulkmod.sandbox.faults import Faults
from bulkmod.sandbox.model_objects import Course, User
from bulkmod.sandbox.pagination import paginate
from bulkmod.sandbox.state import State
from bulkmod.sandbox.throttle import Throttle

T = TypeVar("T")

_JSON = "application/json"


@dataclass
class SandboxStats:
    """Counts of what the sandbox received and did, for tests and benchmarks.

    Tokens appear only as the hashes :func:`token_hash` makes; use
    :meth:`for_token` to look one up.
    """

    #: Every request that reached the server, throttled ones included.
    requests: int = 0
    #: Requests by HTTP method.
    by_method: Counter[str] = field(default_factory=Counter)
    #: Requests by method and route template,
    #: e.g. ``"POST /api/v1/courses/{course_id}/modules"``.
    by_route: Counter[str] = field(default_factory=Counter)
    #: Requests by token hash; requests without a token are not counted here.
    by_token: Counter[str] = field(default_factory=Counter)
    #: Requests refused by the throttle.
    throttled: int = 0
    #: Requests answered 500 by an injected failure (nothing was changed).
    failed: int = 0
    #: Requests carried out whose connection was then dropped.
    dropped: int = 0
    #: Requests that raised an unexpected error (answered 500).
    errors: int = 0
    #: Requests past the throttle and not yet answered, now and at the most.
    in_flight: int = 0
    max_in_flight: int = 0

    def for_token(self, token: str) -> int:
        """Return how many requests carried ``token``."""
        return self.by_token[token_hash(token)]

    def reset(self) -> None:
        """Forget everything counted so far."""
        self.requests = self.throttled = self.failed = 0
        self.dropped = self.errors = self.max_in_flight = 0
        self.by_method.clear()
        self.by_route.clear()
        self.by_token.clear()


@dataclass
class SandboxContext:
    """The records and knobs one running sandbox's handlers share."""

    state: State
    stats: SandboxStats
    revocations: TokenRevocations
    faults: Faults
    #: None when throttling is off; answers still carry the headers.
    throttle: Throttle | None
    hwm: float
    request_cost: float | None
    throttle_status: int
    auth_error_status: int
    latency: float
    #: Counts the ``error_report_id`` of 500 answers.
    error_reports: int = 0


@dataclass(slots=True)
class Caller:
    """Who a request acts as, and its parameters (query and body merged)."""

    viewer: User
    params: dict[str, Any]


#: Where the application keeps its :class:`SandboxContext`.
CONTEXT = web.AppKey("bulkmod_sandbox_context", SandboxContext)

#: Where a request keeps its :class:`Caller` once authenticated.
CALLER: Any
try:
    CALLER = web.RequestKey("bulkmod_sandbox_caller", Caller)
except AttributeError:  # aiohttp before 3.14 has no typed request keys
    CALLER = "bulkmod_sandbox_caller"


def caller_params(request: web.Request) -> dict[str, Any]:
    """Return the parameters read so far, or an empty dict before auth."""
    caller: Caller | None = request.get(CALLER)
    return {} if caller is None else caller.params


def context(request: web.Request) -> SandboxContext:
    """Return the sandbox context of a request."""
    return request.app[CONTEXT]


def state_of(request: web.Request) -> State:
    """Return the records of the sandbox answering a request."""
    return request.app[CONTEXT].state


def viewer(request: web.Request) -> User:
    """Return the user the request acts as (``as_user_id`` applied)."""
    caller: Caller = request[CALLER]
    return caller.viewer


def params(request: web.Request) -> dict[str, Any]:
    """Return the request's parameters: query and body merged."""
    caller: Caller = request[CALLER]
    return caller.params


def course_of(request: web.Request) -> Course:
    """Return the course the path names; 404 when there is none."""
    return state_of(request).find_course(request.match_info["course_id"])


def includes(values: dict[str, Any]) -> set[str]:
    """Return the ``include[]`` values of the parameters."""
    found = values.get("include")
    if found is None:
        return set()
    if isinstance(found, list):
        return {str(value) for value in found}
    return {str(found)}


def optional_text(value: object) -> str | None:
    """Return a parameter as a string, or None when absent."""
    return None if value is None else str(value)


def wrapped(values: dict[str, Any], key: str) -> dict[str, Any] | None:
    """Return the object under ``key`` (``module[...]``), or None if absent."""
    found = values.get(key)
    return found if isinstance(found, dict) else None


def json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Answer JSON as Canvas does."""
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        headers=headers,
        content_type=_JSON,
        charset="utf-8",
    )


def paginated(
    request: web.Request,
    records: Sequence[T],
    render: Callable[[T], Any],
) -> web.Response:
    """Answer one page of ``records`` with Canvas's ``Link`` header."""
    page, link = paginate(request.url, records)
    headers = {"Link": link} if link else None
    return json_response([render(record) for record in page], headers=headers)
