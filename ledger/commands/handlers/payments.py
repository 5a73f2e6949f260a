"""Handlers for payments and refunds: validate at the edge, ask the gateway, record the answer."""

from __future__ import annotations

from uuid import UUID

import msgspec
import structlog

from ledger.aggregates import Account
from ledger.aggregates.events.payments import Instruction, Line
from ledger.aggregates.payments import OVERTAKEN
from ledger.aggregates.state import request_fingerprint
from ledger.commands import messages as m
from ledger.commands.handlers.registry import HandlerRegistry, recorded, replayed
from ledger.commands.unit import Unit, amount_of, check_id, gateway_token, request_hash
from ledger.errors import Conflict, LedgerError, PolicyViolation, ValidationError

HANDLERS = HandlerRegistry()
log = structlog.get_logger("ledger.commands")


def instruction_of(account: Account, cmd: m.SubmitPayment) -> Instruction:
    """The payer's instruction: explicit amounts, oldest-first distribution, or a deposit (exactly one)."""
    explicit = bool(cmd.invoices or cmd.orders)
    if explicit + cmd.distribute + cmd.deposit != 1:
        raise ValidationError("choose explicit invoice/order amounts, distribute, or deposit", field="allocations",
                              code="instruction_required")
    if cmd.deposit:
        if cmd.exact:
            raise ValidationError("a deposit has no amount due", field="exact")
        return Instruction("deposit")
    if cmd.distribute:
        return Instruction("distribute", exact=cmd.exact)
    lines = [Line("invoice", check_id(i, "invoices"), amount_of(account, a, f"invoices.{i}"))
             for i, a in cmd.invoices.items()]
    lines += [Line("order", check_id(o, "orders"), amount_of(account, a, f"orders.{o}"))
              for o, a in cmd.orders.items()]
    return Instruction("explicit", tuple(lines), exact=cmd.exact)


def idempotency_key(key: str | None, default: str) -> str:
    """The command's key, or one derived from its business id; bounded and printable."""
    chosen = key if key is not None else default
    if not chosen or len(chosen) > 128 or any(not c.isprintable() for c in chosen):
        raise ValidationError("the idempotency key must be 1-128 printable characters", field="key")
    return chosen


def gateway_key(scope: UUID, key: str) -> str:
    """The idempotency key the gateway sees: the aggregate's id (32 hex digits, never a colon) then the command's
    key. Ids and keys may hold colons, so ``account:key`` could be spelt alike by two accounts (``B`` with key
    ``payment:P1``, ``B:payment`` with ``P1``) and one charge be recorded by both."""
    return f"{scope.hex}:{key}"


def check_repeat(account: Account, key: str, digest: str, *earlier: str) -> str | None:
    """The id first recorded under ``key``, or None; the same key with another body, or for another kind of
    command (its fingerprint differs too), is refused."""
    seen = account.state.idempotency.get(key)
    if seen is None:
        return None
    if seen.request_hash not in (digest, *earlier):
        raise Conflict("this idempotency key was used for a different request", field="key",
                       code="idempotency_key_reused")
    return seen.result_id


