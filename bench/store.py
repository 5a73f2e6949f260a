"""Benchmarks of the write path and of loading accounts, each against a raw baseline measured in the same run.

    python -m bench.store [--commands 3000] [--threads 32]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.projections import Row
from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction
from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.commands.batching import BatchingService
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.ports.ids import account_uuid


def raw_single_row(path: Path, count: int) -> float:
    """Durable single-row commits per second with sqlite3 (WAL, synchronous=FULL)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=full")
    db.execute("create table t (id integer primary key, body blob)")
    started = time.perf_counter()
    for _ in range(count):
        db.execute("begin")
        db.execute("insert into t (body) values (?)", (b"x" * 300,))
        db.execute("commit")
    rate = count / (time.perf_counter() - started)
    db.close()
    return rate


def raw_hundred_rows(path: Path, count: int) -> float:
    """Rows per second inserted 100 per durable transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=full")
    db.execute("create table t (id integer primary key, body blob)")
    started = time.perf_counter()
    for _ in range(count // 100):
        db.execute("begin")
        db.executemany("insert into t (body) values (?)", [(b"x" * 300,)] * 100)
        db.execute("commit")
    rate = count / (time.perf_counter() - started)
    db.close()
    return rate


def commands_per_second(home: Path, count: int, threads: int, batching: bool) -> float:
    """Durable commands per second from ``threads`` concurrent callers, each on its own account."""
    ledger = build(Settings.from_env({}, home=home, db_path=home / "ledger.db"))
    service: Any = BatchingService(ledger.store, ledger.ports) if batching else ledger.service
    for n in range(threads):
        service.handle(m.OpenAccount(account=f"T{n}", email=f"t{n}@example.com"))
    per_thread = count // threads

    def caller(n: int) -> None:
        for i in range(per_thread):
            service.handle(m.IssueCredit(account=f"T{n}", credit=f"C{i}", amount="1.00", reference="bench"))

    workers = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rate = per_thread * threads / (time.perf_counter() - started)
    if batching:
        service.close()
    ledger.close()
    return rate


def long_history_load(home: Path, events: int) -> tuple[float, float]:
    """(ms to load an account with ``events`` events through snapshots, ms to replay them all without)."""
    ledger = build(Settings.from_env({}, home=home, db_path=home / "ledger.db", snapshot_interval=100))
    ctx = ev.Context(at=datetime(2026, 1, 1, tzinfo=UTC))
    account = Account.open(ctx, aggregate_id=account_uuid("LONG"), account_id="LONG", currency="USD",
                           email="l@example.com")
    for n in range(events - 1):
        account.issue_credit(ctx, credit_id=f"C{n}", amount=1, reference="")
        if n % 100 == 98:
            ledger.store.save(account)
    ledger.store.save(account)
    started = time.perf_counter()
    ledger.store.account(account.id)
    with_snapshot = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    Account.projector(None, ledger.store.events.get(account.id))
    without = (time.perf_counter() - started) * 1000
    ledger.close()
    return with_snapshot, without


def distribution_ms(invoices: int) -> float:
    """ms to distribute one payment over ``invoices`` open invoices (pure aggregate)."""
    ctx = ev.Context(at=datetime(2026, 1, 1, tzinfo=UTC))
    account = Account.open(ctx, aggregate_id=account_uuid("D"), account_id="D", currency="USD", email="d@example.com")
    for n in range(invoices):
        account.issue_invoice(ctx, invoice_id=f"I{n}", total=100, issued_on=date(2026, 1, 1), due_on=date(2026, 2, 1))
    account.collect_events()
    started = time.perf_counter()
    account.record_payment(ctx, payment_id="P", amount=invoices * 100, method="card", token="tok_visa",
                           transaction_id="t", status="approved", decline_code=None, idempotency_key="k",
                           request_hash="h", instruction=Instruction("distribute"))
    return (time.perf_counter() - started) * 1000


def run(quick: bool = False) -> list[Row]:
    """Every row of this benchmark."""
    configure_logging(quiet=True)
    count = 1500 if quick else 4000
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        base = Path(folder)
        single = raw_single_row(base / "raw1.db", count)
        hundred = raw_hundred_rows(base / "raw100.db", count * 10)
        grouped = commands_per_second(base / "grouped", count, 32, batching=True)
        plain = commands_per_second(base / "plain", count // 2, 32, batching=False)
        loaded, replayed = long_history_load(base / "long", 20_000 if quick else 100_000)
    small, large = distribution_ms(1_000), distribution_ms(10_000)
    return [
        Row("durable commands/s, group commit, 32 callers (vs raw 1-row commits)", grouped, single, "cmd/s",
            ">= 1.5"),
        Row("durable commands/s, one transaction each (vs raw 1-row commits)", plain, single, "cmd/s", "printed"),
        Row("raw sqlite3 100-row durable transactions (rows/s)", hundred, single, "rows/s", "printed"),
        Row(f"load account with {'20k' if quick else '100k'} events via snapshot (ms, vs full replay)", loaded,
            replayed, "ms", "< 50 ms"),
        Row("distribute 1 payment over 10,000 invoices (ms, vs 1,000 x 10)", large, small * 10, "ms",
            "< 5 ms, ratio ~1 (linear)"),
    ]


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(f"{row.measure:75} ours {row.ours:10,.1f}  baseline {row.baseline:10,.1f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
