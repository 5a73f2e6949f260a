"""Sums in SQLite that cannot overflow, whatever the log holds (issue 15).

SQLite's ``sum`` of integers fails with "integer overflow" past 2**63 - 1, and an event can never be removed: a
read model whose view sums amounts would fail on every read (and a projection whose batch reads such a sum on
every batch) from the event that passed it, for ever. Every amount the ledger stores fits in 64 bits (one
command's amount is capped, ``ledger.money``), so a sum is taken in two halves: the high part of each value
(``value >> 32``) and the low 32 bits (``value & 0xFFFFFFFF``), each of which would need over two thousand
million rows to overflow; :func:`joined` adds them back into a Python int, exact. Arithmetic shift and mask are
floor division and remainder, so negative values split exactly too.
"""

from __future__ import annotations

from collections.abc import Mapping

_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1


def split_sum(expression: str, name: str, where: str = "") -> str:
    """SQL for the two columns ``NAME_high, NAME_low`` of the exact sum of ``expression`` (over ``where``, a
    ``from ... where ...`` clause for a correlated subquery, or the enclosing query's rows when empty)."""
    if not where:
        return (f"coalesce(sum(({expression}) >> {_LOW_BITS}), 0) as {name}_high, "
                f"coalesce(sum(({expression}) & {_LOW_MASK}), 0) as {name}_low")
    return (f"coalesce((select sum(({expression}) >> {_LOW_BITS}) {where}), 0) as {name}_high, "
            f"coalesce((select sum(({expression}) & {_LOW_MASK}) {where}), 0) as {name}_low")


def joined(row: Mapping[str, int], name: str) -> int:
    """The exact sum that :func:`split_sum` named ``name`` returned in ``row``."""
    return (int(row[f"{name}_high"]) << _LOW_BITS) + int(row[f"{name}_low"])

