"""The expiry scheduler: records AuthorizationExpired (29 days) and InvitationExpired (72 hours) when their
time passes, the bank's decision on pending ACH payments (``workers.ach``), and reconciles the ledger with the
gateway's transactions every ``RECONCILE_EVERY`` seconds (:mod:`ledger.commands.reconciliation`). Time comes
from the clock port, so tests move it; due items come from the accounts projection."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import TYPE_CHECKING

import structlog

from ledger.commands import messages as m
from ledger.commands.reconciliation import reconcile
from ledger.errors import LedgerError
from ledger.projections import queries
from workers.ach import SETTLED_EVERY, reconcile_ach

if TYPE_CHECKING:
    from ledger.bootstrap import Ledger
    from ledger.projections.keeper import ProjectionKeeper

log = structlog.get_logger("ledger.expiry")
#: How often ``serve`` reconciles with the gateway (an intent is decided once it is ``GRACE``, 5 minutes, old).
RECONCILE_EVERY = 300.0
WORKER = m.ActorIn(kind="worker", name="expiry", channel="system")


def expire_due(ledger: Ledger, keeper: ProjectionKeeper) -> int:
    """Record every expiry that is due now; returns how many were recorded."""
    keeper.catch_up(["accounts"])
    accounts, now = keeper.connection("accounts"), ledger.ports.clock.now()
    holds, invitations = queries.due_authorizations(accounts, now), queries.expired_invitations(accounts, now)
    commands: list[m.AccountCommand] = [m.ExpireAuthorization(account=a, authorization=z, actor=WORKER)
                                        for a, z in holds]
    commands += [m.ExpireInvitation(account=a, actor=WORKER) for a in invitations]
    done = 0
    for command in commands:
        try:
            outcome = ledger.service.handle(command)
            done += 0 if outcome.replayed else 1
        except LedgerError as error:
            log.warning("expiry_refused", account=command.account, code=error.code)
    return done


async def run(ledger: Ledger, keeper: ProjectionKeeper, stop: asyncio.Event, every: float = 30.0) -> None:
    """Check for due expiries and decided ACH payments every ``every`` seconds until ``stop`` (settled ACH
    payments, for a late return, every ``SETTLED_EVERY`` seconds; the gateway's transactions every
    ``RECONCILE_EVERY`` seconds, the first time at once)."""
    settled_at = reconciled_at = -max(SETTLED_EVERY, RECONCILE_EVERY)
    while not stop.is_set():
        try:
            count = await asyncio.to_thread(expire_due, ledger, keeper)
            if count:
                log.info("expired", count=count)
        except Exception as error:
            log.warning("expiry_failed", error=repr(error))
        try:  # a failing expiry pass does not stop ACH outcomes, nor the other way round
            settled = time.monotonic() - settled_at >= SETTLED_EVERY
            await asyncio.to_thread(functools.partial(reconcile_ach, ledger, keeper, settled=settled))
            if settled:
                settled_at = time.monotonic()
        except Exception as error:
            log.warning("ach_reconcile_failed", error=repr(error))
        if time.monotonic() - reconciled_at >= RECONCILE_EVERY:
            reconciled_at = time.monotonic()
            try:
                await asyncio.to_thread(reconcile, ledger.store, ledger.ports)
            except Exception as error:
                log.warning("gateway_reconcile_failed", error=repr(error))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
