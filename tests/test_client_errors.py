"""Mapping Canvas's answers to the client's errors."""

from __future__ import annotations

import orjson
import pytest

from bulkmod.client.errors import (
    CanvasError,
    ConflictError,
    InvalidError,
    NetworkError,
    NotFoundError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
    canvas_message,
    error_from_answer,
    header,
    is_throttle_answer,
    parse_retry_after,
)

_WWW = {"WWW-Authenticate": 'Bearer realm="canvas-lms"'}


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _errors(message: str) -> str:
    return _json({"errors": [{"message": message}]})


def test_hierarchy_types_and_retryable() -> None:
    """Each error names its result type and says whether a retry may help."""
    expected = {
        ThrottledError: ("throttled", True),
        UnauthorizedError: ("unauthorized", False),
        NotFoundError: ("not_found", False),
        InvalidError: ("invalid_input", False),
        ConflictError: ("conflict", False),
        ServerError: ("server_error", True),
        NetworkError: ("network", True),
    }
    for cls, (error_type, retryable) in expected.items():
        err = cls("m")
        assert isinstance(err, CanvasError)
        assert (err.error_type, err.retryable) == (error_type, retryable)
        assert (err.status, err.body, err.message, str(err)) == (None, None, "m", "m")


def test_throttle_403_plain_text() -> None:
    """Canvas's plain-text 403 "Rate Limit Exceeded" is throttling, not a refusal."""
    err = error_from_answer(
        403,
        {"Content-Type": "text/plain; charset=utf-8", "X-Rate-Limit-Remaining": "12.5"},
        "403 Forbidden (Rate Limit Exceeded)\n",
    )
    assert type(err) is ThrottledError
    assert err.status == 403
    assert err.body == "403 Forbidden (Rate Limit Exceeded)\n"
    assert "--max-rate" in err.message


def test_throttle_429() -> None:
    """A 429 is throttling whatever its body says."""
    err = error_from_answer(429, {}, "429 Too Many Requests (Rate Limit Exceeded)\n")
    assert type(err) is ThrottledError and err.retryable
    assert type(error_from_answer(429, {}, "")) is ThrottledError
    assert is_throttle_answer(403, "403 FORBIDDEN (rate limit exceeded)")
    assert not is_throttle_answer(403, _errors("user not authorized"))


@pytest.mark.parametrize(
    "message",
    ["Invalid access token.", "Expired access token.", "Revoked access token."],
)
def test_token_refused_messages(message: str) -> None:
    """Invalid, expired and revoked tokens stop the run, with or without the header."""
    for headers in (_WWW, {}):
        err = error_from_answer(401, headers, _errors(message))
        assert type(err) is UnauthorizedError
        assert err.token_rejected
        assert message in err.message and "CANVAS_TOKEN" in err.message


def test_unauthenticated_with_www_authenticate() -> None:
    """A 401 carrying WWW-Authenticate means the token itself was refused."""
    body = _json(
        {
            "status": "unauthenticated",
            "errors": [{"message": "user authorization required"}],
        }
    )
    err = error_from_answer(401, {"www-authenticate": "Bearer"}, body)
    assert isinstance(err, UnauthorizedError) and err.token_rejected
    assert err.body == orjson.loads(body)


@pytest.mark.parametrize("status", [401, 403])
def test_forbidden_action_is_not_token_rejected(status: int) -> None:
    """A 401 or 403 that only says "not authorized" fails that one operation."""
    body = _json(
        {
            "status": "unauthorized",
            "errors": [{"message": "user not authorized to perform that action"}],
        }
    )
    err = error_from_answer(status, {}, body)
    assert isinstance(err, UnauthorizedError)
    assert not err.token_rejected
    assert not err.retryable
    assert "user not authorized to perform that action" in err.message


def test_not_found_shapes() -> None:
    """The plain 404, the batch 404 and the bad-page 404 are all not_found."""
    for body in (
        _errors("The specified resource does not exist."),
        _json({"message": "no modules found"}),
        _json(
            {"errors": [{"message": "An error occurred.", "error_code": "not_found"}]}
        ),
    ):
        err = error_from_answer(404, {}, body)
        assert type(err) is NotFoundError and err.status == 404
    err = error_from_answer(404, {}, _errors("The specified resource does not exist."))
    assert "The specified resource does not exist." in err.message


