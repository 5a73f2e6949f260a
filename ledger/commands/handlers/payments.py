"""Handlers for payments and refunds: validate at the edge, ask the gateway, record the answer."""

from __future__ import annotations

import msgspec
import structlog

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.payments import Instruction, Line, Method
from ledger.aggregates.idempotency import check_repeat, gateway_key, idempotency_key, request_fingerprint, request_hash
from ledger.commands import messages as m
from ledger.commands.gateway_calls import charge_payment, charged_before, refund, token_for
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import amount_of, check_id, check_reference, gateway_token
from ledger.errors import LedgerError, ValidationError

HANDLERS = HandlerRegistry()
log = structlog.get_logger("ledger.commands")


def instruction_of(account: Account, cmd: m.SubmitPayment) -> Instruction:
    """The payer's instruction: explicit amounts, oldest-first distribution, or a deposit (exactly one)."""
    explicit = bool(cmd.invoices or cmd.orders)
    if explicit + cmd.distribute + cmd.deposit != 1:
        raise ValidationError("choose explicit invoice/order amounts, distribute, or deposit", field="allocations",
                              code="instruction_required")
    if cmd.purpose is not None and not cmd.deposit:
        raise ValidationError("only a deposit is held for a purpose", field="purpose")
    if cmd.deposit:
        if cmd.exact:
            raise ValidationError("a deposit has no amount due", field="exact")
        return Instruction("deposit", purpose=cmd.purpose)
    if cmd.distribute:
        return Instruction("distribute", exact=cmd.exact)
    lines = [Line("invoice", check_reference(i, "invoices"), amount_of(account, a, f"invoices.{i}"))
             for i, a in cmd.invoices.items()]
    lines += [Line("order", check_reference(o, "orders"), amount_of(account, a, f"orders.{o}"))
              for o, a in cmd.orders.items()]
    return Instruction("explicit", tuple(lines), exact=cmd.exact)


