"""Several runners on the same projection files (the service's follower, the read API, CLI reads in other
processes): no event is applied twice and no runner posts from caches the file has moved past."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.projections import fresh
from ledger.projections.chain import HashChain
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import EventLog, catch_up, connect, dump
from tests.ledger_fixtures import START, make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    built = make_ledger(tmp_path, clock=ManualClock(START))
    built.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    yield built
    built.close()


def invoice(ledger: Ledger, name: str) -> None:
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=name, amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))


def rebuilt(ledger: Ledger, tmp_path: Path) -> dict[str, Any]:
    reference = ProjectionKeeper(ledger.store, tmp_path / "reference")
    out = {}
    for projection in fresh():
        db = connect(":memory:")
        catch_up([(projection, db)], reference.events)
        out[projection.name] = dump(db, projection)
    reference.close()
    return out


def test_a_runner_behind_the_file_reloads_its_caches(ledger: Ledger, tmp_path: Path) -> None:
    follower, reader = ProjectionKeeper(ledger.store, tmp_path), ProjectionKeeper(ledger.store, tmp_path)
    follower.catch_up()
    invoice(ledger, "I1")
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="4.00", method="ach",
                                          token="tok_ach", distribute=True))
    reader.catch_up()  # the follower's in-memory journal has not seen I1 nor P1
    ledger.service.handle(m.VoidInvoice(account="ACC1", invoice="I1"))
    ledger.service.handle(m.SettlePayment(account="ACC1", payment="P1"))
    follower.catch_up()
    assert {p.name: dump(follower.connection(p.name), p) for p in fresh()} == rebuilt(ledger, tmp_path)
    follower.close()
    reader.close()


class RacingLog:
    """A log whose first read lets another runner apply the same events before returning them."""

    def __init__(self, inner: EventLog, rival: Any) -> None:
        self.inner, self.rival, self.raced = inner, rival, False

    def read(self, after: int, limit: int) -> Any:
        items = self.inner.read(after, limit)
        if not self.raced:
            self.raced = True
            self.rival()
        return items

    def head(self) -> int:
        return self.inner.head()


def test_events_applied_by_a_rival_meanwhile_are_not_applied_twice(ledger: Ledger, tmp_path: Path) -> None:
    for n in range(5):
        invoice(ledger, f"I{n}")
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    files = keeper.files
    mine = [(p, connect(files.path(p))) for p in fresh()]
    theirs = [(p, connect(files.path(p))) for p in fresh()]
    catch_up(mine, RacingLog(keeper.events, lambda: catch_up(theirs, keeper.events)))
    assert {p.name: dump(db, p) for p, db in mine} == rebuilt(ledger, tmp_path)
    for _, db in (*mine, *theirs):
        db.close()
    keeper.close()


def test_keepers_in_threads_follow_a_writer(ledger: Ledger, tmp_path: Path) -> None:
    keepers = [ProjectionKeeper(ledger.store, tmp_path) for _ in range(3)]
    done = threading.Event()
    errors: list[BaseException] = []

    def follow(keeper: ProjectionKeeper) -> None:
        try:
            while not done.is_set():
                keeper.catch_up()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=follow, args=(k,)) for k in keepers]
    for thread in threads:
        thread.start()
    for n in range(40):
        invoice(ledger, f"I{n}")
        if n % 3 == 0:
            ledger.service.handle(m.SubmitPayment(account="ACC1", payment=f"P{n}", amount="15.00", method="card",
                                                  token="tok_visa", distribute=True))
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    keepers[0].catch_up()
    assert {p.name: dump(keepers[0].connection(p.name), p) for p in fresh()} == rebuilt(ledger, tmp_path)
    chain = HashChain(keepers[0].chain_path, key=ledger.store.seal_key())  # another reader of the file
    assert chain.verify(ledger.store) == []
    chain.close()
    for keeper in keepers:
        keeper.close()


def test_a_catch_up_refused_with_database_is_locked_is_tried_again(ledger: Ledger, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite answers "database is locked" at once, without waiting, where waiting could deadlock; the keeper
    (the service's projection follower) must take that as "try again", not die."""
    import ledger.projections.keeper as keeper_module

    for n in range(3):
        invoice(ledger, f"I{n}")
    refusals = iter([sqlite3.OperationalError("database is locked")] * 2)

    def sometimes_locked(*args: Any, **kwargs: Any) -> int:
        refusal = next(refusals, None)
        if refusal is not None:
            raise refusal
        return catch_up(*args, **kwargs)

    monkeypatch.setattr(keeper_module, "catch_up", sometimes_locked)
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    assert {p.name: dump(keeper.connection(p.name), p) for p in fresh()} == rebuilt(ledger, tmp_path)
    monkeypatch.setattr(keeper_module, "catch_up", lambda *a, **k: (_ for _ in ()).throw(
        sqlite3.OperationalError("no such table: x")))
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        keeper.catch_up()  # anything else is not retried
    keeper.close()


def test_a_batch_sqlite_rolled_back_itself_fails_with_its_own_error(ledger: Ledger, tmp_path: Path) -> None:
    """A full disk or an I/O error makes SQLite roll back on its own: the runner reports that error (here, the
    handler's), not "cannot rollback - no transaction is active", and keeps nothing of the batch."""
    from ledger.projections.audit_log import AuditLogProjection
    from ledger.projections.runner import ListLog

    class Failing(AuditLogProjection):
        def finish_batch(self, db: sqlite3.Connection) -> None:
            db.execute("rollback")  # what SQLite does by itself on SQLITE_FULL
            raise sqlite3.OperationalError("database or disk is full")

    db = connect(tmp_path / "audit.db")
    events = [ledger.store.mapper.to_domain_event(n)
              for n in ledger.store.recorder.select_notifications(start=1, limit=10)]
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        catch_up([(Failing(), db)], ListLog(events))
    assert db.execute("select count(*) from audit_log").fetchone()[0] == 0
