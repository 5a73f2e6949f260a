"""A request whose gateway answer was lost is retried under the same key; a refusal that became true meanwhile
(the saved card expired or was removed, the order was paid, another hold was placed) never leaves what the
gateway did for the first attempt unknown to the ledger."""

from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.ports.ids import account_uuid
from tests.integration.test_gateway_races import charges, raced  # noqa: F401


def state(ledger: Any) -> Any:
    return ledger.store.account(account_uuid("ACC1")).state


def saved_card(ledger: Any, token: str = "tok_visa", exp_month: int = 9, exp_year: int = 2026) -> None:
    ledger.service.handle(m.AddPaymentMethod(account="ACC1", method="M1", kind="card", token=token, brand="visa",
                                             last4="4242", exp_month=exp_month, exp_year=exp_year))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="10.00", date="2026-09-01",
                                         due="2026-09-30"))


def test_a_saved_method_is_refused_when_its_token_pays_by_another_kind(raced: Any) -> None:  # noqa: F811
    ledger, gateway = raced
    with pytest.raises(LedgerError) as refused:
        saved_card(ledger, token="tok_paypal", exp_month=12, exp_year=2030)
    assert (refused.value.code, refused.value.field) == ("token_method_mismatch", "token")
    assert "M1" not in state(ledger).methods and charges(gateway) == 0