@HANDLERS.on(m.SubmitPayment)
def submit_payment(unit: Unit, cmd: m.SubmitPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    payment_id = check_id(cmd.payment, "payment")
    key = idempotency_key(cmd.key, f"payment:{payment_id}")
    amount = amount_of(account, cmd.amount)
    instruction = instruction_of(account, cmd)
    digest = "minor:" + request_hash(in_minor_units(cmd, amount, instruction))  # never a raw body's fingerprint
    first = check_repeat(account, key, digest, request_hash(cmd))  # as fingerprinted before amounts were parsed
    if first is not None:
        done = account.state.payments[first]
        return replayed(cmd.account, first, status=done.status, transaction_id=done.transaction_id)
    token = gateway_token(cmd.token)
    charge_key = gateway_key(account.id, key)
    overtaken = overtaken_charge(unit, account, payment_id, charge_key, amount=amount, instruction=instruction)
    result = unit.ports.gateway.charge(token=token, amount=amount, currency=account.state.currency,
                                       method=cmd.method, idempotency_key=charge_key)
    payment = account.record_payment(unit.ctx, payment_id=payment_id, amount=amount, method=cmd.method,
                                     token=token, transaction_id=result.transaction_id, status=result.status,
                                     decline_code=result.decline_code, idempotency_key=key, request_hash=digest,
                                     instruction=instruction, overtaken=overtaken)
    return recorded(unit, cmd.account, payment_id, status=payment.status, transaction_id=result.transaction_id,
                    detail=result.decline_code or "")


def overtaken_charge(unit: Unit, account: Account, payment_id: str, charge_key: str, *, amount: int,
                     instruction: Instruction) -> bool:
    """Check the payment against the account; True when it must be recorded although another writer paid or
    closed one of its targets since an earlier attempt of it charged (:data:`OVERTAKEN` refusals, then waived).

    An earlier attempt charged when it lost the write race to that writer (``after_conflict``), or when the
    gateway holds a charge under this key: the attempt's answer was lost (a timeout, a crash before recording)
    and this is the request again (a worker's redelivery, the payer's retry). The money moved either way, so
    the ledger records it, and what is no longer open becomes the customer's credit; otherwise the refusal
    stands and nothing is charged. When the gateway cannot say (an outage), GatewayUnavailable: retry later,
    rather than refuse a request whose money may have moved.
    """
    try:
        account.check_payment(payment_id=payment_id, amount=amount, instruction=instruction)
        return False
    except LedgerError as error:
        if error.code not in OVERTAKEN:
            raise
        if not unit.after_conflict:  # a charge under this key is unrecorded: check_repeat answered recorded ones
            earlier = unit.ports.gateway.find(idempotency_key=charge_key)
            if earlier is None or earlier.status == "declined":
                raise
        log.warning("payment_overtaken_recorded", account=account.state.account_id, payment=payment_id,
                    code=error.code, why="write_race_lost" if unit.after_conflict else "answer_lost")
        return True


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
    account.settle_payment(unit.ctx, payment_id=cmd.payment)
    return recorded(unit, cmd.account, cmd.payment, status="settled", transaction_id=payment.transaction_id)


@HANDLERS.on(m.ReturnPayment)
def return_payment(unit: Unit, cmd: m.ReturnPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    payment = account.payment(cmd.payment)
    if payment.status == "returned":
        return replayed(cmd.account, cmd.payment, status="returned", transaction_id=payment.transaction_id)
    # The account's history up to the version loaded, to re-allocate what was paid after it (invariant 5).
    history = list(unit.store.events.get(account.id, lte=account.version)) if payment.status == "settled" else None
    account.return_payment(unit.ctx, payment_id=cmd.payment, return_code=check_id(cmd.code, "code"),
                           history=history)
    if account.reallocation not in ("", "reallocated", "unchanged"):
        log.warning("ach_return_unwound_only", account=cmd.account, payment=cmd.payment, why=account.reallocation,
                    hint="later payments keep their allocations; apply freed credit by hand (docs/replay.md)")
    return recorded(unit, cmd.account, cmd.payment, status="returned", transaction_id=payment.transaction_id)


@HANDLERS.on(m.RefundPayment)
def refund_payment(unit: Unit, cmd: m.RefundPayment) -> m.Outcome:
    account = unit.account(cmd.account)
    amount = amount_of(account, cmd.amount)
    key = idempotency_key(cmd.key, f"refund:{cmd.payment}:{amount}")
    first = check_repeat(account, key, request_fingerprint("refund", cmd.payment, amount))
    if first is not None:
        return replayed(cmd.account, cmd.payment, transaction_id=first)
    payment = account.check_refund(payment_id=cmd.payment, amount=amount)
    result = unit.ports.gateway.refund(transaction_id=payment.transaction_id, amount=amount,
                                       idempotency_key=gateway_key(account.id, key))
    if result.status == "declined":
        raise PolicyViolation(f"the gateway refused the refund: {result.decline_code}", field="payment",
                              code=result.decline_code or "refund_declined")
    account.refund_payment(unit.ctx, payment_id=cmd.payment, amount=amount,
                           refund_transaction_id=result.transaction_id, idempotency_key=key)
    return recorded(unit, cmd.account, cmd.payment, status="refunded", transaction_id=result.transaction_id)
