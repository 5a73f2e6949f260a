"""Every call a command makes to the payment gateway, with its recovery.

Money moves at the gateway before the ledger records it, so each call here carries what makes that safe:

* the gateway sees one idempotency key per request (:func:`ledger.aggregates.idempotency.gateway_key`), so a
  retry of the command (a conflict, a lost answer, a worker's redelivery) never moves money twice;
* an attempt that charged and then lost the write race to another writer, or whose answer was lost, is recorded
  all the same (:func:`overtaken_charge`), and a hold or capture that a retry can no longer record is undone
  once the refusal is final (:func:`undoing`);
* before the gateway is asked, an intent is written to the store in its own transaction
  (:meth:`ledger.commands.unit.Unit.intend`): a store that refuses writes refuses the command before money
  moves, and an act whose recording is lost leaves a row ``ledger gateway reconcile`` resolves;
* a declined refund, capture or guest payment is refused (nothing written); a failure to record what the
  gateway did is reported as such (:func:`raise_unrecorded`).

A money-moving handler reads: validate, load, decide, call the gateway through one function here, record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar
from uuid import UUID

import structlog

from ledger.aggregates import Account
from ledger.aggregates.events.authorizations import HoldMethod
from ledger.aggregates.events.payments import Instruction, Method
from ledger.aggregates.idempotency import gateway_key
from ledger.aggregates.payments import OVERTAKEN
from ledger.aggregates.state import Authorization
from ledger.commands.messages import Command
from ledger.commands.unit import Unit
from ledger.commands.validation import gateway_token
from ledger.errors import LedgerError, PolicyViolation, RecordingFailed, ValidationError
from ledger.ports.gateway import AuthorizationResult, ChargeResult

log = structlog.get_logger("ledger.commands")
#: What a hold may be placed on (seed 004): a card or a PayPal account.
HOLDABLE: tuple[Method, ...] = ("card", "paypal")
#: A gateway answer that can be undone (a hold, a capture).
A = TypeVar("A", AuthorizationResult, ChargeResult)


def charge_payment(unit: Unit, account: Account, payment_id: str, key: str, *, token: str, amount: int,
                   method: Method, instruction: Instruction) -> tuple[ChargeResult, bool]:
    """Charge a payment once the account takes it; returns the gateway's answer and whether the payment must
    be recorded although another writer paid or closed one of its targets meanwhile (:func:`overtaken_charge`)."""
    charge_key = gateway_key(account.id, key)
    overtaken = overtaken_charge(unit, account, payment_id, charge_key, amount=amount, instruction=instruction)
    unit.intend(key=charge_key, account=account.state.account_id, kind="charge", amount=amount, target=payment_id)
    result = unit.ports.gateway.charge(token=token, amount=amount, currency=account.state.currency, method=method,
                                       idempotency_key=charge_key)
    return result, overtaken


def overtaken_charge(unit: Unit, account: Account, payment_id: str, charge_key: str, *, amount: int,
                     instruction: Instruction, waived: frozenset[str] = OVERTAKEN) -> bool:
    """Check the payment against the account; True when it must be recorded although another writer paid or
    closed one of its targets since an earlier attempt of it charged (:data:`OVERTAKEN` refusals, then waived).

    An earlier attempt charged when it lost the write race to that writer (``after_conflict``), or when the
    gateway holds a charge under this key: the attempt's answer was lost (a timeout, a crash before recording)
    and this is the request again (a worker's redelivery, the payer's retry). The money moved either way, so
    the ledger records it, and what is no longer open becomes the customer's credit; otherwise the refusal
    stands and nothing is charged. When the gateway cannot say (an outage), GatewayUnavailable: retry later,
    rather than refuse a request whose money may have moved. ``waived``: the refusals so waived (a capture
    waives fewer: one whose order was cancelled meanwhile is refunded, :func:`capture`).
    """
    try:
        account.check_payment(payment=payment_id, amount=amount, instruction=instruction)
        return False
    except LedgerError as error:
        if error.code not in waived:
            raise
        if not unit.after_conflict and not charged_before(unit, charge_key):  # check_repeat answered recorded ones
            raise
        log.warning("payment_overtaken_recorded", account=account.state.account_id, payment=payment_id,
                    code=error.code, why="write_race_lost" if unit.after_conflict else "answer_lost")
        return True


def charged_before(unit: Unit, charge_key: str) -> bool:
    """Whether the gateway charged under ``charge_key`` (approved, or pending for ACH): an earlier attempt of the
    request whose answer was lost. Asked before refusing an unrecorded request for what became true since (its
    card expired, its target was paid ...), so that money moved is recorded, never left unknown to the ledger;
    a lookup that moves no money (GatewayUnavailable when the gateway cannot say: retry later)."""
    earlier = unit.ports.gateway.find(idempotency_key=charge_key)
    return earlier is not None and earlier.status != "declined"


def token_for(unit: Unit, token: str, method: Method) -> str:
    """A gateway token that pays by ``method``: a card token is not a PayPal account nor a bank account
    (``token_method_mismatch``), refused before the gateway is asked to charge it."""
    return token_of(unit, token, (method,))[0]


def hold_token(unit: Unit, token: str) -> tuple[str, HoldMethod]:
    """A gateway token a hold may be placed on, and what it holds: a card or a PayPal account (seed 004: "if the
    customer pays by Credit Card or PayPal, eCommerce will authorize a charge"); a bank account is debited, never
    held (``token_method_mismatch``, issue 14), refused before the gateway is asked. A token the gateway does not
    know is taken for a card: the gateway declines it."""
    token, method = token_of(unit, token, HOLDABLE)
    return token, "paypal" if method == "paypal" else "card"


def hold_method(unit: Unit, authorization: Authorization) -> HoldMethod:
    """What a hold is on: its record's, or for a hold recorded before holds kept it (a card or a PayPal account
    alike, issue 14), what the gateway says its token is: a PayPal hold placed then is captured, and renewed, as
    PayPal. Asked before the gateway moves any money (GatewayUnavailable when it cannot say: retry later)."""
    if authorization.method is not None:
        return authorization.method
    return "paypal" if unit.ports.gateway.token_method(authorization.token) == "paypal" else "card"


def token_of(unit: Unit, token: str, methods: tuple[Method, ...]) -> tuple[str, Method]:
    """A gateway token that pays by one of ``methods``, and which (the first when the gateway does not know the
    token: it then declines it); another method's token is refused ``token_method_mismatch``, naming ``token``."""
    token = gateway_token(token)
    kind = unit.ports.gateway.token_method(token)
    if kind is not None and kind not in methods:
        raise ValidationError(f"this token pays by {kind}, not {' or '.join(methods)}", field="token",
                              code="token_method_mismatch")
    return token, kind or methods[0]



