"""Handlers for saved payment methods and autopay (seed 002)."""

from __future__ import annotations

from ledger.commands import messages as m
from ledger.commands.gateway_calls import token_for
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import check_id, check_text

HANDLERS = HandlerRegistry()


@HANDLERS.on(m.AddPaymentMethod)
def add_method(unit: Unit, cmd: m.AddPaymentMethod) -> m.Outcome:
    account = unit.account(cmd.account)
    # a saved method pays by its kind (a payment naming it trusts it): its token must be of that kind
    account.add_method(unit.ctx, method=check_id(cmd.method, "method"), kind=cmd.kind,
                       token=token_for(unit, cmd.token, cmd.kind), brand=check_text(cmd.brand, "brand", 40),
                       last4=cmd.last4, exp_month=cmd.exp_month, exp_year=cmd.exp_year)
    return recorded(unit, cmd.account, cmd.method)


@HANDLERS.on(m.RemovePaymentMethod)
def remove_method(unit: Unit, cmd: m.RemovePaymentMethod) -> m.Outcome:
    unit.account(cmd.account).remove_method(unit.ctx, method=cmd.method)
    return recorded(unit, cmd.account, cmd.method)


@HANDLERS.on(m.SetDefaultPaymentMethod)
def set_default_method(unit: Unit, cmd: m.SetDefaultPaymentMethod) -> m.Outcome:
    unit.account(cmd.account).set_default_method(unit.ctx, method=cmd.method)
    return recorded(unit, cmd.account, cmd.method)


@HANDLERS.on(m.EnableAutopay)
def enable_autopay(unit: Unit, cmd: m.EnableAutopay) -> m.Outcome:
    event = unit.account(cmd.account).enable_autopay(unit.ctx, method=cmd.method)
    return recorded(unit, cmd.account, event.method_id)


@HANDLERS.on(m.DisableAutopay)
def disable_autopay(unit: Unit, cmd: m.DisableAutopay) -> m.Outcome:
    unit.account(cmd.account).disable_autopay(unit.ctx, reason=check_text(cmd.reason, "reason"))
    return recorded(unit, cmd.account, cmd.account)


@HANDLERS.on(m.RecordAutopayFailure)
def record_autopay_failure(unit: Unit, cmd: m.RecordAutopayFailure) -> m.Outcome:
    account = unit.account(cmd.account)
    invoice = account.state.invoices.get(cmd.invoice)
    if invoice is not None and invoice.autopay_failed is not None:
        return replayed(cmd.account, cmd.invoice, status=invoice.autopay_failed)
    event = account.record_autopay_failure(unit.ctx, invoice=cmd.invoice, method=cmd.method)
    return recorded(unit, cmd.account, cmd.invoice, status=event.reason)
