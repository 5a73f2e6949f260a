"""The read commands on a real ledger folder: instants in the business time zone (seed 002) in tables and
``--json``, order-history periods bounded by ``--at``, the audit log's ``--actor`` and ``--account``, and usage
errors naming the option as typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import cli, main

EVENING = "2026-09-01T23:30"  # 03:30 UTC on the 2nd: the business date is the 1st
SHOWN = "2026-09-01T23:30:00-04:00"


class Ledger:
    """The CLI on one folder; each call runs ``--at`` an instant (business zone unless it has an offset)."""

    def __init__(self, home: Path, **env: str) -> None:
        self.runner = CliRunner()
        self.env = {"LEDGER_HOME": str(home), "LEDGER_DB": str(home / "ledger.db"), "LEDGER_LOG_FORMAT": "json",
                    "LEDGER_PROJECTIONS_DIR": str(home / "projections"), **env}

    def __call__(self, *args: str, at: str = "2026-09-10T12:00") -> Result:
        return self.runner.invoke(cli, ["--at", at, *args], env=self.env, catch_exceptions=False)

    def ok(self, *args: str, at: str = "2026-09-10T12:00") -> str:
        result = self(*args, at=at)
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str, at: str = "2026-09-10T12:00") -> Any:
        return json.loads(self.ok("--json", *args, at=at))

    def refused(self, *args: str, at: str = "2026-09-10T12:00") -> dict[str, Any]:
        result = self("--json", *args, at=at)
        assert result.exit_code == 2, result.output
        error: dict[str, Any] = json.loads(result.stdout)["error"]
        return error


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    run = Ledger(tmp_path)
    run.ok("account", "open", "ACC1", "--email", "a@example.com", at="2026-09-01T09:00")
    run.ok("--actor", "csr:jdoe", "order", "place", "ACC1", "O-EVE", "--amount", "30.00", "--channel", "phone",
           at=EVENING)
    run.ok("payment", "submit", "ACC1", "P1", "--amount", "20.00", "--method", "card", "--token", "tok_visa",
           "--deposit", at=EVENING)
    run.ok("auth", "create", "ACC1", "A1", "--order", "O-EVE", "--amount", "30.00", "--token", "tok_visa",
           at=EVENING)
    run.ok("research", "receive", "R1", "--amount", "5.00", "--token", "tok_visa", "--reference", "ref", at=EVENING)
    run.ok("order", "place", "ACC1", "O-LATER", "--amount", "10.00", at="2026-10-15T10:00")
    return run


def test_tabs_dashboard_and_audit_show_the_business_date_of_an_evening_payment(ledger: Ledger) -> None:
    assert [p["date"] for p in ledger.json("account", "payments", "ACC1")] == [SHOWN]
    assert [c["date"] for c in ledger.json("account", "credits", "ACC1")] == [SHOWN]
    assert ledger.json("account", "balance", "ACC1")[0]["last_payment_at"] == SHOWN
    assert [o["date"] for o in ledger.json("account", "history", "ACC1", "--period", "30d")] == [SHOWN]
    board = ledger.json("dashboard", "--within-days", "30")
    assert board["unpaid_orders"][0]["placed_at"] == SHOWN
    assert [r["received_at"] for r in board["awaiting_research"]] == [SHOWN]
    assert [a["expires_at"][-6:] for a in board["expiring_authorizations"]] == ["-04:00"]
    log = ledger.json("audit", "log", "--account", "ACC1")
    assert [row["at"] for row in log] == ["2026-09-01T09:00:00-04:00"] + [SHOWN] * (len(log) - 2) + [
        "2026-10-15T10:00:00-04:00"]
    text = ledger.ok("account", "payments", "ACC1")
    assert "2026-09-01" in text and "2026-09-02" not in text
    shown = ledger.json("account", "show", "ACC1")
    assert shown["payments"][0]["date"] == SHOWN  # the same spelling as account show


def test_the_configured_business_zone_is_used(tmp_path: Path) -> None:
    paris = Ledger(tmp_path, LEDGER_TIMEZONE="Europe/Paris")
    paris.ok("account", "open", "ACC1", "--email", "a@example.com", at="2026-09-01T09:00")
    paris.ok("payment", "submit", "ACC1", "P1", "--amount", "20.00", "--method", "card", "--token", "tok_visa",
             "--deposit", at="2026-09-01T23:30:00-04:00")
    assert [p["date"] for p in paris.json("account", "payments", "ACC1")] == ["2026-09-02T05:30:00+02:00"]


def test_history_periods_end_at_now_and_keep_the_day_of_the_month(ledger: Ledger) -> None:
    assert [o["id"] for o in ledger.json("account", "history", "ACC1", "--period", "3m")] == ["O-EVE"]
    ledger.ok("account", "open", "ACC2", "--email", "b@example.com", at="2026-09-01T09:00")
    ledger.ok("order", "place", "ACC2", "O-0929", "--amount", "1.00", at="2026-09-29T23:59")
    ledger.ok("order", "place", "ACC2", "O-0930", "--amount", "1.00", at="2026-09-30T00:00")
    ledger.ok("order", "place", "ACC2", "O-1015", "--amount", "1.00", at="2026-10-15T10:00")
    late = ledger.json("account", "history", "ACC2", "--period", "3m", at="2026-12-31T23:40")
    assert [o["id"] for o in late] == ["O-1015", "O-0930"]
    assert [o["id"] for o in ledger.json("account", "history", "ACC1", "--year", "2026")] == ["O-EVE"]
    assert ledger.json("account", "history", "ACC1", "--year", "2025") == []


@pytest.mark.parametrize(("args", "at", "field"), [
    (("--period", "year", "--year", "9999"), "2026-09-10T12:00", "year"),
    (("--period", "year", "--year", "-5"), "2026-09-10T12:00", "year"),
    (("--period", "year", "--year", "0"), "2026-09-10T12:00", "year"),
    (("--period", "30d", "--year", "2026"), "2026-09-10T12:00", "year"),
    (("--period", "3m",), "0001-01-15", "at"),
])
def test_history_refusals_name_the_field(ledger: Ledger, args: tuple[str, ...], at: str, field: str) -> None:
    assert ledger.refused("account", "history", "ACC1", *args, at=at)["field"] == field


def test_audit_actor_takes_kind_name_or_name_and_an_unknown_account_is_not_found(ledger: Ledger) -> None:
    by_csr = ledger.json("audit", "log", "--actor", "csr:jdoe")
    assert [row["event"] for row in by_csr] == ["OrderPlaced"]
    assert ledger.json("audit", "log", "--actor", "jdoe") == by_csr
    assert ledger.json("audit", "log", "--actor", "finance:jdoe") == []
    assert ledger.refused("audit", "log", "--actor", "csr:")["field"] == "actor"
    error = ledger.refused("audit", "log", "--account", "NOPE")
    assert (error["code"], error["field"]) == ("not_found", "account")


@pytest.mark.parametrize(("args", "field"), [
    (("dashboard", "--within-days", "-1"), "within-days"),
    (("account", "history"), "account"),
    (("account", "history", "ACC1", "--year", "x"), "year"),
    (("replay", "statement", "ACC1", "--from", "2026-09-01"), "to"),
    (("replay", "statement", "ACC1", "--to", "2026-09-01"), "from"),
    (("replay", "balances"), "as-of"),
    (("replay", "balances", "--as-of", "soon"), "as-of"),
    (("audit", "log", "--limit", "0"), "limit"),
    (("audit", "export", "--to", "2026-09-01"), "from"),
])
def test_usage_errors_name_the_option_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
                                               field: str) -> None:
    monkeypatch.setenv("LEDGER_HOME", str(tmp_path))
    monkeypatch.setenv("LEDGER_DB", str(tmp_path / "ledger.db"))
    monkeypatch.setenv("LEDGER_PROJECTIONS_DIR", str(tmp_path / "projections"))
    monkeypatch.setattr("sys.argv", ["ledger", "account", "open", "ACC1", "--email", "a@example.com"])
    main()  # a store to read: on none, a read answers no_store (field db) before it reads its options
    capsys.readouterr()
    monkeypatch.setattr("sys.argv", ["ledger", "--json", *args])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    assert json.loads(capsys.readouterr().out)["error"]["field"] == field
