"""The CLI's error contract through its console entry point: with ``--json`` an internal failure (a bug, not a
refusal) still prints ``{"error": {"code", "field", "message"}}`` on stdout, exits 1, and leaves its traceback
in the log on stderr for operators."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.cli.main import main
from ledger.projections import queries


def _broken(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("the dashboard query blew up")


def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> int:
    """Run ``ledger ARGS`` in this process on a home with one account, the dashboard query broken; returns the
    exit code."""
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path))
    monkeypatch.setenv("LEDGER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("LEDGER_PROJECTIONS_DIR", str(tmp_path / "projections"))
    monkeypatch.setenv("LEDGER_LOG_FORMAT", "json")
    monkeypatch.setattr(sys, "argv", ["ledger", "account", "open", "ACC1", "--email", "a@example.com"])
    main()  # a store to read (on none, a read answers no_store before it runs)
    capsys.readouterr()
    monkeypatch.setattr(queries, "dashboard", _broken)
    monkeypatch.setattr(sys, "argv", ["ledger", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


@pytest.mark.parametrize("args", [("--json", "dashboard"), ("dashboard", "--json")])
def test_an_internal_error_under_json_prints_the_error_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              args: tuple[str, ...]) -> None:
    assert run(monkeypatch, tmp_path, capsys, *args) == 1
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert error["code"] == "internal" and error["field"] is None
    assert error["message"].startswith("RuntimeError: the dashboard query blew up (reference ")
    reference = error["message"].split("(reference ", 1)[1][:12]
    lines = err.strip().splitlines()
    assert lines[-1] == f"error: internal: {error['message']}"  # the one line for people, last
    logged = [json.loads(line) for line in lines[:-1] if line.startswith("{")]
    failed = [entry for entry in logged if entry.get("event") == "command_failed"]
    assert len(failed) == 1 and failed[0]["reference"] == reference and failed[0]["level"] == "error"
    frames = failed[0]["exception"][0]["frames"]  # the traceback, for operators
    assert failed[0]["exception"][0]["exc_type"] == "RuntimeError" and frames[-1]["name"] == "_broken"


def test_an_internal_error_without_json_prints_nothing_on_stdout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, tmp_path, capsys, "dashboard") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines()[-1].startswith("error: internal: RuntimeError: the dashboard query blew up")
