"""Handlers for authorizations (holds on a card or PayPal) and reauthorization on a price rise (seed 004)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.events.authorizations import HoldMethod
from ledger.aggregates.idempotency import check_repeat, gateway_key, idempotency_key, request_fingerprint
from ledger.aggregates.state import Authorization
from ledger.commands import messages as m
from ledger.commands.gateway_calls import capture, hold, hold_method, hold_token, overtaken_charge, release
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit
from ledger.commands.validation import amount_of, cart_proof, check_id, check_text, token_hash
from ledger.errors import Conflict, LedgerError, PolicyViolation
from ledger.ports.gateway import ChargeResult

HANDLERS = HandlerRegistry()
T = TypeVar("T")
#: A capture made (its answer lost, or its write race lost) when another writer paid its order or invoice is
#: recorded and the excess becomes credit, as a payment's charge is; one whose order was cancelled or invoice
#: voided meanwhile is refunded instead (:func:`ledger.commands.gateway_calls.capture`).
PAID_MEANWHILE = frozenset({"order_paid", "invoice_paid", "pending_payment"})


@HANDLERS.on(m.AuthorizeCard)
def authorize_card(unit: Unit, cmd: m.AuthorizeCard) -> m.Outcome:
    """Place a hold for an order on a card or PayPal (the checkout of its first cart link, when ``cart`` is named:
    seed 004)."""
    account = unit.account(cmd.account)
    auth_id, amount = check_id(cmd.authorization, "authorization"), amount_of(account, cmd.amount)
    token, method = hold_token(unit, cmd.token)  # what the token holds; a bank token is refused (issue 14)
    cart, proof = cart_proof(cmd.cart, cmd.cart_token)  # a cart link's checkout: the link is checked first
    existing = retried(unit, lambda: repeated_hold(account, cmd, auth_id, amount, token, (cart, proof)), None)
    if existing is not None:
        return replayed(cmd.account, auth_id, status=existing.status, transaction_id=existing.transaction_id)
    key = idempotency_key(cmd.key, f"authorize:{auth_id}:{token}:{amount}")  # a declined card may be retried
    if (declined := declined_before(unit, account, cart, auth_id, key)) is not None:
        return replayed(cmd.account, auth_id, status="manual_processing",
                        detail=declined.decline_code or "authorization_declined")
    check = FirstHoldCheck(unit, account, cmd, auth_id, amount, key, (cart, proof))
    result = hold(unit, account, key, token=token, amount=amount, check=check)
    if result.status != "approved":
        return declined_checkout(unit, account, cmd, auth_id, (cart, proof), result.decline_code)
    account.authorize_card(unit.ctx, authorization=auth_id, order=cmd.order, amount=amount, token=token,
                           transaction_id=result.transaction_id, expires_at=result.expires_at, placed=check.placed,
                           cart=cart, cart_token_hash=proof, method=method)
    return recorded(unit, cmd.account, auth_id, status="active", transaction_id=result.transaction_id)


def retried(unit: Unit, look: Callable[[], T], otherwise: T) -> T:
    """``look()``, the lookup of an earlier answer to this request (its cart link checked first). After a lost
    write race its refusal (the cart used meanwhile by another checkout ...) is ``otherwise``: the check before
    the gateway refuses the request again and releases the hold the first attempt got (:func:`hold`)."""
    try:
        return look()
    except LedgerError:
        if not unit.after_conflict:
            raise
        return otherwise


def repeated_hold(account: Account, cmd: m.AuthorizeCard, auth_id: str, amount: int, token: str,
                  cart: tuple[str | None, str]) -> Authorization | None:
    """The hold this request placed already (the same order, amount and card; the same cart link's checkout, whose
    link is checked first), or None."""
    existing = account.state.authorizations.get(auth_id)
    if not account.checked_out(*cart, checkout=auth_id, order=cmd.order) or existing is None:
        return None
    return existing if (existing.order_id, existing.amount, existing.token) == (cmd.order, amount, token) else None


def declined_before(unit: Unit, account: Account, cart: str | None, auth_id: str, key: str) -> ChargeResult | None:
    """The gateway's decline of this very checkout of ``cart`` (its hold id, card and amount: its key), when it is
    on record (``CardAuthorizationFailed``), or None: the same request again is answered, not recorded twice."""
    found = account.state.carts.get(cart) if cart is not None else None
    return declined(unit, account, key) if found is not None and found.declined_for == auth_id else None


def declined(unit: Unit, account: Account, key: str) -> ChargeResult | None:
    """The gateway's decline of the hold asked under ``key``, or None (nothing asked, or not declined)."""
    earlier = unit.ports.gateway.find(idempotency_key=gateway_key(account.id, key))
    return earlier if earlier is not None and earlier.status == "declined" else None


