"""A refusal names the field as the command names it (the CLI option, the key of the NATS body), not as the
aggregate does: ``credit``, ``invoice``, ``invoices.I9``, ``orders.O9``, ``method``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.commands import messages as m
from ledger.errors import LedgerError
from tests.ledger_fixtures import make_ledger


@pytest.mark.parametrize(("command", "field"), [
    (m.ApplyCredit(account="ACC1", credit="K1", amount="1.00", invoice="NOPE"), "invoice"),
    (m.ApplyCredit(account="ACC1", credit="K1", amount="1.00", order="NOPE"), "order"),
    (m.ApplyCredit(account="ACC1", credit="K9", amount="1.00", invoice="I1"), "credit"),
    (m.ApplyCredit(account="ACC1", credit="K1", amount="9.00", invoice="I1"), "amount"),
    (m.SubmitPayment(account="ACC1", payment="P1", amount="1.00", method="card", token="tok_visa",
                     invoices={"I9": "1.00"}), "invoices.I9"),
    (m.SubmitPayment(account="ACC1", payment="P1", amount="1.00", method="card", token="tok_visa",
                     orders={"O9": "1.00"}), "orders.O9"),
    (m.SubmitPayment(account="ACC1", payment="P1", amount="1.00", method="card", token="tok_visa",
                     invoices={"I 1": "1.00"}), "invoices"),
    (m.SetDefaultPaymentMethod(account="ACC1", method="NOPE"), "method"),
    (m.SendStatement(account="ACC1", period_from="2026-09-30", period_to="2026-09-01"), "period_to"),
    (m.SendStatement(account="ACC1", period_from="Sept", period_to="2026-09-01"), "period_from"),
])
def test_the_field_of_a_refusal_is_the_commands(tmp_path: Path, command: Any, field: str) -> None:
    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="5.00", date="2026-09-01",
                                         due="2026-09-30"))
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="K1", amount="2.00"))
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(command)
    assert refused.value.field == field, refused.value.message
    ledger.close()


def test_the_invoices_read_refuses_an_unknown_status(tmp_path: Path) -> None:
    """The NATS read took any status and answered an empty list; the CLI refused it."""
    from ledger.projections import queries
    from ledger.projections.keeper import ProjectionKeeper

    ledger = make_ledger(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    keeper = ProjectionKeeper(ledger.store, tmp_path)
    keeper.catch_up()
    with pytest.raises(LedgerError) as refused:
        queries.invoices(keeper.connection("accounts"), "ACC1", "bogus")
    assert (refused.value.field, refused.value.code) == ("status", "unknown_status")
    assert queries.invoices(keeper.connection("accounts"), "ACC1", "unpaid") == []
    keeper.close()
    ledger.close()
