"""The floors a projection rebuild is measured against (see :mod:`bench.projections`): a raw read + msgspec
decode of the log, raw sqlite3 writes of the rows a rebuild wrote, the ideal rebuild those allow on this
machine's cores, and SQLite alone building the audit log's table.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ledger.projections.audit_log import LAYOUT as AUDIT_LAYOUT
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

