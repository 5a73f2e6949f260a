"""A guest ACH payment is refused before the bank is debited: research keeps no pending money."""
from __future__ import annotations

import pytest

from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import ValidationError


def test_a_guest_ach_payment_is_refused_before_any_debit(ledger: Ledger) -> None:
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(m.ReceiveUnidentifiedPayment(payment="G1", amount="25.00", currency="USD",
                                                           method="ach", token="tok_ach", reference="ORD-404"))
    assert (refused.value.field, refused.value.code) == ("method", "ach_not_for_guests")
    debits = [t for t in ledger.ports.gateway.transactions(since=ledger.ports.clock.now().replace(year=2000))
              if t.status != "declined"]
    assert debits == []
    assert ledger.store.gateway_book.intents() == []
