"""``make bench``: every benchmark, one table: measure, our figure, the raw baseline measured in the same run,
the ratio (ours / baseline) and the goal, headed by the machine it ran on.

    python -m bench [--quick] [--only store,projections,relay,sealing,service,portal] [--markdown]

The interface a benchmark module implements (``bench/<name>.py``, listed in ``MODULES``)::

    def run(quick: bool) -> list[Row]: ...

where each row has ``measure: str``, ``ours: float``, ``baseline: float``, ``unit: str``, ``goal: str`` and a
``ratio`` (``ours / baseline``); ``bench.Row`` is that struct. ``quick`` asks for data sets that
take minutes, not tens of minutes. Baselines are raw operations on the same machine in the same run (raw
sqlite3 or psycopg inserts, a raw read + msgspec decode, raw nats-py ``publish_async``), so the ratio stays
meaningful on a noisy shared machine. A module that fails or cannot be imported prints one row saying so; the
other modules still run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sqlite3
import time
import traceback
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import Row
from ledger.logs import configure_logging

MODULES = ("store", "projections", "relay", "sealing", "service", "portal")
COLUMNS = ("measure", "ours", "baseline", "ratio", "goal")


def machine() -> str:
    """CPU, cores, memory, Python, SQLite and (when configured) PostgreSQL versions, and the date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
        with open("/proc/meminfo") as info:
            memory = f"{int(info.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "?"
    parts = [cpu, f"{os.cpu_count()} cores", memory, f"Python {platform.python_version()}",
             f"SQLite {sqlite3.sqlite_version}"]
    dsn = os.environ.get("LEDGER_BENCH_POSTGRES_DSN") or os.environ.get("LEDGER_TEST_POSTGRES_DSN")
    if dsn:
        try:
            import psycopg

            with psycopg.connect(dsn, connect_timeout=3) as conn:
                parts.append(f"PostgreSQL {conn.info.server_version // 10000}.{conn.info.server_version % 10000}")
        except Exception:
            parts.append("PostgreSQL unreachable")
    return ", ".join(parts) + time.strftime(", %Y-%m-%d")


def collect(names: list[str], quick: bool) -> list[tuple[str, str, str, str, str]]:
    """Run each module and format its rows; a failing module becomes one explanatory row."""
    lines: list[tuple[str, str, str, str, str]] = []
    for name in names:
        try:
            module: Any = importlib.import_module(f"bench.{name}")
            rows: list[Row] = list(module.run(quick))
        except Exception as error:
            traceback.print_exc()
            lines.append((f"bench.{name}: FAILED ({type(error).__name__}: {error})"[:110], "-", "-", "-", "-"))
            continue
        for row in rows:
            lines.append((row.measure, _number(row.ours), _number(row.baseline),
                          f"{row.ratio:.2f}" if row.baseline else "-", row.goal))
    return lines


def _number(value: float) -> str:
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


def markdown(title: str, lines: list[tuple[str, str, str, str, str]]) -> str:
    """The table as Markdown (for the README)."""
    out = [title, "", "| " + " | ".join(COLUMNS) + " |", "| --- | ---: | ---: | ---: | --- |"]
    out += ["| " + " | ".join(cells) + " |" for cells in lines]
    return "\n".join(out)


def main() -> None:
    """Run the benchmarks and print the table (with the machine it ran on)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data sets (minutes, not tens of minutes)")
    parser.add_argument("--only", default=",".join(MODULES), help="comma-separated modules of bench/")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    args = parser.parse_args()
    configure_logging(quiet=True)
    title = f"payment-ledger benchmarks{' (--quick)' if args.quick else ''} on {machine()}"
    lines = collect([n for n in args.only.split(",") if n], args.quick)
    if args.markdown:
        print(markdown(title, lines))
        return
    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("measure", "goal") else "right")
    for cells in lines:
        table.add_row(*cells)
    Console(width=170).print(table)


if __name__ == "__main__":
    main()
