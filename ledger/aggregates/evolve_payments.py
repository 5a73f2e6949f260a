"""How payments and credits change an Account's state: submitted, settled, declined, returned, refunded,
deposited, and applied to (or taken off) invoices and orders. State changes only, no rules (see
:mod:`ledger.aggregates.evolve`).
"""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.aggregates.evolve_dispatch import evolve
from ledger.aggregates.idempotency import remember, request_fingerprint
from ledger.aggregates.state import AccountState, Application, Credit, Payment


def deposit_reference(event: ev.PaymentDeposited) -> str:
    """How a deposit credit is described: "parts deposit of payment DEP" (seed 000's purposes)."""
    purpose = f"{event.purpose.replace('_', ' ')} " if event.purpose else ""
    return f"{purpose}deposit of payment {event.payment_id}"


def _target_paid(state: AccountState, kind: str, target_id: str, delta: int) -> None:
    if kind == "invoice":
        state.invoices[target_id].paid += delta
    else:
        state.orders[target_id].paid += delta


def _remove_application(state: AccountState, source_kind: str, source_id: str, kind: str, target_id: str,
                        amount: int, with_payment: str | None = None) -> None:
    left = amount
    wanted = (source_kind, source_id, kind, target_id, with_payment)
    for app in reversed(state.applications):
        if left == 0:
            break
        if (app.source_kind, app.source_id, app.target_kind, app.target_id, app.with_payment) == wanted:
            take = min(left, app.amount)
            app.amount -= take
            left -= take
    state.applications = [app for app in state.applications if app.amount > 0]


@evolve.register
def _(event: ev.PaymentSubmitted, state: AccountState) -> None:
    state.payments[event.payment_id] = Payment(
        id=event.payment_id, amount=event.amount, method=event.method, token=event.token,
        transaction_id=event.transaction_id, submitted_at=event.timestamp, idempotency_key=event.idempotency_key,
        request_hash=event.request_hash, instruction=event.instruction, source=event.source, planned=event.planned,
    )
    remember(state, event.idempotency_key, event.request_hash, event.payment_id)
    state.pending_payments.append(event.payment_id)


def _not_pending(state: AccountState, payment_id: str) -> None:
    if payment_id in state.pending_payments:
        state.pending_payments.remove(payment_id)


@evolve.register
def _(event: ev.PaymentSettled, state: AccountState) -> None:
    payment = state.payments[event.payment_id]
    payment.status = "settled"
    payment.settled_at = event.timestamp
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentDeclined, state: AccountState) -> None:
    payment = state.payments[event.payment_id]
    payment.status = "declined"
    payment.decline_code = event.decline_code
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentReturned, state: AccountState) -> None:
    state.payments[event.payment_id].status = "returned"
    _not_pending(state, event.payment_id)


@evolve.register
def _(event: ev.PaymentRefunded, state: AccountState) -> None:
    state.payments[event.payment_id].refunded += event.amount
    remember(state, event.idempotency_key, request_fingerprint("refund", event.payment_id, event.amount),
             event.refund_transaction_id)


@evolve.register
def _(event: ev.PaymentApplied, state: AccountState) -> None:
    state.payments[event.payment_id].applied += event.amount
    _target_paid(state, event.target_kind, event.target_id, event.amount)
    state.applications.append(Application("payment", event.payment_id, event.target_kind, event.target_id,
                                          event.amount))


@evolve.register
def _(event: ev.PaymentUnapplied, state: AccountState) -> None:
    state.payments[event.payment_id].applied -= event.amount
    _target_paid(state, event.target_kind, event.target_id, -event.amount)
    _remove_application(state, "payment", event.payment_id, event.target_kind, event.target_id, event.amount)


@evolve.register
def _(event: ev.PaymentDeposited, state: AccountState) -> None:
    state.payments[event.payment_id].credited += event.amount
    state.credit_sequence += 1
    state.credits[event.credit_id] = Credit(event.credit_id, event.amount, event.amount, "deposit",
                                            deposit_reference(event), event.timestamp, state.credit_sequence,
                                            event.payment_id, event.purpose)


@evolve.register
def _(event: ev.CreditIssued, state: AccountState) -> None:
    state.credit_sequence += 1
    state.credits[event.credit_id] = Credit(event.credit_id, event.amount, event.amount, event.kind,
                                            event.reference, event.timestamp, state.credit_sequence,
                                            event.payment_id)
    if event.payment_id is not None:
        state.payments[event.payment_id].credited += event.amount


@evolve.register
def _(event: ev.CreditApplied, state: AccountState) -> None:
    state.credits[event.credit_id].remaining -= event.amount
    _target_paid(state, event.target_kind, event.target_id, event.amount)
    state.applications.append(Application("credit", event.credit_id, event.target_kind, event.target_id,
                                          event.amount, event.with_payment))


@evolve.register
def _(event: ev.CreditUnapplied, state: AccountState) -> None:
    state.credits[event.credit_id].remaining += event.amount
    _target_paid(state, event.target_kind, event.target_id, -event.amount)
    _remove_application(state, "credit", event.credit_id, event.target_kind, event.target_id, event.amount,
                        event.with_payment)


@evolve.register
def _(event: ev.CreditReversed, state: AccountState) -> None:
    credit = state.credits[event.credit_id]
    credit.remaining -= event.amount
    credit.amount -= event.amount
    if credit.payment_id is not None:
        state.payments[credit.payment_id].credited -= event.amount


@evolve.register
def _(event: ev.CreditRefunded, state: AccountState) -> None:
    state.credits[event.credit_id].remaining -= event.amount
    remember(state, event.idempotency_key, request_fingerprint("credit-refund", event.credit_id, event.amount),
             event.refund_transaction_id)

