"""Log setup: structlog events on stderr, readable on a terminal or as JSON.

Every event has stable keys (``event``, ``level``, ``timestamp``, and the
event's own such as ``op_id``, ``course``, ``status``, ``attempt``, ``cost``,
``remaining``). No event carries the access token: the client never hands
it to a logger, and :func:`configure` adds a last processor that blanks any
value equal to the token, in case one slips through an error message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

_REDACTED = "[redacted]"


class _Redact:
    """Replace any occurrence of the secret in event values."""

    def __init__(self, secrets: list[str]) -> None:
        self._secrets = [secret for secret in secrets if secret]

    def __call__(
        self, logger: Any, name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event
        for key, value in event.items():
            if isinstance(value, str):
                for secret in self._secrets:
                    if secret in value:
                        value = value.replace(secret, _REDACTED)
                event[key] = value
        return event


def _json_dumps(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def configure(
    *,
    fmt: str = "console",
    level: str = "info",
    secrets: list[str] | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send structlog events to stderr as ``console`` lines or ``json``."""
    out = stream if stream is not None else sys.stderr
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _Redact(secrets or []),
    ]
    if fmt == "json":
        processors.append(structlog.processors.format_exc_info)
        processors.append(structlog.processors.JSONRenderer(serializer=_json_dumps))
    else:
        colors = out.isatty()
        processors.append(structlog.dev.ConsoleRenderer(colors=colors))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def debug_enabled() -> bool:
    """Tell whether a debug event would be logged, without making a logger.

    Asking a module's logger for ``debug`` builds a bound logger first; a
    run sends thousands of requests at info level, so the hot paths ask
    this instead, and it answers as the configured level filter does.
    """
    wrapper = structlog.get_config()["wrapper_class"]
    enabled = getattr(wrapper, "is_enabled_for", None)
    if enabled is None:
        return True
    return bool(enabled(None, logging.DEBUG))
