"""An idempotency key answers only the request it was first used for: the same key for another refund, another
capture or another kind of command is refused (``idempotency_key_reused``), never answered "done" while
nothing it asked for was done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.errors import Conflict
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import make_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    built = make_ledger(tmp_path)
    s = built.service
    s.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    for payment in ("P1", "P2"):
        s.handle(m.SubmitPayment(account="ACC1", payment=payment, amount="50.00", method="card", token="tok_visa",
                                 deposit=True))
    s.handle(m.PlaceOrder(account="ACC1", order="O1", amount="80.00"))
    s.handle(m.AuthorizeCard(account="ACC1", authorization="A1", order="O1", amount="80.00", token="tok_visa"))
    yield built
    built.close()


def test_a_refund_key_answers_only_its_own_refund(ledger: Any) -> None:
    s = ledger.service
    first = s.handle(m.RefundPayment(account="ACC1", payment="P1", amount="10.00", key="R-1"))
    assert s.handle(m.RefundPayment(account="ACC1", payment="P1", amount="10.00", key="R-1")).replayed
    for other in (m.RefundPayment(account="ACC1", payment="P1", amount="20.00", key="R-1"),
                  m.RefundPayment(account="ACC1", payment="P2", amount="10.00", key="R-1"),
                  m.RefundPayment(account="ACC1", payment="NOPE", amount="10.00", key="R-1"),
                  m.RefundCredit(account="ACC1", credit="P1-DEP", amount="10.00", key="R-1"),
                  m.SubmitPayment(account="ACC1", payment="P9", amount="1.00", method="card", token="tok_visa",
                                  deposit=True, key="R-1")):
        with pytest.raises(Conflict) as refused:
            s.handle(other)
        assert (refused.value.code, refused.value.field) == ("idempotency_key_reused", "key")
    state = ledger.store.account(account_uuid("ACC1")).state
    assert state.payments["P1"].refunded == 1000 and state.payments["P2"].refunded == 0
    assert "P9" not in state.payments and first.transaction_id


def test_a_payments_key_is_not_a_credit_refunds(ledger: Any) -> None:
    with pytest.raises(Conflict):
        ledger.service.handle(m.RefundCredit(account="ACC1", credit="P1-DEP", amount="0.25", key="payment:P1"))


def test_a_second_capture_of_a_hold_is_refused_not_answered_with_the_first(ledger: Any) -> None:
    s = ledger.service
    s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PC1", amount="50.00"))
    assert s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PC1",
                                           amount="50")).replayed  # the same capture, written differently
    with pytest.raises(Conflict) as refused:
        s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PC2", amount="30.00"))
    assert (refused.value.code, refused.value.field) == ("already_captured", "authorization")
    with pytest.raises(Conflict) as reused:
        s.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PC2", amount="30.00",
                                        key="capture:A1"))
    assert reused.value.code == "idempotency_key_reused"


def test_a_capture_recorded_before_fingerprints_is_still_replayed(ledger: Any) -> None:
    """Captures used to record the hash of the whole command: a retry after the upgrade is the same capture."""
    from datetime import timedelta

    from ledger.aggregates import events as ev
    from tests.ledger_fixtures import START

    account = ledger.store.account(account_uuid("ACC1"))
    auth = account.state.authorizations["A1"]
    account.capture_authorization(ev.Context(at=START + timedelta(hours=1)), authorization="A1",
                                  payment="PC1", amount=8000, transaction_id=auth.transaction_id,
                                  idempotency_key="capture:A1", request_hash="a hash of the whole old command",
                                  method="card")
    ledger.store.save(account)
    again = ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PC1"))
    assert again.replayed and again.reference == "PC1"


def test_a_payments_key_does_not_answer_a_capture_of_that_payment_id(ledger: Any) -> None:
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="PX", amount="80.00", method="card",
                                          token="tok_visa", deposit=True, key="K"))
    with pytest.raises(Conflict) as refused:
        ledger.service.handle(m.CaptureAuthorization(account="ACC1", authorization="A1", payment="PX", key="K"))
    assert refused.value.code == "idempotency_key_reused"
    assert ledger.store.account(account_uuid("ACC1")).state.authorizations["A1"].status == "active"


def test_accounts_whose_ids_and_keys_spell_alike_get_a_charge_each(ledger: Any) -> None:
    s = ledger.service
    s.handle(m.OpenAccount(account="B", email="b@example.com"))
    s.handle(m.OpenAccount(account="B:payment", email="c@example.com"))
    one = s.handle(m.SubmitPayment(account="B:payment", payment="P1", amount="75.00", method="card",
                                   token="tok_visa", deposit=True))
    other = s.handle(m.SubmitPayment(account="B", payment="payment:P1", amount="75.00", method="card",
                                     token="tok_visa", deposit=True))
    assert one.transaction_id != other.transaction_id  # "B:payment" + "P1" is not "B" + "payment:P1"


def test_a_guest_payment_key_answers_only_its_own_payment(ledger: Any) -> None:
    s = ledger.service
    first = s.handle(m.ReceiveUnidentifiedPayment(payment="G5", amount="40.00", currency="USD", method="card",
                                                  token="tok_visa", reference="r", key="K"))
    second = s.handle(m.ReceiveUnidentifiedPayment(payment="G6", amount="40.00", currency="USD", method="card",
                                                   token="tok_visa", reference="r", key="K"))
    assert first.transaction_id != second.transaction_id  # two payments, two charges
    with pytest.raises(Conflict) as refused:
        s.handle(m.ReceiveUnidentifiedPayment(payment="G5", amount="40.00", currency="USD", method="paypal",
                                              token="tok_mastercard", reference="other", key="K"))
    assert (refused.value.code, refused.value.field) == ("idempotency_key_reused", "key")
    again = s.handle(m.ReceiveUnidentifiedPayment(payment="G5", amount="40.00", currency="USD", method="card",
                                                  token="tok_visa", reference="r", key="K"))
    assert again.replayed and again.transaction_id == first.transaction_id


def test_a_payment_repeated_with_its_amount_written_otherwise_is_the_same_request(ledger: Any) -> None:
    s = ledger.service
    s.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="60.00", date="2026-09-01", due="2026-09-30"))
    first = s.handle(m.SubmitPayment(account="ACC1", payment="P9", amount="60.00", method="card", token="tok_visa",
                                     invoices={"I1": "60.00"}))
    again = s.handle(m.SubmitPayment(account="ACC1", payment="P9", amount="60", method="card", token="tok_visa",
                                     invoices={"I1": "60.0"}))
    assert again.replayed and again.transaction_id == first.transaction_id
    with pytest.raises(Conflict):
        s.handle(m.SubmitPayment(account="ACC1", payment="P9", amount="61", method="card", token="tok_visa",
                                 invoices={"I1": "60.0"}))
    with pytest.raises(Conflict):  # 6000.00 written as the minor units of 60.00: another request
        s.handle(m.SubmitPayment(account="ACC1", payment="P9", amount="6000", method="card", token="tok_visa",
                                 invoices={"I1": "6000"}))
