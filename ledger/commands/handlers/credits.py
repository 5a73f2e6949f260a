"""Handlers for customer credits: memo credits, applying credit, refunding it through the gateway."""

from __future__ import annotations

from ledger.aggregates.events.payments import Line
from ledger.aggregates.idempotency import check_repeat, idempotency_key, request_fingerprint
from ledger.commands import messages as m
from ledger.commands.gateway_calls import refund
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import amount_of, check_id, check_text
from ledger.errors import Conflict, ValidationError

HANDLERS = HandlerRegistry()


@HANDLERS.on(m.IssueCredit)
def issue_credit(unit: Unit, cmd: m.IssueCredit) -> m.Outcome:
    account = unit.account(cmd.account)
    credit_id = check_id(cmd.credit, "credit")
    amount = amount_of(account, cmd.amount)
    reference = check_text(cmd.reference, "reference", 200)
    existing = account.state.credits.get(credit_id)
    if existing is not None:
        if (existing.kind, existing.amount, existing.reference) == ("memo", amount, reference):
            return replayed(cmd.account, credit_id)
        raise Conflict(f"credit {credit_id} already exists", field="credit", code="duplicate_id")
    account.issue_credit(unit.ctx, credit=credit_id, amount=amount, reference=reference)
    return recorded(unit, cmd.account, credit_id)


@HANDLERS.on(m.ApplyCredit)
def apply_credit(unit: Unit, cmd: m.ApplyCredit) -> m.Outcome:
    account = unit.account(cmd.account)
    if (cmd.invoice is None) == (cmd.order is None):
        raise ValidationError("name one invoice or one order", field="invoice")
    amount = amount_of(account, cmd.amount)
    line = Line("invoice", cmd.invoice, amount) if cmd.invoice is not None else Line("order", cmd.order or "", amount)
    account.apply_credit(unit.ctx, credit=cmd.credit, line=line)
    return recorded(unit, cmd.account, cmd.credit)


@HANDLERS.on(m.RefundCredit)
def refund_credit(unit: Unit, cmd: m.RefundCredit) -> m.Outcome:
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount)
    key = idempotency_key(cmd.key, f"credit-refund:{cmd.credit}:{amount}")
    first = check_repeat(account.state, key, request_fingerprint("credit-refund", cmd.credit, amount))
    if first is not None:
        return replayed(cmd.account, cmd.credit, transaction_id=first)
    credit = account.check_credit_refund(credit=cmd.credit, amount=amount)
    if credit.payment_id is not None:
        funding = account.state.payments[credit.payment_id]
        transaction_id = refund(unit, account, key, transaction_id=funding.transaction_id, amount=amount,
                                field="credit").transaction_id
    else:
        transaction_id = unit.ports.ids.new_id("MANUAL-REFUND")
    account.refund_credit(unit.ctx, credit=cmd.credit, amount=amount, refund_transaction_id=transaction_id,
                          idempotency_key=key)
    return recorded(unit, cmd.account, cmd.credit, transaction_id=transaction_id)
