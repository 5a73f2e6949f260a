"""The group committer alone, against a tiny fake store: grouping, isolation of a failing submission by halving,
same-aggregate conflicts inside a group, hand-back to the cache, close."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, RecordConflictError

from ledger.store.group_commit import CommitterClosed, GroupCommitter


@dataclass(frozen=True)
class FakeEvent:
    originator_id: str
    originator_version: int


@dataclass
class FakeAggregate:
    id: str
    version: int = 0
    pending: list[FakeEvent] = field(default_factory=list)

    def change(self) -> FakeAggregate:
        self.version += 1
        self.pending.append(FakeEvent(self.id, self.version))
        return self

    def collect_events(self) -> list[FakeEvent]:
        pending, self.pending = self.pending, []
        return pending


class FakeStore:
    """Records each transaction's events; refuses any transaction holding a poisoned aggregate's event."""

    def __init__(self, poisoned: set[str] | None = None, conflicting: set[str] | None = None) -> None:
        self.transactions: list[list[str]] = []
        self.poisoned = poisoned or set()
        self.conflicting = conflicting or set()
        self.remembered: list[str] = []
        self.forgotten: list[str] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.resolved: list[list[str]] = []  # the gateway intents removed by each written transaction

    def prepare(self, events: list[FakeEvent]) -> list[FakeEvent]:
        return list(events)

    def insert(self, events: list[FakeEvent], resolving: list[str]) -> list[int]:
        self.entered.set()
        self.gate.wait(5)
        ids = {e.originator_id for e in events}
        if ids & self.poisoned:
            raise ValueError("cannot write")
        if ids & self.conflicting:
            raise IntegrityError("version exists")
        self.transactions.append(sorted(ids))
        self.resolved.append(sorted(resolving))
        return list(range(len(events)))

    @staticmethod
    def recordings(events: list[FakeEvent], stored: list[FakeEvent], ids: list[int]) -> list[Any]:
        return [f"rec-{e.originator_id}" for e in events]

    def remember(self, aggregate: FakeAggregate) -> None:
        self.remembered.append(aggregate.id)

    def forget(self, aggregates: list[FakeAggregate]) -> None:
        self.forgotten += [a.id for a in aggregates]

    def snapshots_due(self, aggregates: list[Any], events: list[Any]) -> list[Any]:
        return []

    def encode_snapshots(self, accounts: list[Any]) -> list[Any]:
        return []

    def write_snapshots(self, records: list[Any]) -> None:
        raise AssertionError("no snapshot is due")


def _commit_all(committer: GroupCommitter, store: FakeStore, names: list[str]) -> dict[str, Any]:
    """Commit one aggregate per name from its own thread, all queued behind a held first transaction; each
    resolves the gateway intent ``I-name``."""
    results: dict[str, Any] = {}

    def call(name: str) -> None:
        try:
            results[name] = committer.commit([FakeAggregate(name.split("#")[0]).change()], [f"I-{name}"])
        except Exception as error:
            results[name] = error

    blocker = threading.Thread(target=call, args=("first",))
    blocker.start()
    assert store.entered.wait(5)
    threads = [threading.Thread(target=call, args=(n,)) for n in names]
    for t in threads:
        t.start()
    while committer._queue.qsize() < len(names):
        threading.Event().wait(0.001)
    store.gate.set()
    for t in [blocker, *threads]:
        t.join(5)
    return results


def test_commands_arriving_together_share_one_transaction() -> None:
    store = FakeStore()
    committer = GroupCommitter(store, max_batch=64)  # type: ignore[arg-type]
    results = _commit_all(committer, store, [f"A{n}" for n in range(10)])
    assert store.transactions == [["first"], sorted(f"A{n}" for n in range(10))]
    assert all(results[f"A{n}"] == [f"rec-A{n}"] for n in range(10))
    assert sorted(store.remembered) == sorted(["first", *[f"A{n}" for n in range(10)]])
    assert store.resolved == [["I-first"], sorted(f"I-A{n}" for n in range(10))]  # with their group's events
    committer.close()


def test_a_failing_submission_fails_alone_and_the_others_are_written() -> None:
    store = FakeStore(poisoned={"BAD"}, conflicting={"OLD"})
    committer = GroupCommitter(store)  # type: ignore[arg-type]
    names = [f"A{n}" for n in range(7)] + ["BAD", "OLD"]
    results = _commit_all(committer, store, names)
    assert isinstance(results["BAD"], ValueError)
    assert isinstance(results["OLD"], RecordConflictError)
    written = sorted(i for t in store.transactions for i in t)
    assert written == sorted(["first", *[f"A{n}" for n in range(7)]])
    assert len(store.transactions) < 1 + 7  # halving, not one transaction per good submission
    assert store.forgotten == ["OLD"]
    resolved = sorted(key for keys in store.resolved for key in keys)
    assert resolved == sorted(["I-first", *[f"I-A{n}" for n in range(7)]])  # not those of the failed ones
    committer.close()


def test_two_submissions_for_one_aggregate_in_a_group_the_later_conflicts() -> None:
    store = FakeStore()
    committer = GroupCommitter(store)  # type: ignore[arg-type]
    results = _commit_all(committer, store, ["S#1", "S#2", "T"])
    outcomes = [results["S#1"], results["S#2"]]
    assert sum(isinstance(o, RecordConflictError) for o in outcomes) == 1
    assert results["T"] == ["rec-T"]
    committer.close()


def test_nothing_to_write_returns_at_once_and_closed_committer_refuses() -> None:
    store = FakeStore()
    store.gate.set()
    committer = GroupCommitter(store)  # type: ignore[arg-type]
    assert committer.commit([FakeAggregate("X")], ["I-X"]) == []
    assert store.resolved == []  # nothing written: the caller's intents stay with it
    committer.close()
    with pytest.raises(CommitterClosed):
        committer.commit([FakeAggregate("Y").change()])


def test_a_checked_out_account_is_handed_to_the_next_command_at_its_new_version() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from ledger.aggregates import Account
    from ledger.aggregates import events as ev
    from ledger.store.recent import RecentAccounts

    ctx = ev.Context(at=datetime(2026, 9, 1, tzinfo=UTC))
    account = Account.open(ctx, aggregate_id=uuid4(), account_id="R1", currency="USD", email="r@example.com")
    account.collect_events()
    recent = RecentAccounts(10, wait=5)
    recent.put(account)
    first, second = object(), object()
    taken = recent.checkout(account.id, first)
    assert taken is account
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(recent.checkout(account.id, second)))
    waiter.start()
    account.issue_credit(ctx, credit="C1", amount=1, reference="")
    account.collect_events()
    recent.put(account)  # the committer brings it back at version 2
    waiter.join(5)
    assert got == [account] and account.version == 2
    recent.release(account.id, first)  # no longer the owner: no effect on the second command's checkout
    recent.wait = 0.01
    assert recent.checkout(account.id, first) is None
    short = RecentAccounts(10, wait=0.01)
    short.put(account)
    assert short.checkout(account.id, first) is account
    assert short.checkout(account.id, second) is None  # still out after the wait: load from the database
    short.release(account.id, first)
    assert short.checkout(account.id, second) is None  # released, not cached: nothing to hand out
