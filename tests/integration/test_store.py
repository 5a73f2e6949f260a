"""The durable SQLite event store: restart and reload, snapshots, racing writers, idempotent commands."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ledger.aggregates import Account
from ledger.commands import messages as m
from ledger.errors import Conflict, LedgerError
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from ledger.store.snapshots import Refreshed, refresh
from ledger.views import account_view
from tests.ledger_fixtures import make_ledger

pytestmark = pytest.mark.usefixtures("store_backend")


def seed(ledger_home: Path, invoices: int = 3) -> None:
    ledger = make_ledger(ledger_home)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    for n in range(invoices):
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"INV-{n}", amount="100.00",
                                             date=f"2026-09-{n + 1:02d}", due="2026-10-30"))
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="250.00", method="card",
                                          token="tok_visa", distribute=True))
    ledger.close()


def test_restart_and_reload_gives_the_same_state(tmp_path: Path) -> None:
    seed(tmp_path)
    first = make_ledger(tmp_path)
    view = account_view(first.store.account(account_uuid("ACC1")).state)
    first.close()
    again = make_ledger(tmp_path)
    assert account_view(again.store.account(account_uuid("ACC1")).state) == view
    assert view.balance == "50.00"
    again.close()


def test_store_is_wal_with_synchronous_full(tmp_path: Path, store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("SQLite durability settings")
    seed(tmp_path, invoices=1)
    ledger = make_ledger(tmp_path)
    pool = ledger.store.factory.datastore.pool  # type: ignore[attr-defined]
    conn = pool.get_connection(is_writer=False)
    try:
        raw = conn._sqlite_conn
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        pool.put_connection(conn)
        ledger.close()


def test_snapshots_are_taken_and_used(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path, snapshot_interval=5)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    for n in range(12):
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"I{n}", amount="1.00", date="2026-09-01",
                                             due="2026-09-02"))
    snapshots = list(ledger.store.snapshots.get(account_uuid("ACC1")))  # type: ignore[union-attr]
    assert [s.originator_version for s in snapshots] == [10]  # the one at 5 was superseded and removed
    loaded = ledger.store.account(account_uuid("ACC1"))
    assert loaded.version == 13 and len(loaded.state.invoices) == 12
    replayed = Account.projector(None, ledger.store.events.get(account_uuid("ACC1")))
    assert loaded.state == replayed.state
    ledger.close()


def test_snapshots_refresh_covers_long_histories_written_without_usable_snapshots(tmp_path: Path) -> None:
    """As after an upgrade that changed the snapshot format: no usable snapshot; refresh takes one for the
    accounts whose replay would be long, and none for the short ones."""
    ledger = make_ledger(tmp_path, snapshot_interval=1000)
    for account, invoices in (("ACC1", 12), ("ACC2", 2)):
        ledger.service.handle(m.OpenAccount(account=account, email="a@example.com"))
        for n in range(invoices):
            ledger.service.handle(m.IssueInvoice(account=account, invoice=f"I{n}", amount="1.00",
                                                 date="2026-09-01", due="2026-09-02"))
    ledger.close()
    ledger = make_ledger(tmp_path, snapshot_interval=5)
    snapshots = ledger.store.snapshots
    assert snapshots is not None
    assert refresh(ledger.store) == Refreshed(accounts=2, snapshots_written=1, events_replayed=13)
    assert [s.originator_version for s in snapshots.get(account_uuid("ACC1"))] == [13]
    assert list(snapshots.get(account_uuid("ACC2"))) == []
    assert refresh(ledger.store).snapshots_written == 0  # nothing left to do
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I99", amount="1.00", date="2026-09-01",
                                         due="2026-09-02"))
    assert refresh(ledger.store, lag=1) == Refreshed(accounts=2, snapshots_written=2, events_replayed=4)
    assert [s.originator_version for s in snapshots.get(account_uuid("ACC1"))] == [14]
    loaded = ledger.store.account(account_uuid("ACC1"))
    assert loaded.state == Account.projector(None, ledger.store.events.get(account_uuid("ACC1"))).state
    ledger.close()


def test_two_writers_racing_on_one_account_lose_nothing(tmp_path: Path) -> None:
    seed(tmp_path, invoices=0)
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        ledger = None
        try:
            ledger = make_ledger(tmp_path)
            for n in range(40):
                ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"{prefix}-{n}", amount="1.00",
                                                     date="2026-09-01", due="2026-09-30"))
        except BaseException as error:
            errors.append(error)
        finally:
            if ledger is not None:
                ledger.close()

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ledger = make_ledger(tmp_path)
    state = ledger.store.account(account_uuid("ACC1")).state
    assert len(state.invoices) == 80
    assert state.balance == 8000  # P1 found no invoice to pay: it became credit, not applied later
    ledger.close()


def test_same_key_twice_is_one_effect_and_answers_the_first_result(tmp_path: Path) -> None:
    seed(tmp_path, invoices=2)
    ledger = make_ledger(tmp_path)
    cmd = m.SubmitPayment(account="ACC1", payment="P2", amount="10.00", method="card", token="tok_visa",
                          distribute=True, key="K-1")
    first = ledger.service.handle(cmd)
    again = ledger.service.handle(cmd)
    assert again.replayed and again.transaction_id == first.transaction_id and again.status == first.status
    with pytest.raises(Conflict) as caught:
        ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P3", amount="11.00", method="card",
                                              token="tok_visa", distribute=True, key="K-1"))
    assert caught.value.field == "key"
    state = ledger.store.account(account_uuid("ACC1")).state
    assert sorted(state.payments) == ["P1", "P2"]
    ledger.close()


def test_bad_input_writes_nothing(tmp_path: Path) -> None:
    seed(tmp_path, invoices=1)
    ledger = make_ledger(tmp_path)
    before = ledger.store.recorder.max_notification_id()
    bad = [
        m.SubmitPayment(account="ACC1", payment="P9", amount="12.5.0", method="card", token="tok_visa",
                        distribute=True),
        m.SubmitPayment(account="ACC1", payment="P9", amount="10.00", method="card",
                        token="4242 4242 4242 4242", distribute=True),
        m.SubmitPayment(account="ACC1", payment="P9", amount="10.00", method="card", token="tok_visa"),
        m.IssueInvoice(account="ACC1", invoice="X", amount="-1.00", date="2026-09-01", due="2026-09-30"),
        m.IssueInvoice(account="NOPE", invoice="X", amount="1.00", date="2026-09-01", due="2026-09-30"),
        m.OpenAccount(account="ACC2", email="not-an-email"),
        m.OpenAccount(account="ACC2", email="a@example.com", currency="XYZ"),
    ]
    for cmd in bad:
        with pytest.raises(LedgerError) as caught:
            ledger.service.handle(cmd)
        assert getattr(caught.value, "field", None), cmd
    assert ledger.store.recorder.max_notification_id() == before
    ledger.close()


def test_whole_log_satisfies_the_invariants(tmp_path: Path) -> None:
    seed(tmp_path)
    ledger = make_ledger(tmp_path)
    events = [ledger.store.mapper.to_domain_event(n) for n in
              ledger.store.recorder.select_notifications(start=1, limit=1000)]
    assert not violations(events)
    assert len(events) == ledger.store.recorder.max_notification_id()
    ledger.close()


def test_cached_accounts_are_independent_copies_and_catch_up(tmp_path: Path) -> None:
    seed(tmp_path, invoices=1)
    ledger = make_ledger(tmp_path)
    first = ledger.store.account(account_uuid("ACC1"))
    first.state.invoices["INV-0"].paid = 999_999  # a command that went wrong half-way must not leak
    second = ledger.store.account(account_uuid("ACC1"))
    assert second.state.invoices["INV-0"].paid != 999_999
    other = make_ledger(tmp_path)  # another process writes; the cache fast-forwards
    other.service.handle(m.IssueCredit(account="ACC1", credit="C9", amount="1.00", reference="r"))
    other.close()
    assert "C9" in ledger.store.account(account_uuid("ACC1")).state.credits
    ledger.close()
