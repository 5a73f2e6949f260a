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
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec

from bench import Row
from bench.baselines import CALLERS, concurrently
from bench.generator import HistoryGenerator
from bench.projection_floors import audit_in_sqlite, ceiling, raw_read_decode, raw_write_seconds
from ledger.bootstrap import build
from ledger.commands import messages as m
from ledger.config import Settings
from ledger.logs import configure_logging
from ledger.projections import fresh
from ledger.projections.follower import FollowerProcess
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.rebuild import ProjectionFiles, peak_rss_mb
from ledger.projections.runner import StoreLog
from ledger.store.application import LedgerStore

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
            home.mkdir(mode=0o700, parents=True)  # the ledger refuses a home others can read
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
        args.keep.mkdir(mode=0o700, parents=True, exist_ok=True)
    for row in run(events=args.events, folder=args.keep):
        print(f"{row.measure:60} ours {row.ours:12,.0f}  baseline {row.baseline:12,.0f}  ratio {row.ratio:5.2f}"
              f"  goal {row.goal}")


if __name__ == "__main__":
    main()
