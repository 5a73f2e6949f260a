"""Balances and the trial balance as of any instant, computed from the event log alone."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from ledger.aggregates.events.base import Event
from ledger.double_entry import ACCOUNTS, Journal
from ledger.money import format_amount
from ledger.ports.clock import DEFAULT_ZONE, local_text
from ledger.projections import queries
from ledger.projections.accounts import AccountsProjection
from ledger.projections.runner import bulk_gc, catch_up, connect
from replay.history import events

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore


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


class CutLog:
    """The events of :func:`replay.history.events` (each history cut at the instant) as an event log that the
    projection runner reads from the start, once, in order; each event is also posted to ``journal``."""

    def __init__(self, stream: Iterator[tuple[int, Event]], journal: Journal) -> None:
        self._stream = stream
        self._journal = journal
        self.last = 0

    def read(self, after: int, limit: int) -> list[tuple[int, Event]]:
        """The next ``limit`` events (the runner always asks for those after the last ones it applied)."""
        items = [item for item in itertools.islice(self._stream, limit) if item[0] > after]
        post = self._journal.post
        for position, event in items:
            post(event, str(position))
        if items:
            self.last = items[-1][0]
        return items

    def head(self) -> int:
        """Unknown until read; the runner does not need it."""
        return self.last


def balances_as_of(store: LedgerStore, instant: datetime, progress: Callable[[int], None] | None = None,
                   zone: ZoneInfo | None = None) -> AsOf:
    """Replay every event recorded before ``instant`` (each history cut there, see ``events``): the balances at
    the end of a period ``[from, to)`` are those as of ``to``, as its statement's closing balance and its
    export's postings are. ``as_of`` is ``instant`` exactly, in ``zone`` (DEFAULT_ZONE if left out).

    Account balances come from the ``accounts`` read model folded into a scratch file (never the serving
    projections), so memory stays bounded however long the log: the open invoices and credits, with the
    definitions the portal shows. The trial balance comes from the journal, whose state is a few numbers per
    invoice and payment.
    """
    journal = Journal()
    with tempfile.TemporaryDirectory(prefix="ledger-asof-") as scratch:
        accounts_db = connect(Path(scratch) / "accounts.db", staging=True)
        log = CutLog(events(store, until=instant, progress=progress), journal)
        try:
            with bulk_gc():
                catch_up([(AccountsProjection(), accounts_db)], log, batch=10_000, indexes=False)
            rows = [AccountBalance(account_id, currency, format_amount(balance, currency),
                                   format_amount(credit, currency), open_invoices)
                    for account_id, currency, balance, credit, open_invoices in queries.account_balances(accounts_db)]
        finally:
            accounts_db.close()
    sums = journal.trial_balances()
    lines = [TrialBalanceLine(cur, name, format_amount(max(tb[name], 0), cur), format_amount(max(-tb[name], 0), cur))
             for cur, tb in sums.items() for name in ACCOUNTS]
    balanced = all(sum(tb.values()) == 0 for tb in sums.values())
    return AsOf(local_text(instant, zone or ZoneInfo(DEFAULT_ZONE), exact=True), log.last, rows, lines, balanced)

