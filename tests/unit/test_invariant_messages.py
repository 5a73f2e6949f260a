"""What ``audit verify`` says of a broken invariant names the account by its id and gives amounts in its currency."""

from __future__ import annotations

from ledger.aggregates import events as ev
from ledger.invariants import violations
from tests.property.histories import History


def test_a_lost_application_is_named_by_account_payment_and_decimal_amounts() -> None:
    h = History()
    h.issue_invoice(15000, 0)
    payment = h.pay(15000, "card", "distribute", 0)
    assert payment is not None and violations(h.events) == []
    applied = next(e for e in h.events if isinstance(e, ev.PaymentApplied))
    found = violations([e for e in h.events if e is not applied])  # a row deleted from the log
    assert f"account ACC1 payment {payment}: applied 0.00 USD + credited 0.00 USD + refunded 0.00 USD != amount " \
           "150.00 USD" in found
    assert "unapplied cash left over: 150.00 USD" in found
    assert "receivables 150.00 USD != open invoices 150.00 USD" not in found  # both sides see the open invoice
