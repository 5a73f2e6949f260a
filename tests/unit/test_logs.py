"""JSON log lines: INFO is buffered and reaches the stream soon, a warning is written at once with everything
before it, whatever the stream's own buffering; tracebacks never carry local variables."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import msgspec
import pytest
import structlog

from ledger.identity import binding
from ledger.identity.binding import Binder, caller_of
from ledger.identity.credentials import Credentials
from ledger.logs import FLUSH_EVERY, PIPE_BUF, SECURITY, LineLogger, StdlibLines, configure_logging


def test_info_lines_wait_for_the_flusher_and_a_warning_writes_everything_in_order(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with path.open("wb", buffering=0) as stream:  # unbuffered, as stderr is under PYTHONUNBUFFERED
        logger = LineLogger(stream, every=3600)  # no flusher tick during this test
        logger.info(b'{"event":"one"}')
        assert path.read_bytes() == b""  # no write system call per INFO line
        logger.warning(b'{"event":"two"}')
        assert path.read_bytes() == b'{"event":"one"}\n{"event":"two"}\n'
        logger.info(b'{"event":"three"}')
        logger.flush()
        assert path.read_bytes().endswith(b'{"event":"three"}\n')


def test_the_flusher_writes_buffered_lines_soon(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with path.open("wb", buffering=0) as stream:
        logger = LineLogger(stream)
        logger.info(b'{"event":"soon"}')
        deadline = time.monotonic() + 50 * FLUSH_EVERY
        while not path.read_bytes() and time.monotonic() < deadline:
            time.sleep(FLUSH_EVERY / 4)
        assert path.read_bytes() == b'{"event":"soon"}\n'


def test_a_closed_stream_is_replaced_by_stderr_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test runner (or a daemon) may close the stderr a logger was configured with: lines go to the new one."""
    old = (tmp_path / "old").open("wb")
    logger = LineLogger(old, every=3600)
    old.close()
    now = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", now)
    logger.warning(b'{"event":"still logged"}')
    assert now.buffer.getvalue() == b'{"event":"still logged"}\n'