def declined_checkout(unit: Unit, account: Account, cmd: m.AuthorizeCard, auth_id: str,
                      cart: tuple[str | None, str], decline_code: str | None) -> m.Outcome:
    """A declined hold: refused, nothing written, unless it was a cart link's checkout, which is recorded for the
    CSR team (``manual_processing``) and answered so."""
    code = decline_code or "authorization_declined"
    if cart[0] is None:
        raise PolicyViolation(f"the card was declined: {code}", field="token", code=code)
    account.record_declined_checkout(unit.ctx, authorization=auth_id, order=cmd.order, cart=cart[0],
                                     cart_token_hash=cart[1], decline_code=code)
    return recorded(unit, cmd.account, auth_id, status="manual_processing", detail=code)


class FirstHoldCheck:
    """The account's check before a hold is asked of the gateway (the limit by balance due, live holds and pending
    payments, the cart link), passed by a hold the gateway already placed under the same key that the ledger has
    no record of (:func:`placed_before`): ``placed`` then says it is recorded as such."""

    def __init__(self, unit: Unit, account: Account, cmd: m.AuthorizeCard, auth_id: str, amount: int, key: str,
                 cart: tuple[str | None, str]) -> None:
        self.unit, self.account, self.cmd, self.auth_id = unit, account, cmd, auth_id
        self.amount, self.key, self.cart, self.placed = amount, key, cart, False

    def __call__(self) -> None:
        """Refuse the hold, or let it be asked (or recorded as placed before)."""
        try:
            self.account.check_authorization(authorization=self.auth_id, order=self.cmd.order, amount=self.amount,
                                             at=self.unit.ctx.at, cart=self.cart[0], cart_token_hash=self.cart[1])
        except LedgerError as error:
            overtaken = error.code in ("exceeds_amount_due", "pending_payment")  # what other writers change
            if not (overtaken and placed_before(self.unit, self.account, self.key)):
                raise
            self.placed = True


def placed_before(unit: Unit, account: Account, key: str) -> bool:
    """Whether an earlier attempt of this hold got it from the gateway and the ledger has no record of it: the
    attempt lost its write race, or its answer was lost. Such a hold is recorded, as a payment's charge is (it is
    the customer's money held, for a CSR to capture or void), rather than left on the card unknown for 29 days."""
    if unit.after_conflict:
        return True
    earlier = unit.ports.gateway.find(idempotency_key=gateway_key(account.id, key))
    return earlier is not None and earlier.status == "approved" and all(
        a.transaction_id != earlier.transaction_id for a in account.state.authorizations.values())


@HANDLERS.on(m.ExpireAuthorization)
def expire_authorization(unit: Unit, cmd: m.ExpireAuthorization) -> m.Outcome:
    account = unit.account(cmd.account)
    auth = account.authorization(cmd.authorization)
    if auth.expired:  # recorded once, whatever became of the hold since (a cart link sent again)
        return replayed(cmd.account, cmd.authorization, status=auth.status)
    account.expire_authorization(unit.ctx, authorization=cmd.authorization)
    return recorded(unit, cmd.account, cmd.authorization, status=auth.status)


@HANDLERS.on(m.RequestReauthorization)
def request_reauthorization(unit: Unit, cmd: m.RequestReauthorization) -> m.Outcome:
    """Send, or re-trigger from the order screen, the "Approve Order Payment" cart link."""
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount) if cmd.amount is not None else None
    cart_id = unit.ports.ids.new_id("CART")
    raw = unit.ports.tokens.issue("cart", cmd.account, cart_id)
    account.request_reauthorization(unit.ctx, authorization=cmd.authorization, cart_id=cart_id,
                                    cart_token_hash=token_hash(raw), new_amount=amount)
    return recorded(unit, cmd.account, cart_id, status="reauth_requested")


@HANDLERS.on(m.Reauthorize)
def reauthorize(unit: Unit, cmd: m.Reauthorize) -> m.Outcome:
    """Checkout of the cart: authorize the card or PayPal account (the old hold's, or ``token``'s) for the new
    amount; a refusal flags manual processing."""
    account = unit.account(cmd.account)
    new_id = check_id(cmd.new_authorization, "new_authorization")
    cart, proof = cart_proof(cmd.cart, cmd.cart_token)  # a cart link's checkout: the link is checked first
    repeat = retried(unit, lambda: account.checked_out(cart, proof, checkout=new_id, authorization=cmd.authorization),
                     False)
    old, done = account.authorization(cmd.authorization), account.state.authorizations.get(new_id)
    if repeat and old.replaced_by == new_id and done is not None:
        if old.status == "reauthorized":  # released after the save, which a crash may have cut short: again
            unit.after_commit(lambda: unit.ports.gateway.void(transaction_id=old.transaction_id))
        return replayed(cmd.account, new_id, status=done.status, transaction_id=done.transaction_id)
    amount, (token, method), key = reauthorization_asked(unit, account, old, new_id, cmd)
    if old.status == "failed" and (earlier := declined(unit, account, key)) is not None:  # this very request
        return replayed(cmd.account, new_id, status="manual_processing", transaction_id=earlier.transaction_id,
                        detail=ev.ReauthorizationFailed.__name__)
    result = hold(unit, account, key, token=token, amount=amount, check=lambda: account.check_reauthorization(
        authorization=old.id, new_authorization=new_id, amount=amount, cart=cart, cart_token_hash=proof))
    if result.status == "approved":  # the old hold goes only once the new one is on record
        unit.after_commit(lambda: unit.ports.gateway.void(transaction_id=old.transaction_id))
    event = account.record_reauthorization(unit.ctx, authorization=old.id, new_authorization=new_id,
                                           amount=amount, status=result.status, token=token, method=method,
                                           transaction_id=result.transaction_id,
                                           decline_code=result.decline_code, expires_at=result.expires_at,
                                           cart=cart, cart_token_hash=proof)
    status = "active" if result.status == "approved" else "manual_processing"
    return recorded(unit, cmd.account, new_id, status=status, transaction_id=result.transaction_id,
                    detail=type(event).__name__)


