"""The sandbox authenticates as Canvas does: token forms, refusals, as_user_id."""

from __future__ import annotations

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig

CHALLENGE = 'Bearer realm="canvas-lms"'
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}


def _student(sandbox: Sandbox, token: str = "student-x-token") -> int:
    """Add a student enrolled in course 1; return their id."""
    state = sandbox.state
    user = state.add_user("Student X", token=token)
    state.enroll(state.find_course("1"), user, "student")
    return user.id


def _admin_id(sandbox: Sandbox) -> int:
    admin = sandbox.state.user_for_token("sandbox-token")
    assert admin is not None
    return admin.id


async def test_no_token_is_unauthenticated(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A request without credentials gets 401, the challenge and Canvas's body."""
    async with http.get(sandbox.base_url + "/api/v1/courses/1/modules") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        assert await response.json() == {
            "status": "unauthenticated",
            "errors": [{"message": "user authorization required"}],
        }


async def test_unknown_token_is_invalid(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """An unknown bearer token gets 401 "Invalid access token." and the challenge."""
    headers = {"Authorization": "Bearer nope"}
    url = sandbox.base_url + "/api/v1/users/self"
    async with http.get(url, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        assert await response.json() == {
            "errors": [{"message": "Invalid access token."}]
        }


async def test_access_token_query_parameter(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """The token may come as the access_token query parameter."""
    url = sandbox.base_url + "/api/v1/users/self?access_token=sandbox-token"
    async with http.get(url) as response:
        assert response.status == 200
        assert (await response.json())["id"] == _admin_id(sandbox)


async def test_revoked_token(
    sandbox: Sandbox, http: aiohttp.ClientSession, admin_headers: dict[str, str]
) -> None:
    """A revoked token gets 401 "Revoked access token."; restoring it works again."""
    url = sandbox.base_url + "/api/v1/users/self"
    sandbox.revoke_token("sandbox-token")
    async with http.get(url, headers=admin_headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        assert await response.json() == {
            "errors": [{"message": "Revoked access token."}]
        }

    sandbox.restore_token("sandbox-token")
    async with http.get(url, headers=admin_headers) as response:
        assert response.status == 200


async def test_expired_token(
    sandbox: Sandbox, http: aiohttp.ClientSession, admin_headers: dict[str, str]
) -> None:
    """An expired token gets 401 "Expired access token." with its expiry."""
    sandbox.expire_token("sandbox-token", "2024-01-01T00:00:00Z")
    url = sandbox.base_url + "/api/v1/users/self"
    async with http.get(url, headers=admin_headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        message = {
            "message": "Expired access token.",
            "expired_at": "2024-01-01T00:00:00Z",
        }
        assert await response.json() == {"errors": [message]}


async def test_student_may_not_create_modules(
    sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    """A student creating a module gets the unauthorized body, status 401."""
    _student(sandbox)
    headers = {"Authorization": "Bearer student-x-token"}
    url = sandbox.base_url + "/api/v1/courses/1/modules"
    async with http.post(url, data={"module[name]": "W"}, headers=headers) as response:
        assert response.status == 401
        assert "WWW-Authenticate" not in response.headers
        assert await response.json() == UNAUTHORIZED


async def test_student_may_not_act_as_another_user(
    sandbox: Sandbox, http: aiohttp.ClientSession, admin_headers: dict[str, str]
) -> None:
    """as_user_id from a non-admin is refused as unauthorized."""
    _student(sandbox)
    admin_id = _admin_id(sandbox)
    headers = {"Authorization": "Bearer student-x-token"}
    url = sandbox.base_url + f"/api/v1/users/self?as_user_id={admin_id}"
    async with http.get(url, headers=headers) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


async def test_admin_acts_as_user(
    sandbox: Sandbox, http: aiohttp.ClientSession, admin_headers: dict[str, str]
) -> None:
    """An admin with as_user_id acts as that user, even in a form body."""
    student_id = _student(sandbox)
    url = sandbox.base_url + f"/api/v1/users/self?as_user_id={student_id}"
    async with http.get(url, headers=admin_headers) as response:
        assert response.status == 200
        assert (await response.json())["id"] == student_id

    # Acting as the student, the admin can no longer create a module.
    url = sandbox.base_url + "/api/v1/courses/1/modules"
    form = {"module[name]": "W", "as_user_id": str(student_id)}
    async with http.post(url, data=form, headers=admin_headers) as response:
        assert response.status == 401
        assert await response.json() == UNAUTHORIZED


class TestHostedStatus:
    """With auth_error_status 403 the sandbox answers like hosted Canvas."""

    @pytest.fixture
    def sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(courses=1, auth_error_status=403)

    async def test_unauthorized_is_403(
        self, sandbox: Sandbox, http: aiohttp.ClientSession
    ) -> None:
        """Not permitted answers 403 with the same body; bad tokens stay 401."""
        _student(sandbox)
        url = sandbox.base_url + "/api/v1/courses/1/modules"
        headers = {"Authorization": "Bearer student-x-token"}
        async with http.post(url, json={"module": {"name": "W"}}, headers=headers) as r:
            assert r.status == 403
            assert await r.json() == UNAUTHORIZED

        async with http.get(url, headers={"Authorization": "Bearer bad"}) as r:
            assert r.status == 401


async def test_stats_never_hold_the_token(
    sandbox: Sandbox, http: aiohttp.ClientSession, admin_headers: dict[str, str]
) -> None:
    """Requests are counted per token under a hash; the token itself is not kept."""
    url = sandbox.base_url + "/api/v1/users/self"
    for _ in range(3):
        async with http.get(url, headers=admin_headers) as response:
            assert response.status == 200
    async with http.get(url) as response:
        assert response.status == 401

    stats = sandbox.stats
    assert stats.requests == 4
    assert stats.for_token("sandbox-token") == 3
    assert sum(stats.by_token.values()) == 3
    assert "sandbox-token" not in repr(stats)
    assert "sandbox-token" not in repr(sandbox)
