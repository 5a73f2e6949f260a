"""The audit log's words for events: money fields are known by their type, shown as decimals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import msgspec
import pytest

from ledger.aggregates import events as ev
from ledger.aggregates.events.base import Minor
from ledger.projections.describe import comment, details

#: Integer fields that are not money (counts, card expiry, the aggregate's version).
NOT_MONEY = {"originator_version", "open_invoices", "exp_month", "exp_year"}


def _integer_fields(cls: type) -> list[msgspec.structs.FieldInfo]:
    out = []
    for field in msgspec.structs.fields(cls):
        tp = getattr(field.type, "__origin__", field.type)  # Annotated[int, ...] -> int
        options = getattr(field.type, "__args__", ()) if tp is not int else ()
        if tp is int or int in options:
            out.append(field)
    return out


@pytest.mark.parametrize("cls", sorted(ev.EVENT_TYPES.values(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_every_integer_field_is_money_or_known_not_to_be(cls: type[ev.Event]) -> None:
    """A new money field declared as a bare ``int`` would be shown in minor units: declare it ``Minor``."""
    for field in _integer_fields(cls):
        assert field.type == Minor or field.name in NOT_MONEY, f"{cls.__name__}.{field.name}"


def test_a_statement_shows_its_balance_as_a_decimal_in_the_account_currency() -> None:
    event = ev.StatementSent(originator_id=uuid4(), originator_version=9, timestamp=datetime(2027, 1, 12, tzinfo=UTC),
                             by=ev.Actor("csr", "jdoe", "csr"), period_from=date(2026, 9, 1),
                             period_to=date(2026, 9, 30), balance=20000, open_invoices=2)
    assert details(event, "USD") == "period_from=2026-09-01 period_to=2026-09-30 balance=200.00 open_invoices=2"
    assert details(event, "BHD") .endswith("balance=20.000 open_invoices=2")
    assert details(event, "JPY").endswith("balance=20000 open_invoices=2")
    assert comment(event) == "Portal – Statement Sent"


def test_what_a_pending_distribution_planned_is_shown_as_decimals() -> None:
    line = ev.payments.Line
    event = ev.PaymentSubmitted(originator_id=uuid4(), originator_version=3, timestamp=datetime(2026, 9, 1, tzinfo=UTC),
                                payment_id="ACH1", amount=3000, method="ach", token="tok_ach", transaction_id="t",
                                idempotency_key="k", request_hash="h",
                                instruction=ev.payments.Instruction("distribute"),
                                planned=(line("invoice", "INV-12", 2500), line("invoice", "INV-13", 500)))
    assert details(event, "USD").endswith("instruction=distribute planned=INV-12 25.00, INV-13 5.00")
    assert "planned" not in details(msgspec.structs.replace(event, planned=()), "USD")
    assert "planned" not in details(msgspec.structs.replace(event, planned=None), "USD")  # recorded before plans
