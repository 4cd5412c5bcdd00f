"""Who is asking: access tokens, their refusals, and acting as another user.

Canvas reads the token from an ``Authorization: Bearer`` header or an
``access_token`` query parameter. A request without one, or with a token
Canvas does not know, has expired or was revoked, is refused with 401 and a
``WWW-Authenticate`` header before anything else is looked at. Tokens are
only ever kept here as hashes, so that no record of the sandbox can leak one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from bulkmod.sandbox.model_errors import CanvasFailure
from bulkmod.sandbox.model_objects import User
from bulkmod.sandbox.state import State

#: The challenge Canvas sends with every authentication refusal.
WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'


class AuthFailure(Exception):
    """The token is missing, unknown, expired or revoked: a 401 with a challenge."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["errors"][0]["message"])
        self.body = body

    @classmethod
    def unauthenticated(cls) -> AuthFailure:
        """No credentials at all."""
        message = {"message": "user authorization required"}
        return cls({"status": "unauthenticated", "errors": [message]})

    @classmethod
    def invalid(cls) -> AuthFailure:
        """A token Canvas does not know."""
        return cls({"errors": [{"message": "Invalid access token."}]})

    @classmethod
    def expired(cls, expired_at: str) -> AuthFailure:
        """A token past its expiry."""
        message = {"message": "Expired access token.", "expired_at": expired_at}
        return cls({"errors": [message]})

    @classmethod
    def revoked(cls) -> AuthFailure:
        """A token its owner or an admin revoked."""
        return cls({"errors": [{"message": "Revoked access token."}]})


def request_token(request: web.Request) -> str | None:
    """Return the access token a request carries, or None."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.query.get("access_token") or None


def token_hash(token: str) -> str:
    """Return the stable, non-reversible name of a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


class TokenRevocations:
    """Tokens the sandbox now refuses although their user still exists.

    Only the hashes are kept. Tests use this to see how a client meets a
    token that stops working in the middle of a run.
    """

    def __init__(self) -> None:
        self._revoked: set[str] = set()
        self._expired: dict[str, str] = {}

    def revoke(self, token: str) -> None:
        """Answer "Revoked access token." to this token from now on."""
        self._revoked.add(token_hash(token))

    def expire(self, token: str, expired_at: str) -> None:
        """Answer "Expired access token." to this token from now on."""
        self._expired[token_hash(token)] = expired_at

    def restore(self, token: str) -> None:
        """Accept this token again."""
        hashed = token_hash(token)
        self._revoked.discard(hashed)
        self._expired.pop(hashed, None)

    def check(self, hashed: str) -> None:
        """Raise :class:`AuthFailure` when the token of this hash is refused."""
        if not self._revoked and not self._expired:
            return
        if hashed in self._revoked:
            raise AuthFailure.revoked()
        expired_at = self._expired.get(hashed)
        if expired_at is not None:
            raise AuthFailure.expired(expired_at)


def authenticate(
    state: State,
    revocations: TokenRevocations,
    token: str | None,
    hashed: str | None,
) -> User:
    """Return the user a token belongs to, or raise :class:`AuthFailure`."""
    if token is None or hashed is None:
        raise AuthFailure.unauthenticated()
    revocations.check(hashed)
    user = state.user_for_token(token)
    if user is None:
        raise AuthFailure.invalid()
    return user


def acting_user(state: State, user: User, as_user_id: Any) -> User:
    """Return the user a request acts as: ``as_user_id`` is for admins only."""
    if as_user_id is None or as_user_id == "":
        return user
    if not user.admin:
        raise CanvasFailure.unauthorized()
    return state.find_user(str(as_user_id))
