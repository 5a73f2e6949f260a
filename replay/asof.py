"""Balances and the trial balance as of any instant, computed from the event log alone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.journal import ACCOUNTS, Journal
from ledger.money import format_amount
from replay.history import events


class AccountBalance(msgspec.Struct, frozen=True):
    account: str
    currency: str
    balance: str
    credit_balance: str
    open_invoices: int


class TrialBalanceLine(msgspec.Struct, frozen=True):
    currency: str
    ledger_account: str
    debit: str
    credit: str


class AsOf(msgspec.Struct, frozen=True):
    """Every account's balances and the trial balance at one instant."""

    as_of: str
    position: int
    accounts: list[AccountBalance]
    trial_balance: list[TrialBalanceLine]
    balanced: bool


def balances_as_of(store: Any, instant: datetime) -> AsOf:
    """Replay every event recorded at or before ``instant``."""
    accounts: dict[UUID, Account] = {}
    journal = Journal()
    position = 0
    for position, event in events(store, until=instant):  # noqa: B007 - the last one is reported
        if isinstance(event, ev.AccountOpened):
            accounts[event.originator_id] = Account.projector(None, [event])
        elif event.originator_id in accounts:
            accounts[event.originator_id].mutate(event)
        journal.post(event)
    rows = sorted((AccountBalance(a.state.account_id, a.state.currency, format_amount(a.state.balance,
                                                                                      a.state.currency),
                                  format_amount(a.state.credit_balance, a.state.currency),
                                  len(a.state.open_invoices())) for a in accounts.values()),
                  key=lambda r: r.account)
    lines = [TrialBalanceLine(cur, name, format_amount(max(tb[name], 0), cur), format_amount(max(-tb[name], 0), cur))
             for cur, tb in journal.trial_balances().items() for name in ACCOUNTS]
    balanced = all(sum(tb.values()) == 0 for tb in journal.trial_balances().values())
    return AsOf(instant.isoformat(), position, rows, lines, balanced)
