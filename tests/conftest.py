"""Shared fixtures: a running sandbox over a real socket, and a client for it.

``sandbox`` serves a sandbox configured by ``sandbox_config``; a test module
that needs other knobs overrides that fixture::

    @pytest.fixture
    def sandbox_config() -> SandboxConfig:
        return SandboxConfig(courses=1, throttle=False)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bulkmod.sandbox.server import Sandbox, SandboxConfig, serve_sandbox

#: The admin token of the default sandbox.
ADMIN_TOKEN = "sandbox-token"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The configuration ``sandbox`` serves; override it per module."""
    return SandboxConfig()


@pytest.fixture
async def sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    """A seeded sandbox served on 127.0.0.1, stopped after the test."""
    async with serve_sandbox(sandbox_config) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client session, closed after the test."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


@pytest.fixture
def admin_headers(sandbox_config: SandboxConfig) -> dict[str, str]:
    """The Authorization header of the sandbox's admin."""
    return {"Authorization": f"Bearer {sandbox_config.token}"}
