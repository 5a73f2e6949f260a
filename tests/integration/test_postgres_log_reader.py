"""The committed-log reader: on PostgreSQL ids can commit out of order and leave gaps; a follower must still see
every committed notification exactly once, in id order. Writers here insert with plain SQL, WITHOUT the table
lock eventsourcing takes, so out-of-order commits really happen."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.commands import messages as m
from ledger.config import Settings
from ledger.store.application import LedgerStore
from ledger.store.log_reader import CommittedLog
from tests.ledger_fixtures import make_ledger


@pytest.fixture
def pg_store(postgres_dsn: str) -> Iterator[LedgerStore]:
    """A LedgerStore in a schema of its own, dropped afterwards."""
    schema = f"t_reader_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    store = LedgerStore(Settings.from_env({}, store="postgres", postgres_dsn=postgres_dsn, postgres_schema=schema))
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")


def _insert(conn: psycopg.Connection[tuple[object, ...]], store: LedgerStore) -> int:
    table = f'"{store.recorder.datastore.schema}"."{store.recorder.events_table_name}"'  # type: ignore[attr-defined]
    row = conn.execute(f"insert into {table} (originator_id, originator_version, topic, state) "
                       "values (%s, 1, 'test:1', %s) returning notification_id",
                       (uuid.uuid4(), b"{}")).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_a_lower_id_committing_later_is_not_skipped(pg_store: LedgerStore, postgres_dsn: str) -> None:
    log = CommittedLog(pg_store)
    with psycopg.connect(postgres_dsn) as slow, psycopg.connect(postgres_dsn) as fast:
        low = _insert(slow, pg_store)  # open, not committed
        high = _insert(fast, pg_store)
        fast.commit()
        assert high > low
        assert log.read_raw(0, 100) == []  # the naive "id > position" read would return [high] and lose low
        assert log.read_raw(0, 100) == []  # still open: still waiting
        slow.commit()
        assert [n.id for n in log.read_raw(0, 100)] == [low, high]


def test_a_rolled_back_id_becomes_a_hole_and_is_read_through(pg_store: LedgerStore, postgres_dsn: str) -> None:
    log = CommittedLog(pg_store)
    with psycopg.connect(postgres_dsn) as slow, psycopg.connect(postgres_dsn) as fast:
        first = _insert(fast, pg_store)
        fast.commit()
        lost = _insert(slow, pg_store)
        after = _insert(fast, pg_store)
        fast.commit()
        assert [n.id for n in log.read_raw(0, 100)] == [first]
        assert log.read_raw(first, 100) == []
        slow.rollback()
        assert [n.id for n in log.read_raw(first, 100)] == [after]
        assert lost not in [n.id for n in log.read_raw(0, 100)]


def test_follower_sees_every_commit_once_in_order_under_concurrent_writers(pg_store: LedgerStore,
                                                                          postgres_dsn: str) -> None:
    committed: list[int] = []
    guard = threading.Lock()

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with psycopg.connect(postgres_dsn) as conn:
            for _ in range(40):
                ids = [_insert(conn, pg_store) for _ in range(rng.randint(1, 3))]
                threading.Event().wait(rng.uniform(0, 0.004))  # hold the ids a while: others commit past them
                if rng.random() < 0.2:
                    conn.rollback()
                else:
                    conn.commit()
                    with guard:
                        committed.extend(ids)

    stop = threading.Event()
    seen: list[int] = []

    def follower() -> None:
        log = CommittedLog(pg_store)
        seen.extend(n.id for n in log.follow(0, batch=50, poll=0.002, stop=stop))

    following = threading.Thread(target=follower)
    following.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    expected = sorted(committed)
    for _ in range(500):
        if len(seen) >= len(expected):
            break
        threading.Event().wait(0.01)
    stop.set()
    following.join()
    assert seen == expected


def test_committed_log_on_the_ledger_store_decodes_events(tmp_path: Path, store_backend: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="L1", email="l1@example.com"))
    ledger.service.handle(m.IssueCredit(account="L1", credit="C1", amount="1.00", reference="r"))
    log = CommittedLog(ledger.store)
    read = log.read(0, 10)
    assert [type(e).__name__ for _, e in read] == ["AccountOpened", "CreditIssued"]
    assert [p for p, _ in read] == [n.id for n in log.read_raw(0, 10)]
    assert log.head() == read[-1][0]
    assert log.read_raw(read[-1][0], 10) == []
    log.close()
    ledger.close()
