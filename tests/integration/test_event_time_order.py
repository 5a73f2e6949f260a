"""An aggregate's history is in time order: a chosen time (``--at``) before its newest event is refused, and a
running clock that was read before another process wrote records at that newer event's time instead."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result

from ledger.adapters.clock import ManualClock
from ledger.adapters.gateway_simulator import GatewaySimulator
from ledger.bootstrap import build
from ledger.cli.main import cli
from ledger.commands import messages as m
from ledger.commands.unit import CLOCK_SKEW
from ledger.config import Settings
from ledger.errors import ValidationError
from ledger.ports.ids import SequentialIds, account_uuid
from tests.ledger_fixtures import START, LedgerCli, make_ledger


class LaggingClock:
    """A running clock whose readings are handed out from a list (the test adapter of the Clock port)."""

    fixed = False

    def __init__(self, *readings: datetime) -> None:
        self.readings = list(readings)
        self.zone = ZoneInfo("America/New_York")

    def now(self) -> datetime:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_a_chosen_time_before_the_accounts_newest_event_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    ledger.service.handle(m.OpenAccount(account="T1", email="t@example.com"))
    clock.set(START + timedelta(days=10))
    ledger.service.handle(m.IssueInvoice(account="T1", invoice="I1", amount="10.00", date="2026-09-11",
                                         due="2026-10-11"))
    head = ledger.store.recorder.max_notification_id()
    clock.set(START + timedelta(days=5))
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(m.IssueInvoice(account="T1", invoice="I2", amount="7.00", date="2026-09-06",
                                             due="2026-10-06"))
    assert (refused.value.field, refused.value.code) == ("at", "before_newest_event")
    assert "2026-09-11T14:00:00+00:00" in str(refused.value)
    assert ledger.store.recorder.max_notification_id() == head
    clock.set(START + timedelta(days=10))  # the same instant as the newest event is not before it
    ledger.service.handle(m.IssueInvoice(account="T1", invoice="I2", amount="7.00", date="2026-09-11",
                                         due="2026-10-11"))
    ledger.close()


def test_a_payment_awaiting_research_refuses_a_time_before_its_newest_event(tmp_path: Path) -> None:
    clock = ManualClock(START)
    ledger = make_ledger(tmp_path, clock=clock)
    ledger.service.handle(m.ReceiveUnidentifiedPayment(payment="R1", amount="5.00", currency="USD", method="card",
                                                       token="tok_visa", reference="ref"))
    clock.set(START - timedelta(hours=1))
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(m.ReferToAccounting(payment="R1", note="who?"))
    assert refused.value.field == "at"
    ledger.close()


def test_a_running_clock_behind_the_newest_event_records_at_its_time(tmp_path: Path) -> None:
    settings = Settings.from_env({}, home=tmp_path, db_path=tmp_path / "ledger.db",
                                 gateway_db=tmp_path / "gateway.db")
    clock = LaggingClock(START, START - timedelta(seconds=2))
    ledger = build(settings, clock=clock, gateway=GatewaySimulator(ManualClock(START), str(tmp_path / "gw.db")),
                   ids=SequentialIds())
    ledger.service.handle(m.OpenAccount(account="T1", email="t@example.com"))
    ledger.service.handle(m.IssueCredit(account="T1", credit="K1", amount="1.00", reference="r"))
    account = ledger.store.account(account_uuid("T1"))
    assert account.version == 2 and account.modified_on == START
    ledger.close()


def test_a_running_clock_far_behind_the_newest_event_is_refused_not_moved(tmp_path: Path) -> None:
    """An event written ``--at`` a future instant: a command of the running clock is not stamped with that
    future time (its expiry checks would run in the future); it is refused until the time comes."""
    settings = Settings.from_env({}, home=tmp_path, db_path=tmp_path / "ledger.db",
                                 gateway_db=tmp_path / "gateway.db")
    clock = LaggingClock(START, START - CLOCK_SKEW - timedelta(seconds=1))
    ledger = build(settings, clock=clock, gateway=GatewaySimulator(ManualClock(START), str(tmp_path / "gw.db")),
                   ids=SequentialIds())
    ledger.service.handle(m.OpenAccount(account="T1", email="t@example.com"))
    with pytest.raises(ValidationError) as refused:
        ledger.service.handle(m.IssueCredit(account="T1", credit="K1", amount="1.00", reference="r"))
    assert refused.value.code == "before_newest_event"
    ledger.close()


def test_the_cli_refuses_a_past_at_with_a_typed_error(tmp_path: Path) -> None:
    run = LedgerCli(tmp_path)

    def at(instant: str, *args: str) -> Result:
        return run.runner.invoke(cli, ["--json", "--at", instant, *args], env=run.env, catch_exceptions=False)

    assert at("2026-09-10T09:00", "account", "open", "X", "--email", "x@example.com").exit_code == 0
    refused = at("2026-09-09T09:00", "invoice", "issue", "X", "I1", "--amount", "1.00", "--date", "2026-09-09",
                 "--due", "2026-10-09")
    assert refused.exit_code == 2
    error = json.loads(refused.stdout)["error"]
    assert (error["field"], error["code"]) == ("at", "before_newest_event")


def test_the_cli_refuses_a_command_at_a_future_instant_and_reads_may_look_ahead(tmp_path: Path) -> None:
    run = LedgerCli(tmp_path)

    def at(instant: str, *args: str) -> Result:
        return run.runner.invoke(cli, ["--json", "--at", instant, *args], env=run.env, catch_exceptions=False)

    refused = at("9000-01-01T00:00", "account", "open", "F", "--email", "f@example.com")
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["error"]["code"] == "in_future"
    assert at("2026-09-10T09:00", "account", "open", "F", "--email", "f@example.com").exit_code == 0
    assert at("9000-01-01T00:00", "dashboard").exit_code == 0  # what will have expired by then
