"""Benchmark: rebuild every projection over a generated log, against a raw read + msgspec decode of the same log.

    python -m bench.projections [--events 1000000] [--keep DIR]

Prints events/s of the rebuild, the raw baseline measured in the same run, their ratio (goal >= 0.5), the
rebuild against the raw cost of writing the rows it wrote (the floor the read models set), and the peak RSS of
this process and of the largest rebuild process (one per projection on big logs).
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from bench import Row
from bench.generator import HistoryGenerator
from ledger.config import Settings
from ledger.projections import fresh
from ledger.projections.rebuild import PARALLEL_FROM, ProjectionFiles
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


def raw_write_floor(folder: Path, events: int) -> float:
    """Events/s at which raw sqlite3 ``executemany`` alone writes the rows a rebuild of ``events`` events wrote.

    Every row of every rebuilt projection file is copied into a fresh file of the same tables (staging
    pragmas, secondary indexes left out as in a rebuild); only the inserts are timed. No Python at all runs per
    event here, so a rebuild cannot beat this figure with these read models on this machine.
    """
    spent = 0.0
    for built in sorted(folder.glob("*.db")):
        source = sqlite3.connect(built)
        copy_path = folder / f"{built.stem}.floor"
        copy_path.unlink(missing_ok=True)
        copy = sqlite3.connect(copy_path, isolation_level=None)
        copy.execute("pragma journal_mode=memory")
        copy.execute("pragma synchronous=off")
        copy.execute("pragma cache_size=-65536")
        tables = source.execute("select name, sql from sqlite_master where type = 'table' and name != '_position'")
        for name, sql in tables.fetchall():
            copy.execute(sql)
            cursor = source.execute(f"select * from {name}")
            while rows := cursor.fetchmany(50_000):
                started = time.perf_counter()
                copy.execute("begin")
                copy.executemany(f"insert into {name} values ({', '.join('?' * len(rows[0]))})", rows)
                copy.execute("commit")
                spent += time.perf_counter() - started
        copy.close()
        source.close()
        copy_path.unlink()
    return events / spent if spent else 0.0


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
        floor = raw_write_floor(home / "projections", total)
        parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        processes = len(fresh()) if total >= PARALLEL_FROM else 0
        return [Row(f"rebuild all projections ({total:,} events, events/s)", ours, baseline, "events/s", ">= 0.5"),
                Row("  the same rebuild vs raw sqlite3 executemany of the rows it wrote (events/s)", ours, floor,
                    "events/s", "printed"),
                Row("peak RSS of the run (MB, this process incl. generator)", parent_mb, 500, "MB",
                    "< 500 MB (ratio <= 1)"),
                Row(f"peak RSS of the largest of {processes} rebuild processes (MB)", child_mb, 500, "MB",
                    "< 500 MB (ratio <= 1)")]


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="Folder to keep (and reuse) the generated log in.")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    for row in run(events=args.events, folder=args.keep):
        print(f"{row.measure:60} ours {row.ours:12,.0f}  baseline {row.baseline:12,.0f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
