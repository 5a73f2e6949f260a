"""What a person meets first at the CLI: help without a command, ``--version``, arguments named as typed, help
texts in plain words on every option, a mistyped ``--db`` that creates nothing, and progress bars on stderr."""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledger.cli.main import cli, main


def run(monkeypatch: pytest.MonkeyPatch, home: Path, *args: str) -> int:
    """``ledger ARGS`` through the console entry point on ``home``; the exit code."""
    monkeypatch.setenv("LEDGER_HOME", str(home))
    monkeypatch.setenv("LEDGER_DB", str(home / "ledger.db"))
    monkeypatch.setenv("LEDGER_LOG_FORMAT", "json")
    monkeypatch.setattr(sys, "argv", ["ledger", *args])
    try:
        main()
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_no_command_prints_the_help(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, tmp_path) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Usage: ledger [OPTIONS] COMMAND [ARGS]...\n") and "\nCommands:\n" in out
    assert "error" not in err
    assert run(monkeypatch, tmp_path, "account") == 2  # a group without its command: the help, still a usage error
    out, err = capsys.readouterr()
    assert out.startswith("Usage: ledger account [OPTIONS] COMMAND [ARGS]...\n") and "  open " in out
    assert "error" not in err


def test_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, tmp_path, "--version") == 0
    assert capsys.readouterr().out == f"ledger {version('payment-ledger')}\n"


def test_a_missing_argument_is_named_as_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, tmp_path, "--json", "payment", "refund", "ACC1") == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["error"]["field"] == "payment"
    assert "'PAYMENT'" in err and "payment_id" not in err


def commands(group: click.Group, path: str = "ledger") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{path} {name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{path} {name}")
    return found


def test_every_option_has_plain_help() -> None:
    """Every option of every command says what it is for, and no help shows reStructuredText (``now``)."""
    markup = re.compile(r"``|:[a-z]+:`")
    runner = CliRunner()
    everything = commands(cli)
    assert len(everything) > 50
    for path, command in [("ledger", cli), *everything]:
        unexplained = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not p.help]
        assert not unexplained, (path, unexplained)
        shown = runner.invoke(cli, [*path.split()[1:], "--help"])
        assert shown.exit_code == 0 and not markup.search(shown.output), (path, shown.output)


def test_a_read_on_a_mistyped_db_creates_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    typo = tmp_path / "typo" / "ledgr.db"
    reads = [("account", "balance", "ACC1"), ("account", "show", "ACC1"), ("dashboard",), ("audit", "log"),
             ("audit", "search", "P1"), ("audit", "verify"), ("audit", "export", "--from", "2026-01-01", "--to",
                                                              "2026-02-01"),
             ("replay", "balances", "--as-of", "now"), ("projections", "status")]
    for read in reads:
        assert run(monkeypatch, home, "--json", "--db", str(typo), *read) == 2, read
        error = json.loads(capsys.readouterr().out)["error"]
        assert (error["code"], error["field"]) == ("no_store", "db"), read
    assert list(tmp_path.iterdir()) == []  # no folder, store, secret, gateway file or read model


def test_long_reads_draw_progress_on_stderr_unless_json(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_DB": str(tmp_path / "ledger.db"), "LEDGER_LOG_FORMAT": "json"}
    assert runner.invoke(cli, ["account", "open", "ACC1", "--email", "a@example.com"], env=env).exit_code == 0
    for args, label in ((["audit", "verify"], "verifying"), (["replay", "balances", "--as-of", "now"], "replaying"),
                        (["audit", "export", "--from", "2020-01-01", "--to", "2030-01-01"], "exporting")):
        shown = runner.invoke(cli, args, env=env)
        assert shown.exit_code == 0 and label in shown.stderr and label not in shown.stdout, (args, shown.stderr)
        quiet = runner.invoke(cli, ["--json", *args], env=env)
        assert label not in quiet.stderr, args