def charge_guest(unit: Unit, scope: UUID, key: str, *, token: str, amount: int, currency: str,
                 method: Method) -> ChargeResult:
    """Charge a guest payment that matched no account (kept aside for research): approved or declined (answered
    as a declined payment is), anything else refused."""
    guest_key = guest_charge_key(scope, key)
    unit.intend(key=guest_key, account="", kind="charge", amount=amount, target=scope.hex)
    result = unit.ports.gateway.charge(token=token, amount=amount, currency=currency, method=method,
                                       idempotency_key=guest_key)
    if result.status not in ("approved", "declined"):
        raise PolicyViolation(f"the gateway did not approve the payment: {result.decline_code or result.status}",
                              field="token", code=result.decline_code or "not_approved")
    return result


def guest_charge_key(scope: UUID, key: str) -> str:
    """The gateway's idempotency key of a guest payment's charge (:func:`charge_guest`)."""
    return f"unidentified:{gateway_key(scope, key)}"


def refund(unit: Unit, account: Account, key: str, *, transaction_id: str, amount: int,
           field: str) -> ChargeResult:
    """Give ``amount`` of a settled transaction back; a refund the gateway declines is refused, naming ``field``."""
    refund_key = gateway_key(account.id, key)
    unit.intend(key=refund_key, account=account.state.account_id, kind="refund", amount=amount,
                target=transaction_id)
    result = unit.ports.gateway.refund(transaction_id=transaction_id, amount=amount, idempotency_key=refund_key)
    if result.status == "declined":
        raise PolicyViolation(f"the gateway refused the refund: {result.decline_code}", field=field,
                              code=result.decline_code or "refund_declined")
    return result


