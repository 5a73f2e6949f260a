"""Group commit: concurrent commands written together, conflicts retried, errors isolated, nothing lost."""

from __future__ import annotations

import threading
from pathlib import Path

from ledger.commands import messages as m
from ledger.commands.batching import BatchingService
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger


def test_concurrent_commands_on_many_and_on_the_same_accounts(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path, snapshot_interval=10)
    service = BatchingService(ledger.store, ledger.ports)
    for n in range(8):
        service.handle(m.OpenAccount(account=f"G{n}", email=f"g{n}@example.com"))
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                service.handle(m.IssueInvoice(account=f"G{n % 4}", invoice=f"I{n}-{i}", amount="2.00",
                                              date="2026-09-01", due="2026-09-30"))
                service.handle(m.SubmitPayment(account=f"G{n % 4}", payment=f"P{n}-{i}", amount="1.00",
                                               method="card", token="tok_visa", distribute=True))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for n in range(4):
        state = ledger.store.account(account_uuid(f"G{n}")).state
        assert len(state.invoices) == 75 and len(state.payments) == 75 and state.balance == 75 * 100
    events = [ledger.store.mapper.to_domain_event(x) for x in
              ledger.store.recorder.select_notifications(start=1, limit=100_000)]
    assert not violations(events)
    assert list(ledger.store.snapshots.get(account_uuid("G0")))  # type: ignore[union-attr]
    service.close()
    ledger.close()


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
        except Exception as error:
            outcomes.append(error)

    threads = [threading.Thread(target=good, args=(i,)) for i in range(10)] + [threading.Thread(target=bad)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.store.account(account_uuid("G1")).state.credits) == 10
    service.close()
    ledger.close()


def test_group_commit_is_switched_on_by_configuration(tmp_path: Path) -> None:
    from ledger.bootstrap import build
    from ledger.config import Settings

    settings = Settings.from_env({"LEDGER_GROUP_COMMIT": "1"}, home=tmp_path, db_path=tmp_path / "ledger.db")
    ledger = build(settings)
    assert isinstance(ledger.service, BatchingService)
    assert ledger.service.handle(m.OpenAccount(account="G9", email="g9@example.com")).events == ("AccountOpened",)
    ledger.close()
