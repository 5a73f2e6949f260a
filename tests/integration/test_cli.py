"""The CLI contract, driven from outside exactly as later checks drive it (a real SQLite file per test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


class Cli:
    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "LEDGER_HOME": str(home), "LEDGER_LOG_FORMAT": "json"}
        self.env.pop("LEDGER_DB", None)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ledger", *args], capture_output=True, text=True,
                              env=self.env, timeout=60, check=False)

    def ok(self, *args: str) -> str:
        done = self(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def json(self, *args: str) -> dict[str, object]:
        result: dict[str, object] = json.loads(self.ok("--json", *args))
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_the_documented_flow_and_account_show_json(cli: Cli, tmp_path: Path) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com", "--currency", "CAD", "--name", "Ada")
    cli.ok("invoice", "issue", "ACC1", "INV-1", "--amount", "120.00", "--date", "2026-09-01", "--due", "2026-09-30")
    cli.ok("invoice", "issue", "ACC1", "INV-2", "--amount", "50.00", "--date", "2026-09-10", "--due", "2026-10-10")
    paid = cli.json("payment", "submit", "ACC1", "P1", "--amount", "100.00", "--method", "card", "--token",
                    "tok_visa", "--distribute", "--key", "k-1")
    assert paid["status"] == "settled" and str(paid["transaction_id"]).startswith("txn_")
    cli.ok("payment", "submit", "ACC1", "P2", "--amount", "60.00", "--method", "ach", "--token", "tok_ach",
           "--invoice", "INV-1=20.00", "--invoice", "INV-2=40.00")
    cli.ok("payment", "settle", "ACC1", "P2")
    cli.ok("credit", "issue", "ACC1", "C1", "--amount", "25.00", "--reference", "REF-9")
    view = cli.json("account", "show", "ACC1")
    assert {"account", "currency", "balance", "credit_balance", "invoices", "payments", "credits"} <= set(view)
    assert view["account"] == "ACC1" and view["currency"] == "CAD"
    assert view["balance"] == "10.00"
    assert view["credit_balance"] == "25.00"
    invoices = {i["id"]: i for i in view["invoices"]}  # type: ignore[attr-defined]
    assert invoices["INV-1"] == {**invoices["INV-1"], "total": "120.00", "paid": "120.00", "open": "0.00",
                                 "status": "paid"}
    assert invoices["INV-2"]["status"] == "partially_paid" and invoices["INV-2"]["open"] == "10.00"
    payments = {p["id"]: p for p in view["payments"]}  # type: ignore[attr-defined]
    assert payments["P2"]["method"] == "ach" and payments["P2"]["status"] == "settled"
    assert payments["P1"]["transaction_id"] == paid["transaction_id"]
    assert [c["reference"] for c in view["credits"]] == ["REF-9"]  # type: ignore[attr-defined]
    assert (tmp_path / "ledger.db").exists()


def test_same_key_twice_is_one_payment(cli: Cli) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com")
    cli.ok("invoice", "issue", "ACC1", "I1", "--amount", "10.00", "--date", "2026-09-01", "--due", "2026-09-30")
    args = ("payment", "submit", "ACC1", "P1", "--amount", "5.00", "--method", "card", "--token", "tok_visa",
            "--distribute", "--key", "same")
    first, second = cli.json(*args), cli.json(*args)
    assert second["replayed"] is True and second["transaction_id"] == first["transaction_id"]
    assert cli.json("account", "show", "ACC1")["balance"] == "5.00"
    other = cli("--json", "payment", "submit", "ACC1", "P9", "--amount", "6.00", "--method", "card", "--token",
                "tok_visa", "--distribute", "--key", "same")
    assert other.returncode == 2
    assert json.loads(other.stdout)["error"]["code"] == "idempotency_key_reused"


def test_ach_pending_then_returned_leaves_the_balance_untouched(cli: Cli) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com")
    cli.ok("invoice", "issue", "ACC1", "I1", "--amount", "80.00", "--date", "2026-09-01", "--due", "2026-09-30")
    cli.ok("payment", "submit", "ACC1", "P1", "--amount", "80.00", "--method", "ach", "--token", "tok_ach",
           "--invoice", "I1=80.00")
    assert cli.json("account", "show", "ACC1")["balance"] == "80.00"
    cli.ok("payment", "settle", "ACC1", "P1")
    assert cli.json("account", "show", "ACC1")["balance"] == "0.00"
    cli.ok("payment", "return", "ACC1", "P1")
    view = cli.json("account", "show", "ACC1")
    assert view["balance"] == "80.00" and view["payments"][0]["status"] == "returned"  # type: ignore[index]


@pytest.mark.parametrize(("args", "code", "field"), [
    (("payment", "submit", "ACC1", "P1", "--amount", "10.001", "--method", "card", "--token", "tok_visa",
      "--distribute"), "too_many_decimals", "amount"),
    (("payment", "submit", "ACC1", "P1", "--amount", "-1.00", "--method", "card", "--token", "tok_visa",
      "--distribute"), "negative_amount", "amount"),
    (("payment", "submit", "ACC1", "P1", "--amount", "0", "--method", "card", "--token", "tok_visa",
      "--distribute"), "zero_amount", "amount"),
    (("payment", "submit", "ACC1", "P1", "--amount", "5.00", "--method", "card", "--token", "4111111111111111",
      "--distribute"), "raw_card_number", "token"),
    (("credit", "issue", "ACC1", "C1", "--amount", "1.00", "--reference", "4111 11|11 1111 1111"), "raw_card_number",
     "reference"),  # issue 15: any mix of separators between groups of any size
    (("payment", "submit", "ACC1", "P1", "--amount", "5.00", "--method", "card", "--token", "tok_visa",
      "--invoice", "NOPE=5.00"), "not_found", "invoices.NOPE"),  # the command's field, not the aggregate's
    (("method", "default", "ACC1", "NOPE"), "not_found", "method"),  # the aggregate says method_id
    (("payment", "submit", "NOBODY", "P1", "--amount", "5.00", "--method", "card", "--token", "tok_visa",
      "--distribute"), "not_found", "account"),
    (("invoice", "issue", "ACC1", "I2", "--amount", "5.00", "--date", "2026-13-01", "--due", "2026-09-30"),
     "invalid_date", "date"),
    (("account", "open", "ACC2", "--email", "x@example.com", "--currency", "ZZZ"), "unknown_currency", "currency"),
])
def test_bad_input_exits_2_with_a_typed_error_and_writes_nothing(cli: Cli, args: tuple[str, ...], code: str,
                                                                 field: str) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com")
    before = cli.json("account", "show", "ACC1")
    done = cli("--json", *args)
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"error": {"code": code, "field": field,
                                                 "message": json.loads(done.stdout)["error"]["message"]}}
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error:")
    assert cli.json("account", "show", "ACC1") == before


def test_declined_card_is_recorded_not_applied(cli: Cli) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com")
    cli.ok("invoice", "issue", "ACC1", "I1", "--amount", "10.00", "--date", "2026-09-01", "--due", "2026-09-30")
    result = cli.json("payment", "submit", "ACC1", "P1", "--amount", "10.00", "--method", "card", "--token",
                      "tok_decline", "--distribute")
    assert result["status"] == "declined" and result["detail"] == "card_declined"
    assert cli.json("account", "show", "ACC1")["balance"] == "10.00"


def test_at_fixes_the_clock(cli: Cli) -> None:
    cli.ok("--at", "2026-09-01T10:42", "account", "open", "ACC1", "--email", "a@example.com")
    cli.ok("--at", "2026-09-01T10:43", "credit", "issue", "ACC1", "C1", "--amount", "1.00")
    assert cli.json("account", "show", "ACC1")["credits"][0]["date"] == "2026-09-01T10:43:00-04:00"  # type: ignore[index]


def test_snapshots_refresh_reports_what_it_did(cli: Cli) -> None:
    cli.ok("account", "open", "ACC1", "--email", "a@example.com")
    assert cli.json("snapshots", "refresh") == {"accounts": 1, "snapshots_written": 0, "events_replayed": 0}
    assert cli.json("snapshots", "refresh", "--lag", "1") == {"accounts": 1, "snapshots_written": 1,
                                                              "events_replayed": 1}
    assert "accounts: 1; snapshots written: 0" in cli.ok("snapshots", "refresh", "--lag", "1")