def test_a_failing_stream_never_raises_into_the_caller(tmp_path: Path) -> None:
    class Broken(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            raise BrokenPipeError("reader went away")

    LineLogger(Broken(), every=3600).error(b'{"event":"lost"}')  # a broken pipe must not fail a payment


def test_tracebacks_in_logs_carry_no_local_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(fmt="json")

    def charge(token: str) -> None:
        raise RuntimeError("gateway down")

    try:
        charge("tok_secret_4242")
    except RuntimeError:
        structlog.get_logger("test.logs.tracebacks").exception("charge_failed")
    LineLogger.shared(out.buffer).flush()
    text = out.buffer.getvalue()
    assert b"tok_secret_4242" not in text
    line = msgspec.json.decode(text.splitlines()[-1])
    assert line["event"] == "charge_failed" and line["exception"][0]["exc_value"] == "gateway down"
    assert all("locals" not in frame for frame in line["exception"][0]["frames"])
    monkeypatch.undo()
    configure_logging(quiet=True)  # back to the real stderr


def test_lines_are_written_whole_in_pieces_a_pipe_keeps_atomic() -> None:
    """Other processes write to the same stderr pipe: each write is whole lines of at most PIPE_BUF bytes,
    except a single longer line, which goes alone."""
    writes: list[bytes] = []

    class Recorder(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: object) -> int:
            chunk = bytes(data)  # type: ignore[call-overload]  # a memoryview
            writes.append(chunk)
            return len(chunk)

    logger = LineLogger(Recorder(), every=3600)
    lines = [b"x" * 3000, b"y" * 1000, b"z" * 5000, b"w" * 10]
    for line in lines:
        logger.info(line)
    logger.flush()
    assert b"".join(writes) == b"".join(line + b"\n" for line in lines)
    assert all(w.endswith(b"\n") for w in writes)
    assert all(len(w) <= PIPE_BUF or w.count(b"\n") == 1 for w in writes)
    assert len(writes) < len(lines)  # lines that fit together went together


def test_a_forked_child_does_not_write_its_parents_buffered_lines_again(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with path.open("wb", buffering=0) as stream:
        logger = LineLogger(stream, every=3600)
        logger.info(b'{"event":"parent, before the fork"}')
        pid = os.fork()
        if pid == 0:  # the child: starts with an empty buffer
            logger.info(b'{"event":"child"}')
            logger.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        logger.flush()
    lines = path.read_bytes().splitlines()
    assert sorted(lines) == [b'{"event":"child"}', b'{"event":"parent, before the fork"}']


def test_a_card_number_reaching_a_log_call_is_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(fmt="json")
    structlog.get_logger("test.logs.redacted").warning("command_handled", subject="ledger.cmd.4242424242424242",
                                                       account="ACC1\x1b[31m")
    LineLogger.shared(out.buffer).flush()
    line = msgspec.json.decode(out.buffer.getvalue().splitlines()[-1])
    assert (line["subject"], line["account"]) == ("ledger.cmd.[card number]", "ACC1\\x1b[31m")
    monkeypatch.undo()
    configure_logging(quiet=True)  # back to the real stderr


def test_a_card_number_deep_in_a_line_or_in_a_traceback_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(fmt="json")
    logger = structlog.get_logger("test.logs.deep")
    logger.warning("nested", detail={"ref": ["4242 4242 4242 4242"]})
    try:
        raise KeyError("4111111111111111")
    except KeyError:
        logger.exception("failed")
    LineLogger.shared(out.buffer).flush()
    text = out.buffer.getvalue()
    assert b"4242 4242 4242 4242" not in text and b"4111111111111111" not in text
    assert text.count(b"[card number]") >= 2
    monkeypatch.undo()
    configure_logging(quiet=True)  # back to the real stderr


def test_standard_library_records_are_the_ledgers_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn, Litestar and asyncio log through the standard library: their records become JSON lines named by
    their logger, with the card scan and a structured traceback; INFO passes in serve, only warnings in the CLI."""
    import logging

    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(fmt="json")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 4242)
    try:
        raise RuntimeError("card 4242 4242 4242 4242 refused")
    except RuntimeError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    LineLogger.shared(out.buffer).flush()
    lines = [msgspec.json.decode(raw) for raw in out.buffer.getvalue().splitlines()]
    started, failed = lines[-2:]
    assert (started["event"], started["logger"], started["level"]) == ("Started server process [4242]",
                                                                       "uvicorn.error", "info")
    assert (failed["event"], failed["logger"], failed["level"]) == ("Task exception was never retrieved", "asyncio",
                                                                    "error")
    assert failed["exception"][0]["exc_type"] == "RuntimeError" and "4242 4242" not in str(failed)
    assert sum(isinstance(h, type(logging.getLogger().handlers[-1])) for h in logging.getLogger().handlers) == 1
    monkeypatch.undo()
    configure_logging(quiet=True)  # back to the real stderr; the CLI lets only warnings through
    assert logging.getLogger().level == logging.WARNING


def test_a_record_at_an_odd_level_or_with_bad_arguments_is_a_line_without_the_card(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A library's record at a level of its own (25) or whose arguments do not fit its format is still one JSON
    line, never the standard library's "Logging error" text with the record's raw arguments (a card number)."""
    import logging

    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    configure_logging(fmt="json")
    lines = next(h for h in logging.getLogger().handlers if isinstance(h, StdlibLines))  # not pytest's own
    lines.handle(logging.makeLogRecord({"name": "lib", "levelno": 25, "msg": "noticed %s",
                                        "args": ("4111111111111111",)}))
    lines.handle(logging.makeLogRecord({"name": "lib", "levelno": logging.WARNING, "msg": "bad %d",
                                        "args": ("4111 1111 1111 1111",)}))
    LineLogger.shared(out.buffer).flush()
    out.flush()
    written = out.buffer.getvalue()
    monkeypatch.undo()
    configure_logging(quiet=True)
    noticed, bad = [msgspec.json.decode(raw) for raw in written.splitlines()][-2:]
    assert (noticed["logger"], noticed["level"]) == ("lib", "info") and noticed["event"].startswith("noticed ")
    assert (bad["logger"], bad["level"]) == ("lib", "warning") and bad["event"].startswith("bad ")
    assert b"4111" not in written and b"Logging error" not in written


def test_the_security_log_goes_to_its_own_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused actor (issue 17) is written to the security log, a 0600 file of JSON lines an operator keeps and
    ships apart, and not to the main log; the other lines are not in it."""
    out = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", out)
    path = tmp_path / "security.log"
    configure_logging(fmt="json", security_log=path)
    monkeypatch.setattr(binding, "security", structlog.get_logger(SECURITY))  # not one cached by earlier tests
    binder = Binder(Credentials(tmp_path / "nats").ensure())
    caller, _ = caller_of("ledger.portal.web.cmd.credit.issue")
    binder.refuse(caller, "a portal may not IssueCredit", account="ACC1")
    structlog.get_logger("test.logs.security").warning("something_else")
    LineLogger.shared(out.buffer).flush()
    main = out.buffer.getvalue()
    assert b"something_else" in main and b"actor_not_allowed" not in main
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    [line] = [msgspec.json.decode(text) for text in path.read_bytes().splitlines()]
    assert (line["logger"], line["event"], line["user"], line["account"], line["level"]) == (
        "security", "actor_not_allowed", "portal-web", "ACC1", "warning")
    monkeypatch.undo()
    configure_logging(quiet=True)  # back to the real stderr, no security file
