"""Following a PostgreSQL log while several writers commit: every event reaches the projections exactly once,
in log order, gaps (rolled-back inserts) included."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ledger.commands import messages as m
from ledger.projections.keeper import ProjectionKeeper
from tests.ledger_fixtures import make_ledger

pytestmark = pytest.mark.postgres


def test_projections_follow_concurrent_writers_with_gaps(tmp_path: Path, store_backend: str) -> None:
    if store_backend != "postgres":
        pytest.skip("the PostgreSQL log")
    setup = make_ledger(tmp_path)
    for n in range(4):
        setup.service.handle(m.OpenAccount(account=f"W{n}", email=f"w{n}@example.com"))
    keeper = ProjectionKeeper(setup.store, tmp_path)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        ledger = make_ledger(tmp_path)
        try:
            for i in range(60):
                ledger.service.handle(m.IssueInvoice(account=f"W{n % 4}", invoice=f"I{n}-{i}", amount="1.00",
                                                     date="2026-09-01", due="2026-09-30"))
        except BaseException as error:
            errors.append(error)
        finally:
            ledger.close()

    # Six writers on four accounts conflict often; each conflict rolls back and leaves a gap in the ids.
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()

    def follow() -> None:
        while not done.is_set():
            keeper.catch_up(["audit"])

    follower = threading.Thread(target=follow)
    follower.start()
    for t in threads:
        t.join()
    done.set()
    follower.join()
    keeper.catch_up(["audit"])
    assert errors == []
    stored = [n.id for n in setup.store.recorder.select_notifications(start=1, limit=10_000)]
    seen = [r[0] for r in keeper.connection("audit").execute("select position from audit_log order by rowid")]
    assert seen == stored and len(stored) == 4 + 6 * 60
    keeper.close()
    setup.close()
