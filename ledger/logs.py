"""structlog set-up: JSON lines in production, readable lines on a terminal.

Every line about an event carries the account, the event id and the log position.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import msgspec
import structlog


def configure_logging(*, quiet: bool = False, fmt: str | None = None) -> None:
    """Configure structlog; ``quiet`` (the CLI) logs only warnings, to stderr.

    Loggers are cached on first use (a log call through an uncached module-level logger resolves the
    configuration every time: ~15% of a command's CPU under group commit), so a process configures logging
    before it logs anything; configuring again later only affects loggers not used yet.
    """
    chosen = fmt or os.environ.get("LEDGER_LOG_FORMAT", "auto")
    if chosen == "auto":
        chosen = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor
    factory: structlog.typing.WrappedLogger
    if chosen == "console":
        renderer, factory = structlog.dev.ConsoleRenderer(), structlog.PrintLoggerFactory(file=sys.stderr)
    elif getattr(sys.stderr, "buffer", None) is not None:  # msgspec renders a line in a fraction of json.dumps
        sys.stderr.flush()
        renderer = structlog.processors.JSONRenderer(serializer=_json_line)
        factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    else:  # a stderr without a byte stream (some test runners)
        renderer = structlog.processors.JSONRenderer(serializer=lambda event, **_: _json_line(event).decode())
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING if quiet else logging.INFO),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )


_ENCODER = msgspec.json.Encoder(enc_hook=str)


def _json_line(event: dict[str, Any], **_: Any) -> bytes:
    """One JSON log line, written as bytes (values msgspec cannot encode are written as their ``str``)."""
    return _ENCODER.encode(event)
