"""``make bench``: every benchmark, one table: measure, our figure, the raw baseline measured in the same run,
the ratio and the goal. Each benchmark module exposes ``run(quick: bool) -> list[Row]``.

    python -m bench [--quick] [--only store,projections,relay]
"""

from __future__ import annotations

import argparse
import importlib
import platform

from rich.console import Console
from rich.table import Table

from ledger.logs import configure_logging

MODULES = ("store", "projections", "relay")


def main() -> None:
    """Run the benchmarks and print the table (with the machine it ran on)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data sets (minutes, not tens of minutes)")
    parser.add_argument("--only", default=",".join(MODULES))
    args = parser.parse_args()
    configure_logging(quiet=True)
    table = Table(title=f"payment-ledger benchmarks on {platform.machine()} {platform.processor() or ''} "
                        f"Python {platform.python_version()}")
    for column in ("measure", "ours", "baseline", "ratio", "goal"):
        table.add_column(column, justify="left" if column in ("measure", "goal") else "right")
    for name in args.only.split(","):
        module = importlib.import_module(f"bench.{name}")
        for row in module.run(args.quick):
            table.add_row(row.measure, f"{row.ours:,.1f}", f"{row.baseline:,.1f}", f"{row.ratio:.2f}", row.goal)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
