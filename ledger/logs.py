"""structlog set-up: JSON lines in production, readable lines on a terminal.

Every line about an event carries the account, the event id and the log position. The security log's lines
(requests refused ``actor_not_allowed``: :mod:`ledger.identity.binding`) carry ``"logger": "security"``; given a
file (``serve``: ``$LEDGER_HOME/security.log``) they go there only, so an operator keeps and ships them apart.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import msgspec
import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, WrappedLogger

from ledger.cards import displayable

#: Tracebacks as structured data, without the frames' local variables: those hold tokens, request bodies and
#: connection strings, which must never reach a log line.
_TRACEBACKS = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))


#: The format the process last configured (a rebuild's child processes log as their parent does).
_configured = {"format": "auto"}


def configured_format() -> str:
    """The ``fmt`` of this process's last :func:`configure_logging` (``auto`` before any)."""
    return _configured["format"]


#: The ``logger`` field of the security log's lines.
SECURITY = "security"


def configure_logging(*, quiet: bool = False, fmt: str = "auto", security_log: Path | None = None) -> None:
    """Configure structlog; ``quiet`` (the CLI) logs only warnings, to stderr; ``fmt`` is ``json``, ``console``,
    or ``auto``: console on a terminal, else JSON (LEDGER_LOG_FORMAT, ``Settings.log_format``); ``security_log``:
    the file the security log's lines go to instead (:class:`SecurityLog`).

    JSON lines are written by a :class:`LineLogger`: INFO lines are buffered and flushed within
    ``FLUSH_EVERY`` seconds, warnings and errors at once.

    Loggers are cached on first use (a log call through an uncached module-level logger resolves the
    configuration every time: ~15% of a command's CPU under group commit), so a process configures logging
    before it logs anything; configuring again later only affects loggers not used yet.
    """
    _configured["format"] = chosen = fmt
    if chosen == "auto":
        chosen = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor
    factory: structlog.typing.WrappedLogger
    if chosen == "console":
        renderer, factory = structlog.dev.ConsoleRenderer(), structlog.PrintLoggerFactory(file=sys.stderr)
    elif getattr(sys.stderr, "buffer", None) is not None:  # msgspec renders a line in a fraction of json.dumps
        sys.stderr.flush()
        renderer = structlog.processors.JSONRenderer(serializer=_json_line)
        line_logger = LineLogger.shared(sys.stderr.buffer)
        factory = lambda *_: line_logger  # noqa: E731
    else:  # a stderr without a byte stream (some test runners)
        renderer = structlog.processors.JSONRenderer(serializer=lambda event, **_: _json_line(event).decode())
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=[  # the level and the timestamp are added after the card scan: ours, they need none (~half of it)
            structlog.contextvars.merge_contextvars,
            _TRACEBACKS,
            _displayable,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *([SecurityLog(security_log)] if security_log is not None else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING if quiet else logging.INFO),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()  # libraries that log through the standard library (uvicorn, asyncio) write ours
    root.handlers = [*(h for h in root.handlers if not isinstance(h, StdlibLines)), StdlibLines()]
    root.setLevel(logging.WARNING if quiet else logging.INFO)


class SecurityLog:
    """A processor sending the security log's lines (``logger: security``) to a file of their own, JSON lines,
    readable by the ledger's user only (0600), and nowhere else; the other lines pass. The file is opened on the
    first such line (the home may not exist yet when logging is configured); if it cannot be, the line goes to
    the main log rather than nowhere."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        if event.get("logger") != SECURITY:
            return event
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                os.fchmod(self._fd, 0o600)
            os.write(self._fd, _json_line(event) + b"\n")  # one append per line: whole, whatever the thread
        except OSError:
            return event
        raise structlog.DropEvent


class StdlibLines(logging.Handler):
    """A standard-library log record as one of the ledger's lines (JSON in production, through the same card
    scan and traceback rendering), named by its logger: ``{"event": "Application startup complete.", "logger":
    "uvicorn.error", ...}``."""

    def emit(self, record: logging.LogRecord) -> None:
        """Log ``record`` through structlog at the standard level at or below its own (a library's level 25 is
        info). A record whose arguments do not fit its format is its format and arguments as text, scanned as
        every line is: the standard library's report of it (``handleError``) prints the raw arguments."""
        level = min(max(record.levelno // 10 * 10, logging.DEBUG), logging.CRITICAL)
        fields: dict[str, object] = {"logger": record.name}
        if record.exc_info and record.exc_info[0] is not None:
            fields["exc_info"] = record.exc_info
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} {record.args}"
        with contextlib.suppress(Exception):  # logging must never raise into the caller
            structlog.get_logger(record.name).log(level, message, **fields)


def _displayable(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Every text of a line as :func:`ledger.cards.displayable` shows it, however deep (a dict passed to a log
    call, a traceback's exception message): a card number that reached a log call anyway (a NATS subject, an id
    echoed in an error) is redacted, terminal escapes are escaped."""
    for key, value in event.items():
        event[key] = _shown(value)
    return event


def _shown(value: object) -> object:
    if isinstance(value, str):
        return displayable(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    return displayable(str(value))  # written as its str() anyway


_ENCODER = msgspec.json.Encoder(enc_hook=str)


def _json_line(event: Mapping[str, object], **_: object) -> bytes:
    """One JSON log line, written as bytes (values msgspec cannot encode are written as their ``str``)."""
    return _ENCODER.encode(event)


#: Longest time an INFO line waits in the buffer before it reaches stderr.
FLUSH_EVERY = 0.2
#: Buffered bytes that are written at once without waiting for the flusher.
BUFFER_BYTES = 64 * 1024
#: The largest write a pipe keeps whole when several processes write to it.
PIPE_BUF = select.PIPE_BUF


class Stream(Protocol):
    """Where log lines go: stderr's byte stream (buffered or not), a file."""

    def write(self, data: bytes | memoryview, /) -> int | None: ...

    def flush(self) -> None: ...


class LineLogger:
    """structlog's logger for JSON lines on stderr's byte stream, without a write per INFO line.

    A write per line is a system call that hands the GIL to another thread: under group commit, 64 deciding
    threads logging ``event_recorded`` ran at half the commands/s. INFO and DEBUG lines are kept in a buffer of
    its own (whatever the stream's buffering: ``PYTHONUNBUFFERED`` leaves stderr without one) and written whole
    lines at a time, when ``BUFFER_BYTES`` are waiting, by a flusher thread within ``FLUSH_EVERY`` seconds, and
    at exit; a warning or an error is written at once with every line before it, so nothing an operator needs
    waits. A process killed outright (SIGKILL, out of memory) loses at most the last ``FLUSH_EVERY`` seconds of
    INFO lines. A child forked from the process starts with an empty buffer and a flusher of its own.

    There is one per process (:meth:`shared`), so loggers cached before a new :func:`configure_logging` follow
    the stream it names; a stream found closed (replaced and closed, e.g. by a test runner) is replaced by
    stderr's current one.
    """

    _shared: LineLogger | None = None

    def __init__(self, file: Stream, every: float = FLUSH_EVERY) -> None:
        self._file = file
        self._every = every
        self._lock = threading.Lock()
        self._pending = bytearray()
        self._start_flusher()
        atexit.register(self.flush)
        os.register_at_fork(after_in_child=self._forked)

    @classmethod
    def shared(cls, file: Stream) -> LineLogger:
        """The process's line logger, writing to ``file`` from now on."""
        if cls._shared is None:
            cls._shared = cls(file)
        elif cls._shared._file is not file:
            with cls._shared._lock:
                cls._shared._write_pending()
                cls._shared._file = file
        return cls._shared

    def buffered(self, message: bytes) -> None:
        """Write one line; it reaches the stream within ``FLUSH_EVERY`` seconds."""
        with self._lock:
            self._pending += message
            self._pending += b"\n"
            if len(self._pending) >= BUFFER_BYTES:
                self._write_pending()

    def urgent(self, message: bytes) -> None:
        """Write one line, with every line buffered before it, now."""
        with self._lock:
            self._pending += message
            self._pending += b"\n"
            self._write_pending()

    def flush(self) -> None:
        """Write the buffered lines now (the flusher thread, exit)."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        """Write the buffer whole (the caller holds the lock); a failing stream loses the lines, never raises."""
        if not self._pending:
            return
        data, self._pending = bytes(self._pending), bytearray()
        try:
            self._write_all(data)
        except ValueError:  # closed: write to whatever stderr is now
            current = getattr(sys.stderr, "buffer", None)
            if current is None or current is self._file:
                return
            self._file = current
            with contextlib.suppress(OSError, ValueError):
                self._write_all(data)
        except OSError:  # a broken pipe, a full disk: logging must not take the ledger down
            pass

    def _write_all(self, data: bytes) -> None:
        """Write whole lines, in pieces of at most ``PIPE_BUF`` bytes where lines allow: a write that size is
        atomic on a pipe, which other processes (a follower, workers) may be writing their lines to as well."""
        start = 0
        while start < len(data):
            end = start + PIPE_BUF
            if end < len(data):
                cut = data.rfind(b"\n", start, end)
                end = cut + 1 if cut >= start else (data.find(b"\n", end) + 1 or len(data))
            piece = memoryview(data)[start:end]
            while piece:
                written = self._file.write(piece)
                if not written:  # None (would block) or nothing: give up on these lines
                    raise BlockingIOError("the log stream accepted nothing")
                piece = piece[written:]
            start = end
        self._file.flush()

    def _start_flusher(self) -> None:
        threading.Thread(target=self._flush_often, name="log-flusher", daemon=True).start()

    def _forked(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._pending = bytearray()  # the parent's lines: it writes them itself
        self._start_flusher()

    def _flush_often(self) -> None:
        while True:
            time.sleep(self._every)
            if self._pending:
                self.flush()

    debug = info = msg = log = buffered
    warn = warning = err = error = exception = critical = fatal = failure = urgent
