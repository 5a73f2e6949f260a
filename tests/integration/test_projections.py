"""Projections on real files: catch-up, resume, atomic rebuild (interrupted rebuilds change nothing), reads."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.projections import audit_queries, fresh, queries
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.rebuild import RebuildFailed, RebuildInterrupted
from ledger.projections.runner import StoreLog, dump
from ledger.store.log_reader import CommittedLog

pytestmark = pytest.mark.usefixtures("store_backend")


def populate(ledger: Ledger, accounts: int = 3) -> None:
    for n in range(accounts):
        acc = f"ACC{n}"
        ledger.service.handle(m.OpenAccount(account=acc, email=f"c{n}@example.com"))
        ledger.service.handle(m.IssueInvoice(account=acc, invoice="I1", amount="100.00", date="2026-08-01",
                                             due="2026-08-31"))
        ledger.service.handle(m.IssueInvoice(account=acc, invoice="I2", amount="50.00", date="2026-09-01",
                                             due="2026-09-30"))
        ledger.service.handle(m.SubmitPayment(account=acc, payment="P1", amount="120.00", method="card",
                                              token="tok_visa", distribute=True))
        ledger.service.handle(m.PlaceOrder(account=acc, order="O1", amount="300.00", channel="phone"))
        ledger.service.handle(m.AuthorizeCard(account=acc, authorization="A1", order="O1", amount="300.00",
                                              token="tok_visa"))


def test_catch_up_resumes_where_it_stopped(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger, 1)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    first = keeper.catch_up()
    assert first == ledger.store.recorder.max_notification_id()
    assert keeper.catch_up() == 0
    populate_more = m.IssueCredit(account="ACC0", credit="C1", amount="5.00", reference="r")
    ledger.service.handle(populate_more)
    assert keeper.catch_up() == 1
    assert all(s.lag == 0 for s in keeper.status())
    keeper.close()


def test_reads_balances_tabs_history_and_dashboard(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger, 2)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    db = keeper.connection("accounts")
    clock = ledger.ports.clock
    assert queries.balance(db, "ACC0", (clock.now() + timedelta(days=2)).date())["overdue"] == "0.00"
    row = queries.balance(db, "ACC0", (clock.now() + timedelta(days=40)).date())
    assert (row["balance"], row["credit_balance"], row["overdue"]) == ("30.00", "0.00", "30.00")
    assert row["last_payment_amount"] == "120.00"
    assert [i["status"] for i in queries.invoices(db, "ACC0")] == ["paid", "partially_paid"]
    assert [i["id"] for i in queries.invoices(db, "ACC0", "unpaid")] == ["I2"]
    history = queries.order_history(db, "ACC0", "30d", clock.now(), clock.zone)  # seed 001: orders and invoices
    assert [(o["kind"], o["id"], o["status"], o["amount"]) for o in history] == [
        ("order", "O1", "open", "300.00"), ("invoice", "I2", "partially_paid", "50.00")]
    assert [o["id"] for o in queries.order_history(db, "ACC0", "3m", clock.now(), clock.zone)] == ["O1", "I2", "I1"]
    assert queries.order_history(db, "ACC0", "30d", clock.now() + timedelta(days=40), clock.zone) == []
    board = queries.dashboard(db, clock.now() + timedelta(days=27), within_days=3)
    assert {(r["customer"], r["authorization"]) for r in board["expiring_authorizations"]} == {("ACC0", "A1"),
                                                                                             ("ACC1", "A1")}
    assert queries.dashboard(db, clock.now(), within_days=3)["expiring_authorizations"] == []
    assert len(board["unpaid_orders"]) == 2
    audit = audit_queries.audit_log(keeper.connection("audit"), account_id="ACC1")
    assert audit[0]["comment"] == "Portal – Account Opened" and len(audit) == 9
    keeper.close()


def test_interrupted_rebuild_leaves_the_serving_projection_intact(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger, 3)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    before = {p.name: dump(keeper.connection(p.name), p) for p in fresh()}
    with pytest.raises(RebuildInterrupted):
        keeper.files.rebuild(fresh(), keeper.events, batch=5, interrupt_at=7)
    assert {p.name: dump(keeper.connection(p.name), p) for p in fresh()} == before
    keeper.rebuild()
    assert {p.name: dump(keeper.connection(p.name), p) for p in fresh()} == before
    assert not list(keeper.files.folder.glob("*.rebuild"))
    keeper.close()


def test_rebuild_swaps_while_an_old_reader_keeps_serving(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger, 1)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    reader = sqlite3.connect(keeper.files.path(fresh(["accounts"])[0]))
    reader.execute("begin")
    count = reader.execute("select count(*) from invoices").fetchone()[0]
    keeper.rebuild(["accounts"])
    assert reader.execute("select count(*) from invoices").fetchone()[0] == count
    reader.rollback()
    ledger.service.handle(m.IssueInvoice(account="ACC0", invoice="I9", amount="1.00", date="2026-09-01",
                                         due="2026-09-30"))
    keeper.catch_up()
    assert len(queries.invoices(keeper.connection("accounts"), "ACC0")) == 3
    keeper.close()


def test_rebuild_in_processes_equals_one_in_this_process(ledger: Ledger, tmp_path: Path,
                                                         store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("processes read the SQLite file by path")
    populate(ledger, 3)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.files.rebuild(fresh(), keeper.events, processes=False)
    alone = {p.name: dump(keeper.connection(p.name), p) for p in fresh()}
    steps: list[int] = []
    applied = keeper.files.rebuild(fresh(), keeper.events, batch=4, processes=True, progress=steps.append)
    assert applied == sum(steps) == keeper.events.head()
    assert {p.name: dump(keeper.connection(p.name), p) for p in fresh()} == alone
    assert {s.name: s.lag for s in keeper.status()} == {"accounts": 0, "audit": 0, "journal": 0}
    keeper.close()


def test_a_failed_rebuild_process_swaps_nothing(ledger: Ledger, tmp_path: Path, store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("edits the SQLite file directly")
    populate(ledger, 2)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    before = {p.name: dump(keeper.connection(p.name), p) for p in fresh()}
    db = sqlite3.connect(tmp_path / "ledger.db")
    db.execute("update stored_events set state = cast('not json' as blob) where rowid = 5")
    db.commit()
    db.close()
    with pytest.raises(RebuildFailed, match="rebuild-accounts exited with 1"):
        keeper.files.rebuild(fresh(), keeper.events, processes=True)
    assert {p.name: dump(keeper.connection(p.name), p) for p in fresh()} == before
    keeper.close()


def test_a_projection_built_by_other_code_is_reported_then_rebuilt(ledger: Ledger, tmp_path: Path) -> None:
    populate(ledger, 1)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    expected = dump(keeper.connection("journal"), fresh(["journal"])[0])
    keeper.connection("journal").execute("update _position set version = version - 1")
    keeper.connection("journal").execute("delete from postings")  # rows that meant something else
    keeper.close()
    later = ProjectionKeeper(ledger.store, tmp_path)
    assert {s.name: s.stale for s in later.status()} == {"accounts": False, "audit": False, "journal": True}
    later.catch_up()
    assert not any(s.stale for s in later.status())
    assert dump(later.connection("journal"), fresh(["journal"])[0]) == expected
    later.close()


def test_reading_through_the_committed_log_gives_what_direct_reads_give(ledger: Ledger) -> None:
    populate(ledger, 2)
    direct, committed = StoreLog(ledger.store), StoreLog(ledger.store)
    committed._direct, committed._committed = None, CommittedLog(ledger.store)  # as on PostgreSQL or a cipher
    assert committed.read(3, 100) == direct.read(3, 100)
    assert [tuple(n) for n in committed.read_raw(0, 100)] == [tuple(n) for n in direct.read_raw(0, 100)]
    assert committed.head() == direct.head() == len(direct.read(0, 1000))
