"""Group commit on a real store (SQLite and PostgreSQL): concurrent commands written together, conflicts retried,
refusals isolated, another writer's changes never lost or overruled by the write-through cache."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eventsourcing.persistence import RecordConflictError

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.commands.batching import BatchingService
from ledger.commands.dispatch import LedgerService
from ledger.errors import NotFound, ValidationError
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import make_ledger


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_commands_on_many_and_on_the_same_accounts(tmp_path: Path, store_backend: str) -> None:
    ledger = make_ledger(tmp_path, snapshot_interval=10)
    service = BatchingService(ledger.store, ledger.ports)
    for n in range(8):
        service.handle(m.OpenAccount(account=f"G{n}", email=f"g{n}@example.com"))
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                service.handle(m.IssueInvoice(account=f"G{n % 4}", invoice=f"I{n}-{i}", amount="2.00",
                                              date="2026-09-01", due="2026-09-30"))
                service.handle(m.SubmitPayment(account=f"G{n % 4}", payment=f"P{n}-{i}", amount="1.00",
                                               method="card", token="tok_visa", distribute=True))
        except BaseException as error:
            errors.append(error)

    _run([threading.Thread(target=worker, args=(n,)) for n in range(12)])
    assert errors == []
    assert service.committer.groups < service.committer.submissions  # some commands did share a transaction
    assert ledger.store.gateway_book.intents() == []  # each charge's intent resolved in its group's turn
    for n in range(4):
        state = ledger.store.account(account_uuid(f"G{n}")).state
        assert len(state.invoices) == 45 and len(state.payments) == 45 and state.balance == 45 * 100
    notes = ledger.store.recorder.select_notifications(start=1, limit=100_000)
    assert not violations([ledger.store.mapper.to_domain_event(x) for x in notes])
    keeper = ProjectionKeeper(ledger.store, tmp_path)  # every event sealed in its group's transaction
    seals = keeper.chain.seals
    assert seals is not None and seals.first == 1 and [seals.problem(x) for x in notes] == [None] * len(notes)
    keeper.close()
    assert list(ledger.store.snapshots.get(account_uuid("G0")))  # type: ignore[union-attr]
    expected = ledger.store.account(account_uuid("G0")).state
    service.close()
    ledger.close()
    fresh = make_ledger(tmp_path, snapshot_interval=10)  # a cold load through the committer's snapshots
    assert fresh.store.account(account_uuid("G0")).state == expected
    fresh.close()


def test_recorded_positions_are_the_log_positions(tmp_path: Path, store_backend: str) -> None:
    ledger = make_ledger(tmp_path)
    service = BatchingService(ledger.store, ledger.ports)
    service.handle(m.OpenAccount(account="P1", email="p@example.com"))
    recordings = service.committer.commit([_credits(ledger, "P1", 5)])
    stored = ledger.store.recorder.select_notifications(start=1, limit=100)
    assert [r.notification.id for r in recordings] == [n.id for n in stored][-5:]
    assert [r.domain_event.originator_version for r in recordings] == [2, 3, 4, 5, 6]
    service.close()
    ledger.close()


def test_a_group_insert_is_all_or_nothing_and_a_taken_version_is_a_conflict(tmp_path: Path,
                                                                            store_backend: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="P1", email="p@example.com"))
    ledger.service.handle(m.OpenAccount(account="P2", email="q@example.com"))
    stale = _credits(ledger, "P2", 1)  # decided on version 1, like its twin below
    ledger.store.save(_credits(ledger, "P2", 1))  # the twin is written first: version 2 is taken
    before = ledger.store.recorder.max_notification_id()
    events = [*_credits(ledger, "P1", 3).collect_events(), *stale.collect_events()]
    with pytest.raises(RecordConflictError):
        ledger.store.record(events)
    assert ledger.store.recorder.max_notification_id() == before  # P1's three events were not written either
    assert ledger.store.account(account_uuid("P1")).version == 1
    ledger.close()


def _credits(ledger: Ledger, account_id: str, count: int) -> Account:
    account = ledger.store.account(account_uuid(account_id))
    ctx = ev.Context(at=datetime(2026, 9, 2, tzinfo=UTC))  # after the accounts were opened
    for n in range(count):
        account.issue_credit(ctx, credit=f"K{n}", amount=100, reference="r")
    return account


def test_a_refused_command_does_not_fail_the_others(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    service = BatchingService(ledger.store, ledger.ports)
    service.handle(m.OpenAccount(account="G1", email="g@example.com"))
    outcomes: list[object] = []

    def good(i: int) -> None:
        outcomes.append(service.handle(m.IssueCredit(account="G1", credit=f"C{i}", amount="1.00", reference="r")))

    def bad() -> None:
        try:
            service.handle(m.IssueCredit(account="G1", credit="X", amount="-1.00", reference="r"))
        except ValidationError as error:
            outcomes.append(error)

    _run([threading.Thread(target=good, args=(i,)) for i in range(10)] + [threading.Thread(target=bad)])
    assert len(ledger.store.account(account_uuid("G1")).state.credits) == 10
    assert sum(isinstance(o, ValidationError) for o in outcomes) == 1
    service.close()
    ledger.close()


def test_another_writer_is_never_overruled_by_the_cache(tmp_path: Path, store_backend: str) -> None:
    mine = make_ledger(tmp_path)
    service = BatchingService(mine.store, mine.ports)
    service.handle(m.OpenAccount(account="S1", email="s@example.com"))
    service.handle(m.IssueCredit(account="S1", credit="C0", amount="1.00", reference="r"))  # now cached
    other = make_ledger(tmp_path)  # another process on the same store
    other.service.handle(m.IssueInvoice(account="S1", invoice="INV-OTHER", amount="5.00", date="2026-09-01",
                                        due="2026-09-30"))
    # Decided on the stale cached copy, this payment would be refused (no such invoice): it is decided again.
    paid = service.handle(m.SubmitPayment(account="S1", payment="P1", amount="5.00", method="card",
                                          token="tok_visa", invoices={"INV-OTHER": "5.00"}))
    assert "PaymentApplied" in paid.events
    other.service.handle(m.IssueCredit(account="S1", credit="C-OTHER", amount="1.00", reference="r"))
    # A write on a stale copy conflicts with the other writer's version and is retried on fresh state.
    service.handle(m.IssueCredit(account="S1", credit="C1", amount="1.00", reference="r"))
    state = mine.store.account(account_uuid("S1")).state
    assert {"C0", "C1", "C-OTHER"} <= set(state.credits)
    assert state.invoices["INV-OTHER"].open == 0
    with pytest.raises(NotFound):  # a refusal that stands on fresh state is still reported
        service.handle(m.SubmitPayment(account="S1", payment="P2", amount="1.00", method="card", token="tok_visa",
                                       invoices={"NOPE": "1.00"}))
    other.close()
    service.close()
    mine.close()


def test_group_commit_is_switched_on_by_configuration(tmp_path: Path) -> None:
    from ledger.bootstrap import build
    from ledger.config import Settings

    settings = Settings.from_env({"LEDGER_GROUP_COMMIT": "1"}, home=tmp_path, db_path=tmp_path / "ledger.db")
    ledger = build(settings)
    assert isinstance(ledger.service, BatchingService)
    assert ledger.service.handle(m.OpenAccount(account="G9", email="g9@example.com")).events == ("AccountOpened",)
    ledger.close()


@pytest.mark.parametrize("service_class", [LedgerService, BatchingService])
def test_many_threads_on_one_account_take_turns_and_none_gives_up(tmp_path: Path, store_backend: str,
                                                                  service_class: type) -> None:
    ledger = make_ledger(tmp_path)
    service = service_class(ledger.store, ledger.ports, max_attempts=2)  # one conflict retried at most
    service.handle(m.OpenAccount(account="HOT", email="hot@example.com"))
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                service.handle(m.IssueCredit(account="HOT", credit=f"C{n}-{i}", amount="1.00", reference="memo"))
        except BaseException as error:
            errors.append(error)

    _run([threading.Thread(target=worker, args=(n,)) for n in range(16)])
    assert errors == []
    assert len(ledger.store.account(account_uuid("HOT")).state.credits) == 160
    if isinstance(service, BatchingService):
        service.close()
    ledger.close()
