"""The read-side CLI on a real ledger folder: tabs, dashboard, projections, replays, the audit and its exit codes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.cli.main import cli
from tests.ledger_fixtures import LedgerCli


class Ledger(LedgerCli):
    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    run = Ledger(tmp_path)
    run.ok("account", "open", "ACC1", "--email", "a@example.com")
    run.ok("invoice", "issue", "ACC1", "I1", "--amount", "100.00", "--date", "2026-09-01", "--due", "2026-09-05")
    run.ok("invoice", "issue", "ACC1", "I/2", "--amount", "50.00", "--date", "2026-09-02", "--due", "2026-10-02")
    run.ok("payment", "submit", "ACC1", "P1", "--amount", "120.00", "--method", "card", "--token", "tok_visa",
           "--distribute")
    run.ok("order", "place", "ACC1", "O1", "--amount", "30.00", "--channel", "phone")
    run.ok("auth", "create", "ACC1", "A1", "--order", "O1", "--amount", "30.00", "--token", "tok_visa")
    return run


def test_portal_tabs_history_and_dashboard(ledger: Ledger) -> None:
    invoices = ledger.json("account", "invoices", "ACC1")
    assert [(i["id"], i["open"], i["status"]) for i in invoices] == [("I1", "0.00", "paid"),
                                                                      ("I/2", "30.00", "partially_paid")]
    assert [i["id"] for i in ledger.json("account", "invoices", "ACC1", "--status", "unpaid")] == ["I/2"]
    assert [p["amount"] for p in ledger.json("account", "payments", "ACC1")] == ["120.00"]
    assert ledger.json("account", "credits", "ACC1") == []
    history = ledger.json("account", "history", "ACC1", "--period", "30d")
    assert [(o["kind"], o["id"]) for o in history] == [("order", "O1"), ("invoice", "I/2"), ("invoice", "I1")]
    assert ledger.json("account", "balance", "ACC1")[0]["balance"] == "30.00"
    board = ledger.json("dashboard", "--within-days", "30")
    assert [a["authorization"] for a in board["expiring_authorizations"]] == ["A1"]
    assert [o["order"] for o in board["unpaid_orders"]] == ["O1"]
    assert "Invoices" in ledger.ok("account", "invoices", "ACC1")  # a readable table without --json


def test_tabs_name_the_currency_and_a_refunded_payment_says_so(ledger: Ledger) -> None:
    ledger.ok("account", "open", "JP1", "--email", "j@example.com", "--currency", "JPY")
    ledger.ok("invoice", "issue", "JP1", "I1", "--amount", "10000", "--date", "2026-09-01", "--due", "2026-09-30")
    ledger.ok("payment", "submit", "JP1", "P1", "--amount", "2500", "--method", "card", "--token", "tok_visa",
              "--deposit")
    assert [(i["total"], i["currency"]) for i in ledger.json("account", "invoices", "JP1")] == [("10000", "JPY")]
    assert {o["currency"] for o in ledger.json("account", "history", "ACC1", "--period", "30d")} == {"USD"}
    ledger.ok("payment", "refund", "JP1", "P1", "--amount", "1000")
    [payment] = ledger.json("account", "payments", "JP1")
    assert (payment["status"], payment["refunded"], payment["currency"]) == ("partially_refunded", "1000", "JPY")
    ledger.ok("payment", "refund", "JP1", "P1", "--amount", "1500")
    assert [p["status"] for p in ledger.json("account", "payments", "JP1")] == ["refunded"]
    shown = ledger.json("account", "show", "JP1")["payments"]
    assert [(p["status"], p["refunded"]) for p in shown] == [("refunded", "2500")]


def test_the_dashboard_says_a_hold_past_its_expiry_is_expired(ledger: Ledger) -> None:
    def board(at: str) -> Any:
        result = ledger.runner.invoke(cli, ["--json", "--at", at, "dashboard", "--within-days", "3"], env=ledger.env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["expiring_authorizations"]

    assert board("2026-09-11T12:00") == []
    assert [a["status"] for a in board("2026-10-07T12:00")] == ["active"]  # expires on 9 October
    assert [(a["authorization"], a["status"]) for a in board("2026-10-20T12:00")] == [("A1", "expired")]


def test_account_show_names_the_customer_and_lists_saved_methods_without_their_token(ledger: Ledger) -> None:
    ledger.ok("account", "open", "ACC9", "--email", "n@example.com", "--name", "Nora Ames")
    ledger.ok("method", "add", "ACC9", "M1", "--token", "tok_mastercard", "--brand", "mastercard", "--last4", "4444",
              "--exp", "08/2029")
    ledger.ok("method", "autopay", "ACC9", "on", "--method", "M1")
    shown = ledger.json("account", "show", "ACC9")
    assert shown["name"] == "Nora Ames"
    assert shown["methods"] == [{"id": "M1", "kind": "card", "brand": "mastercard", "last4": "4444",
                                 "expires": "08/2029", "default": True, "autopay": True}]
    assert "tok_mastercard" not in ledger.ok("account", "show", "ACC9", "--json")
    assert "Payment methods" in ledger.ok("account", "show", "ACC9")


def test_projection_status_and_rebuild(ledger: Ledger) -> None:
    ledger.ok("dashboard")
    status = ledger.json("projections", "status")
    assert {s["name"]: s["lag"] for s in status} == {"accounts": 0, "audit": 0, "journal": 0}
    assert all(datetime.fromisoformat(s["updated_at"]).tzinfo is not None for s in status)  # when last applied
    rebuilt = ledger.json("projections", "rebuild", "audit")
    assert rebuilt["rebuilt"] == ["audit"] and rebuilt["events"] == status[0]["head"]
    assert ledger(("projections"), "rebuild", "nonsense").exit_code == 2
    twice = ledger.json("projections", "rebuild", "audit", "journal", "audit")  # a name repeated is built once
    assert twice["rebuilt"] == ["audit", "journal"] and twice["events"] == status[0]["head"]


def test_replays_exports_and_the_audit_log(ledger: Ledger, tmp_path: Path) -> None:
    balances = ledger.json("replay", "balances", "--as-of", "2026-09-11")
    assert [(a["account"], a["balance"]) for a in balances["accounts"]] == [("ACC1", "30.00")]
    assert balances["balanced"] is True
    now = ledger.json("replay", "balances", "--as-of", "now")  # the whole history, as of the clock's now
    assert [(a["account"], a["balance"]) for a in now["accounts"]] == [("ACC1", "30.00")]
    text = ledger.ok("replay", "statement", "ACC1", "--from", "2026-09-01", "--to", "2026-09-30", "--csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["date", "event", "reference", "charge", "credit", "balance"]
    assert ["2026-09-10", "Invoice Issued", "I/2", "50.00", "0.00", "150.00"] in rows
    assert rows[-1] == ["2026-09-30", "Closing balance", "", "", "", "30.00"]
    cut = ledger("--json", "replay", "statement", "ACC1", "--from", "2026-09-01T10:00", "--to", "2026-09-30")
    assert cut.exit_code == 2 and json.loads(cut.stdout)["error"]["field"] == "from"  # a date, not cut from a time
    log = ledger.json("audit", "log", "--account", "ACC1", "--actor", "cli")
    assert log[0]["comment"] == "Portal – Account Opened"
    assert any(r["comment"] == "Other – Payment Applied" for r in log)
    ledger.ok("audit", "export", "--from", "2026-09-01", "--to", "2026-10-01", "--format", "jsonl",
              "--output", str(tmp_path / "out.jsonl"))
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    kinds = [r["record"] for r in exported]
    assert kinds.count("audit") == len(ledger.json("audit", "log", "--limit", "1000"))
    assert "posting" in kinds and kinds[-1] == "chain"
    assert exported[-1]["details"] == ledger.json("audit", "verify")["chain_head"]


def test_audit_verify_exits_1_and_names_an_edited_event_row(ledger: Ledger, tmp_path: Path) -> None:
    clean = ledger.json("audit", "verify")
    assert clean["ok"] is True and clean["findings"] == []
    assert "OK" in ledger.ok("audit", "verify", "--anchor", clean["chain_head"])
    db = sqlite3.connect(tmp_path / "ledger.db")
    db.execute("update stored_events set state = cast(replace(state, '12000', '12500') as blob) "
               "where topic like 'PaymentSubmitted%'")
    db.commit()
    db.close()
    result = ledger("audit", "verify", "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)["findings"]
    chain = [f["detail"] for f in found if f["check"] == "hash_chain"]
    assert len(chain) == 1 and chain[0].startswith("position 4 ") and chain[0].endswith("event row edited")
    # the edited amount no longer agrees with what was derived from it, nor with conservation
    assert {f["check"] for f in found} == {"hash_chain", "projection_diff", "invariant"}


def test_a_rewritten_chain_file_is_caught_by_an_anchor_kept_elsewhere(ledger: Ledger, tmp_path: Path) -> None:
    anchor = ledger.json("audit", "verify")["chain_head"]
    db = sqlite3.connect(tmp_path / "ledger.db")  # edit an event, then rewrite the chain to match the edit
    db.execute("update stored_events set state = cast(replace(state, '12000', '12500') as blob) "
               "where topic like 'PaymentSubmitted%'")
    db.commit()
    db.close()
    (tmp_path / "chain.db").unlink()
    result = ledger("audit", "verify", "--json", "--anchor", anchor)
    assert result.exit_code == 1
    findings = json.loads(result.stdout)["findings"]
    assert "chain_anchor" in [f["check"] for f in findings]
    # and without the secret the edit cannot be sealed: the rebuilt chain stops at it (issue 15)
    assert any(f["check"] == "hash_chain" and "edited before it was chained" in f["detail"] for f in findings)
    assert ledger("audit", "verify", "--anchor", "12:nothex").exit_code == 2
    beyond = ledger("audit", "verify", "--json", "--anchor", f"999:{'0' * 64}")  # not a position this chain has
    detail = next(f["detail"] for f in json.loads(beyond.stdout)["findings"] if f["check"] == "chain_anchor")
    assert detail.startswith("position 999: the chain ends at ") and "cut short" in detail


def test_tables_written_to_a_pipe_are_not_cut_short(ledger: Ledger) -> None:
    """An operator piping ``audit log`` to a file gets whole ids and details (rich cuts to 80 columns)."""
    ids = [row["event_id"] for row in ledger.json("audit", "log")]
    text = ledger.ok("audit", "log")
    assert ids and all(event_id in text for event_id in ids)
    assert "…" not in text


def test_reading_at_an_instant_before_the_newest_event_says_what_the_read_models_show(ledger: Ledger) -> None:
    """Everything here was written at 2026-09-10T12:00: a read ``--at`` an earlier instant still shows today's
    read models, and says so on stderr (with where the past is); at or after the newest event it says nothing."""
    past = ledger.runner.invoke(cli, ["--at", "2026-09-05T12:00", "--json", "account", "balance", "ACC1"],
                                env=ledger.env, catch_exceptions=False)
    assert past.exit_code == 0 and json.loads(past.stdout)[0]["balance"] == "30.00"
    assert past.stderr.startswith("warning: --at 2026-09-05T12:00:00-04:00 is before the newest event")
    assert "ledger replay balances --as-of" in past.stderr
    now = ledger("--json", "account", "balance", "ACC1")
    assert now.exit_code == 0 and now.stderr == ""
    opened = ledger.runner.invoke(cli, ["--at", "2026-09-01T12:00", "account", "open", "OLD", "--email",
                                        "o@example.com"], env=ledger.env, catch_exceptions=False)
    assert opened.exit_code == 0  # logged last, dated earliest: the newest event is still the one of 10 September
    again = ledger.runner.invoke(cli, ["--at", "2026-09-05T12:00", "--json", "account", "balance", "ACC1"],
                                 env=ledger.env, catch_exceptions=False)
    assert again.stderr.startswith("warning: --at 2026-09-05T12:00:00-04:00 is before the newest event")
