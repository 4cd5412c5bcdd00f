"""Which Canvas a command talks to, and with which token.

Canvas is named by ``--base-url`` or ``CANVAS_BASE_URL``; the token comes
from ``CANVAS_TOKEN`` or ``--token-file``, never from a flag's value (which
would show in the process list). With no Canvas named, ``run`` embeds the
sandbox on a free loopback port: this module is the one place in the product
that imports it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bulkmod.client.urls import is_loopback_host, normalize_base_url


class TargetError(Exception):
    """The command line does not name a usable Canvas or token."""


@dataclass(frozen=True)
class Target:
    """A Canvas to talk to."""

    base_url: str
    token: str
    #: The embedded sandbox, started for this command.
    embedded: bool = False

    @property
    def loopback(self) -> bool:
        """Whether this Canvas is on this machine (no confirmation needed)."""
        host = self.base_url.split("://", 1)[1].rsplit(":", 1)[0]
        return is_loopback_host(host)

    def __repr__(self) -> str:
        return f"Target({self.base_url!r}, embedded={self.embedded})"


def read_token(token_file: Path | None) -> str:
    """The access token from ``--token-file`` or ``CANVAS_TOKEN``.

    White space around it is dropped. A token with white space, control
    characters or letters outside ASCII inside it is refused: no Canvas
    token has them, and an HTTP header cannot carry some of them.
    """
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
            raise TargetError(
                f"{token_file}: cannot read the token file ({reason})"
            ) from None
        if not token:
            raise TargetError(f"{token_file}: the token file is empty")
        _check_token(token, f"the token in {token_file}")
        return token
    token = os.environ.get("CANVAS_TOKEN", "").strip()
    if not token:
        raise TargetError(
            "no access token: set CANVAS_TOKEN or pass --token-file FILE "
            "(a file holding only the token)"
        )
    _check_token(token, "the token in CANVAS_TOKEN")
    return token


def _check_token(token: str, source: str) -> None:
    # The message never quotes the token, not even a part of it.
    if any(char.isspace() for char in token):
        raise TargetError(
            f"{source} has white space inside it; a Canvas token is one word: "
            "copy it again, whole"
        )
    if not (token.isascii() and token.isprintable()):
        raise TargetError(
            f"{source} has characters no Canvas token has (control characters "
            "or letters outside ASCII); copy it again, whole"
        )


def base_url_from(flag: str | None) -> str | None:
    """The Canvas named by ``--base-url`` or ``CANVAS_BASE_URL``, if any."""
    return flag or os.environ.get("CANVAS_BASE_URL") or None


@asynccontextmanager
async def open_target(
    *,
    base_url: str | None,
    token_file: Path | None,
    allow_insecure_http: bool,
    sandbox_courses: int = 50,
    sandbox_seed_export: Path | None = None,
) -> AsyncIterator[Target]:
    """Yield the Canvas to use, starting the embedded sandbox if none is named."""
    if base_url is not None:
        try:
            origin = normalize_base_url(
                base_url, allow_insecure_http=allow_insecure_http
            )
        except ValueError as err:
            raise TargetError(str(err)) from None
        yield Target(origin, read_token(token_file))
        return

    from bulkmod.sandbox.server import SandboxConfig, serve_sandbox

    config = SandboxConfig(
        courses=sandbox_courses, seed_export=sandbox_seed_export, throttle=True
    )
    async with serve_sandbox(config) as sandbox:
        yield Target(sandbox.base_url, config.token, embedded=True)