def test_invalid_message_shape() -> None:
    """Hand-written guards ({"message"}) at 400 and 422 are invalid_input."""
    err = error_from_answer(400, {}, _json({"message": "missing module name"}))
    assert type(err) is InvalidError
    assert "missing module name" in err.message
    err = error_from_answer(422, {}, _json({"message": "item can't be published"}))
    assert type(err) is InvalidError and err.status == 422


@pytest.mark.parametrize(
    "message", ["item can't be unpublished", "The module item is locked."]
)
def test_publish_state_403_is_invalid(message: str) -> None:
    """A 403 with a {"message"} guard is about the item's state, not permission."""
    err = error_from_answer(403, {}, _json({"message": message}))
    assert type(err) is InvalidError
    assert message in err.message


def test_model_errors_shape() -> None:
    """Model errors keyed by attribute are quoted as "attribute: message"."""
    body = _json(
        {
            "errors": {
                "completion_requirement": [
                    {
                        "attribute": "completion_requirement",
                        "type": "Invalid completion requirement type",
                        "message": "Invalid completion requirement type",
                    }
                ]
            }
        }
    )
    err = error_from_answer(400, {}, body)
    assert type(err) is InvalidError
    assert "completion_requirement: Invalid completion requirement type" in err.message


def test_search_term_and_duplicate_shapes() -> None:
    """The field-error list and the {"error"} shape are quoted too."""
    body = _json(
        {
            "errors": [
                {
                    "field": "search_term",
                    "code": "invalid",
                    "message": "2 or more characters is required",
                }
            ]
        }
    )
    assert canvas_message(orjson.loads(body)) == "2 or more characters is required"
    err = error_from_answer(400, {}, _json({"error": "Item cannot be duplicated"}))
    assert type(err) is InvalidError and "Item cannot be duplicated" in err.message


def test_conflict_409() -> None:
    """A 409 is a conflict."""
    err = error_from_answer(409, {}, _json({"message": "busy"}))
    assert type(err) is ConflictError and not err.retryable


def test_server_error_keeps_retry_after() -> None:
    """A 5xx is a retryable server error carrying Retry-After in seconds."""
    body = _json(
        {
            "errors": [
                {"message": "An error occurred.", "error_code": "internal_server_error"}
            ],
            "error_report_id": 7,
        }
    )
    err = error_from_answer(500, {}, body)
    assert type(err) is ServerError and err.retryable and err.retry_after is None
    assert "An error occurred." in err.message
    err = error_from_answer(503, {"retry-after": "12"}, "")
    assert isinstance(err, ServerError) and err.retry_after == 12.0


def test_gateway_html_is_quoted_without_markup() -> None:
    """A gateway's HTML page is a server error quoted as words only."""
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    err = error_from_answer(502, {}, page)
    assert type(err) is ServerError
    assert "502 Bad Gateway nginx" in err.message
    assert "<" not in err.message


def test_non_canvas_answers_are_network() -> None:
    """A 2xx or 4xx body Canvas did not write is network trouble."""
    ok_html = error_from_answer(200, {}, "<html>login</html>")
    assert type(ok_html) is NetworkError and ok_html.retryable
    waf = error_from_answer(403, {}, "<html>Access denied</html>")
    assert type(waf) is NetworkError and not waf.retryable
    slow = error_from_answer(408, {}, "Request Timeout")
    assert type(slow) is NetworkError and slow.retryable


def test_redirect_is_not_followed_or_retried() -> None:
    """A 3xx answer means a wrong base URL: network error, no retry."""
    err = error_from_answer(302, {"Location": "https://sso.example.edu/login"}, "")
    assert type(err) is NetworkError
    assert not err.retryable and err.status == 302
    assert "base URL" in err.message


def test_retry_after_forms() -> None:
    """Retry-After is read as seconds or as an HTTP date relative to now."""
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    # 2015-10-21T07:28:00Z is 1445412480 seconds after the epoch.
    assert parse_retry_after(date, now=lambda: 1445412480.0 - 90) == 90.0
    assert parse_retry_after(date, now=lambda: 1445412480.0 + 5) == 0.0


def test_header_lookup_any_case() -> None:
    """Header names are matched in any letter case."""
    assert header({"x-REQUEST-cost": "0.5"}, "X-Request-Cost") == "0.5"
    assert header({}, "Link") is None


def test_repr_shows_status_and_message() -> None:
    """The repr names the class, status and message only."""
    err = NotFoundError("gone", status=404, body={"x": 1})
    assert repr(err) == "NotFoundError(status=404, 'gone')"
