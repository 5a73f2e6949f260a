"""Handlers for customer credits: memo credits, applying credit, refunding it through the gateway."""

from __future__ import annotations

from ledger.aggregates.events.payments import Line
from ledger.aggregates.state import request_fingerprint
from ledger.commands import messages as m
from ledger.commands.handlers.payments import check_repeat, gateway_key, idempotency_key
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit, amount_of, check_id, check_text
from ledger.errors import Conflict, PolicyViolation, ValidationError

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
    account.issue_credit(unit.ctx, credit_id=credit_id, amount=amount, reference=reference)
    return recorded(unit, cmd.account, credit_id)


@HANDLERS.on(m.ApplyCredit)
def apply_credit(unit: Unit, cmd: m.ApplyCredit) -> m.Outcome:
    account = unit.account(cmd.account)
    if (cmd.invoice is None) == (cmd.order is None):
        raise ValidationError("name one invoice or one order", field="invoice")
    amount = amount_of(account, cmd.amount)
    line = Line("invoice", cmd.invoice, amount) if cmd.invoice is not None else Line("order", cmd.order or "", amount)
    account.apply_credit(unit.ctx, credit_id=cmd.credit, line=line)
    return recorded(unit, cmd.account, cmd.credit)


@HANDLERS.on(m.RefundCredit)
def refund_credit(unit: Unit, cmd: m.RefundCredit) -> m.Outcome:
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount)
    key = idempotency_key(cmd.key, f"credit-refund:{cmd.credit}:{amount}")
    first = check_repeat(account, key, request_fingerprint("credit-refund", cmd.credit, amount))
    if first is not None:
        return replayed(cmd.account, cmd.credit, transaction_id=first)
    credit = account.check_credit_refund(credit_id=cmd.credit, amount=amount)
    if credit.payment_id is not None:
        funding = account.state.payments[credit.payment_id]
        result = unit.ports.gateway.refund(transaction_id=funding.transaction_id, amount=amount,
                                           idempotency_key=gateway_key(account.id, key))
        if result.status == "declined":
            raise PolicyViolation(f"the gateway refused the refund: {result.decline_code}", field="credit",
                                  code=result.decline_code or "refund_declined")
        transaction_id = result.transaction_id
    else:
        transaction_id = unit.ports.ids.new_id("MANUAL-REFUND")
    account.refund_credit(unit.ctx, credit_id=cmd.credit, amount=amount, refund_transaction_id=transaction_id,
                          idempotency_key=key)
    return recorded(unit, cmd.account, cmd.credit, transaction_id=transaction_id)
