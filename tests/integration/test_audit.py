"""Finance: as-of balances from the log, statements, exports, and ``audit verify`` catching tampering."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import msgspec
import pytest

from ledger.adapters.clock import ManualClock
from ledger.aggregates import events as ev
from ledger.commands import messages as m
from ledger.errors import NotFound, ValidationError
from ledger.ports.clock import start_of_business_day
from ledger.ports.ids import account_uuid
from ledger.projections.keeper import ProjectionKeeper
from ledger.projections.runner import StoreLog
from replay.asof import balances_as_of
from replay.export import records, render
from replay.history import events
from replay.statement import statement
from replay.verify import invariant_findings, verify
from tests.ledger_fixtures import START, edit_events, events_at, make_ledger, store_sql

pytestmark = pytest.mark.usefixtures("store_backend")


def history(tmp_path: Path) -> tuple[object, ManualClock]:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01",
                                         due="2026-09-30"))
    clock.advance(days=1)
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P1", amount="40.00", method="card",
                                          token="tok_visa", distribute=True))
    clock.advance(days=1)
    ledger.service.handle(m.SubmitPayment(account="ACC1", payment="P2", amount="100.00", method="ach",
                                          token="tok_ach", distribute=True))
    ledger.service.handle(m.SettlePayment(account="ACC1", payment="P2"))
    return ledger, clock


def test_as_of_balances_equal_the_history_cut_at_that_time(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    store = ledger.store  # type: ignore[attr-defined]
    day0 = balances_as_of(store, START + timedelta(hours=1))
    day1 = balances_as_of(store, START + timedelta(days=1, hours=1))
    day2 = balances_as_of(store, START + timedelta(days=3))
    assert [(a.balance, a.credit_balance) for a in day0.accounts] == [("100.00", "0.00")]
    assert [(a.balance, a.credit_balance) for a in day1.accounts] == [("60.00", "0.00")]
    assert [(a.balance, a.credit_balance) for a in day2.accounts] == [("0.00", "40.00")]
    assert day0.balanced and day1.balanced and day2.balanced
    assert balances_as_of(store, START - timedelta(days=1)).accounts == []
    ledger.close()  # type: ignore[attr-defined]


def test_statement_has_opening_movements_closing(tmp_path: Path) -> None:
    ledger, clock = history(tmp_path)
    result = statement(ledger.store, "ACC1", date(2026, 9, 2), date(2026, 9, 30), clock.zone)  # type: ignore[attr-defined]
    assert result.opening_balance == "100.00"
    assert [(line.reference, line.credit) for line in result.lines] == [("P1 -> I1", "40.00"), ("P2 -> I1", "60.00")]
    assert result.closing_balance == "0.00"
    assert (result.opening_credit, result.closing_credit) == ("0.00", "40.00")  # P2 overpaid by 40.00
    before = statement(ledger.store, "ACC1", date(2026, 9, 1), date(2026, 9, 2), clock.zone)  # type: ignore[attr-defined]
    assert (before.opening_credit, before.closing_credit) == ("0.00", "0.00")
    ledger.close()  # type: ignore[attr-defined]


def test_a_returned_ach_payment_reads_as_a_return_on_the_statement(tmp_path: Path) -> None:
    ledger, clock = history(tmp_path)
    clock.advance(days=1)
    ledger.service.handle(m.ReturnPayment(account="ACC1", payment="P2", code="R01"))  # type: ignore[attr-defined]
    result = statement(ledger.store, "ACC1", date(2026, 9, 1), date(2026, 9, 30), clock.zone)  # type: ignore[attr-defined]
    returned = [line for line in result.lines if "ACH return" in line.event]
    assert [(line.event, line.reference, line.charge) for line in returned] == [
        ("Payment Unapplied (ACH return R01)", "P2 -> I1", "60.00")]
    assert result.closing_balance == "60.00"
    ledger.close()  # type: ignore[attr-defined]


def test_a_statement_read_by_aggregate_equals_one_read_from_the_whole_log(tmp_path: Path) -> None:
    ledger, clock = history(tmp_path)
    ledger.service.handle(m.OpenAccount(account="ACC2", email="b@example.com"))  # type: ignore[attr-defined]
    ledger.service.handle(m.IssueInvoice(account="ACC2", invoice="I1", amount="5.00", date="2026-09-03",  # type: ignore[attr-defined]
                                         due="2026-09-30"))
    whole_log = StoreLog(ledger.store)  # type: ignore[attr-defined]
    for account in ("ACC1", "ACC2"):
        for start, end in ((date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 9, 2), date(2026, 9, 2))):
            by_aggregate = statement(ledger.store, account, start, end, clock.zone)  # type: ignore[attr-defined]
            assert by_aggregate == statement(whole_log, account, start, end, clock.zone)
    with pytest.raises(NotFound):
        statement(ledger.store, "NOPE", date(2026, 9, 1), date(2026, 9, 30), clock.zone)  # type: ignore[attr-defined]
    ledger.close()  # type: ignore[attr-defined]


def test_export_has_every_event_and_balanced_postings(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    rows = list(records(ledger.store, START - timedelta(days=1), START + timedelta(days=9)))  # type: ignore[attr-defined]
    audits = [r for r in rows if r["record"] == "audit"]
    assert len(audits) == ledger.store.recorder.max_notification_id()  # type: ignore[attr-defined]
    postings = [r for r in rows if r["record"] == "posting"]
    assert sum(r["debit"] for r in postings) == sum(r["credit"] for r in postings) > 0
    assert {r["currency"] for r in postings} == {"USD"}  # an auditor needs the unit of every posting
    lines = "".join(render(iter(rows), "jsonl")).splitlines()
    assert msgspec.json.decode(lines[0])["event"] == "AccountOpened"
    csv_text = "".join(render(iter(rows), "csv"))
    assert csv_text.startswith("record,position,event_id") and csv_text.count("\n") == len(rows) + 1
    ledger.close()  # type: ignore[attr-defined]


def test_an_event_at_midnight_belongs_to_the_period_it_opens_in_every_replay(tmp_path: Path) -> None:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    ledger.service.handle(m.OpenAccount(account="ACC1", email="a@example.com"))
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I1", amount="100.00", date="2026-09-01",
                                         due="2026-09-30"))
    october = start_of_business_day(date(2026, 10, 1), clock.zone)
    clock.set(october)  # exactly midnight, business time
    ledger.service.handle(m.IssueInvoice(account="ACC1", invoice="I2", amount="40.00", date="2026-10-01",
                                         due="2026-10-31"))
    september = statement(ledger.store, "ACC1", date(2026, 9, 1), date(2026, 9, 30), clock.zone)
    assert september.closing_balance == "100.00"
    october_statement = statement(ledger.store, "ACC1", date(2026, 10, 1), date(2026, 10, 31), clock.zone)
    assert october_statement.opening_balance == "100.00"
    assert [a.balance for a in balances_as_of(ledger.store, october).accounts] == ["100.00"]
    postings = [r for r in records(ledger.store, START, october) if r["record"] == "posting"]
    assert sum(r["debit"] - r["credit"] for r in postings if r["ledger_account"] == "receivables") == 10000
    ledger.close()


def test_export_refuses_an_empty_or_reversed_period(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    for start, end in ((START, START), (START + timedelta(days=1), START)):
        with pytest.raises(ValidationError) as refused:
            records(ledger.store, start, end)  # type: ignore[attr-defined]
        assert refused.value.field == "to"
    ledger.close()  # type: ignore[attr-defined]


def test_a_catch_up_that_failed_is_a_finding_unless_an_undecodable_row_explains_it(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    store = ledger.store  # type: ignore[attr-defined]
    keeper = ProjectionKeeper(store, tmp_path)
    keeper.catch_up()
    result = verify(store, keeper, catch_up_failure="OperationalError: database is locked")
    assert not result.ok
    assert [f.check for f in result.findings] == ["projection_catch_up"]
    assert "database is locked" in result.findings[0].detail
    keeper.close()
    ledger.close()  # type: ignore[attr-defined]


def test_verify_passes_then_names_an_edited_event_row(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    store = ledger.store  # type: ignore[attr-defined]
    keeper = ProjectionKeeper(store, tmp_path)
    keeper.catch_up()
    clean = verify(store, keeper)
    assert clean.ok, clean.findings
    assert edit_events(tmp_path, "4000", "4100", position=3) == 1
    tampered = verify(store, keeper)
    assert not tampered.ok
    chain = [f for f in tampered.findings if f.check == "hash_chain"]
    assert len(chain) == 1 and chain[0].detail.startswith("position 3 ") and "edited" in chain[0].detail
    assert "(account ACC1, aggregate " in chain[0].detail  # named as finance knows it, and by its UUID
    table, where, params = events_at(position=2)
    assert store_sql(tmp_path, (f"delete from {table} where {where}", params)) == [1]
    assert any("deleted" in f.detail for f in verify(store, keeper).findings)
    keeper.close()
    ledger.close()  # type: ignore[attr-defined]


def test_text_that_reads_as_a_card_number_is_a_notice_and_verify_still_passes(tmp_path: Path) -> None:
    ledger, clock = history(tmp_path)
    store = ledger.store  # type: ignore[attr-defined]
    account = store.account(account_uuid("ACC1"))  # as an older release, whose edge read fewer forms, wrote it
    account.issue_credit(ev.Context(at=clock.now()), credit="C9", amount=100, reference="see 4111 11|11 1111 1111")
    store.save(account)
    keeper = ProjectionKeeper(store, tmp_path)
    keeper.catch_up()
    result = verify(store, keeper)
    assert result.ok and result.findings == []  # the books hold: the event cannot be removed
    assert [n.check for n in result.notices] == ["card_number_possible"]
    assert "(CreditIssued, " in result.notices[0].detail
    assert "4111" not in result.notices[0].detail
    account = store.account(account_uuid("ACC1"))  # printed as the networks print one: a discrepancy still
    account.issue_credit(ev.Context(at=clock.now()), credit="C10", amount=100, reference="card 4111 1111 1111 1111")
    store.save(account)
    keeper.catch_up()
    printed = verify(store, keeper)
    assert not printed.ok and [f.check for f in printed.findings] == ["card_number"]
    keeper.close()
    ledger.close()  # type: ignore[attr-defined]


def test_verify_finds_a_projection_that_drifted(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    keeper = ProjectionKeeper(ledger.store, tmp_path)  # type: ignore[attr-defined]
    keeper.catch_up()
    keeper.connection("accounts").execute("update invoices set paid = paid + 1")
    result = verify(ledger.store, keeper)  # type: ignore[attr-defined]
    assert [f.check for f in result.findings] == ["projection_diff"]
    detail = result.findings[0].detail
    assert detail.startswith("accounts.invoices differs from a rebuild: ") and "'I1'" in detail
    assert "10000, 10000" in detail and "10000, 10001" in detail  # the row, as rebuilt and as stored
    keeper.close()
    ledger.close()  # type: ignore[attr-defined]


def test_verify_checks_the_position_served_while_the_log_grows(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    keeper = ProjectionKeeper(ledger.store, tmp_path)  # type: ignore[attr-defined]
    keeper.catch_up()
    served = keeper.status()[0].position
    ledger.service.handle(m.IssueCredit(account="ACC1", credit="C9", amount="1.00", reference="r"))  # type: ignore[attr-defined]
    result = verify(ledger.store, keeper)  # type: ignore[attr-defined]
    assert result.ok, result.findings
    assert {c.position for c in result.projections} == {served}
    assert result.events == served + 1
    keeper.close()
    ledger.close()  # type: ignore[attr-defined]


def test_an_idempotency_key_recorded_twice_is_a_finding(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    logged = list(events(ledger.store))  # type: ignore[attr-defined]
    position, submitted = next((p, e) for p, e in logged if isinstance(e, ev.PaymentSubmitted))
    twin = msgspec.structs.replace(submitted, payment_id="P-TWIN", originator_version=99)
    count, found = invariant_findings([*logged, (position + 100, twin)])
    assert count == len(logged) + 1
    assert [f.detail for f in found if "idempotency" in f.detail] == [
        f"idempotency key {submitted.idempotency_key!r} of PaymentSubmitted recorded twice "
        f"(positions {position} and {position + 100})"]
    ledger.close()  # type: ignore[attr-defined]


def test_an_event_dated_before_its_aggregates_earlier_event_is_a_finding(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    logged = list(events(ledger.store))  # type: ignore[attr-defined]
    assert invariant_findings(logged)[1] == []
    position, last = logged[-1]
    backdated = msgspec.structs.replace(last, timestamp=START - timedelta(hours=1))
    _, found = invariant_findings([*logged[:-1], (position, backdated)])
    assert [f.check for f in found] == ["event_order"]
    assert f"position {position} ({type(last).__name__}, aggregate" in found[0].detail
    ledger.close()  # type: ignore[attr-defined]


def test_a_card_number_stored_before_ids_were_checked_is_a_finding(tmp_path: Path) -> None:
    ledger, _ = history(tmp_path)
    logged = list(events(ledger.store))  # type: ignore[attr-defined]
    position, last = logged[-1]
    leaked = msgspec.structs.replace(last, credit_id="4242424242424242")
    _, found = invariant_findings([*logged[:-1], (position, leaked)])
    assert [f.check for f in found if f.check == "card_number"] == ["card_number"]
    assert "4242424242424242" not in " ".join(f.detail for f in found)
    assert [f for f in invariant_findings(logged)[1] if f.check == "card_number"] == []
    ledger.close()  # type: ignore[attr-defined]
