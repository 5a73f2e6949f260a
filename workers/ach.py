"""ACH outcomes: the ledger asks the gateway where every pending ACH payment stands and records what the bank did.

Seed 003: "ACH payments will initially show as Pending. Once processed, an email is sent indicating success or
failure." The bank's answer reaches the ledger here: a settled debit is recorded as ``PaymentSettled`` (and
applied as the payer instructed), a returned one as ``PaymentReturned`` with the bank's code (undoing nothing,
since a pending payment was never applied); the email worker then sends "cleared" or "failed". The scheduler
(``ledger worker expiry``, run by ``serve``) does this every 30 s; ``ledger payment reconcile`` once.
A debit is asked about while pending and for ``RETURN_WATCH`` after it settled (a return within days of
settlement, or after a CSR settled it by hand, is recorded the same way); a later return is recorded with
``ledger payment return``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.projections import queries

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger
    from ledger.projections.keeper import ProjectionKeeper

log = structlog.get_logger("ledger.ach")
WORKER = m.ActorIn(kind="worker", name="ach", channel="gateway")


#: How long after it settled an ACH payment is still asked about: returns for lack of funds or a closed account
#: come within a few banking days; a later one (unauthorized debits: up to 60 days) is recorded by hand.
RETURN_WATCH = timedelta(days=5)
#: How often the scheduler asks about settled payments (pending ones: every pass).
SETTLED_EVERY = 3600.0


def pending_ach(db: sqlite3.Connection, now: datetime, *, settled: bool = True) -> list[tuple[str, str, str, str]]:
    """(account id, payment id, gateway transaction id, status) of every ACH payment still pending and, with
    ``settled``, of those settled within ``RETURN_WATCH`` of ``now`` (settled by hand while the bank had not
    decided, or returned since), oldest first."""
    return queries.ach_payments(db, now - RETURN_WATCH if settled else None)


def reconcile_ach(ledger: Ledger, keeper: ProjectionKeeper, *, settled: bool = True) -> int:
    """Record the bank's decision on every pending ACH payment it has decided (and, with ``settled``, a return
    of one settled lately); returns how many were recorded. The scheduler asks about pending payments on every
    pass and about settled ones every ``SETTLED_EVERY`` (one gateway call each).

    A gateway that cannot answer, or a command refused (another process recorded the outcome first), is logged
    and the payment is asked about again next time.
    """
    keeper.catch_up(["accounts"])
    done = 0
    watched = pending_ach(keeper.connection("accounts"), ledger.ports.clock.now(), settled=settled)
    for account_id, payment_id, transaction_id, status in watched:
        command: m.SettlePayment | m.ReturnPayment
        try:
            report = ledger.ports.gateway.ach_status(transaction_id)
            if report.status == status:
                continue
            if report.status == "settled":
                command = m.SettlePayment(account=account_id, payment=payment_id, actor=WORKER)
            elif report.status == "returned":
                command = m.ReturnPayment(account=account_id, payment=payment_id, code=report.return_code or "R01",
                                          actor=WORKER)
            else:
                continue
            outcome = ledger.service.handle(command)
        except LedgerError as error:
            log.warning("ach_check_failed", account=account_id, payment=payment_id, code=error.code,
                        error=error.message)
            continue
        if not outcome.replayed:
            done += 1
            log.info("ach_outcome_recorded", account=account_id, payment=payment_id, status=report.status,
                     return_code=report.return_code)
    return done
