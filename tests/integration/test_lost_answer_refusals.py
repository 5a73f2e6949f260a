"""A request whose gateway answer was lost is retried under the same key; a refusal that became true meanwhile
(the saved card expired or was removed, the order was paid, another hold was placed) never leaves what the
gateway did for the first attempt unknown to the ledger."""

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.errors import GatewayUnavailable, LedgerError
from ledger.invariants import violations
from ledger.ports.ids import account_uuid
from tests.integration.test_gateway_races import charges, logged, raced  # noqa: F401


def lost(ledger: Any, gateway: Any, cmd: Any) -> None:
    """``cmd`` reaches the gateway, which acts; its answer is lost."""
    gateway.fail_next(1, lose_response=True)
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(cmd)


def state(ledger: Any) -> Any:
    return ledger.store.account(account_uuid("ACC1")).state


def saved_card(ledger: Any, token: str = "tok_visa", exp_month: int = 9, exp_year: int = 2026) -> None:
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token=token, brand="visa",
                                             last4="4242", exp_month=exp_month, exp_year=exp_year))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))


@pytest.mark.parametrize("then", ["expired", "removed"])
def test_a_saved_card_charge_whose_answer_was_lost_is_recorded_though_the_card_expired_or_was_removed(
        raced: Any, then: str) -> None:  # noqa: F811
    ledger, gateway = raced
    saved_card(ledger)
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", saved="M1", invoices={"I1": "10.00"})
    lost(ledger, gateway, pay)
    if then == "expired":
        gateway.clock.set(datetime(2026, 10, 1, 14, tzinfo=UTC))
    else:
        ledger.service.handle(m.RemovePaymentMethod(account="ACC1", method="M1"))
    again = ledger.service.handle(pay)
    paid = state(ledger).payments["PA"]
    assert (paid.status, paid.method, paid.transaction_id) == ("settled", "card", again.transaction_id)
    assert charges(gateway) == 1 and state(ledger).balance == 0 and not violations(logged(ledger))
    assert ledger.service.handle(pay).transaction_id == again.transaction_id and charges(gateway) == 1


@pytest.mark.parametrize("then", ["expired", "removed"])
def test_a_saved_card_that_can_no_longer_pay_is_still_refused_when_nothing_was_charged(
        raced: Any, then: str) -> None:  # noqa: F811
    ledger, gateway = raced
    saved_card(ledger)
    pay = m.SubmitPayment(account="ACC1", payment="PA", amount="10.00", saved="M1", invoices={"I1": "10.00"})
    gateway.fail_next(1)  # the gateway never got the request
    with pytest.raises(GatewayUnavailable):
        ledger.service.handle(pay)
    if then == "expired":
        gateway.clock.set(datetime(2026, 10, 1, 14, tzinfo=UTC))
    else:
        ledger.service.handle(m.RemovePaymentMethod(account="ACC1", method="M1"))
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(pay)
    assert refused.value.code == ("card_expired" if then == "expired" else "not_found")
    assert charges(gateway) == 0 and "PA" not in state(ledger).payments


def test_a_saved_method_is_refused_when_its_token_pays_by_another_kind(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    with pytest.raises(LedgerError) as refused:
        saved_card(ledger, token="tok_paypal", exp_month=12, exp_year=2030)
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert "M1" not in state(ledger).methods and charges(gateway) == 0
