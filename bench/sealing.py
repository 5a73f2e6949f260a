"""What sealing personal data costs (:mod:`ledger.personal.vault`) on the group-commit and relay benches: the
ledger as it runs (email and name sealed with AES-256-GCM under a data key of the account, the key written
durably to ``keys.db`` when the account opens) beside the same ledger with a pass-through vault put in its place
(:class:`bench.baselines.PassThroughVault`: nothing sealed, no key written; the ledger itself has no switch that
turns sealing off), each against a raw baseline measured in the same run, all sides interleaved.

* Group commit (SQLite FULL; PostgreSQL when ``LEDGER_BENCH_POSTGRES_DSN`` or ``LEDGER_TEST_POSTGRES_DSN`` is
  set), CALLERS concurrent callers: ``OpenAccount`` with an email and a name, the command that seals, sealed and
  pass-through; and ``IssueCredit``, which seals nothing, on accounts opened either way; against raw 1-row
  commits of the same database.
* Relay: a log of ``AccountOpened`` events written sealed, and the same log written with the pass-through vault
  (smaller messages: no base64 ciphertext), each relayed to JetStream and published raw with nats-py.

    python -m bench.sealing [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats

from bench import Row
from bench.baselines import (
    CALLERS,
    PassThroughVault,
    concurrently,
    interleaved_sides,
    pass_through,
    postgres_dsn,
    postgres_scratch,
    raw_postgres,
    raw_sqlite,
)
from bench.relay import fresh_stream, raw_publish
from bench.store import _fields, commands_per_second
from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.natsserver import NatsServerProcess
from ledger.personal.keys import SqliteKeys
from ledger.personal.vault import PREFIX, Vault
from ledger.ports.ids import account_uuid
from ledger.store.application import LedgerStore
from workers.relay import Relay


def opens_per_second(settings: Settings, count: int, sealing: bool) -> float:
    """Durable ``OpenAccount``/s through group commit from CALLERS concurrent callers, each opening accounts with
    an email and a name; ``sealing=False``: with the pass-through vault. Checked after: every account is there,
    its email sealed or not as asked (a caller that failed would otherwise only make the figure look better)."""
    ledger = build(Settings(**{**_fields(settings), "group_commit": True}))
    if not sealing:
        pass_through(ledger.store)
    per_caller = max(count // CALLERS, 1)

    def caller(n: int) -> None:
        for i in range(per_caller):
            ledger.service.handle(m.OpenAccount(account=f"O{n}-{i}", email=f"owner{n}.{i}@example.com",
                                                name=f"Olive Owner {n}-{i}"))

    rate = per_caller * CALLERS / concurrently(caller)
    for n in range(CALLERS):
        email = ledger.store.account(account_uuid(f"O{n}-{per_caller - 1}")).state.email
        if email.startswith(PREFIX) != sealing:
            raise RuntimeError(f"account O{n}-{per_caller - 1} has its email {'not ' if sealing else ''}sealed")
    ledger.close()
    return rate


def group_commit_rows(store: str, fresh: Callable[[], Settings], raw: Callable[[], float], sizes: tuple[int, int],
                      rounds: int) -> list[Row]:
    """Opens and credits through group commit on ``store`` (each run on a ``fresh`` ledger), sealed and
    pass-through, against ``raw`` 1-row commits of the same database; ``sizes``: (opens, credits) a run."""
    opens, credits = sizes
    sides: list[Callable[[], float]] = [
        lambda: opens_per_second(fresh(), opens, True), lambda: opens_per_second(fresh(), opens, False),
        lambda: commands_per_second(fresh(), credits, True, True),
        lambda: commands_per_second(fresh(), credits, True, False)]
    (sealed, plain, credit_sealed, credit_plain), baseline = interleaved_sides(sides, raw, rounds)
    return [
        Row(f"{store}: account opens/s (email + name sealed), group commit, {CALLERS} callers (vs raw 1-row commits)",
            sealed, baseline, "opens/s", "printed"),
        Row("  the same with a pass-through vault: nothing sealed, no key written (vs raw 1-row commits)", plain,
            baseline, "opens/s", "printed"),
        Row("  opens/s sealed (vs pass-through): what sealing costs an account's opening", sealed, plain, "opens/s",
            "printed"),
        Row(f"{store}: credits/s (seal nothing), group commit, {CALLERS} callers, accounts opened sealed (vs raw)",
            credit_sealed, baseline, "cmd/s", "printed"),
        Row("  the same on accounts opened with the pass-through vault (vs raw 1-row commits)", credit_plain,
            baseline, "cmd/s", "printed"),
        Row("  credits/s, sealed accounts (vs pass-through): ~1, a credit seals nothing", credit_sealed, credit_plain,
            "cmd/s", "printed"),
    ]


def seal_microseconds(base: Path, count: int) -> tuple[float, float]:
    """(us of an account's first seal, which writes its data key durably to a fresh ``keys.db``; us of a later
    seal, the key read, unwrapped and used), one thread, ``count`` accounts."""
    keys = SqliteKeys(base / f"micro-{uuid.uuid4().hex}.db")
    vault = Vault(keys, os.urandom(32))
    accounts = [account_uuid(f"M{n}") for n in range(count)]
    times = []
    for _ in range(2):
        started = time.perf_counter()
        for account in accounts:
            vault.seal(account, "micro@example.com")
        times.append((time.perf_counter() - started) / count * 1e6)
    vault.close()
    return times[0], times[1]


def sqlite_rows(base: Path, quick: bool, rounds: int) -> list[Row]:
    """Group commit on SQLite with synchronous=FULL."""
    sizes = (2048, 6000) if quick else (6144, 16000)
    runs = iter(range(1000))

    def fresh() -> Settings:
        home = base / f"run{next(runs)}"
        return Settings.from_env({}, home=home, db_path=home / "ledger.db", gateway_db=home / "gateway.db")

    rows = group_commit_rows("SQLite FULL", fresh, lambda: raw_sqlite(base, sizes[1] // 2, 1), sizes, rounds)
    first, later = seal_microseconds(base, 1000)
    commit = 1e6 / raw_sqlite(base, 1000, 1)
    return [*rows,
            Row("  one thread: an account's first seal, its data key written to keys.db (us, vs a raw 1-row commit)",
                first, commit, "us", "printed"),
            Row("  one thread: a later seal, the key read and unwrapped (us, vs the first seal)", later, first, "us",
                "printed")]


def postgres_rows(quick: bool, rounds: int) -> list[Row]:
    """Group commit on PostgreSQL, the data keys in its schema (skipped without a DSN)."""
    dsn = postgres_dsn()
    if not dsn:
        return [Row("PostgreSQL rows skipped: set LEDGER_BENCH_POSTGRES_DSN", 0, 0, "", "-")]
    sizes = (1024, 3000) if quick else (3072, 8000)
    with postgres_scratch(dsn) as new_schema, tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        schema = new_schema()

        def fresh() -> Settings:
            home = Path(folder) / uuid.uuid4().hex
            return Settings.from_env({}, store="postgres", postgres_dsn=dsn, postgres_schema=new_schema(),
                                     home=home, gateway_db=home / "gateway.db")

        return group_commit_rows("PostgreSQL", fresh, lambda: raw_postgres(dsn, schema, sizes[1] // 2, 1), sizes,
                                 rounds)


def opened_log(home: Path, accounts: int, vault: Vault | PassThroughVault) -> LedgerStore:
    """A store whose log is ``accounts`` AccountOpened events, email and name sealed by ``vault``."""
    store = LedgerStore(Settings.from_env({}, home=home, db_path=home / "ledger.db"))
    ctx = ev.Context(at=datetime(2026, 1, 1, tzinfo=UTC))
    for start in range(0, accounts, 500):
        batch = []
        for n in range(start, min(start + 500, accounts)):
            aggregate_id = account_uuid(f"R{n}")
            batch.append(Account.open(ctx, aggregate_id=aggregate_id, account_id=f"R{n}", currency="USD",
                                      email=vault.seal(aggregate_id, f"reader{n}@example.com"),
                                      name=vault.seal(aggregate_id, f"Rita Reader {n}")))
        store.save(*batch)
    return store


async def relay_rate(store: LedgerStore, js: Any, events: int) -> float:
    """events/s of the relay publishing ``store``'s whole log to a fresh stream."""
    await fresh_stream(js)
    relay = Relay(store, js, batch=1000)
    started = time.perf_counter()
    while await relay.publish_batch():
        pass
    return events / (time.perf_counter() - started)