def hold(unit: Unit, account: Account, key: str, *, token: str, amount: int,
         check: Callable[[], object]) -> AuthorizationResult:
    """Ask the gateway for a hold once ``check`` passes (asked again, the same key answers the same hold); when
    ``check`` refuses a command whose earlier attempt got the hold, that hold is voided (:func:`undoing`). A
    key whose hold reconciliation voided is refused (``authorization_released``): the gateway would answer
    the dead hold."""

    def ask() -> AuthorizationResult:
        return unit.ports.gateway.authorize(token=token, amount=amount, currency=account.state.currency,
                                            idempotency_key=gateway_key(account.id, key))

    with undoing(unit, ask, lambda earlier: unit.ports.gateway.void(transaction_id=earlier.transaction_id)):
        check()
    if (released := unit.store.gateway_book.released(gateway_key(account.id, key))) is not None:
        raise PolicyViolation(f"reconciliation voided hold {released}, placed under this key when its answer was "
                              "lost: place the hold again with a new key", field="authorization",
                              code="authorization_released")
    unit.intend(key=gateway_key(account.id, key), account=account.state.account_id, kind="authorization",
                amount=amount, target=key)
    return ask()


def capture(unit: Unit, account: Account, key: str, *, authorization: Authorization, amount: int,
            check: Callable[[], object]) -> ChargeResult:
    """Capture ``amount`` of a hold once ``check`` passes; refused unless approved. When ``check`` refuses a
    command whose earlier attempt captured (the order was cancelled meanwhile ...), that capture is refunded."""

    def ask() -> ChargeResult:
        return unit.ports.gateway.capture(transaction_id=authorization.transaction_id, amount=amount,
                                          idempotency_key=gateway_key(account.id, key))

    def undo(taken: ChargeResult) -> None:
        unit.ports.gateway.refund(transaction_id=taken.transaction_id, amount=amount,
                                  idempotency_key=gateway_key(account.id, f"{key}:undone"))

    with undoing(unit, ask, undo):
        check()
    unit.intend(key=gateway_key(account.id, key), account=account.state.account_id, kind="capture",
                amount=amount, target=authorization.transaction_id)
    result = ask()
    if result.status != "approved":
        raise PolicyViolation(f"the gateway refused the capture: {result.decline_code}", field="authorization",
                              code=result.decline_code or "capture_declined")
    return result


#: What a gateway answers a void of a hold it no longer holds: released already (a void before, whose answer
#: was lost), or past its 29 days (it released itself). The hold is gone either way: the void is recorded.
NOT_HELD = frozenset({"authorization_voided", "authorization_expired"})


def release(unit: Unit, authorization: Authorization) -> None:
    """Ask the gateway to void a hold the ledger has decided to void (every refusal checked first); returns once
    the hold is released or no longer held (:data:`NOT_HELD`). Any other decline (a hold the gateway does not
    know, ``unknown_authorization``) is refused with the gateway's code: nothing is recorded, the hold stays
    active in the ledger for the CSR to look into. A void moves no money and has no idempotency key: no intent
    is kept, and a retry asks again (voiding twice is harmless)."""
    result = unit.ports.gateway.void(transaction_id=authorization.transaction_id)
    if result.status != "approved" and result.decline_code not in NOT_HELD:
        code = result.decline_code or "void_declined"
        raise PolicyViolation(f"the gateway refused to void hold {authorization.id}: {code}",
                              field="authorization", code=code)


@contextmanager
def undoing(unit: Unit, ask: Callable[[], A], undo: Callable[[A], object]) -> Iterator[None]:
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


def raise_unrecorded(command: Command, unit: Unit, error: Exception) -> NoReturn:
    """Raise for ``error``, an unexpected failure of a command attempt: when the gateway acted for it (a charge,
    a hold, a refund), a :class:`RecordingFailed` saying so and what to do, logged with the cause; otherwise
    ``error`` itself."""
    if not unit.gateway.acted:
        raise error
    acted = ", ".join(unit.gateway.acted)
    log.error("gateway_acted_not_recorded", account=getattr(command, "account", None),
              command=type(command).__name__, gateway=acted, error=repr(error), exc_info=error)
    raise RecordingFailed(f"the gateway did {acted} but recording it failed ({type(error).__name__}: {error}); "
                          "run the same command again, with the same key, once that is fixed: it is then "
                          "recorded, and the gateway does not act twice", field="account") from error
