"""The allocation engine: how a payment's money and open credits reach invoices and orders.

Pure functions over amounts (seed 001, Web Pay): an amount is distributed oldest invoice first, or entered per
invoice; an invoice is never applied past its open amount, the excess becomes credit; open credits are applied
automatically with any payment. Nothing here reads a clock, a store or the network.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ledger.aggregates.events.payments import Line, TargetKind

#: An open item: (kind, id, open amount), given oldest first where order matters.
OpenItem = tuple[TargetKind, str, int]


class Allocation(msgspec.Struct, frozen=True):
    """Where one payment's money goes: applied lines and the excess that becomes credit."""

    lines: tuple[Line, ...]
    excess: int


def distribute(amount: int, open_items: Sequence[OpenItem]) -> Allocation:
    """Apply ``amount`` to ``open_items`` oldest first; no item gets money while an older one is open."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    left = amount
    lines: list[Line] = []
    for kind, target_id, open_amount in open_items:
        if left == 0:
            break
        take = min(left, open_amount)
        if take > 0:
            lines.append(Line(kind, target_id, take))
            left -= take
    return Allocation(tuple(lines), left)


def allocate_explicit(requested: Sequence[Line], open_amounts: dict[tuple[TargetKind, str], int]) -> Allocation:
    """Apply the amounts the payer entered per invoice or order, each capped at what is open.

    Seed 001: "Invoices can be overpaid which will result in a credit on the account": whatever exceeds an
    item's open amount is returned as ``excess``.
    """
    remaining = dict(open_amounts)
    lines: list[Line] = []
    excess = 0
    for line in requested:
        key = (line.target_kind, line.target_id)
        take = min(line.amount, remaining.get(key, 0))
        if take > 0:
            lines.append(Line(line.target_kind, line.target_id, take))
            remaining[key] = remaining.get(key, 0) - take
        excess += line.amount - take
    return Allocation(tuple(lines), excess)


def apply_credits(
    credits: Sequence[tuple[str, int]], targets: Sequence[OpenItem]
) -> list[tuple[str, Line]]:
    """Spend open credits (oldest first) on the targets' open amounts (oldest first).

    Returns ``(credit_id, line)`` pairs; a credit is never spent past its remaining amount and a target never
    receives more than it has open.
    """
    out: list[tuple[str, Line]] = []
    ids = [credit_id for credit_id, remaining in credits if remaining > 0]
    left = [remaining for _, remaining in credits if remaining > 0]
    index = 0
    for kind, target_id, open_amount in targets:
        need = open_amount
        while need > 0 and index < len(ids):
            take = min(need, left[index])
            out.append((ids[index], Line(kind, target_id, take)))
            need -= take
            left[index] -= take
            if left[index] == 0:
                index += 1
    return out
