"""Gateway reconciliation: the ledger converges on the gateway's truth.

Every transaction the gateway lists since a point in time is matched to the ledger by its transaction id (the
events that record a payment, hold, capture or refund carry it) and idempotency key (the intent written before
the call, :mod:`ledger.store.intents`):

* a transaction the ledger records, or one the gateway declined, is *matched*;
* a hold that is live at the gateway but that the ledger does not record, or records as voided, replaced by a
  reauthorization, expired or captured, is *voided* (a live hold blocks the customer's money for 29 days);
* a charge, capture or refund that moved money the ledger does not record is *flagged*: put on the
  reconciliation list with what the operator does (run the command again with its key, which records it and
  makes the customer's credit of what is no longer open; or refund it);
* a transaction whose intent is younger than ``GRACE`` is left alone: its command may still be recording it.

Every intent older than ``GRACE`` is then resolved: the gateway acted under its key (handled above) or did not
(nothing to do). The ledger side is read from the event log, one pass per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec
import structlog

from ledger.aggregates import events as ev
from ledger.ports.clock import Clock
from ledger.ports.gateway import Gateway, GatewayTransaction
from ledger.store.application import LedgerStore
from ledger.store.intents import Flagged, GatewayBook, Intent

log = structlog.get_logger("ledger.reconciliation")
#: How old an intent must be before reconciliation decides it (its command may still be recording it).
GRACE = timedelta(minutes=5)
#: How far back ``reconcile`` looks by default: longer than a hold lives (29 days) and than card refunds take.
LOOKBACK = timedelta(days=35)
#: The ledger statuses of a hold it no longer wants at the gateway.
_UNWANTED = frozenset({"voided", "replaced", "expired", "captured"})
_ACTIONS = {
    "charge": "a charge the ledger has not recorded: run the payment again with the same key (ledger payment "
              "submit ... --key {key}) to record it (as the customer's credit if its invoice is closed), or "
              "refund transaction {txn} at the gateway if the customer was not meant to pay",
    "capture": "a capture the ledger has not recorded: run the capture again with the same key ({key}) to "
               "record it, or refund transaction {txn} at the gateway if its order was cancelled",
    "refund": "a refund the ledger has not recorded: run the refund again with the same key ({key}) to record "
              "it; if its payment is gone, record the money given back with the accounting team",
}


class Report(msgspec.Struct, frozen=True):
    """What one reconciliation run did: transactions matched to the ledger, holds voided, items put on the
    reconciliation list, intents resolved, and transactions left to their running command."""

    matched: int = 0
    voided: int = 0
    flagged: int = 0
    intents_resolved: int = 0
    in_flight: int = 0


@dataclass
class _Ledger:
    """What the event log says about gateway transactions: those it records, and its holds' statuses."""

    known: set[str] = field(default_factory=set)
    holds: dict[str, str] = field(default_factory=dict)  # hold transaction id -> ledger status
    undone: set[str] = field(default_factory=set)  # keys of captures the ledger refused and refunded

    @classmethod
    def read(cls, store: LedgerStore) -> _Ledger:
        seen = cls()
        by_authorization: dict[tuple[object, str], str] = {}
        after = 0
        while notes := store.recorder.select_notifications(start=after, limit=1000, inclusive_of_start=False):
            after = notes[-1].id
            for note in notes:
                event = store.mapper.to_domain_event(note)
                seen.note(event, by_authorization)
        return seen

    def note(self, event: object, by_authorization: dict[tuple[object, str], str]) -> None:
        for name in ("transaction_id", "refund_transaction_id"):
            if isinstance(value := getattr(event, name, None), str):
                self.known.add(value)
        origin = getattr(event, "originator_id", None)
        if isinstance(event, ev.CardAuthorized):
            by_authorization[origin, event.authorization_id] = event.transaction_id
            self.holds[event.transaction_id] = "active"
        elif isinstance(event, ev.Reauthorized):
            self._mark(by_authorization, origin, event.authorization_id, "replaced")
            by_authorization[origin, event.new_authorization_id] = event.transaction_id
            self.holds[event.transaction_id] = "active"
        elif isinstance(event, ev.AuthorizationVoided):
            self._mark(by_authorization, origin, event.authorization_id, "voided")
        elif isinstance(event, ev.AuthorizationExpired):
            self._mark(by_authorization, origin, event.authorization_id, "expired")
        elif isinstance(event, ev.AuthorizationCaptured):
            self._mark(by_authorization, origin, event.authorization_id, "captured")

    def _mark(self, by_authorization: dict[tuple[object, str], str], origin: object, authorization: str,
              status: str) -> None:
        txn = by_authorization.get((origin, authorization))
        if txn is not None:
            self.holds[txn] = status


