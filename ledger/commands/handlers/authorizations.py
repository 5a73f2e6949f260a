"""Handlers for card authorizations (holds) and reauthorization on a price rise (seed 004)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ledger.aggregates.state import request_fingerprint
from ledger.commands import messages as m
from ledger.commands.handlers.payments import check_repeat, gateway_key, idempotency_key
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit, amount_of, check_id, check_text, gateway_token, token_hash
from ledger.errors import Conflict, LedgerError, PolicyViolation
from ledger.ports.gateway import AuthorizationResult, ChargeResult

HANDLERS = HandlerRegistry()


@HANDLERS.on(m.AuthorizeCard)
def authorize_card(unit: Unit, cmd: m.AuthorizeCard) -> m.Outcome:
    account = unit.account(cmd.account)
    auth_id = check_id(cmd.authorization, "authorization")
    amount = amount_of(account, cmd.amount)
    token = gateway_token(cmd.token)
    existing = account.state.authorizations.get(auth_id)
    if existing is not None and (existing.order_id, existing.amount, existing.token) == (cmd.order, amount, token):
        return replayed(cmd.account, auth_id, status=existing.status, transaction_id=existing.transaction_id)
    key = idempotency_key(cmd.key, f"authorize:{auth_id}:{token}:{amount}")  # a declined card may be retried
    hold = asking_hold(unit, account, token, amount, key)
    with releasing(unit, hold):
        account.check_authorization(authorization_id=auth_id, order_id=cmd.order, amount=amount)
    result = hold()
    if result.status != "approved":
        raise PolicyViolation(f"the card was declined: {result.decline_code}", field="token",
                              code=result.decline_code or "authorization_declined")
    account.authorize_card(unit.ctx, authorization_id=auth_id, order_id=cmd.order, amount=amount, token=token,
                           transaction_id=result.transaction_id, expires_at=result.expires_at)
    return recorded(unit, cmd.account, auth_id, status="active", transaction_id=result.transaction_id)


@HANDLERS.on(m.ExpireAuthorization)
def expire_authorization(unit: Unit, cmd: m.ExpireAuthorization) -> m.Outcome:
    account = unit.account(cmd.account)
    if account.authorization(cmd.authorization).status == "expired":
        return replayed(cmd.account, cmd.authorization, status="expired")
    account.expire_authorization(unit.ctx, authorization_id=cmd.authorization)
    return recorded(unit, cmd.account, cmd.authorization, status="expired")


@HANDLERS.on(m.RequestReauthorization)
def request_reauthorization(unit: Unit, cmd: m.RequestReauthorization) -> m.Outcome:
    """Send, or re-trigger from the order screen, the "Approve Order Payment" cart link."""
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount) if cmd.amount is not None else None
    cart_id = unit.ports.ids.new_id("CART")
    raw = unit.ports.tokens.issue("cart", cmd.account, cart_id)
    account.request_reauthorization(unit.ctx, authorization_id=cmd.authorization, cart_id=cart_id,
                                    cart_token_hash=token_hash(raw), new_amount=amount)
    return recorded(unit, cmd.account, cart_id, status="reauth_requested")


@HANDLERS.on(m.Reauthorize)
def reauthorize(unit: Unit, cmd: m.Reauthorize) -> m.Outcome:
    """Checkout of the cart: authorize the card for the new amount; a refusal flags manual processing."""
    account = unit.account(cmd.account)
    old = account.authorization(cmd.authorization)
    new_id = check_id(cmd.new_authorization, "new_authorization")
    done = account.state.authorizations.get(new_id)
    if old.replaced_by == new_id and done is not None:
        if old.status == "reauthorized":  # released after the save, which a crash may have cut short: again
            unit.after_commit(lambda: unit.ports.gateway.void(transaction_id=old.transaction_id))
        return replayed(cmd.account, new_id, status=done.status, transaction_id=done.transaction_id)
    asked = unit.memo.get("hold") if unit.after_conflict else None
    if asked is None:  # a retry asks for what the first attempt asked, whatever changed since
        order = account.reauthorizable(old.id)
        amount = amount_of(account, cmd.amount) if cmd.amount is not None else max(old.requested_amount or 0,
                                                                                    order.open)
        token = gateway_token(cmd.token) if cmd.token is not None else old.token
        key = idempotency_key(cmd.key, f"reauthorize:{new_id}:{token}:{amount}")
        unit.memo["hold"] = (amount, token, key)
    else:
        amount, token, key = asked
    hold = asking_hold(unit, account, token, amount, key)
    with releasing(unit, hold):
        account.check_reauthorization(authorization_id=old.id, new_authorization_id=new_id, amount=amount)
    result = hold()
    if result.status == "approved":  # the old hold goes only once the new one is on record
        unit.after_commit(lambda: unit.ports.gateway.void(transaction_id=old.transaction_id))
    event = account.record_reauthorization(unit.ctx, authorization_id=old.id, new_authorization_id=new_id,
                                           amount=amount, status=result.status,
                                           transaction_id=result.transaction_id,
                                           decline_code=result.decline_code, expires_at=result.expires_at)
    status = "active" if result.status == "approved" else "manual_processing"
    return recorded(unit, cmd.account, new_id, status=status, transaction_id=result.transaction_id,
                    detail=type(event).__name__)


@HANDLERS.on(m.CaptureAuthorization)
def capture_authorization(unit: Unit, cmd: m.CaptureAuthorization) -> m.Outcome:
    account = unit.account(cmd.account)
    payment_id = check_id(cmd.payment, "payment")
    key = idempotency_key(cmd.key, f"capture:{cmd.authorization}")
    auth = account.authorization(cmd.authorization)
    amount = amount_of(account, cmd.amount) if cmd.amount is not None else auth.amount
    digest = request_fingerprint("capture", f"{auth.id}/{payment_id}", amount)
    try:
        first = check_repeat(account, key, digest)
    except Conflict:
        seen = account.state.idempotency[key].result_id
        done = account.state.payments.get(seen)
        if seen == payment_id and done is not None and done.amount == amount \
                and done.source == f"authorization:{auth.id}":
            first = seen  # the same capture, recorded before captures were fingerprinted
        elif cmd.key is not None:
            raise
        else:
            raise Conflict(f"authorization {auth.id} was already captured", field="authorization",
                           code="already_captured") from None
    if first is not None:
        done = account.state.payments[first]
        return replayed(cmd.account, first, status=done.status, transaction_id=done.transaction_id)

    def capture() -> ChargeResult:
        return unit.ports.gateway.capture(transaction_id=auth.transaction_id, amount=amount,
                                          idempotency_key=gateway_key(account.id, key))

    def refund(taken: ChargeResult) -> None:
        unit.ports.gateway.refund(transaction_id=taken.transaction_id, amount=amount,
                                  idempotency_key=gateway_key(account.id, f"{key}:undone"))

    with undoing(unit, capture, refund):  # an earlier attempt captured; the order was cancelled meanwhile ...
        account.check_capture(unit.ctx, authorization_id=auth.id, amount=amount)
        account.check_payment(payment_id=payment_id, amount=amount,
                              instruction=account.capture_instruction(auth, amount))
    result = capture()
    if result.status != "approved":
        raise PolicyViolation(f"the gateway refused the capture: {result.decline_code}", field="authorization",
                              code=result.decline_code or "capture_declined")
    account.capture_authorization(unit.ctx, authorization_id=auth.id, payment_id=payment_id, amount=amount,
                                  transaction_id=result.transaction_id, idempotency_key=key,
                                  request_hash=digest)
    return recorded(unit, cmd.account, payment_id, status="settled", transaction_id=result.transaction_id)


@HANDLERS.on(m.VoidAuthorization)
def void_authorization(unit: Unit, cmd: m.VoidAuthorization) -> m.Outcome:
    account = unit.account(cmd.account)
    auth = account.authorization(cmd.authorization)
    if auth.status == "voided":
        return replayed(cmd.account, auth.id, status="voided")
    unit.ports.gateway.void(transaction_id=auth.transaction_id)
    account.void_authorization(unit.ctx, authorization_id=auth.id, reason=check_text(cmd.reason, "reason"))
    return recorded(unit, cmd.account, auth.id, status="voided")


def asking_hold(unit: Unit, account: Any, token: str, amount: int, key: str) -> Callable[[], AuthorizationResult]:
    """Asks the gateway for the hold; asked again, the same idempotency key answers the same hold."""
    return lambda: unit.ports.gateway.authorize(token=token, amount=amount, currency=account.state.currency,
                                                idempotency_key=gateway_key(account.id, key))


@contextmanager
def undoing(unit: Unit, ask: Callable[[], Any], undo: Callable[[Any], object]) -> Iterator[None]:
    """Run the checks before a gateway call; when they refuse a command whose earlier attempt made that call and
    then lost a write race (the order was cancelled meanwhile ...), undo what the gateway did once the refusal
    is final: asking again with the same idempotency key answers the earlier result, which ``undo`` reverses."""
    try:
        yield
    except LedgerError:
        if unit.after_conflict:
            def undo_earlier() -> None:
                earlier = ask()
                if earlier.status == "approved":
                    undo(earlier)

            unit.on_refused(undo_earlier)
        raise


def releasing(unit: Unit, hold: Callable[[], AuthorizationResult]) -> AbstractContextManager[None]:
    """:func:`undoing` for a hold: void it."""
    return undoing(unit, hold, lambda earlier: unit.ports.gateway.void(transaction_id=earlier.transaction_id))
