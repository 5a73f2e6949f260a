"""The limits an Account enforces on amounts (issue 15; the figures and why: ``ledger.money``).

One amount may not pass :data:`MAX_AMOUNT` (``amount_too_large``); what an account owes on open invoices and
orders, and the open credit it holds, may not pass :data:`MAX_BALANCE` (``balance_limit``). The edge refuses a
larger amount as it parses it; the Account checks again, so no caller (a worker, a script) can record one.
Checked in the command methods only, never when an event is replayed: an older ledger's larger amounts in the
log still load.
"""

from __future__ import annotations

from ledger.aggregates.state import AccountState
from ledger.errors import PolicyViolation, ValidationError
from ledger.money import MAX_AMOUNT, MAX_BALANCE, format_amount

__all__ = ["MAX_AMOUNT", "MAX_BALANCE", "check_amount", "check_credit", "check_owed"]


def check_amount(amount: int, currency: str, field: str = "amount") -> int:
    """``amount`` (of ``currency``) if it is at most :data:`MAX_AMOUNT`."""
    if amount > MAX_AMOUNT:
        raise ValidationError(f"an amount may be at most {format_amount(MAX_AMOUNT, currency, with_currency=True)}",
                              field=field, code="amount_too_large")
    return amount


def owed(state: AccountState) -> int:
    """What the account owes: its open invoices and the balance due on its open orders."""
    return state.balance + state.orders_due


def check_owed(state: AccountState, more: int, field: str = "amount") -> None:
    """Refuse to make the account owe ``more`` when that takes it past :data:`MAX_BALANCE`."""
    if more > 0 and owed(state) + more > MAX_BALANCE:
        raise PolicyViolation(f"the account would owe more than {state.money(MAX_BALANCE)}", field=field,
                              code="balance_limit")


def check_credit(state: AccountState, more: int, field: str = "amount") -> None:
    """Refuse to give the account ``more`` open credit when that takes it past :data:`MAX_BALANCE`."""
    if more > 0 and state.credit_balance + more > MAX_BALANCE:
        raise PolicyViolation(f"the account would hold more than {state.money(MAX_BALANCE)} of credit",
                              field=field, code="balance_limit")
