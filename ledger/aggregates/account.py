"""The Account aggregate: one per customer, the consistency boundary for all of its money.

It reads like the business: ``account.record_payment(...)``, ``account.expire_authorization(...)``. Each
public method checks the rules, then records events; the events only change state (``evolve``), so old
history always replays even when a rule tightens later.
"""

from __future__ import annotations

from uuid import UUID

from ledger.aggregates import events as ev
from ledger.aggregates.access import AccessDecisions
from ledger.aggregates.authorizations import AuthorizationDecisions
from ledger.aggregates.evolve import opened
from ledger.aggregates.invoices import InvoiceDecisions
from ledger.aggregates.methods import MethodDecisions
from ledger.aggregates.orders import OrderDecisions


class Account(AuthorizationDecisions, OrderDecisions, InvoiceDecisions, MethodDecisions, AccessDecisions):
    """A customer account: invitations, orders, invoices, payments, credits, holds and saved methods."""

    @classmethod
    def open(cls, ctx: ev.Context, *, aggregate_id: UUID, account_id: str, currency: str, email: str,
             name: str = "") -> Account:
        """Open an account; its currency is fixed for life."""
        event = ev.AccountOpened(originator_id=aggregate_id, originator_version=1, timestamp=ctx.at, by=ctx.by,
                                 account_id=account_id, currency=currency, email=email, name=name)
        account = cls(aggregate_id, 1, opened(event), ctx.at)
        account._pending.append(event)
        return account
