"""What is due on an invoice or an order once what is already on its way is counted (issue 14).

Seed 003: "pay the exact amount due", and ACH stays pending until it settles: a pending payment will pay its
invoices, so what it covers is not due again. Seed 001: open credits join any payment, so the exact amount may
be paid gross or net of them. Seed 004: a live card hold will pay its order, so holds together never cover more
than the order's balance due. Pure functions of the Account's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ledger.aggregates import allocation
from ledger.aggregates.events.payments import Line, TargetKind
from ledger.aggregates.state import AccountState
from ledger.errors import Conflict, PolicyViolation


def amount_due(state: AccountState, kind: TargetKind, target_id: str) -> int:
    """The open amount of an invoice or order less what pending payments meant for it will pay."""
    return max(state.open_amount(kind, target_id) - state.pending_for(kind, target_id), 0)


def check_not_covered(state: AccountState, kind: TargetKind, target_id: str, field: str) -> None:
    """Refuse a payment on an invoice or order that pending payments already cover, naming them."""
    pending = state.pending_on(kind, target_id)
    if pending and state.open_amount(kind, target_id) and not amount_due(state, kind, target_id):
        names = ", ".join(payment_id for payment_id, _ in pending)
        raise Conflict(f"{target_id} is covered by pending payment {names}; it is due again only if that is "
                       "returned", field=field, code="pending_payment")


def check_exact_lines(state: AccountState, lines: Sequence[Line]) -> None:
    """Each line pays exactly what is due on its target, either all of them gross or all of them net of the
    open credits that will be spent on them (oldest credit first, in the order the lines are given)."""
    due = [(line.target_kind, line.target_id, amount_due(state, line.target_kind, line.target_id))
           for line in lines]
    net = {(kind, target_id): amount for kind, target_id, amount in due}
    for _, spent in allocation.apply_credits(spendable_credits(state), due):
        net[(spent.target_kind, spent.target_id)] -= spent.amount
    asked = [line.amount for line in lines]
    if asked in ([amount for *_, amount in due], [net[(k, i)] for k, i, _ in due]):
        return
    for line, (kind, target_id, gross) in zip(lines, due, strict=True):
        if line.amount not in (gross, net[(kind, target_id)]):
            raise PolicyViolation(f"pay exactly the amount due on {target_id} ({state.money(gross)}, or "
                                  f"{state.money(net[(kind, target_id)])} after open credits)",
                                  field=f"{kind}s.{target_id}", code="exact_amount_required")
    raise PolicyViolation("pay every line gross, or every line net of open credits", field="allocations",
                          code="exact_amount_required")


def check_exact_balance(state: AccountState, amount: int) -> None:
    """A distributed payment pays exactly the balance due (less pending payments), gross or net of credits."""
    due = sum(amount for *_, amount in uncovered_invoices(state))
    net = max(due - sum(remaining for _, remaining in spendable_credits(state)), 0)
    if amount not in (due, net):
        raise PolicyViolation(f"pay exactly the balance due ({state.money(due)}, or {state.money(net)} after open "
                              "credits)", field="amount", code="exact_amount_required")


def uncovered_invoices(state: AccountState) -> list[allocation.OpenItem]:
    """The open invoices, oldest first, each with what pending payments leave due on it (none: left out)."""
    pending = pending_totals(state)  # read once: every open invoice asks
    due: list[allocation.OpenItem] = [("invoice", invoice.id, invoice.open - pending.get(("invoice", invoice.id), 0))
                                      for invoice in state.open_invoices()]
    return [item for item in due if item[2] > 0]


def pending_totals(state: AccountState) -> dict[tuple[TargetKind, str], int]:
    """What the pending payments will pay on each invoice and order (:meth:`AccountState.pending_on`, for all
    targets at once)."""
    totals: dict[tuple[TargetKind, str], int] = {}
    for _, line in state.pending_lines():
        target = state.successor(line.target_kind, line.target_id)
        totals[target] = totals.get(target, 0) + line.amount
    return totals


def plan(state: AccountState, amount: int) -> tuple[Line, ...]:
    """What a distribution of ``amount`` left pending will pay: the invoices oldest first, skipping what other
    pending payments cover (issue 14: until it settles, what it plans to pay is covered)."""
    return allocation.distribute(amount, uncovered_invoices(state)).lines


def spendable_credits(state: AccountState) -> list[tuple[str, int]]:
    """(credit, remaining) of the open credits a payment spends automatically, oldest first."""
    return [(c.id, c.remaining) for c in state.open_credits()]  # a deposit held for a purpose is not among them


def held_for(state: AccountState, order_id: str, at: datetime | None = None, *, other_than: str | None = None) -> int:
    """What the live card holds on an order (but ``other_than``) will pay when captured: those unexpired at
    ``at``, or every one not recorded expired when no instant is given."""
    return sum(a.amount for a in state.authorizations.values()
               if a.order_id == order_id and a.id != other_than and a.status in ("active", "reauth_requested")
               and (at is None or at < a.expires_at))
