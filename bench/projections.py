"""Benchmark: rebuild every projection over a generated log, against a raw read + msgspec decode of the same log.

    python -m bench.projections [--events 1000000] [--keep DIR]

Prints events/s of the rebuild, the raw baseline measured in the same run, their ratio (goal >= 0.5), the
rebuild against the raw cost of writing the rows it wrote and their indexes, the ideal rebuild those writes allow
on this machine's cores (the ceiling the read models set), the peak RSS of the largest rebuild process (one per
projection on big logs), the speed and peak RSS of an as-of replay of the whole log in a process of its own,
and whether the live projections keep up with the writer: group-commit commands/s with the projection follower
running beside it as in ``ledger serve`` (vs without), how far behind it was when the writers stopped and how
long it took to catch up.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec

from bench import Row
from bench.generator import HistoryGenerator
from bench.store import CALLERS, concurrently
from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.projections import fresh
from ledger.projections.audit_log import LAYOUT as AUDIT_LAYOUT
from ledger.projections.follower import FollowerProcess
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.rebuild import ProjectionFiles, peak_rss_mb
from ledger.projections.runner import StoreLog
from ledger.store.application import LedgerStore
from ledger.store.mapper import decode_event


def raw_read_decode(db_path: Path) -> float:
    """Events/s of reading the events table with sqlite3 and decoding each with msgspec (the floor)."""
    db = sqlite3.connect(db_path)
    started = time.perf_counter()
    count = 0
    cursor = db.execute("select topic, state from stored_events order by rowid")
    while True:
        rows = cursor.fetchmany(10_000)
        if not rows:
            break
        for topic, state in rows:
            decode_event(topic, state)
        count += len(rows)
    return count / (time.perf_counter() - started)


def raw_write_seconds(folder: Path) -> dict[str, float]:
    """Seconds raw sqlite3 takes to write the rows a rebuild wrote and to index them, by projection file.

    Every row of every rebuilt projection file is copied with ``executemany`` into a fresh file of the same
    tables (staging pragmas), then the file's secondary indexes are created over them, as a rebuild does; only
    the inserts and the index builds are timed. No Python runs per event here: a rebuild of these read models
    cannot write them faster on this machine.
    """
    spent: dict[str, float] = {}
    for built in sorted(folder.glob("*.db")):
        source = sqlite3.connect(built)
        copy_path = folder / f"{built.stem}.floor"
        copy_path.unlink(missing_ok=True)
        copy = sqlite3.connect(copy_path, isolation_level=None)
        copy.execute("pragma journal_mode=memory")
        copy.execute("pragma synchronous=off")
        copy.execute("pragma cache_size=-65536")
        seconds = 0.0
        tables = source.execute("select name, sql from sqlite_master where type = 'table' and name != '_position'")
        for name, sql in tables.fetchall():
            copy.execute(sql)
            cursor = source.execute(f"select * from {name}")
            while rows := cursor.fetchmany(50_000):
                started = time.perf_counter()
                copy.execute("begin")
                copy.executemany(f"insert into {name} values ({', '.join('?' * len(rows[0]))})", rows)
                copy.execute("commit")
                seconds += time.perf_counter() - started
        indexes = source.execute("select sql from sqlite_master where type = 'index' and sql is not null")
        for (sql,) in indexes.fetchall():
            started = time.perf_counter()
            copy.execute(sql)
            seconds += time.perf_counter() - started
        spent[built.stem] = seconds
        copy.close()
        source.close()
        copy_path.unlink()
    return spent


def ceiling(events: int, baseline: float, writes: dict[str, float], cores: int) -> float:
    """Events/s of an ideal rebuild of these read models on ``cores`` cores: it reads and decodes the log once
    (at the baseline's speed), spends no Python at all per event beyond that, and shares the reading and the
    raw writes of ``writes`` perfectly between the cores, except that one SQLite file is written by one core.

    Every real rebuild is slower; when this is under half the baseline, the goal cannot be met here.
    """
    reading = events / baseline
    wall = max((reading + sum(writes.values())) / cores, max(writes.values(), default=0.0))
    return events / wall if wall else 0.0


def audit_in_sqlite(db_path: Path, folder: Path) -> float:
    """Events/s at which SQLite alone builds the audit log's table from the log: one ``INSERT ... SELECT`` over
    the attached event store with ``json_extract`` for each column (no Python per event, no words rendered: the
    event's JSON stands in for its details, its type for its comment), secondary indexes left out as in a
    rebuild. A lower bound on the cost of that one read model, whatever engine builds it."""
    path = folder / "audit.sqlonly"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("pragma journal_mode=memory")
    db.execute("pragma synchronous=off")
    db.execute("pragma cache_size=-65536")
    db.execute("attach ? as log", (f"file:{db_path}?mode=ro",))
    AUDIT_LAYOUT.create(db, indexes=False)
    started = time.perf_counter()
    db.execute("begin")
    inserted = db.execute(
        "insert into audit_log select rowid, originator_version, json_extract(state, '$.timestamp'), "
        "json_extract(state, '$.by.kind'), json_extract(state, '$.by.name'), json_extract(state, '$.by.channel'), "
        "originator_id, null, substr(topic, 1, instr(topic, ':') - 1), substr(topic, 1, instr(topic, ':') - 1), "
        "state from log.stored_events").rowcount
    db.execute("commit")
    spent = time.perf_counter() - started
    db.close()
    path.unlink()
    return inserted / spent


REPLAY = """
import sys, time
from datetime import datetime, timezone
from pathlib import Path
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.projections.rebuild import peak_rss_mb
from ledger.store.application import LedgerStore
from replay.asof import balances_as_of
configure_logging(quiet=True)
path = Path(sys.argv[1])
store = LedgerStore(Settings.from_env({}, home=path.parent, db_path=path))
started = time.perf_counter()
balances_as_of(store, datetime(9999, 1, 1, tzinfo=timezone.utc))
print(peak_rss_mb(), time.perf_counter() - started)
"""


def replay_in_subprocess(db_path: Path, events: int) -> tuple[float, float]:
    """(peak RSS in MB, events/s) of ``ledger replay balances --as-of`` over the whole log, run in a fresh
    process so that its memory is its own."""
    done = subprocess.run([sys.executable, "-c", REPLAY, str(db_path)], capture_output=True, text=True,
                          check=True)
    peak, seconds = (float(x) for x in done.stdout.split())
    return peak, events / seconds


def live_commands_per_second(home: Path, pairs: int, follower: str) -> tuple[float, int, float]:
    """Group commit from CALLERS callers, each issuing an invoice and paying it (4 events per pair), with the
    projection follower running beside them as ``ledger serve`` runs it (``follower="process"``), as a thread
    of the same process (``"thread"``, how serve ran it before) or not at all (``"none"``).

    Returns (commands/s, events the projections were behind when the last command returned, seconds the
    follower then took to catch up).
    """
    settings = msgspec.structs.replace(
        Settings.from_env({}, home=home, db_path=home / "ledger.db", gateway_db=home / "gateway.db"),
        group_commit=True)
    ledger = build(settings)
    service = ledger.service
    for n in range(CALLERS):
        service.handle(m.OpenAccount(account=f"L{n}", email=f"l{n}@example.com"))
    watcher = ProjectionKeeper(ledger.store, home)
    watcher.catch_up()
    stop = threading.Event()
    process = FollowerProcess(settings, quiet=True) if follower == "process" else None
    thread = threading.Thread(target=watcher.follow, args=(stop,), daemon=True) if follower == "thread" else None
    per_caller = max(pairs // CALLERS, 1)

    def caller(n: int) -> None:
        for i in range(per_caller):
            service.handle(m.IssueInvoice(account=f"L{n}", invoice=f"I{i}", amount="10.00", date="2026-09-01",
                                          due="2026-09-30"))
            service.handle(m.SubmitPayment(account=f"L{n}", payment=f"P{i}", amount="10.00", method="card",
                                           token="tok_visa", invoices={f"I{i}": "10.00"}))

    for running in (process, thread):
        if running is not None:
            running.start()
    rate = 2 * per_caller * CALLERS / concurrently(caller)
    behind = max(s.lag for s in watcher.status())
    drained = time.perf_counter()
    if follower != "none":
        while any(s.lag for s in watcher.status()):
            time.sleep(0.01)
    drain = time.perf_counter() - drained
    stop.set()
    if thread is not None:
        thread.join()
    if process is not None:
        process.stop()
    watcher.close()
    ledger.close()
    return rate, behind, drain


def live_rows(base: Path, quick: bool) -> list[Row]:
    """Commands/s with the live projections following (vs without), and how far behind they were."""
    pairs = 2_000 if quick else 8_000
    runs = iter(range(100))

    def median_of(follower: str) -> tuple[float, int, float]:
        results = []
        for _ in range(2):
            home = base / f"live{next(runs)}"
            home.mkdir(parents=True)
            results.append(live_commands_per_second(home, pairs, follower))
        return (statistics.median(r for r, _, _ in results), max(b for _, b, _ in results),
                max(d for _, _, d in results))

    plain, _, _ = median_of("none")
    rate, behind, drain = median_of("process")
    threaded, _, _ = median_of("thread")
    events = 4 * max(pairs // CALLERS, 1) * CALLERS
    return [Row("group commit with the live projections following in their own process, as in serve (quiet "
                "logs; cmd/s, vs without)", rate, plain, "cmd/s", "printed"),
            Row(f"  events the projections were behind when the writers stopped (of {events:,} written)", behind,
                events, "events", "printed"),
            Row("  seconds the follower then took to catch up (baseline: 1 s)", drain, 1.0, "s", "printed"),
            Row("  the follower as a thread of the writing process instead (cmd/s, vs without)", threaded, plain,
                "cmd/s", "printed")]


def run(quick: bool = False, events: int | None = None, folder: Path | None = None) -> list[Row]:
    """Generate the log (unless already there), then time a rebuild and the raw baseline."""
    events = events or (100_000 if quick else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="bench-projections-") as scratch:
        home = folder or Path(scratch)
        settings = Settings.from_env({}, home=home, db_path=home / "ledger.db")
        store = LedgerStore(settings)
        have = store.recorder.max_notification_id() or 0
        if have < events:
            HistoryGenerator(store).run(events - have)
        total = store.recorder.max_notification_id() or 0
        baseline = raw_read_decode(settings.db_path)
        files = ProjectionFiles(home / "projections")
        started = time.perf_counter()
        applied = files.rebuild(fresh(), StoreLog(store), batch=20_000)
        ours = applied / (time.perf_counter() - started)
        store.close()
        writes = raw_write_seconds(home / "projections")
        cores = len(os.sched_getaffinity(0))
        audit_only = audit_in_sqlite(settings.db_path, home / "projections")
        # A log under the parallel threshold is rebuilt in this process: its peak then includes the generator's.
        largest = max(files.peaks.items(), key=lambda item: item[1],
                      default=("all, in the bench process itself", peak_rss_mb()))
        replay_mb, replay_rate = replay_in_subprocess(settings.db_path, total)
        live = live_rows(Path(scratch), quick)
        return [Row(f"rebuild all projections ({total:,} events, events/s)", ours, baseline, "events/s", ">= 0.5"),
                Row("  the same rebuild vs raw sqlite3 writing the rows it wrote and their indexes (events/s)", ours,
                    total / sum(writes.values()), "events/s", "printed"),
                Row(f"  ideal rebuild: one read + decode, no Python per event, raw writes shared by {cores} cores "
                    "(events/s, vs raw read + decode)", ceiling(total, baseline, writes, cores), baseline,
                    "events/s", "printed: under 0.5, the goal is out of reach here"),
                Row("  the audit log's table alone built inside SQLite, no Python per event (events/s, vs raw read + "
                    "decode)", audit_only, baseline, "events/s", "printed"),
                Row(f"peak RSS of the largest rebuild process ({largest[0]}, MB; baseline: the goal)", largest[1],
                    500, "MB", "< 500 MB (ratio < 1)"),
                Row("replay balances --as-of over the whole log (events/s, vs raw read + decode)", replay_rate,
                    baseline, "events/s", "printed"),
                Row("peak RSS of that replay, in a process of its own (MB; baseline: the goal)", replay_mb, 500,
                    "MB", "< 500 MB (ratio < 1)"), *live]


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Folder to keep (and reuse) the generated log in.")
    args = parser.parse_args()
    configure_logging(quiet=True)  # a rebuild logs a line per batch and the generator one per command
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    for row in run(events=args.events, folder=args.keep):
        print(f"{row.measure:60} ours {row.ours:12,.0f}  baseline {row.baseline:12,.0f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
