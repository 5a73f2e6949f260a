"""Issue 15: hostile and mistaken input through the command service: amounts past the limits, amounts written
any other way than digits and a point, ids that look like another account's."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.aggregates import Account
from ledger.aggregates import events as ev
from ledger.aggregates.limits import MAX_AMOUNT, MAX_BALANCE
from ledger.bootstrap import Ledger
from ledger.commands import messages as m
from ledger.errors import LedgerError
from ledger.money import format_amount
from ledger.ports.ids import account_uuid
from tests.ledger_fixtures import START


def refusal(ledger: Ledger, command: Any) -> tuple[str, str]:
    with pytest.raises(LedgerError) as refused:
        ledger.service.handle(command)
    return refused.value.code, refused.value.field


def usd(minor: int) -> str:
    return format_amount(minor, "USD")


def test_an_amount_past_the_limit_is_refused_at_the_edge_and_in_the_account(ledger: Ledger) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    assert refusal(ledger, m.IssueInvoice(account="ACC1", invoice="I1", amount="9999999999999.99",
                                          date="2026-09-01", due="2026-09-30")) == ("amount_too_large", "amount")
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount=usd(MAX_AMOUNT),
                                         date="2026-09-01", due="2026-09-30"))
    account: Account = ledger.store.account(account_uuid("ACC1"))
    with pytest.raises(LedgerError) as refused:  # a worker or a script calling the aggregate directly
        account.issue_credit(ev.Context(at=START), credit="C1", amount=MAX_AMOUNT + 1, reference="")
    assert refused.value.code == "amount_too_large" and not account.pending_events


def test_an_account_may_owe_and_hold_no_more_than_the_balance_limit(ledger: Ledger) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    room = MAX_BALANCE // MAX_AMOUNT
    for n in range(room):
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice=f"I{n}", amount=usd(MAX_AMOUNT),
                                             date="2026-09-01", due="2026-09-30"))
    head = ledger.store.recorder.max_notification_id()
    assert refusal(ledger, m.IssueInvoice(account="ACC1", invoice="IX", amount="0.01", date="2026-09-01",
                                          due="2026-09-30")) == ("balance_limit", "amount")
    assert refusal(ledger, m.PlaceOrder(account="ACC1", order="O1", amount="0.01")) == ("balance_limit", "amount")
    assert refusal(ledger, m.AdjustInvoice(account="ACC1", invoice="I0", amount=usd(MAX_AMOUNT + 1))) == (
        "amount_too_large", "amount")
    for n in range(room):
        ledger.service.handle(m.IssueCredit(account="ACC1", credit=f"C{n}", amount=usd(MAX_AMOUNT)))
    assert refusal(ledger, m.IssueCredit(account="ACC1", credit="CX", amount="0.01")) == ("balance_limit", "amount")
    assert refusal(ledger, m.SubmitPayment(account="ACC1", payment="P1", amount="0.01", method="card",
                                           token="tok_visa", deposit=True)) == ("balance_limit", "amount")
    assert ledger.store.recorder.max_notification_id() == head + room  # the refusals wrote nothing


@pytest.mark.parametrize("kind", ["invoice", "order"])
def test_money_released_into_credit_cannot_take_the_credit_past_the_balance_limit(ledger: Ledger, kind: str) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    if kind == "invoice":
        ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="T1", amount=usd(MAX_AMOUNT),
                                             date="2026-09-01", due="2026-09-30"))
        release: Any = m.VoidInvoice(account="ACC1", invoice="T1")
    else:
        ledger.service.handle(m.PlaceOrder(account="ACC1", order="T1", amount=usd(MAX_AMOUNT)))
        release = m.CancelOrder(account="ACC1", order="T1")
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount=usd(MAX_AMOUNT), method="card",
                                          token="tok_visa", **{f"{kind}s": {"T1": usd(MAX_AMOUNT)}}))
    for n in range(MAX_BALANCE // MAX_AMOUNT):  # open credit up to the limit, each accepted
        ledger.service.handle(m.IssueCredit(account="ACC1", credit=f"C{n}", amount=usd(MAX_AMOUNT)))
    head = ledger.store.recorder.max_notification_id()
    assert refusal(ledger, release) == ("balance_limit", kind)
    assert ledger.store.recorder.max_notification_id() == head  # nothing written
    assert ledger.store.account(account_uuid("ACC1")).state.credit_balance == MAX_BALANCE
    ledger.service.handle(m.RefundCredit(account="ACC1", credit="C0", amount=usd(1)))  # room for all but 0.01
    assert refusal(ledger, release) == ("balance_limit", kind)
    ledger.service.handle(m.RefundCredit(account="ACC1", credit="C0", amount=usd(MAX_AMOUNT - 1)))
    ledger.service.handle(release)  # with room for all of it, the void or cancel goes through
    assert ledger.store.account(account_uuid("ACC1")).state.credit_balance == MAX_BALANCE


@pytest.mark.parametrize("amount", ["+5.00", " 5.00 ", "5.00 ", "\t5", "5.", ".5", "5.000", "5e2", "1_000.00",
                                    "1,000.00", "0x10", "\u0665.00", "\uff15.00", "5.0.0", "NaN", "Infinity",
                                    "--5", "5-"])
def test_an_amount_is_digits_and_at_most_the_currencys_decimals_nothing_else(ledger: Ledger, amount: str) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    code, field = refusal(ledger, m.IssueInvoice(account="ACC1", invoice="I1", amount=amount, date="2026-09-01",
                                                 due="2026-09-30"))
    assert field == "amount" and code in ("invalid_amount", "too_many_decimals")


def test_amounts_as_the_currency_writes_them_are_taken(ledger: Ledger) -> None:
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.OpenAccount(account="JP1", email="j@example.com", currency="JPY"))
    for n, amount in enumerate(["5", "5.5", "5.05", "0005.00"]):
        ledger.service.handle(m.IssueCredit(account="ACC1", credit=f"C{n}", amount=amount))
    ledger.service.handle(m.IssueCredit(account="JP1", credit="C1", amount="500"))
    assert refusal(ledger, m.IssueCredit(account="JP1", credit="C2", amount="500.0")) == (
        "too_many_decimals", "amount")
    assert refusal(ledger, m.IssueCredit(account="ACC1", credit="CN", amount="-5.00")) == (
        "negative_amount", "amount")


@pytest.mark.parametrize(("twin", "original"), [("UHOMO\u0410", "UHOMOA"), ("CAFE\u0301", "CAFE"),
                                                ("\uff35HOMOA", "UHOMOA"), ("UHOMOA\u200b", "UHOMOA")])
def test_an_id_that_looks_like_another_cannot_open_a_twin(ledger: Ledger, twin: str, original: str) -> None:
    ledger.service.handle(m.OpenAccount(account=original, email="a@example.com"))
    assert refusal(ledger, m.OpenAccount(account=twin, email="b@example.com")) == ("invalid_id", "account")
    assert refusal(ledger, m.IssueInvoice(account=original, invoice="I\u0406", amount="1.00", date="2026-09-01",
                                          due="2026-09-30")) == ("invalid_id", "invoice")
    assert refusal(ledger, m.OpenAccount(account="CAF\u00c9", email="c@example.com")) == ("invalid_id", "account")
