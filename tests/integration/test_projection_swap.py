"""The rebuild's swap never pairs the new file with the old file's WAL: not when a process is still writing to
the old file, not when the rebuild dies right after the serving path changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.clock import ManualClock
from ledger.commands import messages as m
from ledger.projections import fresh
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.rebuild import ProjectionFiles
from tests.ledger_fixtures import START, make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path, clock=ManualClock(START))
    for n in range(20):
        built.service.handle(m.OpenAccount(account=f"ACC{n}", email=f"a{n}@example.com"))
    yield built
    built.close()


def readable(path: Path) -> int:
    """Accounts in the serving file, read by a new connection as any reader would (after an integrity check)."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        return int(db.execute("select count(*) from accounts").fetchone()[0])
    finally:
        db.close()


def test_a_swap_while_another_process_writes_the_old_file(ledger: Any, tmp_path: Path) -> None:
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up(["accounts"])
    serving = keeper.files.path(fresh(["accounts"])[0])
    old = sqlite3.connect(serving, isolation_level=None)  # the follower, say, with frames in its WAL
    old.execute("pragma wal_autocheckpoint=0")
    old.execute("delete from accounts where account_id = 'ACC0'")
    keeper.rebuild(["accounts"])
    assert readable(serving) == 20
    old.execute("delete from accounts where account_id = 'ACC1'")  # still its old file, harmlessly
    assert readable(serving) == 20
    old.close()
    keeper.close()


def test_a_rebuild_that_dies_right_after_the_swap_leaves_a_readable_file(ledger: Any, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up(["accounts"])
    serving = keeper.files.path(fresh(["accounts"])[0])
    writer = sqlite3.connect(serving, isolation_level=None)
    writer.execute("pragma wal_autocheckpoint=0")
    writer.execute("delete from accounts where account_id = 'ACC0'")  # frames in the old file's WAL

    def killed(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt  # SIGKILL between the swap and the clean-up

    monkeypatch.setattr(ProjectionFiles, "_forget_old_builds", killed)
    with pytest.raises(KeyboardInterrupt):
        keeper.rebuild(["accounts"])
    writer.close()
    assert readable(serving) == 20
    monkeypatch.undo()
    keeper.rebuild(["accounts"])  # the next rebuild clears what the dead one left, but the build it replaces
    keeper.rebuild(["accounts"])
    builds = sorted(tmp_path.glob("projections/accounts-*.db"))
    assert len(builds) == 2 and (tmp_path / "projections" / "accounts.db").resolve() == builds[-1]
    keeper.close()
