"""Ids recorded before the safe alphabet (README "Ids") stay usable: an account ``MÜLLER-01`` or an invoice
``INV(2024)`` opened by an older release can still be paid, read and closed, while a new id must be in the
alphabet, so no look-alike twin of an account can be opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.commands import messages as m
from ledger.errors import NotFound, ValidationError
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import ids_as_before, make_ledger


def test_an_account_and_invoice_opened_before_the_safe_alphabet_can_still_be_paid_and_voided(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = make_ledger(tmp_path)
    s = ledger.service
    with monkeypatch.context() as older:
        ids_as_before(older)
        s.handle(m.OpenAccount(account="MÜLLER-01", email="m@example.com"))
        s.handle(m.IssueInvoice(account="MÜLLER-01", invoice="INV(2024)", amount="50.00", date="2026-09-01",
                                due="2026-09-30"))
        s.handle(m.IssueInvoice(account="MÜLLER-01", invoice="INV(2025)", amount="20.00", date="2026-09-02",
                                due="2026-09-30"))
    s.handle(m.SubmitPayment(account="MÜLLER-01", payment="P1", amount="50.00", method="card", token="tok_visa",
                             invoices={"INV(2024)": "50.00"}))
    s.handle(m.VoidInvoice(account="MÜLLER-01", invoice="INV(2025)"))
    state = ledger.store.account(account_uuid("MÜLLER-01")).state
    assert state.invoices["INV(2024)"].paid == 5000 and state.invoices["INV(2025)"].voided
    with pytest.raises(ValidationError) as refused:  # a new id still has to be in the alphabet
        s.handle(m.IssueInvoice(account="MÜLLER-01", invoice="INV(2026)", amount="1.00", date="2026-09-03",
                                due="2026-09-30"))
    assert refused.value.field == "invoice" and refused.value.code == "invalid_id"
    ledger.close()


def test_a_look_alike_of_an_account_can_be_neither_opened_nor_addressed(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path)
    s = ledger.service
    s.handle(m.OpenAccount(account="UHOMOA", email="u@example.com"))
    twin = "UHOMO\u0410"  # Cyrillic A
    with pytest.raises(ValidationError) as refused:
        s.handle(m.OpenAccount(account=twin, email="attacker@example.com"))
    assert refused.value.field == "account" and refused.value.code == "invalid_id"
    with pytest.raises(NotFound):
        s.handle(m.IssueCredit(account=twin, credit="C1", amount="5.00"))
    ledger.close()