def reconcile(store: LedgerStore, gateway: Gateway, clock: Clock, *, since: datetime | None = None) -> Report:
    """Match every gateway transaction made since ``since`` (default: ``LOOKBACK`` ago) to the ledger, void the
    holds it does not want, flag what it cannot decide, and resolve every intent older than ``GRACE``."""
    now = clock.now()
    book = store.gateway_book
    intents = {intent.key: intent for intent in book.intents()}
    fresh = {key for key, intent in intents.items() if now - intent.created_at < GRACE}
    ledger = _Ledger.read(store)
    counts = dict.fromkeys(("matched", "voided", "flagged", "in_flight"), 0)
    listed: list[GatewayTransaction] = []
    while page := gateway.transactions(since=since or now - LOOKBACK,
                                       after=listed[-1].transaction_id if listed else None):
        listed += page
    ledger.undone = {txn.idempotency_key.removesuffix(":undone") for txn in listed
                     if txn.kind == "refund" and txn.status == "approved" and txn.idempotency_key.endswith(":undone")}
    for txn in listed:
        counts[_settle(txn, ledger, gateway, book, intents, fresh, now)] += 1
    stale = [key for key in intents if key not in fresh]
    book.resolve(stale)
    report = Report(**counts, intents_resolved=len(stale))
    log.info("gateway_reconciled", **msgspec.structs.asdict(report))
    return report


def _settle(txn: GatewayTransaction, ledger: _Ledger, gateway: Gateway, book: GatewayBook,
            intents: dict[str, Intent], fresh: set[str], now: datetime) -> str:
    """What one gateway transaction needs; returns the count it falls under (``fresh``: keys in flight)."""
    if txn.idempotency_key in fresh:
        return "in_flight"
    if txn.kind == "authorization":
        wanted = ledger.holds.get(txn.transaction_id) not in _UNWANTED and txn.transaction_id in ledger.known
        if txn.live and not wanted:
            gateway.void(transaction_id=txn.transaction_id)
            log.warning("gateway_hold_voided", transaction=txn.transaction_id,
                        ledger_status=ledger.holds.get(txn.transaction_id, "unrecorded"))
            return "voided"
        return "matched"
    if txn.status == "declined" or txn.transaction_id in ledger.known or txn.idempotency_key in ledger.undone or (
            txn.idempotency_key.endswith(":undone")):
        return "matched"  # nothing moved, recorded, or a capture the ledger refused and refunded (its refund)
    intent = intents.get(txn.idempotency_key)
    book.flag(Flagged(transaction_id=txn.transaction_id, key=txn.idempotency_key,
                      account=intent.account if intent else "", kind=txn.kind, amount=txn.amount,
                      status=txn.status, found_at=now,
                      action=_ACTIONS[txn.kind].format(key=_command_key(txn.idempotency_key),
                                                       txn=txn.transaction_id)))
    log.error("gateway_transaction_unrecorded", transaction=txn.transaction_id, kind=txn.kind, amount=txn.amount)
    return "flagged"


def _command_key(gateway_key: str) -> str:
    """The command's own key inside the gateway's (``<account uuid hex>:<key>``, see ``gateway_key``)."""
    return gateway_key.removeprefix("unidentified:").partition(":")[2] or gateway_key
