"""Writes to the SQLite store that fail (a COMMIT on a full disk or an I/O error, where SQLite may leave the
transaction open; a group that conflicts): nothing is recorded, the gateway intents stay, and the pooled connection
goes back with nothing pending, so the next write is durable when it is answered and is not refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import RecordConflictError
from eventsourcing.sqlite import SQLiteConnection, SQLiteCursor

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.commands.batching import BatchingService
from ledger.ports.ids import account_uuid
from ledger.store.intents import Intent
from tests.ledger_fixtures import START, backend, make_ledger


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's group transaction (PostgreSQL uses the library's)")
def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = make_ledger(tmp_path)
    service = BatchingService(ledger.store, ledger.ports)
    service.handle(m.OpenAccount(account="F1", email="f@example.com"))
    ledger.store.gateway_book.intend(Intent("K1", "F1", "charge", 100, "P1", START))
    account = ledger.store.account(account_uuid("F1"))
    account.issue_credit(ev.Context(at=datetime(2026, 9, 2, tzinfo=UTC)), credit="C1", amount=100, reference="r")
    real = SQLiteCursor.execute
    failed: list[str] = []

    def execute(self: SQLiteCursor, statement: Any, *args: Any) -> None:
        if statement == "COMMIT" and not failed:
            failed.append(statement)
            raise sqlite3.OperationalError("disk I/O error")
        real(self, statement, *args)

    monkeypatch.setattr(SQLiteCursor, "execute", execute)
    with pytest.raises(Exception, match="disk I/O error"):
        service.committer.commit([account], ["K1"])
    assert [i.key for i in ledger.store.gateway_book.intents()] == ["K1"]  # the charge is not recorded
    service.handle(m.OpenAccount(account="F2", email="g@example.com"))  # answered: durable
    outside = sqlite3.connect(tmp_path / "ledger.db")
    count = outside.execute("select count(*) from stored_events").fetchone()[0]
    outside.close()
    service.close()
    ledger.close()
    assert count == 2  # both openings, seen by another connection; not the failed credit


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's group transaction (PostgreSQL uses the library's)")
def test_a_group_that_conflicts_keeps_its_intents(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    service = BatchingService(ledger.store, ledger.ports)
    service.handle(m.OpenAccount(account="F1", email="f@example.com"))
    ledger.store.gateway_book.intend(Intent("K2", "F1", "charge", 100, "P2", START))
    stale = ledger.store.account(account_uuid("F1"))
    service.handle(m.IssueCredit(account="F1", credit="C0", amount="1.00", reference="r"))  # another writer first
    stale.issue_credit(ev.Context(at=datetime(2026, 9, 2, tzinfo=UTC)), credit="C1", amount=100, reference="r")
    with pytest.raises(RecordConflictError):
        service.committer.commit([stale], ["K2"])
    assert [i.key for i in ledger.store.gateway_book.intents()] == ["K2"]  # rolled back with the events
    service.close()
    ledger.close()


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's connection pool")
def test_an_intent_whose_commit_failed_leaves_no_transaction_open(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = make_ledger(tmp_path)
    real = SQLiteConnection.commit
    failed: list[bool] = []

    def commit(self: SQLiteConnection) -> None:
        if not failed:
            failed.append(True)
            raise sqlite3.OperationalError("disk I/O error")
        real(self)

    monkeypatch.setattr(SQLiteConnection, "commit", commit)
    with pytest.raises(Exception, match="disk I/O error"):  # the command is refused before the gateway is asked
        ledger.store.gateway_book.intend(Intent("K3", "F1", "charge", 100, "P3", START))
    ledger.store.gateway_book.intend(Intent("K4", "F1", "charge", 100, "P4", START))  # the next one is written
    assert [i.key for i in ledger.store.gateway_book.intents()] == ["K4"]
    ledger.close()
