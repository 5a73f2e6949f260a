"""JSON log lines: INFO is buffered and reaches the stream soon; a warning flushes at once, in order."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import pytest

from ledger.logs import FLUSH_EVERY, LineLogger


def test_info_lines_are_buffered_then_flushed_and_warnings_go_out_at_once(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with path.open("wb") as stream:
        logger = LineLogger(stream)
        logger.info(b'{"event":"one"}')
        assert path.read_bytes() == b""  # still in the buffer: no write system call per INFO line
        logger.warning(b'{"event":"two"}')
        assert path.read_bytes() == b'{"event":"one"}\n{"event":"two"}\n'  # everything before it, in order
        logger.info(b'{"event":"three"}')
        deadline = time.monotonic() + 20 * FLUSH_EVERY
        while not path.read_bytes().endswith(b'"three"}\n') and time.monotonic() < deadline:
            time.sleep(FLUSH_EVERY / 4)
        assert path.read_bytes().endswith(b'{"event":"three"}\n')  # the flusher thread wrote it


def test_a_closed_stream_is_replaced_by_stderr_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test runner (or a daemon) may close the stderr a logger was configured with: lines go to the new one."""
    old = (tmp_path / "old").open("wb")
    logger = LineLogger(old)
    old.close()
    now = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stderr", now)
    logger.warning(b'{"event":"still logged"}')
    assert now.buffer.getvalue() == b'{"event":"still logged"}\n'
