"""The autopay worker (seed 002): when an invoice is issued on an account with autopay on, charge the saved
method and apply the payment to that invoice. The idempotency key is the invoice, so it is charged once.

Open credits are spent first (seed 001: credits "will be automatically applied when any payment is made"): the
card is charged what they leave open, and the payment spends them on the invoice; when they cover it all,
they are applied to it without a charge. An expired card is never charged: autopay records that it could not
pay (``AutopayFailed``), the customer is emailed and the CSR dashboard lists the invoice."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal, cast
from uuid import UUID

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Event
from ledger.aggregates.methods import expired
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.money import format_amount

if TYPE_CHECKING:
    from ledger.store.application import LedgerStore
    from workers.consumer import CommandService

MethodKind = Literal["card", "paypal", "ach"]
WORKER = m.ActorIn(kind="worker", name="autopay", channel="system")


class AutopayWorker:
    """Pays new invoices with the saved method."""

    name = "autopay"
    wants = frozenset({"InvoiceIssued"})
    #: Its commands carry idempotency keys / deterministic ids: doing one again is answered as a repeat.
    repeatable = True

    def __init__(self, store: LedgerStore, service: CommandService) -> None:
        self.store = store
        self.service = service

    async def handle(self, event: Event, event_id: str) -> None:
        """Charge the autopay method for the invoice's open amount less open credits (or apply the credits).

        Decided on the account as it was when the invoice was issued, so every delivery of the event sends the
        same command with the same key: a charge whose answer was lost is answered, not charged again, and
        credit activity since then cannot change the amount under the same key.
        """
        if not isinstance(event, ev.InvoiceIssued):
            return
        state = (await asyncio.to_thread(self.store.account, event.originator_id, event.originator_version)).state
        method = state.methods.get(state.autopay_method or "")
        invoice = state.invoices.get(event.invoice_id)
        if method is None or invoice is None or invoice.open <= 0:
            return
        if invoice.open <= state.spendable_credit:
            await self._apply_credits(event.originator_id, invoice.id)
            return
        if method.kind == "card" and expired(method.exp_month, method.exp_year, event.timestamp):
            await asyncio.to_thread(self.service.handle, m.RecordAutopayFailure(
                account=state.account_id, invoice=invoice.id, method=method.id, actor=WORKER))
            return
        amount = format_amount(invoice.open - state.spendable_credit, state.currency)
        command = m.SubmitPayment(account=state.account_id, payment=f"AUTO-{invoice.id}", amount=amount,
                                  method=cast(MethodKind, method.kind),  # checked when the method was added
                                  token=method.token, invoices={invoice.id: amount},
                                  key=f"autopay:{invoice.id}", actor=WORKER)
        try:
            await asyncio.to_thread(self.service.handle, command)
        except LedgerError as error:
            if error.code not in ("duplicate_id", "invoice_paid"):
                raise

    async def _apply_credits(self, aggregate_id: UUID, invoice_id: str) -> None:
        """Cover what is open on the invoice from open credits, oldest first (a repeat finds the invoice paid);
        no money moves at the gateway, so this is decided on the account as it is now."""
        state = (await asyncio.to_thread(self.store.account, aggregate_id)).state
        invoice = state.invoices.get(invoice_id)
        due = invoice.open if invoice is not None else 0
        if due <= 0:
            return
        for credit in state.open_credits():
            take = min(credit.remaining, due)
            command = m.ApplyCredit(account=state.account_id, credit=credit.id,
                                    amount=format_amount(take, state.currency), invoice=invoice_id, actor=WORKER)
            try:
                await asyncio.to_thread(self.service.handle, command)
            except LedgerError as error:
                if error.code != "invoice_paid":
                    raise
                return
            due -= take
            if due == 0:
                return
