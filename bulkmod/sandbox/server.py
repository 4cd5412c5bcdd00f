"""Run the sandbox: its configuration, and serving it on a real socket.

:func:`serve_sandbox` seeds a fresh :class:`State`, serves it on the running
event loop and yields a :class:`Sandbox` through which tests inspect and
change it; leaving the block stops the server and closes its connections.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bulkmod.export.reader import read_export
from bulkmod.sandbox.app import SandboxContext, SandboxStats, create_app
from bulkmod.sandbox.auth import TokenRevocations
from bulkmod.sandbox.faults import Faults
from bulkmod.sandbox.state import State, seed
from bulkmod.sandbox.throttle import Throttle

__all__ = ["Sandbox", "SandboxConfig", "SandboxStats", "main", "serve_sandbox"]

#: Seconds that stopping waits for requests still in flight.
_SHUTDOWN_TIMEOUT = 2.0


@dataclass
class SandboxConfig:
    """How a sandbox is seeded and how it behaves; defaults are Canvas's."""

    host: str = "127.0.0.1"
    #: 0 picks a free port.
    port: int = 0
    courses: int = 3
    #: A course export whose content every course also gets.
    seed_export: Path | None = None
    #: The admin's access token.
    token: str = "sandbox-token"
    throttle_hwm: float = 600
    throttle_outflow: float = 10
    up_front_cost: float = 50
    #: A fixed cost for every request instead of the built-in cost model.
    request_cost: float | None = None
    throttle: bool = True
    #: 403 as Canvas long did, or 429 as newer hosted Canvas does.
    throttle_status: int = 403
    #: 401 as open-source Canvas, or 403 as hosted Canvas answers.
    auth_error_status: int = 401
    #: Delay of every answer, after the change is made, while the request
    #: still holds its throttle reservation.
    latency_ms: float = 0
    fail_rate: float = 0
    drop_rate: float = 0
    random_seed: int | None = None
    #: The throttle's clock; tests pass a virtual one.
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.throttle_status not in (403, 429):
            raise ValueError("throttle_status must be 403 or 429")
        if self.auth_error_status not in (401, 403):
            raise ValueError("auth_error_status must be 401 or 403")
        if self.latency_ms < 0:
            raise ValueError("latency_ms may not be negative")


class Sandbox:
    """A running sandbox: its address, its records and its counts."""

    def __init__(self, base_url: str, context: SandboxContext) -> None:
        #: The origin, ``http://127.0.0.1:<port>`` (no ``/api/v1``).
        self.base_url = base_url
        self._context = context

    def __repr__(self) -> str:
        return f"Sandbox({self.base_url!r})"

    @property
    def state(self) -> State:
        """The sandbox's records: inspect or change them in tests."""
        return self._context.state

    @property
    def stats(self) -> SandboxStats:
        """What the sandbox received and did."""
        return self._context.stats

    @property
    def throttle(self) -> Throttle | None:
        """The throttle's buckets, or None when throttling is off."""
        return self._context.throttle

    def revoke_token(self, token: str) -> None:
        """Refuse ``token`` from now on with "Revoked access token."."""
        self._context.revocations.revoke(token)

    def expire_token(
        self, token: str, expired_at: str = "2000-01-01T00:00:00Z"
    ) -> None:
        """Refuse ``token`` from now on with "Expired access token."."""
        self._context.revocations.expire(token, expired_at)

    def restore_token(self, token: str) -> None:
        """Accept a revoked or expired token again."""
        self._context.revocations.restore(token)


def build_context(config: SandboxConfig) -> SandboxContext:
    """Return a freshly seeded sandbox context for ``config``."""
    state = State()
    export = None
    if config.seed_export is not None:
        export = read_export(config.seed_export)
    seed(state, courses=config.courses, export=export, admin_token=config.token)

    throttle = None
    if config.throttle:
        throttle = Throttle(
            hwm=config.throttle_hwm,
            outflow=config.throttle_outflow,
            up_front_cost=config.up_front_cost,
            clock=config.clock,
        )
    faults = Faults(
        fail_rate=config.fail_rate,
        drop_rate=config.drop_rate,
        seed=config.random_seed,
    )
    return SandboxContext(
        state=state,
        stats=SandboxStats(),
        revocations=TokenRevocations(),
        faults=faults,
        throttle=throttle,
        hwm=float(config.throttle_hwm),
        request_cost=config.request_cost,
        throttle_status=config.throttle_status,
        auth_error_status=config.auth_error_status,
        latency=config.latency_ms / 1000.0,
    )


@asynccontextmanager
async def serve_sandbox(config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """Serve a seeded sandbox on the running loop until the block ends."""
    context = build_context(config)
    runner = web.AppRunner(
        create_app(context),
        access_log=None,
        handle_signals=False,
        shutdown_timeout=_SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        base_url = _origin(config.host, _bound_port(runner))
        context.state.base_url = base_url
        yield Sandbox(base_url, context)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Run ``bulkmod sandbox`` (see :mod:`bulkmod.sandbox.cli`)."""
    from bulkmod.sandbox.cli import main as cli_main

    return cli_main(argv)


def _bound_port(runner: web.AppRunner) -> int:
    """Return the port the runner's socket was bound to."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the sandbox server has no TCP socket")


def _origin(host: str, port: int) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
