"""What the benchmarks measure themselves against and run in: raw-database baselines (sqlite3 and psycopg
writing the same rows without the ledger), interleaved pairing of ours against raw, a thread fan-out, and
PostgreSQL scratch schemas (``LEDGER_BENCH_POSTGRES_DSN``, else ``LEDGER_TEST_POSTGRES_DSN``) dropped after, and
a pass-through vault (personal data not sealed) as the raw side of what sealing costs.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore

CALLERS = 64
BODY = b"x" * 300  # about the size of a stored event


def interleaved(ours: Callable[[], float], raw: Callable[[], float], rounds: int) -> tuple[float, float]:
    """(median of ours, median of raw) over alternating runs, raw first and last."""
    (mine,), theirs = interleaved_sides([ours], raw, rounds)
    return mine, theirs


def interleaved_sides(sides: Sequence[Callable[[], float]], raw: Callable[[], float],
                      rounds: int) -> tuple[list[float], float]:
    """(median of each side, median of raw) over rounds of every side then raw, raw first too; the sides run in
    reverse order every other round, so none of them always follows raw."""
    mine: list[list[float]] = [[] for _ in sides]
    theirs = [raw()]
    for turn in range(rounds):
        order = list(enumerate(sides))
        for n, side in order if turn % 2 == 0 else reversed(order):
            mine[n].append(side())
        theirs.append(raw())
    return [statistics.median(values) for values in mine], statistics.median(theirs)


def raw_sqlite(folder: Path, count: int, per_txn: int) -> float:
    """Rows/s committed ``per_txn`` at a time with sqlite3, WAL and synchronous=FULL."""
    path = folder / f"raw-{uuid.uuid4().hex}.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=full")
    db.execute("create table t (id integer primary key, body blob)")
    started = time.perf_counter()
    for _ in range(count // per_txn):
        db.execute("begin")
        db.executemany("insert into t (body) values (?)", [(BODY,)] * per_txn)
        db.execute("commit")
    rate = count / (time.perf_counter() - started)
    db.close()
    path.unlink()
    return rate


def raw_postgres(dsn: str, schema: str, count: int, per_txn: int) -> float:
    """Rows/s committed ``per_txn`` at a time with psycopg into a bigserial table (the events table's shape)."""
    import psycopg

    table = f"{schema}.raw_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn) as conn:
        conn.execute(f"create table {table} (id bigserial primary key, body bytea)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for _ in range(count // per_txn):
                cursor.executemany(f"insert into {table} (body) values (%s)", [(BODY,)] * per_txn)
                conn.commit()
        rate = count / (time.perf_counter() - started)
        conn.execute(f"drop table {table}")
        conn.commit()
    return rate


class PassThroughVault:
    """The sealing comparison's raw side, for benchmarks only: :class:`ledger.personal.vault.Vault`'s interface
    with nothing sealed (``seal`` and ``reveal`` give the value back) and no data key written. The ledger has no
    switch that turns sealing off; a benchmark puts this in place of a store's vault with :func:`pass_through`."""

    def seal(self, account: UUID | str, value: str) -> str:
        """``value`` as it is."""
        return value

    def reveal(self, account: UUID | str, value: str) -> str:
        """``value`` as it is."""
        return value

    def forget(self, account: UUID | str) -> int:
        """No key to destroy."""
        return 0

    def rotate(self, account: UUID | str) -> str:
        """No key to make."""
        return "0000"

    def rewrap(self) -> int:
        """No key to re-wrap."""
        return 0

    def close(self) -> None:
        """Nothing to release."""


def pass_through(store: LedgerStore) -> None:
    """Put a :class:`PassThroughVault` where ``store`` keeps its vault (the slot of its cached ``personal``; a
    vault it had opened is closed first)."""
    opened = vars(store).pop("personal", None)
    if opened is not None:
        opened.close()
    vars(store)["personal"] = PassThroughVault()


def concurrently(caller: Callable[[int], None], callers: int = CALLERS) -> float:
    """Seconds ``callers`` threads take to run ``caller(n)`` each (n = 0 .. callers - 1), started together."""
    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started

def postgres_dsn() -> str:
    """The DSN benchmarks may use ("" when none is configured)."""
    return os.environ.get("LEDGER_BENCH_POSTGRES_DSN") or os.environ.get("LEDGER_TEST_POSTGRES_DSN", "")


@contextmanager
def postgres_scratch(dsn: str) -> Iterator[Callable[[], str]]:
    """A maker of fresh schemas (``bench_<id>``, ``bench_<id>_1``, ...); every one of them is dropped after."""
    import psycopg

    prefix = f"bench_{uuid.uuid4().hex[:10]}"
    made = 0

    def make() -> str:
        nonlocal made
        name = prefix if made == 0 else f"{prefix}_{made}"
        made += 1
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"create schema {name}")
        return name

    try:
        yield make
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for n in range(made):
                conn.execute(f"drop schema if exists {prefix if n == 0 else f'{prefix}_{n}'} cascade")


