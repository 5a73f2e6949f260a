"""Benchmarks of the write path and of loading accounts, each against a raw baseline measured in the same run.

Throughput pairs run *interleaved* (raw, ours, raw, ours, raw ...) and each side reports its median, so both see
the same weather on a shared, noisy machine; the ratio is what to compare. PostgreSQL rows need a DSN
(``LEDGER_BENCH_POSTGRES_DSN``, else ``LEDGER_TEST_POSTGRES_DSN``) and work in a schema of their own, dropped
after.

    python -m bench.store [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import Row
from bench.baselines import (
    CALLERS,
    concurrently,
    interleaved,
    pass_through,
    postgres_dsn,
    postgres_scratch,
    raw_postgres,
    raw_sqlite,
)
from bench.generator import HistoryGenerator
from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction
from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore


def commands_per_second(settings: Settings, count: int, batching: bool, sealing: bool = True) -> float:
    """Durable commands/s from CALLERS concurrent callers, each issuing credits on its own account (a credit seals
    nothing; ``sealing=False``: the accounts were opened with a pass-through vault, nothing sealed)."""
    ledger = build(Settings(**{**_fields(settings), "group_commit": batching}))
    if not sealing:
        pass_through(ledger.store)
    service = ledger.service
    for n in range(CALLERS):
        service.handle(m.OpenAccount(account=f"T{n}", email=f"t{n}@example.com"))
    per_caller = max(count // CALLERS, 1)

    def caller(n: int) -> None:
        for i in range(per_caller):
            service.handle(m.IssueCredit(account=f"T{n}", credit=f"C{i}", amount="1.00", reference="bench"))

    rate = per_caller * CALLERS / concurrently(caller)
    ledger.close()
    return rate


def append_per_second(settings: Settings, count: int) -> float:
    """Events/s through ``store.save``, 100 events per save (one new credit on each of 100 accounts), with the
    store's snapshots every ``snapshot_interval`` events of an account."""
    store = LedgerStore(settings)
    ctx = ev.Context(at=datetime(2026, 1, 1, tzinfo=UTC))
    accounts = [Account.open(ctx, aggregate_id=uuid.uuid4(), account_id=f"APPEND{n}", currency="USD",
                             email="a@example.com") for n in range(100)]
    store.save(*accounts)
    started = time.perf_counter()
    for n in range(count // 100):
        for account in accounts:
            account.issue_credit(ctx, credit=f"C{n}", amount=1, reference="")
        store.save(*accounts)
    rate = count // 100 * 100 / (time.perf_counter() - started)
    store.close()
    return rate


def long_history_load(home: Path, events: int) -> tuple[float, float, int]:
    """(median ms of a cold load through the snapshot, ms of a full replay, events) of ONE account with a
    realistic generated history of about ``events`` events."""
    settings = Settings.from_env({}, home=home, db_path=home / "ledger.db", aggregate_cache=0)
    store = LedgerStore(settings)
    written = HistoryGenerator(store, seed=11, accounts=1).run(events)
    aggregate_id = account_uuid("GEN000000")
    store.close()
    loads = []
    for _ in range(5):
        cold = LedgerStore(settings)
        started = time.perf_counter()
        cold.account(aggregate_id)
        loads.append((time.perf_counter() - started) * 1000)
        cold.close()
    cold = LedgerStore(settings)
    started = time.perf_counter()
    Account.projector(None, cold.events.get(aggregate_id))
    replay = (time.perf_counter() - started) * 1000
    cold.close()
    return statistics.median(loads), replay, written


def distribution_ms(invoices: int) -> float:
    """Median ms to distribute one payment over ``invoices`` open invoices (pure aggregate, oldest first)."""
    ctx = ev.Context(at=datetime(2026, 1, 1, tzinfo=UTC))
    account = Account.open(ctx, aggregate_id=account_uuid("D"), account_id="D", currency="USD", email="d@example.com")
    for n in range(invoices):
        account.issue_invoice(ctx, invoice=f"I{n}", total=100, issued_on=date(2026, 1, 1), due_on=date(2026, 2, 1))
    account.collect_events()
    times = []
    for attempt in range(5):
        trial = Account.projector(None, [Account.Snapshot.take(account)])
        started = time.perf_counter()
        trial.record_payment(ctx, payment=f"P{attempt}", amount=invoices * 100, method="card", token="tok_visa",
                             transaction_id="t", status="approved", decline_code=None, idempotency_key=f"k{attempt}",
                             request_hash="h", instruction=Instruction("distribute"))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


LOGGED = """
import sys
from pathlib import Path
from ledger.logs import configure_logging
configure_logging(fmt="json")  # INFO JSON lines on stderr, before any logger is used (they are cached)
from bench.store import commands_per_second
from ledger.config import Settings
home = Path(sys.argv[1])
settings = Settings.from_env({}, home=home, db_path=home / "ledger.db", gateway_db=home / "gateway.db")
print(commands_per_second(settings, int(sys.argv[2]), True))
"""


def logged_commands_per_second(settings: Settings, count: int) -> float:
    """Group-commit commands/s with every event logged at INFO as JSON to a file (the production configuration),
    in a process of its own: loggers are configured once, on first use, and this one runs quiet."""
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)  # the ledger refuses a home others can read
    log_path = settings.home / "ledger.log"
    with log_path.open("wb") as log_file:
        done = subprocess.run([sys.executable, "-c", LOGGED, str(settings.home), str(count)], stdout=subprocess.PIPE,
                              stderr=log_file, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    if log_path.stat().st_size == 0:
        raise RuntimeError("the logged run wrote no log lines")
    return float(done.stdout)


def sqlite_rows(base: Path, quick: bool) -> list[Row]:
    """Write path on SQLite with synchronous=FULL."""
    count, rounds = (3000, 2) if quick else (8000, 3)
    runs = iter(range(1000))

    def fresh() -> Settings:
        home = base / f"run{next(runs)}"
        return Settings.from_env({}, home=home, db_path=home / "ledger.db", gateway_db=home / "gateway.db")

    single = lambda: raw_sqlite(base, count // 2, 1)  # noqa: E731
    grouped, raw1 = interleaved(lambda: commands_per_second(fresh(), count, True), single, rounds)
    logged, raw1c = interleaved(lambda: logged_commands_per_second(fresh(), count), single, rounds)
    plain, raw1b = interleaved(lambda: commands_per_second(fresh(), count // 2, False), single, rounds)
    append, raw100 = interleaved(lambda: append_per_second(fresh(), count * 5),
                                 lambda: raw_sqlite(base, count * 5, 100), rounds)
    return [
        Row(f"SQLite FULL: durable commands/s, group commit, {CALLERS} callers (vs raw sqlite3 1-row commits)",
            grouped, raw1, "cmd/s", ">= 1.5"),
        Row("  the same with INFO JSON logs written to a file, as in production (vs raw 1-row commits)",
            logged, raw1c, "cmd/s", "printed"),
        Row(f"SQLite FULL: durable commands/s, one transaction each, {CALLERS} callers (vs raw 1-row commits)",
            plain, raw1b, "cmd/s", "printed"),
        Row("SQLite FULL: store.save of 100 events on 100 accounts (events/s, vs raw sqlite3 100-row txns)",
            append, raw100, "ev/s", "printed"),
    ]


def postgres_rows(quick: bool) -> list[Row]:
    """Write path on PostgreSQL (skipped without a DSN)."""
    dsn = postgres_dsn()
    if not dsn:
        return [Row("PostgreSQL rows skipped: set LEDGER_BENCH_POSTGRES_DSN", 0, 0, "", "-")]
    count, rounds = (1500, 2) if quick else (4000, 3)
    with postgres_scratch(dsn) as new_schema, tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        schema = new_schema()

        def fresh() -> Settings:
            return Settings.from_env({}, store="postgres", postgres_dsn=dsn, postgres_schema=new_schema(),
                                     home=Path(folder), gateway_db=Path(folder) / f"gw-{uuid.uuid4().hex}.db")

        single = lambda: raw_postgres(dsn, schema, count // 2, 1)  # noqa: E731
        grouped, raw1 = interleaved(lambda: commands_per_second(fresh(), count, True), single, rounds)
        plain, raw1b = interleaved(lambda: commands_per_second(fresh(), count // 2, False), single, rounds)
        append, raw100 = interleaved(lambda: append_per_second(fresh(), count * 5),
                                     lambda: raw_postgres(dsn, schema, count * 5, 100), rounds)
    return [
        Row(f"PostgreSQL: commands/s, group commit, {CALLERS} callers (vs raw psycopg 1-row commits)", grouped, raw1,
            "cmd/s", "printed"),
        Row(f"PostgreSQL: commands/s, one transaction each, {CALLERS} callers (vs raw psycopg 1-row commits)", plain,
            raw1b, "cmd/s", "printed"),
        Row("PostgreSQL: store.save of 100 events on 100 accounts (events/s, vs raw psycopg 100-row txns)",
            append, raw100, "ev/s", "printed"),
    ]


def run(quick: bool = False) -> list[Row]:
    """Every row of this benchmark."""
    configure_logging(quiet=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        base = Path(folder)
        rows += sqlite_rows(base, quick)
        rows += postgres_rows(quick)
        events = 20_000 if quick else 100_000
        loaded, replayed, written = long_history_load(base / "long", events)
    rows.append(Row(f"cold load of one account with {written:,} generated events via snapshot (ms, vs full replay)",
                    loaded, replayed, "ms", "< 50 ms"))
    small, large = distribution_ms(1_000), distribution_ms(10_000)
    rows.append(Row("distribute 1 payment over 10,000 open invoices (ms, vs 10 x 1,000 invoices)", large, small * 10,
                    "ms", "< 5 ms, ratio ~1 (linear)"))
    return rows


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(args.quick):
        print(f"{row.measure:95} ours {row.ours:10,.1f}  baseline {row.baseline:10,.1f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
