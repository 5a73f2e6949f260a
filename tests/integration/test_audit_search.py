"""Full-text search of the audit log (``ledger audit search``): words of the comment, references in the
details, actors; the index follows new events and survives a rebuild; tables whose shape changed are rebuilt."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlite_utils import Database

from ledger.nats_api.api import handle_read
from ledger.projections import fresh
from ledger.projections.audit_log import AuditLogProjection
from ledger.projections.compare import tables
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import connect
from tests.ledger_fixtures import LedgerCli, make_ledger


class Ledger(LedgerCli):
    def json(self, *args: str) -> Any:
        result = self("--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    run = Ledger(tmp_path)
    run.json("account", "open", "ACC1", "--email", "a@example.com")
    run.json("account", "open", "ACC2", "--email", "b@example.com")
    run.json("invoice", "issue", "ACC1", "INV-2026-0042", "--amount", "100.00", "--date", "2026-09-01", "--due",
             "2026-09-05")
    run.json("--actor", "csr:jdoe", "payment", "submit", "ACC1", "P1", "--amount", "60.00", "--method", "card",
             "--token", "tok_visa", "--distribute")
    run.json("credit", "issue", "ACC2", "C1", "--amount", "5.00", "--reference", "RMA 7781")
    return run


def test_finance_finds_events_by_their_words_references_and_actors(ledger: Ledger) -> None:
    applied = ledger.json("audit", "search", "Payment Applied")
    assert [(r["event"], r["account_id"]) for r in applied] == [("PaymentApplied", "ACC1")]
    assert "invoice_id=INV-2026-0042" in applied[0]["details"] or "INV-2026-0042" in applied[0]["details"]
    assert [r["event"] for r in ledger.json("audit", "search", "INV-2026-0042")] == ["InvoiceIssued",
                                                                                     "PaymentApplied"]
    assert [r["event"] for r in ledger.json("audit", "search", "RMA 7781")] == ["CreditIssued"]
    assert {r["actor_name"] for r in ledger.json("audit", "search", "jdoe")} == {"jdoe"}
    assert ledger.json("audit", "search", "payment", "--account", "ACC2") == []
    assert ledger.json("audit", "search", "no such words") == []
    # New events are found at once; a rebuilt file (without the index) is indexed again when searched.
    ledger.json("payment", "submit", "ACC2", "P9", "--amount", "1.00", "--method", "card", "--token", "tok_visa",
                "--deposit")
    assert [r["event"] for r in ledger.json("audit", "search", "P9 deposited")] == ["PaymentDeposited"]
    ledger.json("projections", "rebuild", "audit")
    assert [r["event"] for r in ledger.json("audit", "search", "RMA 7781")] == ["CreditIssued"]
    bad = ledger("--json", "audit", "search", " ")
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["field"] == "text"


def test_the_search_index_is_not_a_table_of_the_read_model(ledger: Ledger) -> None:
    """``audit verify`` compares the tables of rows with a rebuild: the index (absent from a rebuild) is not
    one of them, so a searched ledger still verifies."""
    ledger.json("audit", "search", "Payment Applied")
    db = connect(ledger.home / "projections" / "audit.db")
    assert Database(db)["audit_log_fts"].exists()
    assert tables(db) == ["audit_accounts", "audit_log"]
    db.close()
    assert ledger("audit", "verify").exit_code == 0


def test_a_table_whose_shape_changed_is_rebuilt_and_views_are_migrated_in_place(ledger: Ledger) -> None:
    before = ledger.json("audit", "log")
    path = ledger.home / "projections" / "audit.db"
    db = sqlite3.connect(path)
    Database(db)["audit_log"].transform(drop={"channel"})  # as an older release without that column
    db.close()
    db = connect(path)
    assert AuditLogProjection.layout.changed_tables(db) == ["audit_log"]
    db.close()
    assert ledger.json("audit", "log") == before  # rebuilt from the log, with the column
    accounts = ledger.home / "projections" / "accounts.db"
    db = sqlite3.connect(accounts)
    db.execute("drop view invoice_tab")
    db.execute("create view invoice_tab as select 1 as stale")
    db.close()
    [projection] = fresh(["accounts"])
    db = connect(accounts)
    projection.schema(db)
    assert "status" in [r[1] for r in db.execute("pragma table_info(invoice_tab)")]
    assert projection.layout.changed_tables(db) == []
    db.close()


def test_the_search_over_nats_answers_as_the_cli(ledger: Ledger) -> None:
    """``ledger.read.audit_search`` takes ``text`` (and ``account``, ``limit``) and answers the CLI's rows."""
    store = make_ledger(ledger.home)
    kept = ProjectionKeeper(store.store, ledger.home)
    try:
        def read(body: dict[str, Any]) -> Any:
            return msgspec.json.decode(handle_read(store, kept, "audit_search", msgspec.json.encode(body)))

        found = read({"text": "RMA 7781"})["ok"]
        assert found == ledger.json("audit", "search", "RMA 7781")
        assert read({"text": "payment", "account": "ACC2", "limit": 5}) == {"ok": []}
        for text in ("", '"', "\x00"):
            assert read({"text": text})["error"]["field"] == "text"
    finally:
        kept.close()
        store.close()