@HANDLERS.on(m.SubmitPayment)
def submit_payment(unit: Unit, cmd: m.SubmitPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    payment_id = check_id(cmd.payment, "payment")
    key = idempotency_key(cmd.key, f"payment:{payment_id}")
    amount = amount_of(account, cmd.amount)
    instruction = instruction_of(account, cmd)
    digest = "minor:" + request_hash(in_minor_units(cmd, amount, instruction))  # never a raw body's fingerprint
    first = check_repeat(account.state, key, digest, request_hash(cmd))  # as fingerprinted before amounts were parsed
    if first is not None:
        done = account.state.payments[first]
        return replayed(cmd.account, first, status=done.status, transaction_id=done.transaction_id)
    method, token = means_of(unit, account, cmd, gateway_key(account.id, key))
    result, overtaken = charge_payment(unit, account, payment_id, key, token=token, amount=amount, method=method,
                                       instruction=instruction)
    payment = account.record_payment(unit.ctx, payment=payment_id, amount=amount, method=method,
                                     token=token, transaction_id=result.transaction_id,
                                     status=result.status, decline_code=result.decline_code, idempotency_key=key,
                                     request_hash=digest, instruction=instruction, overtaken=overtaken)
    return recorded(unit, cmd.account, payment_id, status=payment.status, transaction_id=result.transaction_id,
                    detail=result.decline_code or "")


def means_of(unit: Unit, account: Account, cmd: m.SubmitPayment, charge_key: str) -> tuple[Method, str]:
    """What pays: a saved method (its kind and token; seed 002) or the token given with its method, never both.

    A method that can no longer pay (the card expired, the method was removed, or is of another kind than the
    request says) is refused unless the gateway charged it under ``charge_key``: the request's earlier attempt
    whose answer was lost. That charge is then recorded, paid by what it was charged to."""
    if cmd.saved is None:
        return given_means(unit, cmd, charge_key)
    if cmd.token is not None:
        raise ValidationError("name a saved method or give a token, not both", field="saved", code="saved_or_token")
    try:
        saved = account.saved_for_payment(cmd.saved, unit.ctx.at)
        if cmd.method is not None and cmd.method != saved.kind:
            raise ValidationError(f"saved method {saved.id} is {saved.kind}, not {cmd.method}", field="method",
                                  code="token_method_mismatch")
        return saved.kind, saved.token  # type: ignore[return-value]
    except LedgerError:
        charged = saved_when_charged(unit, account, cmd.saved) if charged_before(unit, charge_key) else None
        if charged is None:
            raise
        return charged


def given_means(unit: Unit, cmd: m.SubmitPayment, charge_key: str) -> tuple[Method, str]:
    """The token given and the method it is for; a token of another method is refused unless the gateway
    charged it under ``charge_key`` (:func:`means_of`)."""
    if cmd.token is None:
        raise ValidationError("give a token or name a saved method", field="token", code="saved_or_token")
    if cmd.method is None:
        raise ValidationError("say which method the token is for: card, ach or paypal", field="method")
    try:
        return cmd.method, token_for(unit, cmd.token, cmd.method)
    except LedgerError as error:
        if error.code != "token_method_mismatch" or not charged_before(unit, charge_key):
            raise
        return cmd.method, gateway_token(cmd.token)


def saved_when_charged(unit: Unit, account: Account, saved: str) -> tuple[Method, str] | None:
    """The kind and token saved as ``saved`` (the last added, a removed one read from the account's history), or
    None if it was never saved."""
    found = account.state.methods.get(saved)
    if found is not None:
        return found.kind, found.token  # type: ignore[return-value]
    added = [e for e in unit.store.events.get(account.id, lte=account.version)
             if isinstance(e, ev.PaymentMethodAdded) and e.method_id == saved]
    return (added[-1].kind, added[-1].token) if added else None


def in_minor_units(cmd: m.SubmitPayment, amount: int, instruction: Instruction) -> m.SubmitPayment:
    """``cmd`` with the amounts already parsed, as minor units: "60", "60.0" and "60.00" are one request (its
    fingerprint)."""
    lines = {kind: {line.target_id: str(line.amount) for line in instruction.lines if line.target_kind == kind}
             for kind in ("invoice", "order")}
    return msgspec.structs.replace(cmd, amount=str(amount), invoices=lines["invoice"], orders=lines["order"])


@HANDLERS.on(m.SettlePayment)
def settle_payment(unit: Unit, cmd: m.SettlePayment) -> m.Outcome:
    account = unit.account(cmd.account)
    payment = account.payment(cmd.payment)
    if payment.method == "ach" and payment.settled_at is not None:  # settled once already (maybe returned since)
        return replayed(cmd.account, cmd.payment, status=payment.status, transaction_id=payment.transaction_id)
    account.settle_payment(unit.ctx, payment=cmd.payment)
    return recorded(unit, cmd.account, cmd.payment, status="settled", transaction_id=payment.transaction_id)


@HANDLERS.on(m.ReturnPayment)
def return_payment(unit: Unit, cmd: m.ReturnPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    payment = account.payment(cmd.payment)
    if payment.status == "returned":
        return replayed(cmd.account, cmd.payment, status="returned", transaction_id=payment.transaction_id)
    # The account's history up to the version loaded, to re-allocate what was paid after it (invariant 5).
    history = list(unit.store.events.get(account.id, lte=account.version)) if payment.status == "settled" else None
    outcome = account.return_payment(unit.ctx, payment=cmd.payment, return_code=check_id(cmd.code, "code"),
                                     history=history)
    if outcome not in ("", "reallocated", "unchanged"):
        log.warning("ach_return_unwound_only", account=cmd.account, payment=cmd.payment, why=outcome,
                    hint="later payments keep their allocations; apply freed credit by hand (docs/replay.md)")
    return recorded(unit, cmd.account, cmd.payment, status="returned", transaction_id=payment.transaction_id)


@HANDLERS.on(m.RefundPayment)
def refund_payment(unit: Unit, cmd: m.RefundPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount)
    key = idempotency_key(cmd.key, f"refund:{cmd.payment}:{amount}")
    first = check_repeat(account.state, key, request_fingerprint("refund", cmd.payment, amount))
    if first is not None:
        return replayed(cmd.account, cmd.payment, transaction_id=first)
    payment = account.check_refund(payment=cmd.payment, amount=amount)
    result = refund(unit, account, key, transaction_id=payment.transaction_id, amount=amount, field="payment")
    account.refund_payment(unit.ctx, payment=cmd.payment, amount=amount,
                           refund_transaction_id=result.transaction_id, idempotency_key=key)
    return recorded(unit, cmd.account, cmd.payment, status="refunded", transaction_id=result.transaction_id)
