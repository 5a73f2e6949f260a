"""Handlers for guest payments awaiting research (seed 000): receive, refer to Accounting, match."""

from __future__ import annotations

from ledger.aggregates import UnidentifiedPayment
from ledger.aggregates.events.payments import Instruction, Line, Method
from ledger.aggregates.idempotency import idempotency_key
from ledger.commands import messages as m
from ledger.commands.gateway_calls import charge_guest, charged_before, guest_charge_key, token_for
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import check_id, check_text, gateway_token
from ledger.errors import Conflict, LedgerError, NotFound, PolicyViolation, ValidationError
from ledger.money import check_currency, parse_amount
from ledger.ports.ids import unidentified_uuid

HANDLERS = HandlerRegistry()


@HANDLERS.on(m.ReceiveUnidentifiedPayment)
def receive_unidentified(unit: Unit, cmd: m.ReceiveUnidentifiedPayment) -> m.Outcome:
    payment_id = check_id(cmd.payment, "payment")
    currency = check_currency(cmd.currency)
    amount = parse_amount(cmd.amount, currency)
    token = gateway_token(cmd.token)
    UnidentifiedPayment.check_method(cmd.method)
    reference = check_text(cmd.reference, "reference", 200)
    key = idempotency_key(cmd.key, f"unidentified:{payment_id}")
    aggregate_id = unidentified_uuid(payment_id)
    existing = received_before(unit, cmd, key, amount, currency, token)
    if existing is not None:
        return replayed(None, payment_id, status=existing.status, transaction_id=existing.received.transaction_id)
    check_chargeable(unit, cmd.method, token, reference, guest_charge_key(aggregate_id, key))
    result = charge_guest(unit, aggregate_id, key, token=token, amount=amount, currency=currency, method=cmd.method)
    if result.status == "declined":  # as a declined payment submit: an answer, exit 0; no money to research
        return m.Outcome(account=None, reference=payment_id, status="declined",
                         transaction_id=result.transaction_id, detail=result.decline_code or "declined")
    found = UnidentifiedPayment.receive(unit.ctx, aggregate_id=aggregate_id, payment=payment_id,
                                        amount=amount, currency=currency, method=cmd.method, token=token,
                                        transaction_id=result.transaction_id,
                                        reference=reference, idempotency_key=key)
    unit.track(found)
    return m.Outcome(account=None, reference=payment_id, events=("PaymentReceivedUnidentified",),
                     status="awaiting_research", transaction_id=result.transaction_id)


def check_chargeable(unit: Unit, method: Method, token: str, reference: str, charge_key: str) -> None:
    """Refuse a guest payment without the reference research needs, or with a token of another method, unless
    an earlier attempt under ``charge_key``, its answer lost, was charged: that charge is then recorded."""
    try:
        UnidentifiedPayment.check_reference(reference)
        token_for(unit, token, method)
    except LedgerError as error:
        if error.code not in ("reference_required", "token_method_mismatch") or not charged_before(unit, charge_key):
            raise


def received_before(unit: Unit, cmd: m.ReceiveUnidentifiedPayment, key: str, amount: int, currency: str,
                    token: str) -> UnidentifiedPayment | None:
    """The guest payment already received under this id and key, or None; the id taken by another payment, or
    the key used for another one, is refused."""
    try:
        existing = unit.store.unidentified(unidentified_uuid(cmd.payment))
    except NotFound:
        return None
    first = existing.received
    if first.idempotency_key != key:
        raise Conflict(f"payment {cmd.payment} already exists", field="payment", code="duplicate_id")
    if (first.amount, first.currency, first.method, first.token) != (amount, currency, cmd.method, token):
        raise Conflict("the idempotency key was used for another payment", field="key",
                       code="idempotency_key_reused")
    return existing


@HANDLERS.on(m.ReferToAccounting)
def refer_to_accounting(unit: Unit, cmd: m.ReferToAccounting) -> m.Outcome:
    found = unit.unidentified(cmd.payment)
    if found.status == "referred":
        return replayed(None, cmd.payment, status="referred")
    found.refer_to_accounting(unit.ctx, note=check_text(cmd.note, "note"))
    return m.Outcome(account=None, reference=cmd.payment, events=("PaymentReferredToAccounting",),
                     status="referred")


@HANDLERS.on(m.MatchPayment)
def match_payment(unit: Unit, cmd: m.MatchPayment) -> m.Outcome:
    """Record the researched payment on the account: applied to the open order, or deposited."""
    found = unit.unidentified(cmd.payment)
    if found.status == "matched":
        if found.matched_account == cmd.account:
            return replayed(cmd.account, cmd.payment, status="settled")
        raise Conflict(f"payment {cmd.payment} was matched to another account", field="account",
                       code="already_matched")
    account = unit.account(cmd.account)
    received = found.received
    if received.currency != account.state.currency:
        raise PolicyViolation(f"the payment is in {received.currency}, the account in {account.state.currency}",
                              field="account", code="currency_mismatch")
    if cmd.order is not None:
        if cmd.purpose is not None:
            raise ValidationError("only a deposit is held for a purpose", field="purpose")
        account.open_order(cmd.order, field="order")  # refused as the command names it
        instruction = Instruction("explicit", (Line("order", cmd.order, received.amount),))
    else:
        instruction = Instruction("deposit", purpose=cmd.purpose)
    found.match(unit.ctx, account=cmd.account, order=cmd.order)
    account.record_payment(unit.ctx, payment=received.payment_id, amount=received.amount,
                           method=received.method, token=received.token, transaction_id=received.transaction_id,
                           status="approved", decline_code=None, idempotency_key=received.idempotency_key,
                           request_hash="", instruction=instruction, source=f"research:{received.payment_id}")
    return recorded(unit, cmd.account, received.payment_id, status="settled",
                    transaction_id=received.transaction_id)