def reauthorization_asked(unit: Unit, account: Account, old: Authorization, new_id: str,
                          cmd: m.Reauthorize) -> tuple[int, tuple[str, HoldMethod], str]:
    """The amount, token (and what it holds: a card or PayPal, issue 14) and key of the new hold; a retry asks for
    what the first attempt asked, whatever changed since (the gateway then answers the same hold)."""
    asked: tuple[int, tuple[str, HoldMethod], str] | None = unit.memo.get("hold") if unit.after_conflict else None
    if asked is None:
        amount = amount_of(account, cmd.amount) if cmd.amount is not None else account.checkout_amount(old.id)
        held = hold_token(unit, cmd.token) if cmd.token is not None else (old.token, hold_method(unit, old))
        asked = amount, held, idempotency_key(cmd.key, f"reauthorize:{new_id}:{held[0]}:{amount}")
        unit.memo["hold"] = asked
    return asked


@HANDLERS.on(m.CaptureAuthorization)
def capture_authorization(unit: Unit, cmd: m.CaptureAuthorization) -> m.Outcome:
    account = unit.account(cmd.account)
    payment_id = check_id(cmd.payment, "payment")
    key = idempotency_key(cmd.key, f"capture:{cmd.authorization}")
    auth = account.authorization(cmd.authorization)
    amount = amount_of(account, cmd.amount) if cmd.amount is not None else auth.amount
    digest = request_fingerprint("capture", f"{auth.id}/{payment_id}", amount)
    first = repeated_capture(account, cmd, key, digest, payment_id, amount)
    if first is not None:
        done = account.state.payments[first]
        return replayed(cmd.account, first, status=done.status, transaction_id=done.transaction_id)

    overtaken = False

    def check() -> None:  # an earlier attempt captured; the order was paid, or cancelled meanwhile ...
        nonlocal overtaken
        account.check_capture(unit.ctx, authorization=auth.id, amount=amount)
        overtaken = overtaken_charge(unit, account, payment_id, gateway_key(account.id, key), amount=amount,
                                     instruction=account.capture_instruction(auth, amount), waived=PAID_MEANWHILE)

    method = hold_method(unit, auth)  # a hold recorded before holds kept it: the gateway says (issue 14)
    result = capture(unit, account, key, authorization=auth, amount=amount, check=check)
    account.capture_authorization(unit.ctx, authorization=auth.id, payment=payment_id, amount=amount,
                                  transaction_id=result.transaction_id, idempotency_key=key,
                                  request_hash=digest, method=method, overtaken=overtaken)
    return recorded(unit, cmd.account, payment_id, status="settled", transaction_id=result.transaction_id)


def repeated_capture(account: Account, cmd: m.CaptureAuthorization, key: str, digest: str, payment_id: str,
                     amount: int) -> str | None:
    """The payment a capture under ``key`` already made, or None; another request under the key is refused (a
    second capture of the hold under its default key: ``already_captured``)."""
    try:
        return check_repeat(account.state, key, digest)
    except Conflict:
        seen = account.state.idempotency[key].result_id
        done = account.state.payments.get(seen)
        if seen == payment_id and done is not None and done.amount == amount \
                and done.source == f"authorization:{cmd.authorization}":
            return seen  # the same capture, recorded before captures were fingerprinted
        if cmd.key is not None:
            raise
        raise Conflict(f"authorization {cmd.authorization} was already captured", field="authorization",
                       code="already_captured") from None


@HANDLERS.on(m.VoidAuthorization)
def void_authorization(unit: Unit, cmd: m.VoidAuthorization) -> m.Outcome:
    """Release a hold (an expired one too: the gateway answers that it released itself, "authorization_expired",
    which fails nothing; the void is recorded and the hold leaves the CSR dashboard, issue 14). The ledger decides
    first (a captured hold is refused ``not_voidable`` before the gateway is asked), then the gateway voids it; a
    void the gateway refuses otherwise (``unknown_authorization``) is refused with its code, nothing recorded."""
    account = unit.account(cmd.account)
    auth = account.authorization(cmd.authorization)
    if auth.status == "voided":
        return replayed(cmd.account, auth.id, status="voided")
    account.void_authorization(unit.ctx, authorization=auth.id, reason=check_text(cmd.reason, "reason"))  # decided
    release(unit, auth)  # then the gateway; its refusal writes nothing
    return recorded(unit, cmd.account, auth.id, status="voided")