async def relay_sides(url: str, stores: list[LedgerStore], rounds: int) -> list[tuple[float, float, int]]:
    """(median relay events/s, median raw publish msgs/s, mean message bytes) of each store's log; per round
    and log raw then relay, the logs in turn (reversed every other round), raw once more at the end."""
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=4000)
    logs = [store.recorder.select_notifications(start=1, limit=10**9) for store in stores]
    relays: list[list[float]] = [[] for _ in stores]
    raws: list[list[float]] = [[] for _ in stores]
    for turn in range(rounds + 1):
        order = list(range(len(stores))) if turn % 2 == 0 else list(reversed(range(len(stores))))
        for n in order:
            await fresh_stream(js)
            raws[n].append(await raw_publish(js, logs[n]))
            if turn < rounds:
                relays[n].append(await relay_rate(stores[n], js, len(logs[n])))
    await nc.close()
    return [(statistics.median(relays[n]), statistics.median(raws[n]),
             sum(len(note.state) for note in logs[n]) // len(logs[n])) for n in range(len(stores))]


async def relay_rows(base: Path, quick: bool, rounds: int) -> list[Row]:
    """The relay on a sealed log and on the same log written with the pass-through vault."""
    accounts = 10_000 if quick else 20_000
    keys = SqliteKeys(base / "relay-keys.db")
    keys.db.execute("pragma synchronous = off")  # writing the log is set-up, not measured
    sealed_store = opened_log(base / "sealed", accounts, Vault(keys, os.urandom(32)))
    plain_store = opened_log(base / "plain", accounts, PassThroughVault())
    with NatsServerProcess(base / "nats") as server:
        (sealed, raw_sealed, size_sealed), (plain, raw_plain, size_plain) = await relay_sides(
            server.url, [sealed_store, plain_store], rounds)
    for store in (sealed_store, plain_store):
        store.close()
    keys.close()
    return [
        Row(f"relay to JetStream, {accounts:,} AccountOpened sealed ({size_sealed} B each; events/s, vs raw publish)",
            sealed, raw_sealed, "events/s", ">= 0.7"),
        Row(f"  the same log written with a pass-through vault ({size_plain} B each; vs raw publish of it)", plain,
            raw_plain, "events/s", ">= 0.7"),
        Row("  relay events/s, sealed log (vs pass-through log): what sealing costs the relay", sealed, plain,
            "events/s", "printed"),
        Row("  raw publish msgs/s, sealed log (vs pass-through log): what the bigger messages cost NATS alone",
            raw_sealed, raw_plain, "msgs/s", "printed"),
    ]


def run(quick: bool = False, rounds: int = 0) -> list[Row]:
    """Every row of this benchmark (``rounds``: interleaved rounds of each side, 0 for 3 quick, else 5)."""
    configure_logging(quiet=True)
    rounds = rounds or (3 if quick else 5)
    with tempfile.TemporaryDirectory(prefix="bench-sealing-") as folder:
        base = Path(folder)
        return sqlite_rows(base, quick, rounds) + postgres_rows(quick, rounds) + \
            asyncio.run(relay_rows(base, quick, rounds))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=0)
    args = parser.parse_args()
    for row in run(args.quick, args.rounds):
        print(f"{row.measure:100} ours {row.ours:10,.1f}  baseline {row.baseline:10,.1f}  ratio {row.ratio:5.2f}")


if __name__ == "__main__":
    main()
