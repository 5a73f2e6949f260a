"""Gateway reconciliation: the ledger converges on the gateway's truth.

Every transaction the gateway lists since a point in time is matched to the ledger by its transaction id (the
events that record a payment, hold, capture or refund carry it) and idempotency key (the intent written before
the call, :mod:`ledger.store.intents`):

* a transaction the ledger records, or one the gateway declined, is *matched*;
* a hold that is live at the gateway but that the ledger does not record, or records as voided, replaced by a
  reauthorization, expired or captured, is *voided* (a live hold blocks the customer's money for 29 days);
* a charge, capture or refund that moved money the ledger does not record is *recorded* by running its
  intent's command again against the gateway's answer (:mod:`ledger.commands.answers_only`; what is no longer
  open becomes the customer's credit); when there is no such command or it is refused, it is *flagged*: put
  on the reconciliation list with what the operator does;
* a transaction younger than ``GRACE``, or whose intent is, is left alone: its command may still be recording it.

Reconciliation runs beside live commands (``serve``'s scheduler), so the gateway is listed *first* and the
intents and the event log read after it: a command that intends, calls the gateway and records while the run
reads is then either recorded in what the run reads or absent from its listing. The log's tail is read again
just before a hold is voided or a transaction flagged (a slow command may have recorded it meanwhile).

Every intent older than ``GRACE`` whose key was listed, or that was written since the listing's start, is then
resolved: the gateway acted under its key (handled above) or did not (nothing to do). An older intent whose
transaction may lie before the listing (``reconcile --since``) is left for a run that looks back far enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import structlog

from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.commands.answers_only import command_of, record_again
from ledger.commands.dispatch import LedgerService
from ledger.errors import LedgerError
from ledger.ports import Ports
from ledger.ports.gateway import GatewayTransaction
from ledger.store.application import LedgerStore
from ledger.store.intents import Flagged

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
    """What one reconciliation run did: transactions matched to the ledger, recorded by running their command
    again, holds voided, items put on the reconciliation list, intents resolved, and transactions left to
    their running command."""

    matched: int = 0
    recorded: int = 0
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
    by_authorization: dict[tuple[object, str], str] = field(default_factory=dict)
    holders: dict[str, tuple[UUID, str]] = field(default_factory=dict)  # hold transaction id -> its hold
    after: int = 0  # the last notification read

    @classmethod
    def read(cls, store: LedgerStore) -> _Ledger:
        """The whole log, read once."""
        seen = cls()
        seen.catch_up(store)
        return seen

    def catch_up(self, store: LedgerStore) -> None:
        """Read what the log recorded since the last read."""
        while notes := store.recorder.select_notifications(start=self.after, limit=1000,
                                                           inclusive_of_start=False):
            self.after = notes[-1].id
            for note in notes:
                self.note(store.mapper.to_domain_event(note), self.by_authorization)

    def note(self, event: object, by_authorization: dict[tuple[object, str], str]) -> None:
        for name in ("transaction_id", "refund_transaction_id"):
            if isinstance(value := getattr(event, name, None), str):
                self.known.add(value)
        origin = getattr(event, "originator_id", None)
        if isinstance(event, ev.CardAuthorized | ev.Reauthorized):
            if isinstance(event, ev.Reauthorized):
                self._mark(by_authorization, origin, event.authorization_id, "replaced")
            hold = event.authorization_id if isinstance(event, ev.CardAuthorized) else event.new_authorization_id
            by_authorization[origin, hold] = event.transaction_id
            self.holders[event.transaction_id] = (event.originator_id, hold)
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


def reconcile(store: LedgerStore, ports: Ports, *, since: datetime | None = None) -> Report:
    """Match every gateway transaction made since ``since`` (default: ``LOOKBACK`` ago) to the ledger, record
    what its intent's command can record, void the holds it does not want, flag what it cannot decide, and
    resolve every intent older than ``GRACE`` that the listing covers."""
    now = ports.clock.now()
    since = since or now - LOOKBACK
    listed: list[GatewayTransaction] = []  # listed before the ledger is read: see the module's docstring
    while page := ports.gateway.transactions(since=since, after=listed[-1].transaction_id if listed else None):
        listed += page
    run = _Run(store, ports, now)
    run.ledger.undone = {txn.idempotency_key.removesuffix(":undone") for txn in listed if txn.kind == "refund"
                         and txn.status == "approved" and txn.idempotency_key.endswith(":undone")}
    for txn in listed:
        run.counts[run.settle(txn)] += 1
    keys = {txn.idempotency_key for txn in listed}
    stale = [key for key, intent in run.intents.items()
             if key not in run.fresh and (key in keys or intent.created_at >= since)]
    run.book.resolve(stale)
    report = Report(**run.counts, intents_resolved=len(stale))
    log.info("gateway_reconciled", **msgspec.structs.asdict(report))
    return report


class _Run:
    """One reconciliation run: the ledger's side read once (its tail again before acting), the intents, the
    counts."""

    def __init__(self, store: LedgerStore, ports: Ports, now: datetime) -> None:
        self.store, self.ports, self.now = store, ports, now
        self.book = store.gateway_book
        self.intents = {intent.key: intent for intent in self.book.intents()}
        self.fresh = {key for key, intent in self.intents.items() if self.now - intent.created_at < GRACE}
        self.ledger = _Ledger.read(store)
        self.counts = dict.fromkeys(("matched", "recorded", "voided", "flagged", "in_flight"), 0)

    def recorded(self, txn: GatewayTransaction) -> bool:
        """Whether the log records ``txn``, its tail read again when the first read did not."""
        if txn.transaction_id not in self.ledger.known:
            self.ledger.catch_up(self.store)
        return txn.transaction_id in self.ledger.known

    def settle(self, txn: GatewayTransaction) -> str:
        """What one gateway transaction needs; returns the count it falls under."""
        if txn.idempotency_key in self.fresh or self.now - txn.created_at < GRACE:
            return "in_flight"
        if txn.kind == "authorization":
            return self.hold(txn)
        if txn.status == "declined" or self.recorded(txn) or (
                txn.idempotency_key in self.ledger.undone or txn.idempotency_key.endswith(":undone")):
            return "matched"  # nothing moved, recorded, or a capture the ledger refused and refunded (its refund)
        intent = self.intents.get(txn.idempotency_key)
        command = command_of(intent.command, txn.token) if intent else None
        refused = "no command was kept for it"
        if command is not None:
            try:
                outcome = record_again(self.store, self.ports, command)
                if outcome.transaction_id == txn.transaction_id:
                    log.warning("gateway_transaction_recorded", transaction=txn.transaction_id, kind=txn.kind)
                    return "recorded"
                refused = f"its command recorded {outcome.transaction_id or 'another transaction'}"
            except LedgerError as error:
                refused = f"its command was refused: {error.code}"
        return self.flag(txn, intent.account if intent else self.account_of(txn.idempotency_key),
                         f"{refused}; " + _ACTIONS[txn.kind].format(key=_command_key(txn.idempotency_key),
                                                                    txn=txn.transaction_id),
                         "gateway_transaction_unrecorded", refused)

    def flag(self, txn: GatewayTransaction, account: str, action: str, alarm: str, why: str) -> str:
        """Put ``txn`` on the reconciliation list with what to do; the on-call is paged (``alarm``) once, when it
        is new: every later run counts it without paging again."""
        if self.book.flag(Flagged(transaction_id=txn.transaction_id, key=txn.idempotency_key, account=account,
                                  kind=txn.kind, amount=txn.amount, status=txn.status, found_at=self.now,
                                  action=action)):
            log.error(alarm, transaction=txn.transaction_id, kind=txn.kind, amount=txn.amount, why=why)
        return "flagged"

    def account_of(self, key: str) -> str:
        """The business id of the account a gateway idempotency key names (its aggregate id, then the command's
        key: :func:`ledger.aggregates.idempotency.gateway_key`), "" when it names none the ledger holds."""
        try:
            return self.store.account(UUID(hex=key.partition(":")[0])).state.account_id
        except (ValueError, LedgerError):
            return ""

    def hold(self, txn: GatewayTransaction) -> str:
        """A live hold the ledger does not record, or no longer wants, is voided; a hold the gateway released
        that the ledger still holds active has its void recorded."""
        if not txn.live and txn.status == "voided" and self.recorded(txn) \
                and self.ledger.holds.get(txn.transaction_id) == "active":
            return self.record_release(txn)
        if not txn.live or (self.recorded(txn) and self.ledger.holds.get(txn.transaction_id) not in _UNWANTED):
            return "matched"
        self.book.release(txn.idempotency_key, txn.transaction_id, self.now)  # before: a retry then refuses
        self.ports.gateway.void(transaction_id=txn.transaction_id)
        log.warning("gateway_hold_voided", transaction=txn.transaction_id,
                    ledger_status=self.ledger.holds.get(txn.transaction_id, "unrecorded"))
        return "voided"

    def record_release(self, txn: GatewayTransaction) -> str:
        """Record the void of a hold the gateway released while the ledger's write was lost or refused (an
        order's cancel that released its first hold, then was refused for its second): the ledger's void asks
        the gateway, which answers that it holds nothing, and records it."""
        origin, authorization = self.ledger.holders[txn.transaction_id]
        try:
            account = self.store.account(origin).state.account_id
            LedgerService(self.store, self.ports).handle(m.VoidAuthorization(
                account=account, authorization=authorization, reason="released at the gateway (reconciliation)"))
        except LedgerError as error:  # captured or voided meanwhile: the log says so now
            self.ledger.catch_up(self.store)
            if self.ledger.holds.get(txn.transaction_id) != "active":
                return "matched"
            action = (f"the gateway released this hold and the ledger refused its void ({error.code}); look at "
                      f"hold {authorization} and void it (auth void) once it can be")
            return self.flag(txn, self.account_of(txn.idempotency_key), action, "gateway_release_unrecorded",
                             error.code)
        log.warning("gateway_release_recorded", transaction=txn.transaction_id, authorization=authorization)
        return "recorded"


def _command_key(gateway_key: str) -> str:
    """The command's own key inside the gateway's (``<account uuid hex>:<key>``, see ``gateway_key``)."""
    return gateway_key.removeprefix("unidentified:").partition(":")[2] or gateway_key
